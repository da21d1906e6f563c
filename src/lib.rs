//! hosttune: role profiles for Linux load-balancing hosts, applied idempotently, audited for
//! drift and rolled back from snapshots.
//!
//! The pipeline, one stage per module:
//!
//! ```text
//! profile file ─load→ Profile ─validate→ Desired          (profile: pure, all problems at once)
//! Desired ─resolve(host)→ targets ─observe(host)→ Observed (knobs::*: read-only)
//! (Desired, Observed) ─diff→ Plan                          (knobs::*::diff, plan: pure)
//! Plan ─evidence (--evidence)→ counters per item             (evidence: read, then pure)
//! Plan ─report→ audit / dry-run output                     (report: pure)
//! Plan ─apply(host, snapshot store)→ Outcome               (apply: snapshot first, write, read back)
//! Snapshot ─→ Plan ─apply→                                  (apply::rollback_plan: just another plan)
//! ```
//!
//! The vocabulary every stage shares (`Item`, `Entry`, `Status`, `Kind`, and what later stages
//! attach to items) is [`model`], at the bottom: it imports no stage.
//!
//! Host access goes through the narrow seams in [`host`]; `testing` (tests only) has fakes
//! of them.

#![deny(unsafe_code)]

pub mod agent;
pub mod apply;
pub mod atomic;
pub mod cli;
/// Moved under [`cli`]: the documentation is generated from the arguments it declares.
pub use cli::docs;
pub mod cpulist;
pub mod evidence;
pub mod fault;
pub mod host;
pub mod irq;
pub mod knobs;
pub mod model;
pub mod plan;
pub mod profile;
pub mod prom;
pub mod report;
pub mod schema;
pub mod section;
pub mod sha256;
pub mod side;
pub mod signals;
pub mod snapshot;
pub mod sysctl;
pub mod sysctld;
#[cfg(feature = "test-hooks")]
pub mod testing;
pub mod types;
pub mod userfile;
