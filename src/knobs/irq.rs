//! IRQ affinity of a NIC's queue interrupts (`/proc/irq/N/smp_affinity_list`): one CPU per
//! queue IRQ, round-robin over the rule's `irq_cpus` (for the named sets, the CPUs on the
//! device's NUMA node first). Control vectors and other devices' IRQs are never planned, so
//! never written.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

use crate::cpulist::CpuList;
use crate::host::{Host, paths};
use crate::irq::{Affinity, QueueIrq, queue_irqs_in, read_affinity, round_robin};
use crate::knobs::KnobError;
use crate::knobs::cx::PlanCx;
use crate::knobs::nic_knob::{EvidenceHint, NicKnob};
use crate::knobs::{Entry, Item, Kind, Setting, Status};
use crate::types::IfName;
use serde::{Deserialize, Serialize};

/// Where a NIC's queue IRQs go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum IrqCpus {
    /// `/sys/devices/system/cpu/isolated`.
    Isolated,
    /// The device's `local_cpulist` (all CPUs when its `numa_node` is -1).
    Local,
    /// An explicit list.
    List(CpuList),
}

impl TryFrom<String> for IrqCpus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "isolated" => Ok(Self::Isolated),
            "local" => Ok(Self::Local),
            other => match other.parse::<CpuList>() {
                Ok(l) if !l.is_empty() => Ok(Self::List(l)),
                Ok(_) => Err("irq_cpus must not be empty".into()),
                Err(e) => Err(format!(
                    "irq_cpus must be \"isolated\", \"local\" or a CPU list: {e}"
                )),
            },
        }
    }
}

impl From<IrqCpus> for String {
    fn from(c: IrqCpus) -> String {
        match c {
            IrqCpus::Isolated => "isolated".into(),
            IrqCpus::Local => "local".into(),
            IrqCpus::List(l) => l.to_string(),
        }
    }
}

/// The `irq_cpus` knob: one `irq_affinity` item per queue IRQ of the interface, desired one
/// CPU (round-robin over the set), live `smp_affinity_list`. A CPU set that is empty or not
/// online, or queue IRQs that cannot be found, is one `error` item.
pub struct IrqAffinity;

/// What `observe` reads for one interface: the CPU set, its queue IRQs, and each one's
/// affinity.
#[derive(Debug)]
pub struct Observed {
    pub cpus: Result<Resolved, String>,
    /// `Err((virtual, why))`: a virtual interface has no IRQs of its own (unsupported).
    pub queues: Result<Vec<QueueIrq>, (bool, String)>,
    pub affinity: BTreeMap<u32, Result<Affinity, String>>,
}

impl NicKnob for IrqAffinity {
    type Spec = IrqCpus;
    type Observed = Observed;
    const KIND: Kind = Kind::IrqAffinity;
    /// `/proc/irq` belongs to the whole host, whatever the network namespace.
    const HOST_GLOBAL: bool = true;

    fn evidence() -> EvidenceHint {
        EvidenceHint::IrqOutside
    }

    /// Changing channels frees and requests the queue IRQs anew: the numbers planned before
    /// may be gone or joined by new ones.
    fn stale_after() -> &'static [Kind] {
        &[Kind::Channels]
    }

    fn observe(spec: &IrqCpus, iface: &IfName, cx: &PlanCx) -> Observed {
        let cpus = resolve_numa("irq_cpus", spec, iface, cx);
        let queues = match cx.interrupts() {
            Err(e) => Err((false, format!("interface {iface}: {e}"))),
            Ok(parsed) => queue_irqs_in(cx.host.fs, iface, parsed).map_err(|e| {
                // A virtual interface (veth, bond, vlan) has no interrupts of its own.
                let virt = matches!(e, crate::irq::DiscoverError::NoDevice { .. });
                (virt, e.to_string())
            }),
        };
        let affinity = match &queues {
            Ok(q) => q
                .iter()
                .map(|q| {
                    let a = read_affinity(cx.host.fs, q.irq).map_err(|e| e.to_string());
                    (q.irq, a)
                })
                .collect(),
            Err(_) => BTreeMap::new(),
        };
        Observed {
            cpus,
            queues,
            affinity,
        }
    }

    fn diff(cpus: &IrqCpus, iface: &IfName, o: Observed) -> Vec<Entry> {
        diff(cpus, iface, o)
    }
}

