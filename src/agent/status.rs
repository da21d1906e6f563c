//! The agent's status file (`agent-status.json` in the state dir, written atomically, mode
//! 0600, after every cycle) and `hosttune status`, which reads it with the agent lock and the
//! pause file, writes nothing and takes no lock, and answers a readiness probe or a
//! monitoring check with its exit code.

use serde::{Deserialize, Serialize};

use super::pause::Pause;
use crate::snapshot::rfc3339;

/// The file in the state dir.
pub const FILE: &str = "agent-status.json";

/// `hosttune status`'s exit codes beyond 0 (an agent runs, in sync, not paused) and 2 (the
/// state dir cannot be read), after those of the other commands.
pub const NO_AGENT: u8 = 3;
pub const PAUSED: u8 = 4;
pub const DRIFT: u8 = 5;
pub const STALE: u8 = 6;

/// The exit codes of `hosttune status`, for its `--help` and the manual.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (
        0,
        "an agent runs, its profile is applied and in sync, and it is not paused",
    ),
    (2, "the state dir cannot be read (unsafe, unreadable)"),
    (NO_AGENT, "no agent runs on this state dir"),
    (
        PAUSED,
        "the agent runs but is paused (`hosttune pause`): it corrects nothing",
    ),
    (
        DRIFT,
        "the agent runs, but items are in drift (report or observe mode, or not corrected \
         yet) or failing (a correction that did not take, an item that cannot be read)",
    ),
    (
        STALE,
        "the agent runs, but its last cycle is older than 3 intervals (hung), or it has not \
         finished its first cycle yet",
    ),
];

/// The `after_help` of `hosttune status --help`.
pub fn exit_codes_help() -> String {
    let mut s = String::from("Exit codes:\n");
    for (code, what) in EXIT_CODES {
        s.push_str(&format!("  {code}  {what}\n"));
    }
    s
}

/// How `hosttune status` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// The outcome of the newest transaction on this state dir (an apply or an agent's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastTransaction {
    pub profile: String,
    pub success: bool,
    /// Unix seconds.
    pub finished: u64,
}

/// What the agent writes after every cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStatus {
    pub pid: u32,
    /// `enforce`, `report` or `observe`.
    pub mode: String,
    /// The profile's name (a path-given profile: its file stem) and the sha256 of its resolved
    /// text, as `hosttune show` prints it.
    pub profile: String,
    pub sha256: String,
    pub interval_seconds: u64,
    /// Unix seconds.
    pub started: u64,
    pub last_cycle: u64,
    /// The pause the agent saw at its last cycle.
    pub paused: bool,
    pub paused_until: Option<u64>,
    pub pause_reason: Option<String>,
    pub last_transaction: Option<LastTransaction>,
    /// Items in drift (not corrected: report or observe mode, a pause, or not yet) and items
    /// failing (a correction that did not take, an item that cannot be read), named
    /// `KIND OBJECT`.
    pub drift: Vec<String>,
    pub failing: Vec<String>,
    /// The line the agent sends the service manager as `STATUS=`.
    pub summary: String,
}

/// What `hosttune status` found.
#[derive(Debug, Serialize)]
pub struct Report {
    pub running: bool,
    pub pid: Option<u32>,
    /// The agent's status file, when it belongs to the running agent (or, with no agent, the
    /// last one's).
    pub agent: Option<AgentStatus>,
    /// The pause that holds now, from the pause file.
    pub paused: bool,
    pub paused_until: Option<u64>,
    pub pause_reason: Option<String>,
    pub last_cycle_age_seconds: Option<u64>,
    pub stale: bool,
    pub verdict: String,
    pub exit_code: u8,
}

/// Judges what was read: `running` is the pid holding the agent lock, `file` the status file,
/// `pause` the pause that holds now.
pub fn judge(
    running: Option<u32>,
    file: Option<AgentStatus>,
    pause: Option<Pause>,
    now: u64,
) -> Report {
    let current = file
        .as_ref()
        .is_some_and(|f| running == Some(f.pid) || running == Some(0));
    let age = file
        .as_ref()
        .filter(|_| current)
        .map(|f| now.saturating_sub(f.last_cycle));
    let stale = match (&file, age) {
        (Some(f), Some(a)) => a > 3 * f.interval_seconds.max(1),
        _ => true,
    };
    let (code, verdict) = match (&running, &file) {
        (None, _) => (NO_AGENT, "no agent running".to_string()),
        (Some(_), _) if stale => (
            STALE,
            match age {
                Some(a) => format!("stale: the agent's last cycle was {a} s ago"),
                None => "stale: the agent has not finished its first cycle".to_string(),
            },
        ),
        (Some(_), _) if pause.is_some() => (
            PAUSED,
            pause.as_ref().map(Pause::describe).unwrap_or_default(),
        ),
        (Some(_), Some(f)) if !f.failing.is_empty() => (
            DRIFT,
            format!("degraded: {} items failing", f.failing.len()),
        ),
        (Some(_), Some(f)) if !f.drift.is_empty() => {
            (DRIFT, format!("drift: {} items", f.drift.len()))
        }
        (Some(_), _) => (0, "in sync".to_string()),
    };
    Report {
        running: running.is_some(),
        pid: running.filter(|p| *p != 0).or(file.as_ref().map(|f| f.pid)),
        paused: pause.is_some(),
        paused_until: pause.as_ref().and_then(|p| p.until),
        pause_reason: pause.as_ref().and_then(|p| p.reason.clone()),
        agent: file,
        last_cycle_age_seconds: age,
        stale: running.is_some() && stale,
        verdict,
        exit_code: code,
    }
}

