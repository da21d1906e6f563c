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
    /// Not a regular file (a FIFO, a device), or larger than the cap: refused before reading.
    #[error("{path}: {why}; refusing to read it as a profile")]
    NotRegular { path: String, why: String },
    #[error("profile {name:?} not found (looked in {dirs} and the built-in profiles: {builtins})")]
    NotFound {
        name: String,
        dirs: String,
        builtins: String,
    },
    #[error("{at}: extends cycle: {chain}")]
    Cycle { at: Loc, chain: String },
    /// A chain of `extends` longer than [`MAX_EXTENDS_DEPTH`] files.
    #[error("{at}: extends chain deeper than {max} files: {chain}; merge some of these files")]
    TooDeep { at: Loc, max: usize, chain: String },
    /// More files than [`MAX_EXTENDS_FILES`] read for one profile (a parent named many times).
    #[error("{at}: extends reads more than {max} files for one profile; name each parent once")]
    TooMany { at: Loc, max: usize },
}

/// How many files deep an `extends` chain may go: far beyond any real layering (site, role,
/// base), and well within the stack.
pub const MAX_EXTENDS_DEPTH: usize = 32;

/// How many files one profile may read through `extends`, counting a parent each time it is
/// named: a few levels of `extends = ["a", "a", ...]` would otherwise multiply.
pub const MAX_EXTENDS_FILES: usize = 1024;

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