/// Places the queue IRQs on the CPU set and compares each with its live affinity (pure).
pub fn diff(cpus: &IrqCpus, iface: &IfName, o: Observed) -> Vec<Entry> {
    let wanted = String::from(cpus.clone());
    let error = |status: Status, why: String| {
        vec![Entry::new(
            Item::new(
                Kind::IrqAffinity,
                iface.to_string(),
                wanted.clone(),
                "-",
                status,
            )
            .note(why),
            None,
            None,
        )]
    };
    let Resolved {
        cpus: set,
        node,
        note,
    } = match o.cpus {
        Ok(r) => r,
        Err(why) => return error(Status::Error, why),
    };
    // The device's node, and why the set is not node-local when it is not, on every line.
    let numa: Vec<String> = node
        .map(|n| format!("numa node {n}"))
        .into_iter()
        .chain(note)
        .collect();
    let queues = match o.queues {
        Ok(q) => q,
        Err((true, why)) => return error(Status::Unsupported, why),
        Err((false, why)) => return error(Status::Error, why),
    };
    let placed = match round_robin(&queues, &set) {
        Ok(p) => p,
        Err(e) => return error(Status::Error, format!("interface {iface}: {e}")),
    };
    placed
        .iter()
        .map(|p| {
            let object = format!("{iface} queue {} irq {}", p.queue, p.irq);
            let desired = CpuList::from_cpus([p.cpu]);
            let aff = match o.affinity.get(&p.irq) {
                Some(Ok(a)) => a,
                other => {
                    let why = match other {
                        Some(Err(e)) => e.clone(),
                        _ => "affinity not read".into(),
                    };
                    let item = Item::new(
                        Kind::IrqAffinity,
                        object,
                        desired.to_string(),
                        "-",
                        Status::Error,
                    );
                    let why = numa.iter().cloned().chain([why]).collect::<Vec<_>>();
                    return Entry::new(item.note(why.join("; ")), None, None);
                }
            };
            let mut item = Item::new(
                Kind::IrqAffinity,
                object,
                desired.to_string(),
                aff.requested.to_string(),
                Status::of(aff.requested == desired),
            );
            // Where the interrupt is delivered now; on x86 one CPU of the request.
            let notes: Vec<String> = numa
                .iter()
                .cloned()
                .chain(aff.effective.iter().map(|eff| format!("effective {eff}")))
                .collect();
            if !notes.is_empty() {
                item = item.note(notes.join("; "));
            }
            let setting = |cpus| Setting::IrqAffinity { irq: p.irq, cpus };
            Entry::new(
                item,
                Some(setting(desired)),
                Some(setting(aff.requested.clone())),
            )
        })
        .collect()
}

/// The CPUs `irq_cpus` names for `iface`: `/sys/devices/system/cpu/isolated`, the device's
/// NUMA-local CPUs, or the list. Every one must be online; the set must not be empty.
pub fn resolve_cpus(cpus: &IrqCpus, iface: &IfName, cx: &PlanCx) -> Result<CpuList, String> {
    resolve_cpus_for("irq_cpus", cpus, iface, cx)
}

/// [`resolve_cpus`] for the setting named `what` (`irq_cpus`, `rps_cpus`), which the messages
/// name.
pub fn resolve_cpus_for(
    what: &str,
    cpus: &IrqCpus,
    iface: &IfName,
    cx: &PlanCx,
) -> Result<CpuList, String> {
    resolve_numa(what, cpus, iface, cx).map(|r| r.cpus)
}

