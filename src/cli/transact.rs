//! `apply` and `rollback`: the runs that write to the host, under the state dir's lock with
//! SIGTERM, SIGINT and SIGHUP held until the transaction is done or undone; settling a
//! transaction that a killed run left behind; the rollback's default target.

use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::ctx::Ctx;
use super::output::{Code, finish};
use crate::apply::{self, ApplyError, Commit, Interrupted};
use crate::signals;
use crate::snapshot::{self, Origin, Snapshot};

/// How long a second apply or rollback waits for the lock.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// [`LOCK_WAIT`], or in builds with the `test-hooks` feature the milliseconds in
/// `HOSTTUNE_TEST_LOCK_WAIT_MS`, so that the lock test waits a short, known time instead of 5 s.
fn lock_wait() -> Duration {
    #[cfg(feature = "test-hooks")]
    if let Some(ms) = std::env::var("HOSTTUNE_TEST_LOCK_WAIT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Duration::from_millis(ms);
    }
    LOCK_WAIT
}

/// Takes the lock (with the signals blocked by the caller) and settles a transaction that a
/// killed run left behind, saying so.
fn begin(ctx: &Ctx, verb: &str) -> Result<(snapshot::Lock, Option<Interrupted>)> {
    ctx.store.check_no_agent()?;
    let lock = ctx.store.lock(lock_wait())?;
    let keep = match verb {
        "apply" => Origin::Apply,
        _ => Origin::Rollback,
    };
    let found = apply::recover(&ctx.store, Some(keep))?;
    if let Some(i) = &found {
        let j = &i.journal;
        let what = match (&i.snapshot, j.origin) {
            (Ok(_), Origin::Apply) => format!(
                "its snapshot {} is now the default rollback target{}",
                j.snapshot,
                if verb == "apply" {
                    ", and this apply records its values as the ones to return to"
                } else {
                    ""
                }
            ),
            (_, Origin::Rollback) => match (&j.target, verb) {
                (Some(t), "rollback") => {
                    format!("a rollback without an ID finishes restoring its target, snapshot {t}")
                }
                (Some(t), _) => format!("run `hosttune rollback {t}` to finish restoring it"),
                (None, _) => "run `hosttune rollback` to restore the host".to_string(),
            },
            (Ok(_), _) => format!(
                "run `hosttune rollback` again to finish restoring (snapshot {})",
                j.snapshot
            ),
            (Err(e), _) => format!("its snapshot cannot be read: {e}"),
        };
        tracing::warn!(
            "the {} of profile {} started {} (pid {}) was interrupted before \
             it finished; {what}",
            j.origin.as_str(),
            j.profile,
            j.started,
            j.pid
        );
    }
    Ok((lock, found))
}

/// `hosttune apply`. A host already in sync is the common case (the boot oneshot on every
/// boot): it is planned without the lock and nothing is written at all, not the lock file,
/// the state dir or the outcome record. Only when there is something to write (a change, an
/// interrupted transaction to settle, a recorded failure to clear) is the lock taken and the
/// plan made again under it, so that a change made meanwhile by another run is seen.
pub(super) fn apply(ctx: &Ctx, profile: &str) -> Result<Code> {
    let guard = signals::Guard::block().context("cannot block SIGTERM/SIGINT/SIGHUP")?;
    ctx.store.check_no_agent()?;
    // Reading the journal is a read: an interrupted apply is still found and settled below.
    if matches!(ctx.store.journal(), Ok(None)) {
        let plan = ctx.plan_opts(profile, false)?;
        if plan.changes().next().is_none() && !ctx.store.failed_last(&plan.profile) {
            // With no change to make the transaction returns before it touches the store or
            // the host (problems found while planning come back as such); the host name is
            // only recorded in snapshots, so it is not read.
            let opts = apply::Opts {
                signals: Some(&guard),
                ..apply::Opts::new(Origin::Apply, "")
            };
            let res = apply::run_opts(&ctx.host(), &ctx.store, &plan, &opts);
            return finish("apply", &plan, late_signal(res, &guard));
        }
    }
    let (_lock, found) = begin(ctx, "apply")?;
    let (journal, inherit) = match found {
        Some(i) if i.journal.origin == Origin::Apply => (Some(i.journal), i.snapshot.ok()),
        _ => (None, None),
    };
    let plan = ctx.plan_opts(profile, false)?;
    let host_name = ctx.host_name();
    let opts = apply::Opts {
        signals: Some(&guard),
        inherit: inherit.as_ref(),
        interrupted: journal.as_ref(),
        place: Some(ctx.place()),
        commit: Commit::Push {
            replaces: inherit.as_ref().map(|s| s.id.clone()),
        },
        ..apply::Opts::new(Origin::Apply, &host_name)
    };
    let res = apply::run_opts(&ctx.host(), &ctx.store, &plan, &opts);
    if let Ok(o) = &res {
        if let Err(e) = ctx.store.record_apply(&plan.profile, o.failure.is_none()) {
            tracing::warn!("cannot record the apply's outcome for the metrics: {e}");
        }
    }
    // Nothing to write: the interrupted apply had finished its writes; it is settled.
    if matches!(&res, Ok(o) if o.snapshot.is_none() && o.failure.is_none()) && journal.is_some() {
        ctx.store.end()?;
    }
    finish("apply", &plan, late_signal(res, &guard))
}

