//! The log: what hosttune says about its work beside a command's output, through `tracing`.
//! Levels: `error` for a cycle that could not run at all, `warn` for what was left undone
//! (a failed or undone correction, drift left alone, a file that could not be read or
//! written), `info` for what was done (changes applied, a pause, a reload), `debug` for
//! detail (each planned item, each agent cycle). Commands log warnings and errors; the agent,
//! whose log is its account, logs `info` too; each `-v` adds a level, `-q` keeps warnings
//! and errors, and `HOSTTUNE_LOG` (a `tracing_subscriber::EnvFilter`: `debug`,
//! `hosttune::agent=debug`, `off`) replaces both.
//!
//! Where it goes: when systemd connected stderr to the journal (`JOURNAL_STREAM` names
//! stderr's device and inode, systemd.exec(5)), to journald's native socket with each level's
//! syslog priority (warn is `warning`, info `notice`, debug `info`); otherwise to stderr as
//! one `hosttune: ...` line per message (`hosttune: warning: ...`, the agent's
//! `hosttune: agent: ...`), as before the log went through `tracing`.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use super::{Args, Command};

/// The environment variable that overrides the level from `-v` and `-q`.
pub const ENV: &str = "HOSTTUNE_LOG";

/// Sets up the log for this run; call once, before the command runs.
pub fn init(args: &Args) {
    let level = level(
        args.quiet,
        args.verbose,
        matches!(args.command, Command::Agent { .. }),
    );
    let (filter, bad) = match std::env::var(ENV) {
        Ok(v) if !v.trim().is_empty() => match EnvFilter::try_new(&v) {
            Ok(f) => (f, None),
            Err(e) => (by_level(level), Some(format!("{ENV}={v}: {e}"))),
        },
        _ => (by_level(level), None),
    };
    let journal = if to_journal() {
        // No journald to talk to (a container without it): stderr, as anywhere else.
        tracing_journald::layer()
            .ok()
            .map(|l| l.with_syslog_identifier("hosttune".into()))
    } else {
        None
    };
    let registry = tracing_subscriber::registry().with(filter);
    match journal {
        Some(j) => registry.with(j).init(),
        None => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(false)
                    .event_format(Lines),
            )
            .init(),
    }
    if let Some(bad) = bad {
        tracing::warn!("{bad}; using level {level}");
    }
}

fn by_level(level: LevelFilter) -> EnvFilter {
    EnvFilter::default().add_directive(level.into())
}

/// The level from the command line: warnings for a command, `info` for the agent; each
/// `-v` one more (`-vv` on a command: debug); `-q` warnings and errors only.
pub fn level(quiet: bool, verbose: u8, agent: bool) -> LevelFilter {
    const LEVELS: [LevelFilter; 4] = [
        LevelFilter::WARN,
        LevelFilter::INFO,
        LevelFilter::DEBUG,
        LevelFilter::TRACE,
    ];
    if quiet {
        return LevelFilter::WARN;
    }
    let at = usize::from(verbose) + usize::from(agent);
    LEVELS[at.min(LEVELS.len() - 1)]
}

/// Whether stderr is the journal stream systemd connected: `JOURNAL_STREAM` is
/// `DEVICE:INODE` of it. The variable alone is not enough: a child whose stderr was
/// redirected (a pipe, a file) inherits it too.
fn to_journal() -> bool {
    let Ok(v) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    match nix::sys::stat::fstat(std::io::stderr()) {
        Ok(st) => names_stream(&v, st.st_dev, st.st_ino),
        Err(_) => false,
    }
}

/// Whether `JOURNAL_STREAM`'s value `DEVICE:INODE` (decimal) names `dev` and `ino`.
pub fn names_stream(value: &str, dev: u64, ino: u64) -> bool {
    let mut parts = value.trim().splitn(2, ':');
    let num = |p: Option<&str>| p.and_then(|s| s.parse::<u64>().ok());
    matches!((num(parts.next()), num(parts.next())), (Some(d), Some(i)) if d == dev && i == ino)
}

/// The stderr format: `hosttune: ` and the message (with any other fields as `key=value`),
/// each line of it, after `agent: ` for the agent's messages and the level otherwise
/// (`warning: `, `error: `, `debug: `; nothing for info).
pub struct Lines;

impl<S, N> FormatEvent<S, N> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let prefix = if meta.target().starts_with("hosttune::agent") {
            "agent: "
        } else {
            match *meta.level() {
                Level::ERROR => "error: ",
                Level::WARN => "warning: ",
                Level::INFO => "",
                Level::DEBUG => "debug: ",
                Level::TRACE => "trace: ",
            }
        };
        let mut text = String::new();
        ctx.field_format()
            .format_fields(Writer::new(&mut text), event)?;
        for line in text.lines() {
            writeln!(w, "hosttune: {prefix}{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn commands_warn_the_agent_informs_and_v_adds_a_level() {
        assert_eq!(level(false, 0, false), LevelFilter::WARN);
        assert_eq!(level(false, 1, false), LevelFilter::INFO);
        assert_eq!(level(false, 2, false), LevelFilter::DEBUG);
        assert_eq!(level(false, 0, true), LevelFilter::INFO);
        assert_eq!(level(false, 1, true), LevelFilter::DEBUG);
        assert_eq!(level(false, 9, true), LevelFilter::TRACE);
        assert_eq!(level(true, 2, true), LevelFilter::WARN);
    }

    #[test]
    fn journal_stream_must_name_this_device_and_inode() {
        assert!(names_stream("8:1234", 8, 1234));
        assert!(!names_stream("8:1234", 8, 1235));
        assert!(!names_stream("9:1234", 8, 1234));
        for bad in ["", "8", "8:", ":1234", "x:y", "8:1234:5"] {
            assert!(!names_stream(bad, 8, 1234), "{bad}");
        }
    }

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn stderr_lines_read_as_they_did_before_tracing() {
        let buf = Buf::default();
        let sink = buf.clone();
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::new("debug"))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || sink.clone())
                    .event_format(Lines),
            );
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!("snapshot s1 no longer exists");
            tracing::error!(target: "hosttune::cli", "two\nlines");
            tracing::info!(target: "hosttune::agent", "changed txqueuelen veth0: 1000 -> 5000");
            tracing::warn!(target: "hosttune::agent::metrics", "cannot write x");
            tracing::debug!(items = 3, "planned");
            tracing::trace!("hidden by the filter");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "hosttune: warning: snapshot s1 no longer exists\n\
             hosttune: error: two\n\
             hosttune: error: lines\n\
             hosttune: agent: changed txqueuelen veth0: 1000 -> 5000\n\
             hosttune: agent: cannot write x\n\
             hosttune: debug: planned items=3\n"
        );
    }
}