/// A resolved CPU set and where it came from, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The CPUs to use.
    pub cpus: CpuList,
    /// The device's NUMA node; `None` when unknown (`numa_node` is -1 or missing, or the
    /// interface has no device) or irrelevant (an explicit CPU list).
    pub node: Option<u32>,
    /// Why the set is not the NUMA-local one, when it is not.
    pub note: Option<String>,
}

/// [`resolve_cpus_for`] with the NUMA node: the named sets prefer the CPUs local to the
/// device. `isolated` is the isolated CPUs on the device's node when there are any; the whole
/// isolated set when there are none (with a note) or when the node is unknown. `local` is the
/// device's `local_cpulist` (every online CPU when the node is unknown). A list is used as
/// given. Every CPU must be online; the set must not be empty.
pub fn resolve_numa(
    what: &str,
    cpus: &IrqCpus,
    iface: &IfName,
    cx: &PlanCx,
) -> Result<Resolved, String> {
    let online = cx.online()?;
    let host = &cx.host;
    let resolved = match cpus {
        IrqCpus::Isolated => {
            let isolated = cx.isolated()?.clone();
            if isolated.is_empty() {
                return Err(format!(
                    "interface {iface}: {what} = \"isolated\" but this host has no isolated \
                     CPUs (boot with isolcpus=, or give \"local\" or a CPU list)"
                ));
            }
            // A virtual interface (no device) has no node: the whole set, as before NUMA.
            let numa = numa(host, iface).unwrap_or(None);
            match numa {
                None => Resolved {
                    cpus: isolated,
                    node: None,
                    note: None,
                },
                Some((node, local)) => {
                    let near = intersect(&isolated, &local);
                    if near.is_empty() {
                        Resolved {
                            note: Some(format!(
                                "no isolated CPU on numa node {node} (local {local}): using \
                                 every isolated CPU {isolated}"
                            )),
                            cpus: isolated,
                            node: Some(node),
                        }
                    } else {
                        Resolved {
                            cpus: near,
                            node: Some(node),
                            note: None,
                        }
                    }
                }
            }
        }
        // CPUs of the device's node that are offline simply are not used.
        IrqCpus::Local => {
            let (node, local) = match numa(host, iface)? {
                Some((node, local)) => (Some(node), local),
                None => (None, online.clone()),
            };
            Resolved {
                cpus: intersect(&local, online),
                node,
                note: None,
            }
        }
        IrqCpus::List(l) => Resolved {
            cpus: l.clone(),
            node: None,
            note: None,
        },
    };
    let set = &resolved.cpus;
    if let Some(off) = set.cpus().iter().find(|c| !online.contains(**c)) {
        return Err(format!(
            "interface {iface}: {what} {set}: CPU {off} is not online (online: {online})"
        ));
    }
    if set.is_empty() {
        return Err(format!("interface {iface}: {what} names no online CPU"));
    }
    Ok(resolved)
}

fn intersect(a: &CpuList, b: &CpuList) -> CpuList {
    CpuList::from_cpus(a.cpus().iter().copied().filter(|c| b.contains(*c)))
}

/// The device's NUMA node and its `local_cpulist`, `Ok(None)` when the node is unknown
/// (`numa_node` -1, as on single-node machines and most VMs, or no `numa_node` file).
/// virtio-net devices hang off their PCI function, which carries those files. Equivalent to
/// `cat /sys/class/net/eth0/device/{numa_node,local_cpulist}`.
fn numa(host: &Host, iface: &IfName) -> Result<Option<(u32, CpuList)>, String> {
    let dev = host
        .fs
        .canonicalize(&paths::net(iface, "device"))
        .map_err(|e| format!("interface {iface}: no device link ({e}); not a physical NIC?"))?;
    let Some(dev) = dev
        .ancestors()
        .find(|d| host.fs.exists(&d.join("numa_node")))
    else {
        return Ok(None);
    };
    let node = host
        .fs
        .read(&dev.join("numa_node"))
        .map_err(|e| format!("interface {iface}: numa_node: {e}"))?;
    // -1: NUMA_NO_NODE.
    let Ok(node) = node.trim().parse::<u32>() else {
        return Ok(None);
    };
    Ok(Some((node, read_list(host, dev.join("local_cpulist"))?)))
}

