//! Finding a NIC's queue IRQs again in the middle of an apply: changing channels makes the
//! driver free and request its queue IRQs anew, so the IRQ changes planned before it are
//! stale. They are dropped, and the interface is planned again once its channels, rings and
//! txqueuelen are done; the new IRQs' prior affinity goes into the snapshot on disk before
//! the first of them is written.

use super::{Step, Store};
use crate::host::Host;
use crate::knobs::{self, KnobError};
use crate::plan::{Item, Kind, Plan, Setting, Status};
use crate::snapshot::Snapshot;
use crate::types::IfName;

/// After `iface`'s channels changed (step `next - 1`), its planned IRQ changes are stale: drop
/// them and find its queue IRQs again once its rings and txqueuelen are done too, since those
/// can restart the queues as well.
pub(super) fn schedule(plan: &Plan, steps: &mut Vec<Step>, next: usize, iface: &IfName) {
    let Some(r) = plan.rediscover.iter().position(|r| &r.iface == iface) else {
        return;
    };
    let mut j = next;
    while j < steps.len() {
        let stale = match &steps[j] {
            Step::Change(c) => knobs::irq::is_queue_irq_of(&c.0, iface),
            Step::Rediscover(x) => *x == r,
        };
        if stale {
            steps.remove(j);
        } else {
            j += 1;
        }
    }
    let at = steps[next..]
        .iter()
        .rposition(|s| {
            matches!(s, Step::Change(c) if matches!(&c.1, Setting::Rings { iface: x, .. } | Setting::Txqueuelen { iface: x, .. } if x == iface))
        })
        .map_or(next, |k| next + k + 1);
    steps.insert(at, Step::Rediscover(r));
}

/// Plans `r`'s IRQs again and, before any of them is written, records in the snapshot on disk
/// the prior affinity of each IRQ it does not hold yet (an IRQ it holds keeps its pre-apply
/// value), so that rollback and a `kill -9` still find every prior value.
pub(super) fn run(
    host: &Host,
    store: &Store,
    snap: &mut Snapshot,
    r: &knobs::irq::Rediscover,
) -> Result<Vec<Step>, Box<(Item, KnobError)>> {
    let entries = knobs::irq::plan_iface(&r.cpus, &r.iface, host);
    let other = |what: String| KnobError::Other {
        iface: r.iface.clone(),
        what,
    };
    if let Some(e) = entries.iter().find(|e| e.item.status == Status::Error) {
        let why = e.item.note.clone().unwrap_or_default();
        return Err(Box::new((
            e.item.clone(),
            other(format!("after the channel change: {why}")),
        )));
    }
    let fresh: Vec<Step> = entries
        .iter()
        .filter_map(|e| e.change().map(|(to, from)| Step::change(&e.item, to, from)))
        .collect();
    let before = snap.settings.len();
    for s in &fresh {
        if let Step::Change(c) = s {
            let from = &c.2;
            if !snap.settings.iter().any(|k| k.address() == from.address()) {
                snap.settings.push(from.clone());
            }
        }
    }
    if snap.settings.len() > before {
        if let Err(e) = store.save(snap) {
            let item = Item::new(
                Kind::IrqAffinity,
                r.iface.to_string(),
                String::from(r.cpus.clone()),
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
