//! The profile schema's shared pieces, free of host code: source positions and the errors that
//! name them. Each knob's section type (in `crate::knobs`) validates against these; profile
//! loading (`crate::profile`) merges them; the importer and the agent use them without a host.

mod loc;

use std::fmt;

pub use loc::{Loc, Locator};

/// A problem with a profile, naming the place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("{at}: {msg}")]
    Invalid { at: Loc, msg: String },
    #[error("{path}: cannot read profile: {why}")]
    Read { path: String, why: String },
    #[error("{path}: is a directory, not a profile file")]
    IsDir { path: String },
    #[error("profile {name:?} not found (looked in {dirs} and the built-in profiles: {builtins})")]
    NotFound {
        name: String,
        dirs: String,
        builtins: String,
    },
    #[error("{at}: extends cycle: {chain}")]
    Cycle { at: Loc, chain: String },
}

impl ProfileError {
    /// An error at a place.
    pub fn invalid(at: Loc, msg: impl Into<String>) -> Self {
        Self::Invalid {
            at,
            msg: msg.into(),
        }
    }
}

/// Every problem found in one profile and its parents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileErrors(pub Vec<ProfileError>);

impl fmt::Display for ProfileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProfileErrors {}
