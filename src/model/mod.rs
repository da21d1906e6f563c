//! The plan's shared vocabulary, at the bottom of the crate: what an item tunes ([`Kind`]),
//! how it compares ([`Status`]), the report line ([`Item`]) and one planned item
//! ([`Entry`]), plus what later stages attach to an item after diff (boot-time
//! [`Conflict`]s, counter [`Evidence`]). It imports nothing above it, so a knob that builds
//! items never depends on the features that annotate them (the pipeline runs one way).

mod conflict;
mod evidence;
mod item;
mod kind;
mod status;

pub use conflict::Conflict;
pub use evidence::{Evidence, PerSecond, Since};
pub use item::{Entry, Item};
pub use kind::Kind;
pub use status::Status;