/// The text form.
pub fn text(r: &Report) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: String| s.push_str(&format!("{k:18}{v}\n"));
    line(
        "agent:",
        match (r.running, r.pid, &r.agent) {
            (true, Some(p), Some(a)) => format!("running, pid {p}, mode {}", a.mode),
            (true, Some(p), None) => format!("running, pid {p}"),
            (true, None, _) => "running".into(),
            (false, _, _) => "not running".into(),
        },
    );
    if let Some(a) = &r.agent {
        line("profile:", format!("{} (sha256 {})", a.profile, a.sha256));
        line(
            "last cycle:",
            match r.last_cycle_age_seconds {
                Some(age) => format!(
                    "{} ({age} s ago; interval {} s)",
                    rfc3339(a.last_cycle),
                    a.interval_seconds
                ),
                None => format!("{} (a previous agent's)", rfc3339(a.last_cycle)),
            },
        );
        if let Some(t) = &a.last_transaction {
            line(
                "last transaction:",
                format!(
                    "{} {} (profile {})",
                    if t.success { "succeeded" } else { "FAILED" },
                    rfc3339(t.finished),
                    t.profile
                ),
            );
        }
        line("drift:", format!("{} items", a.drift.len()));
        line("failing:", format!("{} items", a.failing.len()));
        for f in &a.failing {
            line("", f.clone());
        }
    }
    line(
        "paused:",
        if r.paused {
            let until = match r.paused_until {
                Some(u) => format!("until {}", rfc3339(u)),
                None => "until resumed".into(),
            };
            let why = r.pause_reason.as_ref().map(|x| format!(" ({x})"));
            until + &why.unwrap_or_default()
        } else {
            "no".into()
        },
    );
    line("status:", format!("{} (exit {})", r.verdict, r.exit_code));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(pid: u32, last: u64, drift: usize, failing: usize) -> AgentStatus {
        AgentStatus {
            pid,
            mode: "enforce".into(),
            profile: "web".into(),
            sha256: "0".repeat(64),
            interval_seconds: 10,
            started: 0,
            last_cycle: last,
            paused: false,
            paused_until: None,
            pause_reason: None,
            last_transaction: None,
            drift: vec!["sysctl x".into(); drift],
            failing: vec!["sysctl y".into(); failing],
            summary: String::new(),
        }
    }

    #[test]
    fn each_state_has_its_exit_code() {
        let now = 1000;
        let pause = Pause {
            since: 0,
            until: Some(2000),
            reason: Some("drain".into()),
        };
        let code = |running, f, p| judge(running, f, p, now).exit_code;
        assert_eq!(code(None, Some(file(7, now, 0, 0)), None), NO_AGENT);
        assert_eq!(code(Some(7), Some(file(7, now - 5, 0, 0)), None), 0);
        assert_eq!(code(Some(7), Some(file(7, now - 31, 0, 0)), None), STALE);
        // A status file of an earlier agent: the new one has not finished its first cycle.
        assert_eq!(code(Some(8), Some(file(7, now, 0, 0)), None), STALE);
        assert_eq!(code(Some(7), None, None), STALE);
        assert_eq!(
            code(Some(7), Some(file(7, now, 0, 0)), Some(pause.clone())),
            PAUSED
        );
        assert_eq!(code(Some(7), Some(file(7, now, 3, 0)), None), DRIFT);
        assert_eq!(code(Some(7), Some(file(7, now, 0, 1)), None), DRIFT);
        let r = judge(Some(7), Some(file(7, now, 0, 2)), None, now);
        assert_eq!(r.verdict, "degraded: 2 items failing");
        assert!(text(&r).contains("status:           degraded: 2 items failing (exit 5)"));
        let r = judge(Some(7), Some(file(7, now, 0, 0)), Some(pause), now);
        assert!(text(&r).contains("paused:           until 1970-01-01T00:33:20Z (drain)"));
        let codes: Vec<u8> = EXIT_CODES.iter().map(|c| c.0).collect();
        assert_eq!(codes, [0, 2, NO_AGENT, PAUSED, DRIFT, STALE]);
    }
}
