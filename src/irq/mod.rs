//! NIC queue interrupts: parsing `/proc/interrupts`, finding a NIC's queue vectors and
//! placing them one CPU each; their per-CPU counts, for `--evidence`.

mod counts;
pub mod discover;
pub mod interrupts;
pub mod percpu;
pub mod placement;

pub use discover::{DiscoverError, QueueIrq, queue_irqs, queue_irqs_in};
pub use interrupts::{Interrupts, InterruptsError, IrqLine};
pub use percpu::{irq_counts, irq_counts_from};
pub use placement::{Affinity, Placement, PlacementError, read_affinity, round_robin};
