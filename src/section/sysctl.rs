//! `[sysctl]` as a section: keys in document order, a child file's value replacing its
//! parent's in place (sysctl.d semantics: later wins). The keys of an interface that a
//! section planned earlier creates in the same apply are planned against the values the new
//! interface will start with (its family's `default` keys), not reported `pending`.

use std::collections::HashMap;

use serde::Serializer;

use super::{Profile, Run, Section};
use crate::knobs::Entry;
use crate::knobs::Kind;
use crate::knobs::sysctl::{self, Found, Observed, SysctlEntry, SysctlTable};
use crate::schema::{Locator, ProfileError};
use crate::sysctl::SysctlKey;

/// The `[sysctl]` section.
pub struct Sysctl;

impl Section for Sysctl {
    const TABLE: &'static str = "sysctl";
    const IFACES: bool = true;
    type Raw = SysctlTable;
    type Value = Vec<SysctlEntry>;

    fn validate(raw: SysctlTable, loc: &Locator, errs: &mut Vec<ProfileError>) -> Self::Value {
        raw.validate(loc, errs)
    }

    fn merge(mut parent: Self::Value, child: Self::Value) -> Self::Value {
        // Indexed by key so that merging large tables stays linear; a child's value replaces
        // the parent's in place, keeping the parent's order.
        let mut at: HashMap<SysctlKey, usize> = parent
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key.clone(), i))
            .collect();
        for e in child {
            match at.get(&e.key) {
                Some(&i) => parent[i] = e,
                None => {
                    at.insert(e.key.clone(), parent.len());
                    parent.push(e);
                }
            }
        }
        parent
    }

    fn show<S: Serializer>(v: &Self::Value, s: S) -> Result<S::Ok, S::Error> {
        sysctl::serialize_entries(v, s)
    }

    fn plan(v: &Self::Value, run: &mut Run) -> Vec<Entry> {
        let (mut observed, ctx) = sysctl::observe(&run.cx, v);
        run.raw.sysctl(&ctx.raw);
        let created = on_created(&mut observed, run);
        let mut entries = sysctl::diff(observed, &ctx, Kind::Sysctl);
        // `diff` keeps the order of `observed`, one entry each, before any other.
        for (i, note) in created {
            let item = &mut entries[i].item;
            item.note = Some(match item.note.take() {
                Some(n) => format!("{note}; {n}"),
                None => note,
            });
        }
        entries
    }

    /// An empty `[sysctl]` is no section: `show` leaves it out, a child's does not replace.
    fn get(p: &Profile) -> Option<&Self::Value> {
        (!p.sysctl.is_empty()).then_some(&p.sysctl)
    }

    fn put(p: &mut Profile, v: Option<Self::Value>) {
        p.sysctl = v.unwrap_or_default();
    }

    fn take(p: &mut Profile) -> Option<Self::Value> {
        let v = std::mem::take(&mut p.sysctl);
        (!v.is_empty()).then_some(v)
    }
}

/// Keys of an interface not there yet that an earlier section creates: observed as the
/// value the kernel gives a new interface, its family's `default` key
/// (`net.ipv4.conf.default.rp_filter` for `net.ipv4.conf.tunl0.rp_filter`), so that they
/// plan as a write after that section's instead of `pending`. Returns the index of each
/// such key with the note that says so.
fn on_created(observed: &mut [Observed], run: &Run) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, o) in observed.iter_mut().enumerate() {
        let Found::Pending(iface) = &o.found else {
            continue;
        };
        let Some(by) = run.creator(iface) else {
            continue;
        };
        let mut segs = o.key.segments().to_vec();
        segs[3] = "default".into();
        let Ok(default) = SysctlKey::from_segments(segs) else {
            continue;
        };
        // Without a `default` key to start from, it stays `pending`: the agent applies it
        // when the interface appears.
        let Ok(value) = sysctl::read(run.cx.host.fs, &default) else {
            continue;
        };
        out.push((
            i,
            format!(
                "interface {iface} is created by [{by}] earlier in this apply, with the value \
                 of {default}"
            ),
        ));
        o.found = Found::Value(value);
    }
    out
}
