//! Apply: snapshot what will change (durably, before the first write), write each change in
//! plan order, read it back, and on any failure undo every change already made, newest first.

use std::time::Duration;

use crate::host::Host;
use crate::knobs::{self, KnobError};
use crate::plan::{Item, Kind, Plan, Setting, Status, describe};
use crate::snapshot::{KeptValue, Origin, Snapshot, Store, StoreError, now_rfc3339};
use crate::types::IfName;

/// Why an apply did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Problems found while planning; nothing was written.
    #[error("{}", .0.iter().map(|i| format!("{} {}: {}", i.kind, i.object, i.note.as_deref().unwrap_or("error"))).collect::<Vec<_>>().join("\n"))]
    Plan(Vec<Item>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happened to one change.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub item: Item,
    /// What the kernel kept, when it differs from what was asked.
    pub kept: Option<String>,
    /// The change could not be made because the host does not support it.
    pub unsupported: Option<String>,
}

/// A change that failed, and what undoing the others did.
#[derive(Debug)]
pub struct Failure {
    pub item: Item,
    pub error: KnobError,
    /// Errors while restoring earlier changes; empty when the undo was complete.
    pub undo_errors: Vec<KnobError>,
}

/// The result of an apply or rollback that got past planning.
#[derive(Debug)]
pub struct Outcome {
    /// The snapshot taken before the first write (none when nothing needed writing).
    pub snapshot: Option<String>,
    pub done: Vec<Done>,
    pub failure: Option<Failure>,
}

/// Test-only pause after each write, so that a test can `kill -9` an apply midway.
const PAUSE_ENV: &str = "HOSTTUNE_TEST_PAUSE_MS";

/// Runs a plan. `origin` says whose snapshot this is; an apply's becomes the default for
/// `hosttune rollback`.
pub fn run(
    host: &Host,
    store: &Store,
    plan: &Plan,
    origin: Origin,
    host_name: &str,
) -> Result<Outcome, ApplyError> {
    run_with(host, store, plan, origin, host_name, &Knobs)
}

/// Reads and writes single settings: [`knobs::read`] and [`knobs::write`], or a test's stand-in
/// for a knob that needs hardware.
pub(crate) trait SettingIo {
    fn write(&self, host: &Host, s: &Setting) -> Result<(), KnobError>;
    fn read(&self, host: &Host, at: &Setting) -> Result<Setting, KnobError>;
}

struct Knobs;

impl SettingIo for Knobs {
    fn write(&self, host: &Host, s: &Setting) -> Result<(), KnobError> {
        knobs::write(host, s)
    }
    fn read(&self, host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        knobs::read(host, at)
    }
}

/// One step of an apply: a change (item, to, from), or finding an interface's queue IRQs
/// again (an index into [`Plan::rediscover`]) after its channels changed.
#[derive(Debug)]
enum Step {
    Change(Item, Setting, Setting),
    Rediscover(usize),
}

pub(crate) fn run_with(
    host: &Host,
    store: &Store,
    plan: &Plan,
    origin: Origin,
    host_name: &str,
    io: &dyn SettingIo,
) -> Result<Outcome, ApplyError> {
    let errors: Vec<Item> = plan.errors().cloned().collect();
    if !errors.is_empty() {
        return Err(ApplyError::Plan(errors));
    }
    let mut steps: Vec<Step> = plan
        .entries
        .iter()
        .filter_map(|e| {
            e.change()
                .map(|(to, from)| Step::Change(e.item.clone(), to.clone(), from.clone()))
        })
        .collect();
    if steps.is_empty() {
        return Ok(Outcome {
            snapshot: None,
            done: Vec::new(),
            failure: None,
        });
    }
    let mut snap = Snapshot {
        id: Store::new_id(),
        profile: plan.profile.clone(),
        origin,
        created: now_rfc3339(),
        host: host_name.to_string(),
        settings: steps
            .iter()
            .filter_map(|s| match s {
                Step::Change(_, _, from) => Some(from.clone()),
                Step::Rediscover(_) => None,
            })
            .collect(),
    };
    store.save(&snap)?;
    if origin == Origin::Apply {
        store.set_last_apply(&snap.id)?;
    }
    let pause = std::env::var(PAUSE_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis);
    let mut kept = store.kept()?;
    let mut done = Vec::new();
    let mut written: Vec<Setting> = Vec::new();
    let mut i = 0;
    while i < steps.len() {
        let (item, to, from) = match &steps[i] {
            Step::Change(item, to, from) => (item.clone(), to.clone(), from.clone()),
            Step::Rediscover(r) => {
                match rediscover(host, store, &mut snap, &plan.rediscover[*r]) {
                    Ok(fresh) => {
                        steps.splice(i + 1..i + 1, fresh);
                    }
                    Err((item, error)) => {
                        let undo_errors = undo(host, io, &written);
                        return Ok(failed(snap.id, done, item, error, undo_errors));
                    }
                }
                i += 1;
                continue;
            }
        };
        i += 1;
        match io.write(host, &to) {
            Ok(()) => {}
            Err(e) if e.is_unsupported() => {
                done.push(Done {
                    item,
                    kept: None,
                    unsupported: Some(e.to_string()),
                });
                continue;
            }
            Err(error) => {
                let undo_errors = undo(host, io, &written);
                return Ok(failed(snap.id, done, item, error, undo_errors));
            }
        }
        written.push(from);
        if let Some(p) = pause {
            std::thread::sleep(p);
        }
        let back = match io.read(host, &to) {
            Ok(back) => back,
            Err(error) => {
                let undo_errors = undo(host, io, &written);
                return Ok(failed(snap.id, done, item, error, undo_errors));
            }
        };
        if let Setting::Channels { iface, .. } = &to {
            schedule_rediscover(plan, &mut steps, i, iface);
        }
        let mut d = Done {
            item,
            kept: None,
            unsupported: None,
        };
        if !back.same_value(&to) {
            // The kernel or driver normalised the value (a rounded ring size, a clamped
            // sysctl): what it keeps is what later audits compare against.
            d.kept = Some(describe(&back).2);
            kept.insert(
                to.address(),
                KeptValue {
                    asked: to,
                    kept: back,
                },
            );
        }
        done.push(d);
    }
    store.save_kept(&kept)?;
    Ok(Outcome {
        snapshot: Some(snap.id),
        done,
        failure: None,
    })
}

