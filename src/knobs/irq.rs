//! IRQ affinity of a NIC's queue interrupts (`/proc/irq/N/smp_affinity_list`).

use std::io;

use crate::host::{Host, paths};
use crate::knobs::KnobError;
use crate::knobs::nic::NicRule;
use crate::plan::{Entry, Setting};
use crate::types::IfName;

/// Plans this knob for one interface. Placeholder until its issue lands.
pub fn plan(_: &NicRule, _: &IfName, _: &Host) -> Vec<Entry> {
    Vec::new()
}

/// Pins an IRQ. Equivalent to `echo 6 > /proc/irq/105/smp_affinity_list`.
pub fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
    let Setting::IrqAffinity { irq, cpus } = s else {
        unreachable!("irq::write of {s:?}")
    };
    host.fs
        .write(&paths::irq(*irq, "smp_affinity_list"), &format!("{cpus}\n"))
        .map_err(|source| KnobError::Irq {
            irq: *irq,
            op: "write smp_affinity_list",
            source,
        })
}

/// Reads an IRQ's requested affinity.
pub fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
    let Setting::IrqAffinity { irq, .. } = at else {
        unreachable!("irq::read of {at:?}")
    };
    let text = host
        .fs
        .read(&paths::irq(*irq, "smp_affinity_list"))
        .map_err(|source| KnobError::Irq {
            irq: *irq,
            op: "read smp_affinity_list",
            source,
        })?;
    let cpus = text
        .parse()
        .map_err(|e: crate::cpulist::CpuListError| KnobError::Irq {
            irq: *irq,
            op: "parse smp_affinity_list",
            source: io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
        })?;
    Ok(Setting::IrqAffinity { irq: *irq, cpus })
}
