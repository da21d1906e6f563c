//! Transmit Packet Steering: the CPU mask of every transmit queue
//! (`/sys/class/net/IFACE/queues/tx-N/xps_cpus`), which picks the queue a CPU sends on. The
//! kernel's scaling guide (Documentation/networking/scaling.rst, "XPS") gives the efficient
//! setup: each CPU maps onto one queue, ideally the queue whose completion interrupt that
//! CPU handles. Same mask format as `rps_cpus`.
//!
//! Forms: `"irq"` gives each queue the CPUs its queue IRQ is pinned to (read after any
//! `irq_cpus` change of the same apply: the knob is planned again after it); `"local"`,
//! `"isolated"` or a CPU list spread the set over the queues so that each CPU maps onto one
//! queue (queue N gets every CPU at a position ≡ N modulo the queue count; with fewer CPUs
//! than queues, queue N gets the set's CPU N modulo its size); `"none"` clears the masks
//! (XPS off).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cpulist::CpuList;
use crate::host::Host;
use crate::irq::{queue_irqs_in, read_affinity};
use crate::knobs::cx::PlanCx;
use crate::knobs::irq::{IrqCpus, resolve_cpus_for};
use crate::knobs::nic_knob::NicKnob;
use crate::knobs::rps::{
    QueueMask, cpus_of, mask_of, mask_path, queue_masks, read_mask, same_cpus, show, show_mask,
    write_mask,
};
use crate::knobs::{Entry, Item, Kind, KnobError, Setting, SettingOps, Status};
use crate::types::IfName;

/// `xps_cpus`: "irq", "isolated", "local", a CPU list, or "none".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum XpsCpus {
    /// Every mask cleared.
    None,
    /// Each queue on the CPUs its queue IRQ is pinned to.
    Irq,
    /// A set spread over the queues.
    Cpus(IrqCpus),
}

impl TryFrom<String> for XpsCpus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "none" => Ok(Self::None),
            "irq" => Ok(Self::Irq),
            "isolated" => Ok(Self::Cpus(IrqCpus::Isolated)),
            "local" => Ok(Self::Cpus(IrqCpus::Local)),
            other => match other.parse::<CpuList>() {
                Ok(l) if !l.is_empty() => Ok(Self::Cpus(IrqCpus::List(l))),
                Ok(_) => Err("xps_cpus must not be empty; use \"none\" to turn XPS off".into()),
                Err(e) => Err(format!(
                    "xps_cpus must be \"irq\", \"isolated\", \"local\", \"none\" or a CPU list: {e}"
                )),
            },
        }
    }
}

impl From<XpsCpus> for String {
    fn from(c: XpsCpus) -> String {
        match c {
            XpsCpus::None => "none".into(),
            XpsCpus::Irq => "irq".into(),
            XpsCpus::Cpus(c) => c.into(),
        }
    }
}

/// The `xps_cpus` knob: one `xps` item per transmit queue.
pub struct Xps;

/// What `observe` reads: the CPUs each queue should get, and each transmit queue's mask.
#[derive(Debug)]
pub struct Observed {
    /// The resolved set (`Cpus` forms), or each queue's IRQ CPUs (`"irq"`), or why not.
    pub want: Result<Want, String>,
    /// `(N, mask)` of each `tx-N`, or why the queues cannot be listed.
    pub queues: Result<Vec<QueueMask>, String>,
}

/// The CPUs asked for, before they are given to queues.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    /// Clear every mask.
    Nothing,
    /// A set to spread over the queues.
    Set(CpuList),
    /// Queue number to the CPUs its queue IRQ is pinned to.
    PerQueue(BTreeMap<u32, CpuList>),
}

impl NicKnob for Xps {
    type Spec = XpsCpus;
    type Observed = Observed;
    const KIND: Kind = Kind::Xps;

    /// Changing channels re-creates the transmit queues; the `"irq"` form follows the IRQ
    /// placement, so it is read again once `irq_cpus` is written.
    fn stale_after() -> &'static [Kind] {
        &[Kind::Channels, Kind::IrqAffinity]
    }

    fn observe(spec: &XpsCpus, iface: &IfName, cx: &PlanCx) -> Observed {
        let want = match spec {
            XpsCpus::None => Ok(Want::Nothing),
            XpsCpus::Cpus(c) => resolve_cpus_for("xps_cpus", c, iface, cx).map(Want::Set),
            XpsCpus::Irq => irq_cpus(iface, cx).map(Want::PerQueue),
        };
        Observed {
            want,
            queues: queue_masks(iface, "tx", "xps_cpus", cx),
        }
    }

    fn diff(spec: &XpsCpus, iface: &IfName, o: Observed) -> Vec<Entry> {
        diff(spec, iface, o)
    }
}