fn failed(
    snapshot: String,
    done: Vec<Done>,
    item: Item,
    error: KnobError,
    undo_errors: Vec<KnobError>,
) -> Outcome {
    Outcome {
        snapshot: Some(snapshot),
        done,
        failure: Some(Failure {
            item,
            error,
            undo_errors,
        }),
    }
}

/// After `iface`'s channels changed (step `next - 1`), its planned IRQ changes are stale: drop
/// them and find its queue IRQs again once its rings and txqueuelen are done too, since those
/// can restart the queues as well.
fn schedule_rediscover(plan: &Plan, steps: &mut Vec<Step>, next: usize, iface: &IfName) {
    let Some(r) = plan.rediscover.iter().position(|r| &r.iface == iface) else {
        return;
    };
    let mut j = next;
    while j < steps.len() {
        let stale = match &steps[j] {
            Step::Change(item, ..) => knobs::irq::is_queue_irq_of(item, iface),
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
            matches!(s, Step::Change(_, Setting::Rings { iface: x, .. } | Setting::Txqueuelen { iface: x, .. }, _) if x == iface)
        })
        .map_or(next, |k| next + k + 1);
    steps.insert(at, Step::Rediscover(r));
}

/// Plans `r`'s IRQs again and, before any of them is written, records in the snapshot on disk
/// the prior affinity of each IRQ it does not hold yet (an IRQ it holds keeps its pre-apply
/// value), so that rollback and a `kill -9` still find every prior value.
fn rediscover(
    host: &Host,
    store: &Store,
    snap: &mut Snapshot,
    r: &knobs::irq::Rediscover,
) -> Result<Vec<Step>, (Item, KnobError)> {
    let entries = knobs::irq::plan_iface(&r.cpus, &r.iface, host);
    let other = |what: String| KnobError::Other {
        iface: r.iface.clone(),
        what,
    };
    if let Some(e) = entries.iter().find(|e| e.item.status == Status::Error) {
        let why = e.item.note.clone().unwrap_or_default();
        return Err((
            e.item.clone(),
            other(format!("after the channel change: {why}")),
        ));
    }
    let fresh: Vec<Step> = entries
        .iter()
        .filter_map(|e| {
            e.change()
                .map(|(to, from)| Step::Change(e.item.clone(), to.clone(), from.clone()))
        })
        .collect();
    let before = snap.settings.len();
    for s in &fresh {
        if let Step::Change(_, _, from) = s {
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
            return Err((item, other(format!("cannot extend the snapshot: {e}"))));
        }
    }
    Ok(fresh)
}

/// Restores earlier values, newest first, and returns what could not be restored.
fn undo(host: &Host, io: &dyn SettingIo, written: &[Setting]) -> Vec<KnobError> {
    written
        .iter()
        .rev()
        .filter_map(|from| io.write(host, from).err())
        .collect()
}

/// Builds the rollback plan of a snapshot: read what is live at each recorded address.
pub fn rollback_plan(host: &Host, snap: &Snapshot) -> Plan {
    let live = snap
        .settings
        .iter()
        .map(|s| knobs::read(host, s).map_err(|e| e.to_string()))
        .collect();
    Plan {
        profile: format!("rollback {}", snap.id),
        entries: crate::plan::rollback_entries(&snap.settings, live),
        rediscover: Vec::new(),
    }
}
