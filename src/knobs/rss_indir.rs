//! The RSS indirection table (`ethtool -x/-X IFACE`, ETHTOOL_GRXFHINDIR/SRXFHINDIR): which
//! RX queue each hash bucket feeds, so which queues receive flows at all. One `rss_indir`
//! item per interface, and checks against the channels of the same plan: the kernel's scaling
//! guide (Documentation/networking/scaling.rst, "RSS") has the table spread flows over the
//! receive queues, and a table pinned by an earlier write stays as it is when channels grow,
//! leaving the new queues idle, while a channel count below an entry of a pinned table is
//! refused by the kernel (EINVAL).
//!
//! The table's bound is the RX ring count (ETHTOOL_GRXRINGS), which the kernel checks every
//! entry against; the count a channel change leaves is its rx + combined, as the kernel
//! counts it when it checks a channel change against the table.

mod spec;

use crate::host::NicOpsExt as _;
use crate::host::{Host, NicError, RssIndir, RxRings};
use crate::knobs::cx::PlanCx;
use crate::knobs::nic_knob::NicKnob;
use crate::knobs::queues::{compare, read_failed, refused};
use crate::knobs::{Entry, Item, Kind, KnobError, Setting, SettingOps, Status};
use crate::types::IfName;
pub use spec::{Form, RssIndirSpec, fill_weights, queues, show};

/// The `rss_indir` knob.
pub struct RssIndirKnob;

/// The live table and RX ring count.
#[derive(Debug)]
pub struct Observed {
    pub table: Result<RssIndir, NicError>,
    pub rings: Result<u32, NicError>,
}

fn observe(iface: &IfName, host: &Host) -> Observed {
    Observed {
        table: host.nic.read::<RssIndir>(iface, ()),
        rings: host.nic.read::<RxRings>(iface, ()).map(|r| r.0),
    }
}

impl NicKnob for RssIndirKnob {
    type Spec = RssIndirSpec;
    type Observed = Observed;
    const KIND: Kind = Kind::RssIndir;

    /// A channel change changes the RX queues: `"equal"` then covers the new count.
    fn stale_after() -> &'static [Kind] {
        &[Kind::Channels]
    }

    /// A rule that changes channels gets the table checked against them.
    fn audited_with() -> &'static [Kind] {
        &[Kind::Channels]
    }

    fn observe(_spec: &RssIndirSpec, iface: &IfName, cx: &PlanCx) -> Observed {
        observe(iface, &cx.host)
    }

    fn diff(spec: &RssIndirSpec, iface: &IfName, o: Observed) -> Vec<Entry> {
        vec![diff(spec, iface, o)]
    }

    fn review(
        spec: Option<&RssIndirSpec>,
        iface: &IfName,
        earlier: &[Entry],
        mine: &mut Vec<Entry>,
        cx: &PlanCx,
    ) {
        let channels_leave = earlier.iter().find_map(|e| match &e.desired {
            // Only a channel change moves the queues (an `ok` channels item writes nothing).
            Some(Setting::Channels { rx, combined, .. })
                if e.item.kind == Kind::Channels && e.item.status == Status::Drift =>
            {
                Some(rx + combined)
            }
            _ => None,
        });
        let Observed {
            table: Ok(live),
            rings: Ok(rings),
        } = observe(iface, &cx.host)
        else {
            // Asked for: diff reported the failed read. Not asked for: nothing to check.
            return;
        };
        if mine.is_empty() {
            let item = Item::new(
                Kind::RssIndir,
                iface.as_str(),
                "-",
                show(&live.0),
                Status::Ok,
            );
            mine.push(Entry::new(item, None, None));
        }
        let e = &mut mine[0];
        if e.item.status == Status::Error {
            return;
        }
        let planned = match &e.desired {
            Some(Setting::RssIndir { table, .. }) => Some(table.as_slice()),
            _ => None,
        };
        let found = check(spec, iface, &live.0, rings, channels_leave, planned);
        if let Some(why) = found.error {
            e.item.status = Status::Error;
            e.item.note = Some(why);
            e.desired = None;
        } else if let Some(note) = found.note {
            e.item.note = Some(note);
        }
    }
}

/// Desired table against the live one (pure). The bound of the entries against the RX queues
/// is [`check`]'s, which knows the channels the plan leaves.
pub fn diff(spec: &RssIndirSpec, iface: &IfName, o: Observed) -> Entry {
    let asked = spec.to_string();
    let (live, rings) = match (o.table, o.rings) {
        (Ok(t), Ok(r)) => (t.0, r),
        (Err(e), _) | (_, Err(e)) => return read_failed(Kind::RssIndir, iface, &asked, e),
    };
    let setting = |table| Setting::RssIndir {
        iface: iface.clone(),
        table,
    };
    match spec.table(live.len(), rings) {
        None => {
            let item = Item::new(
                Kind::RssIndir,
                iface.as_str(),
                asked,
                show(&live),
                Status::Ok,
            );
            Entry::new(item, None, None)
        }
        Some(Err(why)) => refused(Kind::RssIndir, iface, &asked, format!("{iface}: {why}")),
        Some(Ok(want)) => compare(setting(want), setting(live)),
    }
}

/// What [`check`] found: an explanation for the item, or why the plan cannot go on.
#[derive(Debug, Default, PartialEq)]
pub struct Found {
    pub note: Option<String>,
    pub error: Option<String>,
}