/// Each queue IRQ's queue number and the CPUs it is pinned to (`smp_affinity_list`).
fn irq_cpus(iface: &IfName, cx: &PlanCx) -> Result<BTreeMap<u32, CpuList>, String> {
    let parsed = cx.interrupts()?;
    let queues = queue_irqs_in(cx.host.fs, iface, parsed)
        .map_err(|e| format!("xps_cpus = \"irq\" follows the queue IRQs: {e}"))?;
    let mut out = BTreeMap::new();
    for q in queues {
        let a = read_affinity(cx.host.fs, q.irq).map_err(|e| e.to_string())?;
        out.entry(q.queue).or_insert(a.requested);
    }
    Ok(out)
}

/// The CPUs of queue `n` of `count` when `set` is spread over them (pure).
pub fn share(set: &CpuList, n: u32, count: u32) -> CpuList {
    let cpus = set.cpus();
    if cpus.is_empty() || count == 0 {
        return CpuList::from_cpus([]);
    }
    if cpus.len() >= count as usize {
        CpuList::from_cpus(
            cpus.iter()
                .enumerate()
                .filter(|(i, _)| *i as u32 % count == n)
                .map(|(_, c)| *c),
        )
    } else {
        CpuList::from_cpus([cpus[n as usize % cpus.len()]])
    }
}

/// One item per transmit queue: desired its share of the CPUs, live its mask (pure).
pub fn diff(spec: &XpsCpus, iface: &IfName, o: Observed) -> Vec<Entry> {
    let asked = String::from(spec.clone());
    let error = |object: String, status, why: String| {
        Entry::new(
            Item::new(Kind::Xps, object, asked.clone(), "-", status).note(why),
            None,
            None,
        )
    };
    let want = match o.want {
        Ok(w) => w,
        Err(why) => return vec![error(iface.to_string(), Status::Error, why)],
    };
    let queues = match o.queues {
        Ok(q) if !q.is_empty() => q,
        Ok(_) => {
            let why = "no transmit queues in sysfs".to_string();
            return vec![error(iface.to_string(), Status::Unsupported, why)];
        }
        Err(why) => return vec![error(iface.to_string(), Status::Error, why)],
    };
    let count = u32::try_from(queues.len()).unwrap_or(u32::MAX);
    queues
        .into_iter()
        .map(|(n, live)| {
            let object = format!("{iface} tx-{n}");
            let live = match live {
                Ok(l) => l,
                // Older kernels answer ENOENT for a device with one queue, and a kernel
                // without CONFIG_XPS has no file.
                Err(why) => {
                    let why = format!("{why} (XPS needs a multiqueue device)");
                    return error(object, Status::Unsupported, why);
                }
            };
            let cpus = match &want {
                Want::Nothing => CpuList::from_cpus([]),
                Want::Set(set) => share(set, n, count),
                Want::PerQueue(map) => match map.get(&n) {
                    Some(c) => c.clone(),
                    None => {
                        let why = format!("no queue IRQ for tx-{n} to follow");
                        return error(object, Status::Error, why);
                    }
                },
            };
            let setting = |mask: String| Setting::Xps {
                iface: iface.clone(),
                queue: n,
                mask,
            };
            let (want_s, live_s) = (setting(mask_of(&cpus)), setting(live.clone()));
            let in_sync = XpsOps::same(&want_s, &live_s);
            let shown = show_mask(&live);
            Entry::new(
                Item::new(Kind::Xps, object, show(&cpus), shown, Status::of(in_sync)),
                Some(want_s),
                Some(live_s),
            )
        })
        .collect()
}

fn file(iface: &IfName, queue: u32) -> std::path::PathBuf {
    mask_path(iface, "tx", queue, "xps_cpus")
}

/// XPS masks in snapshots: the text as read, so a restore is byte for byte.
pub struct XpsOps;

