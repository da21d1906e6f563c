//! Fakes of the host seams, for tests of plan, apply and rollback without hardware. Public so
//! that integration tests and benchmarks can use them.

pub mod fake_addrs;
pub mod fake_nic;
pub mod fake_services;
pub mod fault_fs;