/// The table against the RX queues (pure): `live` and `rings` as read, `channels_leave` the
/// RX queues of the channels this plan writes (None when it writes none), `planned` the table
/// the item would write. Reports a live table that points past the RX rings; refuses a channel
/// cut under a pinned table (the kernel would refuse it) and a table using queues the channels
/// do not leave; and, unless `lint = false` or `"keep"`, a table the plan leaves that gives
/// some RX queues no flows. A live table that is an `equal K` spread is taken as the driver's
/// own default, which the kernel lets channels change under.
pub fn check(
    spec: Option<&RssIndirSpec>,
    iface: &IfName,
    live: &[u32],
    rings: u32,
    channels_leave: Option<u32>,
    planned: Option<&[u32]>,
) -> Found {
    let n = channels_leave.unwrap_or(rings);
    // Any `equal K` spread is taken as a default the driver has not spread again (virtio-net
    // on 6.1 keeps it across a channel cut, and the kernel takes the cut): only a table of
    // another shape is surely pinned, so only it is refused or linted for staying.
    let pinned = !live.is_empty() && RssIndir::equal_spread(live).is_none();
    let beyond = |t: &[u32], n: u32| queues(t.iter().copied().filter(|&q| q >= n));
    let mut found = Found::default();
    if live.iter().any(|&q| q >= rings) {
        found.note = Some(format!(
            "the live table points at queues {}, which {iface} does not have ({rings} RX rings)",
            beyond(live, rings)
        ));
    }
    if channels_leave.is_some() && pinned && live.iter().any(|&q| q >= n) {
        found.error = Some(format!(
            "{iface}'s RSS table, pinned by an earlier write, uses queues {} that the channel \
             change to {n} RX queues removes, and the kernel refuses such a change (EINVAL); \
             reset the table first with `ethtool -X {iface} default`",
            beyond(live, n)
        ));
        return found;
    }
    let form = spec.map(|s| &s.form);
    let left: Vec<u32> = match form {
        Some(Form::Keep) => return found,
        Some(Form::Equal | Form::Default) => RssIndir::equal(live.len(), n).0,
        Some(Form::EqualN(_) | Form::Weights(_)) => match planned {
            Some(t) => t.to_vec(),
            None => return found,
        },
        None if pinned => live.to_vec(),
        None => RssIndir::equal(live.len(), n).0,
    };
    let asked = spec.map(ToString::to_string).unwrap_or_default();
    // A live table past the rings is already in the note; an asked one would be refused.
    if spec.is_some() && left.iter().any(|&q| q >= n) {
        found.error = Some(format!(
            "rss_indir = {asked} uses queues {}, but {iface} has {n} RX queues{}",
            beyond(&left, n),
            if channels_leave.is_some() {
                " after its channel change"
            } else {
                ""
            }
        ));
        return found;
    }
    let on_purpose = spec.map(RssIndirSpec::zero_weighted).unwrap_or_default();
    let idle: Vec<u32> = (0..n)
        .filter(|q| !left.contains(q) && !on_purpose.contains(q))
        .collect();
    if idle.is_empty() || spec.is_some_and(|s| !s.lint) {
        return found;
    }
    let idle = queues(idle);
    found.error = Some(match spec {
        None => format!(
            "{iface}'s RSS table, pinned by an earlier `ethtool -X`, covers queues {} and stays \
             as it is when channels change, so RX queues {idle} of {n} get no flows; add \
             rss_indir = \"equal\" to the rule to spread over all of them, or \
             rss_indir = \"keep\" to keep the table",
            queues(left.iter().copied())
        ),
        Some(_) if left.len() < n as usize => format!(
            "{iface}'s RSS table has {} entries, fewer than its {n} RX queues: queues {idle} \
             get no flows; lower the channels, or add lint = false",
            left.len()
        ),
        Some(_) => format!(
            "rss_indir = {asked} leaves RX queues {idle} of {iface}'s {n} without flows; \
             use rss_indir = \"equal\", give those queues a weight, or add lint = false to \
             keep them out on purpose"
        ),
    });
    found
}

/// RSS indirection tables in snapshots.
pub struct RssIndirOps;

impl SettingOps for RssIndirOps {
    fn address(s: &Setting) -> String {
        let Setting::RssIndir { iface, .. } = s else {
            unreachable!()
        };
        format!("rss_indir {iface}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::RssIndir { iface, table } = s else {
            unreachable!()
        };
        (Kind::RssIndir, iface.to_string(), show(table))
    }
    /// The table indexes queues re-created by channel changes.
    fn restores_late() -> bool {
        true
    }
    /// An interface name and a table of at least one entry.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::RssIndir { iface, table } = s else {
            unreachable!()
        };
        crate::knobs::setting::check_iface(iface)?;
        if table.is_empty() {
            return Err(format!("rss_indir {iface}: an empty table"));
        }
        Ok(())
    }
    /// Equivalent to `ethtool -x IFACE`.
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        let Setting::RssIndir { iface, .. } = at else {
            unreachable!()
        };
        Ok(Setting::RssIndir {
            iface: iface.clone(),
            table: host.nic.read::<RssIndir>(iface, ())?.0,
        })
    }
    /// Equivalent to `ethtool -X IFACE weight ...`; the same table is never written again.
    /// The kernel's default spread is written as `ethtool -X IFACE default`, so the driver
    /// keeps it its own and spreads it again on later channel changes (a written table would
    /// pin the ring count); an explicit write follows if the driver's default differs.
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        let Setting::RssIndir { iface, table } = s else {
            unreachable!()
        };
        if host.nic.read::<RssIndir>(iface, ())?.0 == *table {
            return Ok(());
        }
        let rings = host.nic.read::<RxRings>(iface, ())?.0;
        if *table == RssIndir::equal(table.len(), rings).0 {
            host.nic.write(iface, RssIndir::default())?;
            if host.nic.read::<RssIndir>(iface, ())?.0 == *table {
                return Ok(());
            }
        }
        Ok(host.nic.write(iface, RssIndir(table.clone()))?)
    }
}

#[cfg(test)]
mod tests;
