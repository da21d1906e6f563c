//! IRQ placement: one CPU per queue interrupt, round-robin over the chosen CPUs (pure), and
//! reading an IRQ's current affinity back from `/proc/irq/N`.

use std::io;
use std::path::PathBuf;

use super::discover::QueueIrq;
use crate::cpulist::{CpuList, CpuListError};
use crate::host::fs::{Files, paths};

/// The CPU chosen for one queue interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The IRQ number.
    pub irq: u32,
    /// The queue index it serves.
    pub queue: u32,
    /// The one CPU it should run on.
    pub cpu: u32,
}

/// Why IRQs could not be placed or their affinity read.
#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    #[error("no CPUs to place {count} queue interrupts on")]
    NoCpus { count: usize },
    #[error("irq {irq}: cannot read {}: {err}", path.display())]
    Read {
        irq: u32,
        path: PathBuf,
        err: io::Error,
    },
    #[error("irq {irq}: {}: {err}", path.display())]
    Parse {
        irq: u32,
        path: PathBuf,
        err: CpuListError,
    },
}

/// Spreads queue interrupts one CPU each, in queue order, wrapping around when there are
/// more queues than CPUs. Equivalent to `echo CPU > /proc/irq/N/smp_affinity_list` for each
/// queue in turn, as the NIC vendors' set_irq_affinity scripts do.
pub fn round_robin(queues: &[QueueIrq], cpus: &CpuList) -> Result<Vec<Placement>, PlacementError> {
    let set = cpus.cpus();
    if set.is_empty() {
        return Err(PlacementError::NoCpus {
            count: queues.len(),
        });
    }
    Ok(queues
        .iter()
        .zip(set.iter().cycle())
        .map(|(q, &cpu)| Placement {
            irq: q.irq,
            queue: q.queue,
            cpu,
        })
        .collect())
}

/// An IRQ's affinity as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affinity {
    /// `smp_affinity_list`: the CPUs asked for.
    pub requested: CpuList,
    /// `effective_affinity_list`: where the interrupt is delivered (x86 picks one CPU of
    /// the request). `None` where the kernel has no such file (before 4.13, or an
    /// architecture without GENERIC_IRQ_EFFECTIVE_AFF_MASK).
    pub effective: Option<CpuList>,
}

/// Reads `/proc/irq/N/smp_affinity_list` and, where it exists, `effective_affinity_list`.
/// Equivalent to `cat /proc/irq/N/smp_affinity_list /proc/irq/N/effective_affinity_list`.
pub fn read_affinity(fs: &dyn Files, irq: u32) -> Result<Affinity, PlacementError> {
    let requested = read_list(fs, irq, "smp_affinity_list")?
        .ok_or_else(|| not_found(fs, irq, "smp_affinity_list"))?;
    let effective = read_list(fs, irq, "effective_affinity_list")?;
    Ok(Affinity {
        requested,
        effective,
    })
}

fn read_list(fs: &dyn Files, irq: u32, file: &str) -> Result<Option<CpuList>, PlacementError> {
    let path = paths::irq(irq, file);
    let text = match fs.read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(PlacementError::Read {
                irq,
                path: fs.display(&path),
                err,
            });
        }
    };
    text.parse().map(Some).map_err(|err| PlacementError::Parse {
        irq,
        path: fs.display(&path),
        err,
    })
}

fn not_found(fs: &dyn Files, irq: u32, file: &str) -> PlacementError {
    PlacementError::Read {
        irq,
        path: fs.display(&paths::irq(irq, file)),
        err: io::Error::from(io::ErrorKind::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: u32) -> Vec<QueueIrq> {
        (0..n)
            .map(|queue| QueueIrq {
                irq: 200 - queue,
                queue,
                name: format!("eth0-TxRx-{queue}"),
            })
            .collect()
    }

    #[test]
    fn spreads_evenly_over_non_contiguous_cpus() {
        let cpus: CpuList = "2-3,10-11".parse().unwrap();
        let placed = round_robin(&queues(8), &cpus).unwrap();
        let got: Vec<(u32, u32)> = placed.iter().map(|p| (p.queue, p.cpu)).collect();
        assert_eq!(
            got,
            [
                (0, 2),
                (1, 3),
                (2, 10),
                (3, 11),
                (4, 2),
                (5, 3),
                (6, 10),
                (7, 11)
            ]
        );
        assert_eq!(placed[0].irq, 200);
        for cpu in cpus.cpus() {
            assert_eq!(placed.iter().filter(|p| p.cpu == *cpu).count(), 2);
        }
    }

    #[test]
    fn fewer_queues_than_cpus_use_the_first_cpus() {
        let cpus: CpuList = "6-10".parse().unwrap();
        let got: Vec<u32> = round_robin(&queues(3), &cpus)
            .unwrap()
            .iter()
            .map(|p| p.cpu)
            .collect();
        assert_eq!(got, [6, 7, 8]);
    }

    #[test]
    fn no_cpus_is_an_error() {
        let err = round_robin(&queues(2), &CpuList::default()).unwrap_err();
        assert_eq!(err.to_string(), "no CPUs to place 2 queue interrupts on");
        assert!(round_robin(&[], &CpuList::default()).is_err());
    }
}
