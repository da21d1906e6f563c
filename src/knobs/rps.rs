//! Receive Packet Steering: the CPU mask of every receive queue
//! (`/sys/class/net/IFACE/queues/rx-N/rps_cpus`). On a NIC with one queue (most VMs: virtio
//! with combined 1) RPS is how receive work spreads over cores (the benchmark write-up's "Setting Multi-Rx,
//! Tx queue"). The file holds a hex bitmask in comma-separated 32-bit words, most significant
//! first (`00000000,0000000f`), not the CPU-list syntax.

use serde::{Deserialize, Serialize};

use crate::cpulist::CpuList;
use crate::host::{Host, paths};
use crate::knobs::cx::PlanCx;
use crate::knobs::irq::IrqCpus;
use crate::knobs::irq::resolve_cpus_for;
use crate::knobs::nic_knob::NicKnob;
use crate::knobs::{Entry, Item, Kind, KnobError, Setting, SettingOps, Status};
use crate::types::IfName;

/// `rps_cpus`: "isolated", "local", a CPU list, or "none" (RPS off: mask 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RpsCpus {
    None,
    Cpus(IrqCpus),
}

impl TryFrom<String> for RpsCpus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s == "none" {
            return Ok(Self::None);
        }
        match s.as_str() {
            "isolated" => Ok(Self::Cpus(IrqCpus::Isolated)),
            "local" => Ok(Self::Cpus(IrqCpus::Local)),
            other => match other.parse::<CpuList>() {
                Ok(l) if !l.is_empty() => Ok(Self::Cpus(IrqCpus::List(l))),
                Ok(_) => Err("rps_cpus must not be empty; use \"none\" to turn RPS off".into()),
                Err(e) => Err(format!(
                    "rps_cpus must be \"isolated\", \"local\", \"none\" or a CPU list: {e}"
                )),
            },
        }
    }
}

impl From<RpsCpus> for String {
    fn from(c: RpsCpus) -> String {
        match c {
            RpsCpus::None => "none".into(),
            RpsCpus::Cpus(c) => c.into(),
        }
    }
}