impl SettingOps for XpsOps {
    /// Restoring channels re-creates the queues: restored after.
    fn restores_late() -> bool {
        true
    }
    fn address(s: &Setting) -> String {
        let Setting::Xps { iface, queue, .. } = s else {
            unreachable!()
        };
        format!("xps {iface} tx-{queue}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::Xps { iface, queue, mask } = s else {
            unreachable!()
        };
        (Kind::Xps, format!("{iface} tx-{queue}"), show_mask(mask))
    }
    /// The same CPUs, however many words the mask is printed with.
    fn same(a: &Setting, b: &Setting) -> bool {
        match (a, b) {
            (
                Setting::Xps { iface, queue, mask },
                Setting::Xps {
                    iface: i2,
                    queue: q2,
                    mask: m2,
                },
            ) => (iface, queue) == (i2, q2) && same_cpus(mask, m2),
            _ => false,
        }
    }
    /// An interface name and a hex CPU mask, as the kernel prints it.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::Xps { iface, mask, .. } = s else {
            unreachable!()
        };
        crate::knobs::setting::check_iface(iface)?;
        cpus_of(mask).map(|_| ())
    }
    /// Equivalent to `cat /sys/class/net/IFACE/queues/tx-N/xps_cpus`.
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        let Setting::Xps { iface, queue, .. } = at else {
            unreachable!()
        };
        let mask = read_mask(host, &file(iface, *queue))?;
        Ok(Setting::Xps {
            iface: iface.clone(),
            queue: *queue,
            mask,
        })
    }
    /// Equivalent to `echo MASK > /sys/class/net/IFACE/queues/tx-N/xps_cpus`.
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        let Setting::Xps { iface, queue, mask } = s else {
            unreachable!()
        };
        write_mask(host, &file(iface, *queue), mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str) -> CpuList {
        s.parse().unwrap()
    }

    #[test]
    fn a_set_is_spread_so_each_cpu_maps_onto_one_queue() {
        // (set, queues, each queue's share)
        let rows: [(&str, u32, &[&str]); 4] = [
            ("0-3", 4, &["0", "1", "2", "3"]),
            ("0-7", 4, &["0,4", "1,5", "2,6", "3,7"]),
            ("2,3", 4, &["2", "3", "2", "3"]),
            ("5", 2, &["5", "5"]),
        ];
        for (set, count, shares) in rows {
            let got: Vec<String> = (0..count)
                .map(|n| share(&l(set), n, count).to_string())
                .collect();
            assert_eq!(got, *shares, "{set} over {count}");
        }
    }

    fn observed(want: Want, queues: &[(u32, &str)]) -> Observed {
        Observed {
            want: Ok(want),
            queues: Ok(queues
                .iter()
                .map(|(n, m)| (*n, Ok(m.to_string())))
                .collect()),
        }
    }

    #[test]
    fn diff_table() {
        let eth0: IfName = "eth0".parse().unwrap();
        let per_queue: BTreeMap<u32, CpuList> = [(0, l("2")), (1, l("3"))].into_iter().collect();
        type Row<'a> = (XpsCpus, Want, &'a [(u32, &'a str)], &'a [(&'a str, Status)]);
        let rows: [Row; 5] = [
            (
                XpsCpus::Cpus(IrqCpus::List(l("0-1"))),
                Want::Set(l("0-1")),
                &[(0, "1\n"), (1, "0\n")],
                &[("0", Status::Ok), ("1", Status::Drift)],
            ),
            (
                XpsCpus::None,
                Want::Nothing,
                &[(0, "00000000\n"), (1, "3\n")],
                &[("none", Status::Ok), ("none", Status::Drift)],
            ),
            (
                XpsCpus::Irq,
                Want::PerQueue(per_queue.clone()),
                &[(0, "4\n"), (1, "4\n")],
                &[("2", Status::Ok), ("3", Status::Drift)],
            ),
            (
                XpsCpus::Irq,
                Want::PerQueue(per_queue),
                &[(0, "4\n"), (1, "8\n"), (2, "0\n")],
                &[("2", Status::Ok), ("3", Status::Ok), ("irq", Status::Error)],
            ),
            (
                XpsCpus::Cpus(IrqCpus::List(l("0-3"))),
                Want::Set(l("0-3")),
                &[(0, "00000000,00000005\n"), (1, "a\n")],
                &[("0,2", Status::Ok), ("1,3", Status::Ok)],
            ),
        ];
        for (spec, want, queues, expect) in rows {
            let d = diff(&spec, &eth0, observed(want, queues));
            let got: Vec<(&str, Status)> = d
                .iter()
                .map(|e| (e.item.desired.as_str(), e.item.status))
                .collect();
            assert_eq!(got, *expect, "{spec:?} {queues:?}");
        }
    }

    #[test]
    fn single_queue_devices_and_missing_queues_are_unsupported() {
        let eth0: IfName = "eth0".parse().unwrap();
        let o = Observed {
            want: Ok(Want::Nothing),
            queues: Ok(vec![(0, Err("No such file or directory".into()))]),
        };
        let d = diff(&XpsCpus::None, &eth0, o);
        assert_eq!(d[0].item.status, Status::Unsupported);
        assert!(d[0].item.note.as_ref().unwrap().contains("multiqueue"));
        let d = diff(&XpsCpus::None, &eth0, observed(Want::Nothing, &[]));
        assert_eq!(d[0].item.status, Status::Unsupported);
        let o = Observed {
            want: Err("no device".into()),
            queues: Ok(vec![]),
        };
        assert_eq!(diff(&XpsCpus::Irq, &eth0, o)[0].item.status, Status::Error);
    }

    #[test]
    fn forms_parse_and_print_back() {
        for s in ["none", "irq", "isolated", "local", "0-3,8"] {
            let x = XpsCpus::try_from(s.to_string()).unwrap();
            assert_eq!(String::from(x), s);
        }
        assert!(XpsCpus::try_from("".to_string()).is_err());
        assert!(XpsCpus::try_from("irqs".to_string()).is_err());
    }
}
