//! One reading of the counters that a plan's items need, at one moment, through the
//! [`Files`] seam (so under `--root`) and, for the driver's statistics (`ethtool -S`), the
//! NIC seam (so only on a live tree: an offline `--root` has none). Only the files and
//! interfaces some item needs are read.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::map::{SoftnetColumn, Source};
use super::{conntrack, netstat, snmp, snmp6, softnet};
use crate::cpulist::CpuList;
use crate::host::nic::NicStats;
use crate::host::{Files, NicOps, NicOpsExt as _, paths};
use crate::types::IfName;

/// A counter as read: per-CPU parts (summed for the total) or one number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// `(cpu, value)`: the CPU where the file names it (softnet_stat, `/proc/interrupts`),
    /// `None` for a line that does not (nf_conntrack) or a single number.
    pub parts: Vec<(Option<u32>, u64)>,
    /// Whether each part is a 32-bit counter that wraps (softnet_stat, nf_conntrack).
    pub wraps32: bool,
}

impl Reading {
    /// One 64-bit number.
    pub fn one(v: u64) -> Self {
        Self {
            parts: vec![(None, v)],
            wraps32: false,
        }
    }

    /// The sum of the parts.
    pub fn total(&self) -> u64 {
        self.parts.iter().map(|(_, v)| v).sum()
    }

    /// How much each part grew since `before`, part by part where the parts line up (a
    /// 32-bit counter that wrapped counts from its wrap), else the totals' difference.
    pub fn increase_since(&self, before: &Reading) -> Vec<(Option<u32>, u64)> {
        let keys = |r: &Reading| r.parts.iter().map(|(c, _)| *c).collect::<Vec<_>>();
        if keys(self) != keys(before) {
            return vec![(None, self.total().saturating_sub(before.total()))];
        }
        self.parts
            .iter()
            .zip(&before.parts)
            .map(|((cpu, now), (_, then))| {
                let d = if self.wraps32 {
                    u64::from((*now as u32).wrapping_sub(*then as u32))
                } else {
                    now.saturating_sub(*then)
                };
                (*cpu, d)
            })
            .collect()
    }
}

/// The files read for one sample, parsed, or why they could not be.
#[derive(Debug)]
pub struct Sample {
    mib: BTreeMap<String, u64>,
    mib_errors: Vec<String>,
    /// How many MIB files were read (a counter is missing for a reason only when all failed).
    mib_files: usize,
    softnet: Result<Vec<softnet::Row>, String>,
    conntrack: Result<conntrack::Stat, String>,
    nic: BTreeMap<(IfName, &'static str), Result<u64, String>>,
    irqs: Result<BTreeMap<u32, Vec<(u32, u64)>>, String>,
    ethtool: BTreeMap<IfName, Result<NicStats, String>>,
    /// When it was read.
    pub taken: Instant,
}

fn read(fs: &dyn Files, path: &std::path::Path) -> Result<String, String> {
    fs.read(path)
        .map_err(|e| format!("{}: {e}", fs.display(path).display()))
}

impl Sample {
    /// Reads what `sources` need: files through `fs`, driver statistics through `nic` (once
    /// per interface). `online` numbers the lines of a softnet_stat without a CPU column
    /// (kernels before 5.10).
    pub fn read(
        fs: &dyn Files,
        nic: &dyn NicOps,
        sources: &[Source],
        online: Option<&CpuList>,
    ) -> Sample {
        let mut s = Sample {
            mib: BTreeMap::new(),
            mib_errors: Vec::new(),
            mib_files: 0,
            softnet: Err("not read".into()),
            conntrack: Err("not read".into()),
            nic: BTreeMap::new(),
            irqs: Err("not read".into()),
            ethtool: BTreeMap::new(),
            taken: Instant::now(),
        };
        let any = |f: &dyn Fn(&Source) -> bool| sources.iter().any(f);
        if any(&|s| matches!(s, Source::Mib(_))) {
            type Parse = fn(&str) -> Result<BTreeMap<String, u64>, String>;
            let mut files: Vec<(&str, Parse)> = vec![
                ("netstat", |t| netstat::parse(t).map_err(|e| e.to_string())),
                ("snmp", snmp::parse),
            ];
            // IPv6's file only when an item needs it: a kernel booted with ipv6.disable=1
            // has none.
            if any(&|s| matches!(s, Source::Mib(n) if snmp6::owns(n))) {
                files.push(("snmp6", snmp6::parse));
            }
            s.mib_files = files.len();
            for (file, parse) in files {
                let path = paths::proc_net(file);
                match read(fs, &path).and_then(|t| {
                    parse(&t).map_err(|e| format!("{}: {e}", fs.display(&path).display()))
                }) {
                    Ok(m) => s.mib.extend(m),
                    Err(e) => s.mib_errors.push(e),
                }
            }
        }
        if any(&|s| matches!(s, Source::Softnet(_))) {
            let path = paths::proc_net("softnet_stat");
            s.softnet = read(fs, &path).and_then(|t| {
                softnet::parse(&t, online)
                    .map_err(|e| format!("{}: {e}", fs.display(&path).display()))
            });
        }
        if any(&|s| matches!(s, Source::Conntrack(_))) {
            let path = paths::proc_net("stat/nf_conntrack");
            s.conntrack = read(fs, &path).and_then(|t| {
                conntrack::Stat::parse(&t)
                    .map_err(|e| format!("{}: {e}", fs.display(&path).display()))
            });
        }
        let irqs: BTreeSet<u32> = sources
            .iter()
            .filter_map(|s| match s {
                Source::IrqOutside { irq, .. } => Some(*irq),
                _ => None,
            })
            .collect();
        if !irqs.is_empty() {
            let path = paths::interrupts();
            s.irqs = fs
                .open_read(&path)
                .map_err(|e| format!("{}: {e}", fs.display(&path).display()))
                .and_then(|f| crate::irq::irq_counts_from(f, &irqs).map_err(|e| e.to_string()));
        }
        for src in sources {
            if let Source::Nic { iface, stat } = src {
                let path = paths::net_statistic(iface, stat);
                let v = read(fs, &path).and_then(|t| {
                    t.trim()
                        .parse()
                        .map_err(|_| format!("{}: not a number", fs.display(&path).display()))
                });
                s.nic.insert((iface.clone(), stat), v);
            }
            if let Source::Ethtool { iface, .. } = src {
                if !s.ethtool.contains_key(iface) {
                    let stats = nic.read::<NicStats>(iface, ()).map_err(|e| e.to_string());
                    s.ethtool.insert(iface.clone(), stats);
                }
            }
        }
        s
    }