/// The kernel's mask text of a CPU set: 32-bit words of 8 hex digits, most significant first,
/// as many as the highest CPU needs. Equivalent to what `cat rps_cpus` prints for it.
pub fn mask_of(cpus: &CpuList) -> String {
    let top = cpus.cpus().iter().max().copied().unwrap_or(0);
    let words = top as usize / 32 + 1;
    let mut w = vec![0u32; words];
    for &c in cpus.cpus() {
        w[c as usize / 32] |= 1 << (c % 32);
    }
    w.iter()
        .rev()
        .map(|x| format!("{x:08x}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The CPU set of a mask (`f`, `00000000,0000000f`), or why it is not one.
pub fn cpus_of(mask: &str) -> Result<CpuList, String> {
    let mut cpus = Vec::new();
    for (i, word) in mask.trim().rsplit(',').enumerate() {
        let bits = u32::from_str_radix(word, 16)
            .map_err(|_| format!("rps_cpus {:?} is not a hex CPU mask", mask.trim()))?;
        cpus.extend(
            (0..32)
                .filter(|b| bits & (1 << b) != 0)
                .map(|b| i as u32 * 32 + b),
        );
    }
    Ok(CpuList::from_cpus(cpus))
}

/// The `rps_cpus` knob: one `rps` item per receive queue.
pub struct Rps;

/// What `observe` reads: the CPU set, and each receive queue's mask.
#[derive(Debug)]
pub struct Observed {
    pub cpus: Result<CpuList, String>,
    /// `(N, mask)` of each `rx-N`, or why the queues cannot be listed.
    pub queues: Result<Vec<QueueMask>, String>,
}

/// A receive queue's number and its mask as read (or why it could not be).
pub type QueueMask = (u32, Result<String, String>);

impl NicKnob for Rps {
    type Spec = RpsCpus;
    type Observed = Observed;
    const KIND: Kind = Kind::Rps;

    /// Changing channels re-creates the receive queues, with RPS off.
    fn stale_after() -> &'static [Kind] {
        &[Kind::Channels]
    }

    fn observe(spec: &RpsCpus, iface: &IfName, cx: &PlanCx) -> Observed {
        let cpus = match spec {
            RpsCpus::Cpus(c) => {
                resolve_cpus_for("rps_cpus", c, iface, cx).and_then(|set| housekeeping(set, cx))
            }
            _ => Ok(CpuList::from_cpus([])),
        };
        let queues = queue_masks(iface, "rx", "rps_cpus", cx);
        Observed { cpus, queues }
    }

    fn diff(want: &RpsCpus, iface: &IfName, o: Observed) -> Vec<Entry> {
        diff(want, iface, o)
    }
}

/// The kernel never steers RPS work to an isolated CPU (`isolcpus=`, domain isolation): it
/// stores a mask without them (`store_rps_map` in net/core/net-sysfs.c) and refuses one with
/// nothing else (EINVAL). So the set is planned without them, and a set of isolated CPUs only
/// is a plan-time error rather than a write the kernel refuses.
fn housekeeping(set: CpuList, cx: &PlanCx) -> Result<CpuList, String> {
    let Ok(isolated) = cx.isolated() else {
        return Ok(set);
    };
    if isolated.is_empty() {
        return Ok(set);
    }
    let kept = CpuList::from_cpus(
        set.cpus()
            .iter()
            .copied()
            .filter(|c| !isolated.contains(*c)),
    );
    if kept.is_empty() {
        return Err(format!(
            "rps_cpus resolves to CPUs {set}, all isolated ({isolated}): the kernel never steers \
             RPS work to an isolated CPU and refuses such a mask; give \"local\" or a list of \
             CPUs that are not isolated"
        ));
    }
    Ok(kept)
}

/// One item per receive queue: desired the set's mask, live the queue's (pure).
pub fn diff(want: &RpsCpus, iface: &IfName, o: Observed) -> Vec<Entry> {
    let asked = String::from(want.clone());
    let error = |object: String, status, why: String| {
        Entry::new(
            Item::new(Kind::Rps, object, asked.clone(), "-", status).note(why),
            None,
            None,
        )
    };
    let set = match o.cpus {
        Ok(s) => s,
        Err(why) => return vec![error(iface.to_string(), Status::Error, why)],
    };
    let queues = match o.queues {
        Ok(q) if !q.is_empty() => q,
        Ok(_) => {
            let why = "no receive queues in sysfs".to_string();
            return vec![error(iface.to_string(), Status::Unsupported, why)];
        }
        Err(why) => return vec![error(iface.to_string(), Status::Error, why)],
    };
    let mask = mask_of(&set);
    queues
        .into_iter()
        .map(|(n, live)| {
            let object = format!("{iface} rx-{n}");
            let live = match live {
                Ok(l) => l,
                // A kernel built without CONFIG_RPS has no rps_cpus files.
                Err(why) => return error(object, Status::Unsupported, why),
            };
            let setting = |mask: String| Setting::Rps {
                iface: iface.clone(),
                queue: n,
                mask,
            };
            let (want_s, live_s) = (setting(mask.clone()), setting(live.clone()));
            let in_sync = RpsOps::same(&want_s, &live_s);
            let shown = show_mask(&live);
            Entry::new(
                Item::new(Kind::Rps, object, show(&set), shown, Status::of(in_sync)),
                Some(want_s),
                Some(live_s),
            )
        })
        .collect()
}

/// A CPU set as reports show it: the list, or `none`.
pub fn show(c: &CpuList) -> String {
    if c.is_empty() {
        "none".into()
    } else {
        c.to_string()
    }
}

/// A mask as reports show it: its CPU list, or the text when it is not a mask.
pub fn show_mask(mask: &str) -> String {
    cpus_of(mask).map_or_else(|_| mask.trim().to_string(), |c| show(&c))
}

/// Whether two mask texts hold the same CPUs, however many words they are printed with.
pub fn same_cpus(a: &str, b: &str) -> bool {
    matches!((cpus_of(a), cpus_of(b)), (Ok(x), Ok(y)) if x == y)
}

/// `/sys/class/net/IFACE/queues/DIR-N/FILE`.
pub fn mask_path(iface: &IfName, dir: &str, queue: u32, file: &str) -> std::path::PathBuf {
    paths::net(iface, &format!("queues/{dir}-{queue}/{file}"))
}

/// The queues `DIR-N` (`rx` or `tx`) of an interface in number order, each with its mask file
/// as read (or why not), or why the queues cannot be listed.
pub fn queue_masks(
    iface: &IfName,
    dir: &str,
    file: &str,
    cx: &PlanCx,
) -> Result<Vec<QueueMask>, String> {
    let fs = cx.host.fs;
    let queues = paths::net(iface, "queues");
    let names = fs
        .read_dir(&queues)
        .map_err(|e| format!("{}: {e}", fs.display(&queues).display()))?;
    let prefix = format!("{dir}-");
    let mut q: Vec<u32> = names
        .iter()
        .filter_map(|n| n.to_str()?.strip_prefix(prefix.as_str())?.parse().ok())
        .collect();
    q.sort_unstable();
    Ok(q.into_iter()
        .map(|n| {
            let text = fs.read(&mask_path(iface, dir, n, file));
            (n, text.map_err(|e| e.to_string()))
        })
        .collect())
}

/// Reads a queue's mask file. Equivalent to `cat .../queues/DIR-N/FILE`.
pub fn read_mask(host: &Host, path: &std::path::Path) -> Result<String, KnobError> {
    host.fs.read(path).map_err(|source| KnobError::File {
        path: host.fs.display(path).display().to_string(),
        op: "read",
        source,
    })
}

/// Writes a queue's mask file, newline-terminated. Equivalent to `echo MASK > ...`.
pub fn write_mask(host: &Host, path: &std::path::Path, mask: &str) -> Result<(), KnobError> {
    let text = if mask.ends_with('\n') {
        mask.to_string()
    } else {
        format!("{mask}\n")
    };
    host.fs
        .write(path, &text)
        .map_err(|source| KnobError::File {
            path: host.fs.display(path).display().to_string(),
            op: "write",
            source,
        })
}

fn file(iface: &IfName, queue: u32) -> std::path::PathBuf {
    mask_path(iface, "rx", queue, "rps_cpus")
}

/// RPS masks in snapshots: the text as read, so a restore is byte for byte.
pub struct RpsOps;

impl SettingOps for RpsOps {
    /// Restoring channels re-creates the queues (stale after channels): restored after.
    fn restores_late() -> bool {
        true
    }
    fn address(s: &Setting) -> String {
        let Setting::Rps { iface, queue, .. } = s else {
            unreachable!()
        };
        format!("rps {iface} rx-{queue}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::Rps { iface, queue, mask } = s else {
            unreachable!()
        };
        (Kind::Rps, format!("{iface} rx-{queue}"), show_mask(mask))
    }
    /// The same CPUs, however many words the mask is printed with.
    fn same(a: &Setting, b: &Setting) -> bool {
        match (a, b) {
            (
                Setting::Rps {
                    iface, queue, mask, ..
                },
                Setting::Rps {
                    iface: i2,
                    queue: q2,
                    mask: m2,
                },
            ) => (iface, queue) == (i2, q2) && same_cpus(mask, m2),
            _ => false,
        }
    }
    /// An interface name and a hex CPU mask (`00000000,0000000f`), as the kernel prints it.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::Rps { iface, mask, .. } = s else {
            unreachable!()
        };
        crate::knobs::setting::check_iface(iface)?;
        cpus_of(mask).map(|_| ())
    }
    /// Equivalent to `cat /sys/class/net/IFACE/queues/rx-N/rps_cpus`.
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        let Setting::Rps { iface, queue, .. } = at else {
            unreachable!()
        };
        let mask = read_mask(host, &file(iface, *queue))?;
        Ok(Setting::Rps {
            iface: iface.clone(),
            queue: *queue,
            mask,
        })
    }
    /// Equivalent to `echo MASK > /sys/class/net/IFACE/queues/rx-N/rps_cpus`.
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        let Setting::Rps { iface, queue, mask } = s else {
            unreachable!()
        };
        write_mask(host, &file(iface, *queue), mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_are_the_kernels_words() {
        let l = |s: &str| s.parse::<CpuList>().unwrap();
        assert_eq!(mask_of(&l("0-3")), "0000000f");
        assert_eq!(mask_of(&l("0,33")), "00000002,00000001");
        assert_eq!(mask_of(&CpuList::from_cpus([])), "00000000");
        assert_eq!(cpus_of("f\n").unwrap(), l("0-3"));
        assert_eq!(cpus_of("00000002,00000001").unwrap(), l("0,33"));
        assert_eq!(cpus_of("0").unwrap(), CpuList::from_cpus([]));
        assert!(cpus_of("xyz").is_err());
    }

    fn observed(cpus: &str, queues: &[(u32, &str)]) -> Observed {
        Observed {
            cpus: Ok(cpus.parse().unwrap()),
            queues: Ok(queues
                .iter()
                .map(|(n, m)| (*n, Ok(m.to_string())))
                .collect()),
        }
    }

    #[test]
    fn diff_compares_sets_not_texts() {
        let eth0: IfName = "eth0".parse().unwrap();
        let want = RpsCpus::Cpus(IrqCpus::List("0-3".parse().unwrap()));
        type Row<'a> = (&'a [(u32, &'a str)], &'a [Status]);
        let rows: [Row; 3] = [
            (&[(0, "f\n"), (1, "0\n")], &[Status::Ok, Status::Drift]),
            (&[(0, "0000000f\n")], &[Status::Ok]),
            (&[(0, "00000000,0000000f\n")], &[Status::Ok]),
        ];
        for (queues, statuses) in rows {
            let d = diff(&want, &eth0, observed("0-3", queues));
            let got: Vec<Status> = d.iter().map(|e| e.item.status).collect();
            assert_eq!(got, statuses, "{queues:?}");
        }
        let d = diff(&want, &eth0, observed("0-3", &[(0, "0\n")]));
        assert_eq!(d[0].item.object, "eth0 rx-0");
        assert_eq!(
            (d[0].item.desired.as_str(), d[0].item.live.as_str()),
            ("0-3", "none")
        );
        let Some(Setting::Rps { mask, .. }) = &d[0].desired else {
            panic!()
        };
        assert_eq!(mask, "0000000f");
    }

    #[test]
    fn no_queues_is_unsupported_and_an_unreadable_mask_is_named() {
        let eth0: IfName = "eth0".parse().unwrap();
        let d = diff(&RpsCpus::None, &eth0, observed("0", &[]));
        assert_eq!(d[0].item.status, Status::Unsupported);
        let o = Observed {
            cpus: Ok(CpuList::from_cpus([])),
            queues: Ok(vec![(0, Err("No such file".into()))]),
        };
        let d = diff(&RpsCpus::None, &eth0, o);
        assert_eq!(d[0].item.status, Status::Unsupported);
        assert_eq!(RpsCpus::try_from("none".to_string()), Ok(RpsCpus::None));
        assert!(RpsCpus::try_from("nonе".to_string()).is_err());
    }
}
