//! What a command shows and how it ends: stdout that fails loudly except on a closed pipe,
//! the exit code of a plan (0 in sync, 1 drift, 2 errors), and the account and verdict of an
//! apply or rollback. These lines are the command's output, not its log: they are printed
//! whatever the log level (see [`super::logging`]).

use std::io::Write;

use anyhow::{Context, Result, bail};

use crate::apply::{self, ApplyError};
use crate::plan::{Plan, Status};
use crate::report;

/// A run's result: the exit code, with anything already printed.
pub type Code = u8;

/// Writes to stdout. A closed pipe (`| head`) ends output quietly; any other failure (a full
/// disk behind a redirection) is an error, so that truncated output never exits 0.
pub(super) fn out(s: &str) -> Result<()> {
    let mut o = std::io::stdout().lock();
    match o.write_all(s.as_bytes()).and_then(|_| o.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}

/// A line of the command's own account on stderr (`hosttune: ...`): its verdict, the
/// problems that make it fail, what `import` left out. Output, not log: printed whatever
/// the log level, and on stderr even under systemd, where the journal records it too.
pub(super) fn say(line: impl std::fmt::Display) {
    eprintln!("hosttune: {line}");
}

/// The exit code of a plan that was only reported: 2 with errors (each named on stderr),
/// 1 with drift, 0 in sync.
pub(super) fn verdict(plan: &Plan) -> Code {
    if plan.items().any(|i| i.status == Status::Error) {
        for i in plan.errors() {
            say(i.problem());
        }
        2
    } else if plan.items().any(|i| i.status == Status::Drift) {
        1
    } else {
        0
    }
}

/// The account of an apply or rollback on stdout, its verdict on stderr when it did not
/// simply succeed, and its exit code (see [`super::docs::EXIT_CODES`]).
pub(super) fn finish(
    verb: &str,
    plan: &Plan,
    res: Result<apply::Outcome, ApplyError>,
) -> Result<Code> {
    let o = match res {
        Ok(o) => o,
        Err(ApplyError::Plan(items)) => {
            for i in &items {
                say(i.problem());
            }
            bail!(
                "{verb} {}: {} problem(s) found while planning; nothing was changed",
                plan.profile,
                items.len()
            );
        }
        Err(ApplyError::Store(e)) => {
            return Err(anyhow::Error::new(e).context(format!(
                "{verb} {}: cannot record the snapshot; nothing was changed",
                plan.profile
            )));
        }
    };
    for w in &o.warnings {
        tracing::warn!("{w}");
    }
    // The report goes out even when stdout fails: the verdict below is on stderr.
    let printed = out(&report::outcome(verb, plan, &o));
    let snap = o.snapshot.as_deref().unwrap_or("-");
    let code = match (&o.failure, o.signal) {
        (None, None) => 0,
        (None, Some(sig)) => {
            say(format_args!(
                "{verb} {}: {sig} received; the {verb} was finished first (snapshot \
                 {snap})",
                plan.profile
            ));
            1
        }
        (Some(f), _) if !f.incomplete() => {
            say(format_args!(
                "{verb} {} failed: {}; every change was undone and reads back as \
                 before",
                plan.profile,
                report::cause(&f.cause)
            ));
            1
        }
        (Some(f), _) => {
            let hint = if verb == "apply" {
                format!("run `hosttune rollback {snap}` once the cause is fixed")
            } else {
                "the host is between the two states".to_string()
            };
            say(format_args!(
                "{verb} {} failed: {}; the undo was INCOMPLETE, see `could not \
                 restore` above; {hint}",
                plan.profile,
                report::cause(&f.cause)
            ));
            2
        }
    };
    printed?;
    Ok(code)
}