    /// The counter of `source` in this sample, or why there is none.
    pub fn reading(&self, source: &Source) -> Result<Reading, String> {
        match source {
            Source::Mib(name) => match self.mib.get(*name) {
                Some(v) => Ok(Reading::one(*v)),
                None if self.mib_errors.len() == self.mib_files => Err(self.mib_errors.join("; ")),
                None => Err(format!("{name}: not counted by this kernel")),
            },
            Source::Softnet(col) => {
                let rows = self.softnet.as_ref().map_err(Clone::clone)?;
                let parts = rows
                    .iter()
                    .map(|r| {
                        let v = match col {
                            SoftnetColumn::Dropped => r.dropped,
                            SoftnetColumn::TimeSqueeze => r.time_squeeze,
                        };
                        (Some(r.cpu), u64::from(v))
                    })
                    .collect();
                Ok(Reading {
                    parts,
                    wraps32: true,
                })
            }
            Source::Conntrack(name) => {
                let stat = self.conntrack.as_ref().map_err(Clone::clone)?;
                let values = stat
                    .column(name)
                    .ok_or_else(|| format!("nf_conntrack {name}: not counted by this kernel"))?;
                Ok(Reading {
                    parts: values.into_iter().map(|v| (None, u64::from(v))).collect(),
                    wraps32: true,
                })
            }
            Source::Nic { iface, stat } => match self.nic.get(&(iface.clone(), stat)) {
                Some(Ok(v)) => Ok(Reading::one(*v)),
                Some(Err(e)) => Err(e.clone()),
                None => Err("not read".into()),
            },
            Source::Ethtool { iface, stat } => {
                let stats = self
                    .ethtool
                    .get(iface)
                    .ok_or("not read")?
                    .as_ref()
                    .map_err(Clone::clone)?;
                // Drivers name these counters differently: one this driver lacks is left out.
                let v = stats
                    .get(stat)
                    .ok_or_else(|| format!("{stat}: not counted by {iface}'s driver"))?;
                Ok(Reading::one(v))
            }
            Source::IrqOutside { irq, cpus } => {
                let irqs = self.irqs.as_ref().map_err(Clone::clone)?;
                let counts = irqs
                    .get(irq)
                    .ok_or_else(|| format!("irq {irq}: not in /proc/interrupts"))?;
                Ok(Reading {
                    parts: counts
                        .iter()
                        .filter(|(cpu, _)| !cpus.contains(*cpu))
                        .map(|(cpu, n)| (Some(*cpu), *n))
                        .collect(),
                    // The kernel keeps them per CPU as `unsigned int`.
                    wraps32: true,
                })
            }
        }
    }
}
