//! The all-or-nothing promise under injected faults (the `test-hooks` feature): every kind of
//! write faulted at every step, on the real kernel in a namespace and on fixture trees. Each
//! module is one former `tests/NAME.rs`; its tests keep their names under `NAME::`.

#[path = "../common/mod.rs"]
mod common;

mod all_or_nothing;
mod fault_matrix;
