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
//! Host access goes through the narrow seams in [`host`]; `testing` (tests only) has fakes
//! of them.

#![deny(unsafe_code)]

pub mod agent;
pub mod apply;
pub mod atomic;
pub mod cli;
pub mod cpulist;
pub mod docs;
pub mod evidence;
pub mod host;
pub mod irq;
pub mod knobs;
pub mod plan;
pub mod profile;
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
