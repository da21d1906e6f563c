//! `hosttune agent` on the real kernel inside throw-away network namespaces: link events,
//! enforce and report modes, operator commands, undo of a failed correction, and `kill -9`.
//! Each module is one former `tests/NAME.rs`; its tests keep their names under `NAME::`.

#[path = "../common/mod.rs"]
mod common;

mod agent_netns;
mod agent_ops;
mod agent_undo;
mod interrupted;
