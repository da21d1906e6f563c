//! NIC queue interrupts: parsing `/proc/interrupts` and finding a NIC's queue vectors.

pub mod discover;
pub mod interrupts;
