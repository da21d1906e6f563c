//! Apply: snapshot what will change (durably, before the first write), write each change in
//! plan order, read it back, and on any failure undo every change already made, newest first.

use std::time::Duration;

use crate::host::Host;
use crate::knobs::{self, KnobError};
use crate::plan::{Item, Plan, Setting, describe};
use crate::snapshot::{KeptValue, Origin, Snapshot, Store, StoreError, now_rfc3339};

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
pub(crate) enum Step {
    Change(Box<(Item, Setting, Setting)>),
    Rediscover(usize),
}

impl Step {
    fn change(item: &Item, to: &Setting, from: &Setting) -> Step {
        Step::Change(Box::new((item.clone(), to.clone(), from.clone())))
    }
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
        .filter_map(|e| e.change().map(|(to, from)| Step::change(&e.item, to, from)))
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
                Step::Change(c) => Some(c.2.clone()),
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
            Step::Change(c) => (**c).clone(),
            Step::Rediscover(r) => {
                match rediscover::run(host, store, &mut snap, &plan.rediscover[*r]) {
                    Ok(fresh) => {
                        steps.splice(i + 1..i + 1, fresh);
                    }
                    Err(e) => {
                        let (item, error) = *e;
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
            rediscover::schedule(plan, &mut steps, i, iface);
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
    rollback_plan_with(host, snap, &Knobs)
}

pub(crate) fn rollback_plan_with(host: &Host, snap: &Snapshot, io: &dyn SettingIo) -> Plan {
    let live = snap
        .settings
        .iter()
        .map(|s| {
            io.read(host, s)
                .map_err(|e| (e.is_unsupported(), e.to_string()))
        })
        .collect();
    Plan {
        profile: format!("to snapshot {}", snap.id),
        entries: crate::plan::rollback_entries(&snap.settings, live),
        rediscover: Vec::new(),
    }
}

mod rediscover;
#[cfg(test)]
mod tests;