/// `hosttune rollback`: restores a snapshot (by default the newest apply's), on the same
/// root and network namespace it was taken on only.
pub(super) fn rollback(ctx: &Ctx, id: Option<String>) -> Result<Code> {
    ctx.check_root()?;
    let guard = signals::Guard::block().context("cannot block SIGTERM/SIGINT/SIGHUP")?;
    let (_lock, found) = begin(ctx, "rollback")?;
    // An interrupted rollback is finished, not repeated one apply further back.
    let unfinished = found
        .as_ref()
        .filter(|i| i.journal.origin == Origin::Rollback)
        .and_then(|i| i.journal.target.clone());
    let (id, snap) = match id.or(unfinished) {
        Some(id) => {
            let snap = ctx.store.load(&id)?;
            (id, snap)
        }
        None => default_target(ctx)?,
    };
    let here = ctx.place();
    if let Some(there) = &snap.place {
        if !there.same_as(&here) {
            bail!(
                "snapshot {id} was taken on {there}, and this rollback runs on {here}: its values \
                 belong there; run the rollback with the same --root in the same network \
                 namespace; nothing was changed"
            );
        }
    }
    let plan = apply::rollback_plan(&ctx.host(), &snap);
    let host_name = ctx.host_name();
    let opts = apply::Opts {
        signals: Some(&guard),
        place: Some(here),
        commit: Commit::Pop { target: id.clone() },
        ..apply::Opts::new(Origin::Rollback, &host_name)
    };
    let res = apply::run_opts(&ctx.host(), &ctx.store, &plan, &opts);
    // Nothing to write (the host already reads as the snapshot, e.g. a killed rollback had
    // finished its writes): the target still leaves the history, and an interrupted
    // rollback's journal is settled.
    if matches!(&res, Ok(o) if o.snapshot.is_none() && o.failure.is_none()) {
        let mut h = ctx.store.history()?;
        if let Some(at) = h.iter().position(|x| *x == id) {
            h.truncate(at);
            ctx.store.set_history(&h)?;
        }
        if found.is_some() {
            ctx.store.end()?;
        }
    }
    finish("rollback", &plan, late_signal(res, &guard))
}

/// A signal that arrived after the transaction's last check (while it recorded its outcome)
/// is reported like one a rollback finished through: the run was completed first.
fn late_signal(
    res: Result<apply::Outcome, ApplyError>,
    guard: &signals::Guard,
) -> Result<apply::Outcome, ApplyError> {
    res.map(|mut o| {
        if o.failure.is_none() && o.signal.is_none() {
            o.signal = guard.caught().map(signals::name);
        }
        o
    })
}

/// The newest apply in the history whose snapshot still exists; entries whose file is gone are
/// dropped from the history with a warning, so that one deleted file does not block every
/// later rollback.
fn default_target(ctx: &Ctx) -> Result<(String, Snapshot)> {
    loop {
        let id = ctx.store.last_apply()?;
        match ctx.store.load(&id) {
            Ok(snap) => return Ok((id, snap)),
            Err(snapshot::StoreError::NotFound(_)) => {
                tracing::warn!(
                    "snapshot {id} of the rollback history no longer exists; \
                     skipping it"
                );
                let mut h = ctx.store.history()?;
                h.retain(|x| *x != id);
                ctx.store.set_history(&h)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
