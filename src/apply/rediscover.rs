//! Planning a NIC knob again in the middle of an apply. Each knob declares which changes make
//! its plan for an interface stale (`NicKnob::stale_after`: changing channels makes the
//! driver free and request its queues and their IRQs anew, so the IRQ and RPS changes planned
//! before are stale). The engine follows the declarations: after such a change it drops the
//! knob's planned steps for that interface and plans it again once every earlier knob of the
//! interface is written; the new prior values go into the snapshot on disk before the first
//! of them is written.

use super::{Change, Step, Store};
use crate::host::Host;
use crate::knobs::registry::NIC_KNOBS;
use crate::knobs::{Kind, KnobError};
use crate::plan::{Item, Plan, Status};
use crate::snapshot::Snapshot;
use crate::types::IfName;

/// The position of a kind among the NIC knobs (apply order); `None` for other kinds.
fn order(kind: Kind) -> Option<usize> {
    NIC_KNOBS.iter().position(|k| k.kind() == kind)
}

/// The kinds a re-plan follows, for messages: `channels`, `channels or rings`.
fn changed(after: &[Kind]) -> String {
    let names: Vec<&str> = after.iter().map(|k| k.as_str()).collect();
    names.join(" or ")
}

/// After a change of `kind` on `iface` (step `next - 1`), every knob whose plan that makes
/// stale is dropped from the steps ahead and planned again after the last step ahead on
/// `iface` of a knob that comes before it.
pub(super) fn schedule(
    plan: &Plan,
    steps: &mut Vec<Step>,
    next: usize,
    kind: Kind,
    iface: &IfName,
) {
    for (r, replan) in plan.replan.iter().enumerate() {
        if !replan.stale_after(kind, iface) {
            continue;
        }
        let stale = |s: &Step| match s {
            Step::Change(c) => c.iface.as_ref() == Some(iface) && c.item.kind == replan.kind(),
            Step::Replan(x) => *x == r,
        };
        let mut j = next;
        while j < steps.len() {
            if stale(&steps[j]) {
                steps.remove(j);
            } else {
                j += 1;
            }
        }
        let mine = order(replan.knob);
        let before = |k: Kind| order(k).is_some_and(|o| mine.is_some_and(|m| o < m));
        let at = steps[next..]
            .iter()
            .rposition(|s| {
                matches!(s, Step::Change(c) if c.iface.as_ref() == Some(iface) && before(c.item.kind))
            })
            .map_or(next, |k| next + k + 1);
        steps.insert(at, Step::Replan(r));
    }
}

/// Plans the knob of `plan.replan[r]` again and, before any of its changes is written,
/// records in the snapshot on disk the prior value of each setting it does not hold yet (one
/// it holds keeps its pre-apply value), so that rollback and a `kill -9` still find every
/// prior value.
pub(super) fn run(
    host: &Host,
    store: &Store,
    snap: &mut Snapshot,
    plan: &Plan,
    r: usize,
) -> Result<Vec<Step>, Box<(Item, KnobError)>> {
    let replan = &plan.replan[r];
    let entries = replan.plan(*host);
    let other = |what: String| KnobError::Other {
        iface: replan.iface.clone(),
        what,
    };
    if let Some(e) = entries.iter().find(|e| e.item.status == Status::Error) {
        let why = e.item.note.clone().unwrap_or_default();
        return Err(Box::new((
            e.item.clone(),
            other(format!(
                "after the {} change: {why}",
                changed(replan.after())
            )),
        )));
    }
    let fresh: Vec<Step> = entries.iter().filter_map(Change::step).collect();
    let before = snap.settings.len();
    for s in &fresh {
        if let Step::Change(c) = s {
            if !snap
                .settings
                .iter()
                .any(|k| k.address() == c.from.address())
            {
                snap.settings.push(c.from.clone());
            }
        }
    }
    if snap.settings.len() > before {
        if let Err(e) = store.save(snap) {
            let item = Item::new(
                replan.kind(),
                replan.iface.to_string(),
                "-",
                "-",
                Status::Error,
            );
            return Err(Box::new((
                item,
                other(format!("cannot extend the snapshot: {e}")),
            )));
        }
    }
    Ok(fresh)
}