fn read_list(host: &Host, path: PathBuf) -> Result<CpuList, String> {
    let text = host
        .fs
        .read(&path)
        .map_err(|e| format!("{}: {e}", host.fs.display(&path).display()))?;
    text.parse()
        .map_err(|e| format!("{}: {e}", host.fs.display(&path).display()))
}

/// Pins an IRQ. Equivalent to `echo 6 > /proc/irq/105/smp_affinity_list`.
pub fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
    let Setting::IrqAffinity { irq, cpus } = s else {
        unreachable!("irq::write of {s:?}")
    };
    let irq = *irq;
    host.fs
        .write(&paths::irq(irq, "smp_affinity_list"), &format!("{cpus}\n"))
        .map_err(|source| match source.raw_os_error() {
            // irq_set_affinity refuses managed IRQs (spread by the kernel over all CPUs).
            Some(libc::EIO) => KnobError::IrqManaged { irq },
            // The driver freed it since it was read (queues re-created, interface down).
            Some(libc::ENOENT) => KnobError::IrqGone { irq },
            _ => KnobError::Irq {
                irq,
                op: "write smp_affinity_list",
                source,
            },
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
        .map_err(|source| match source.kind() {
            // Freed since it was recorded (queues re-created, a reboot): nothing to restore.
            io::ErrorKind::NotFound => KnobError::IrqGone { irq: *irq },
            _ => KnobError::Irq {
                irq: *irq,
                op: "read smp_affinity_list",
                source,
            },
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

/// IRQ affinities in snapshots.
pub struct IrqOps;

impl crate::knobs::SettingOps for IrqOps {
    /// Restoring channels re-creates the queues (stale after channels): restored after.
    fn restores_late() -> bool {
        true
    }
    fn address(s: &Setting) -> String {
        let Setting::IrqAffinity { irq, .. } = s else {
            unreachable!()
        };
        format!("irq {irq}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::IrqAffinity { irq, cpus } = s else {
            unreachable!()
        };
        (Kind::IrqAffinity, format!("irq {irq}"), cpus.to_string())
    }
    /// An IRQ number (`/proc/irq/N`: a number by its type) and at least one CPU: the kernel
    /// refuses an empty affinity.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::IrqAffinity { irq, cpus } = s else {
            unreachable!()
        };
        if cpus.is_empty() {
            return Err(format!("irq {irq}: an empty CPU list"));
        }
        Ok(())
    }
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        read(host, at)
    }
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        write(host, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RootFs;
    use crate::testing::fault_fs::FaultFs;
    use nix::errno::Errno;

    #[test]
    fn write_errors_say_whether_the_host_cannot_or_the_change_failed() {
        let dir = tempfile::tempdir().unwrap();
        let root = RootFs::new(dir.path());
        let setting = |irq| Setting::IrqAffinity {
            irq,
            cpus: "2".parse().unwrap(),
        };
        for (errno, unsupported, says) in [
            (Errno::EIO, true, "irq 7: kernel-managed"),
            (Errno::ENOENT, true, "irq 7: no longer exists"),
            (
                Errno::EINVAL,
                false,
                "irq 7: write smp_affinity_list: Invalid argument",
            ),
            (
                Errno::ENOSPC,
                false,
                "irq 7: write smp_affinity_list: No space",
            ),
        ] {
            let fs = FaultFs::new(&root).fail_writes(paths::irq(7, "smp_affinity_list"), errno);
            let host = Host::offline(&fs);
            let e = write(&host, &setting(7)).unwrap_err();
            assert_eq!(e.is_unsupported(), unsupported, "{errno}");
            assert!(e.to_string().starts_with(says), "{e}");
        }
    }
}
