//! Fakes of the host seams, for tests of plan, apply and rollback without hardware, and the
//! binary's fault hooks. Compiled only with the `test-hooks` feature, which the tests and
//! benchmarks enable and release builds do not.

pub mod fake_addrs;
pub mod fake_links;
pub mod fake_nft;
pub mod fake_nic;
pub mod fake_services;
pub mod fault_fs;
pub mod file_seams;
pub mod hooks;
