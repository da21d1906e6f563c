//! `hosttune pause [--for DURATION] [--reason TEXT]` and `hosttune resume`: a file in the
//! state dir (`pause.json`, written atomically, mode 0600) that stops the agent's corrections
//! while its audits and metrics go on. The agent reads it at every cycle and wakeup, so a
//! pause needs no running agent, holds across agent restarts (the start apply is skipped
//! while it does), and one given `--for` ends by itself at its expiry; `resume` removes it.
//! An expired file is left in place (removing it would race with a new `pause`): it no
//! longer counts, and the next `pause` replaces it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::snapshot::{Store, StoreError, rfc3339};

/// The file in the state dir.
pub const FILE: &str = "pause.json";

/// The longest `--for`: a pause is for a maintenance window; an open-ended one is `pause`
/// without `--for`.
pub const MAX: Duration = Duration::from_secs(30 * 86_400);

/// The longest `--reason`, in bytes.
pub const MAX_REASON: usize = 200;

/// A pause as `hosttune pause` recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// When it was asked, Unix seconds.
    pub since: u64,
    /// When it ends by itself, Unix seconds; `None`: at `hosttune resume`.
    #[serde(default)]
    pub until: Option<u64>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl Pause {
    /// Whether it still holds at `now` (Unix seconds).
    pub fn active(&self, now: u64) -> bool {
        self.until.is_none_or(|u| now < u)
    }

    /// `paused until 2026-05-01T12:00:00Z (drain)`, `paused until resumed`.
    pub fn describe(&self) -> String {
        let mut s = match self.until {
            Some(u) => format!("paused until {}", rfc3339(u)),
            None => "paused until resumed".to_string(),
        };
        if let Some(r) = &self.reason {
            s.push_str(&format!(" ({r})"));
        }
        s
    }
}

/// Parses `--for`: whole numbers each followed by a unit, `s`, `m`, `h` or `d` (`90s`, `30m`,
/// `2h`, `1d`, `1h30m`), from 1 second to 30 days.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = |why: &str| format!("{text:?}: {why} (examples: 90s, 30m, 2h, 1d, 1h30m)");
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad(&format!("unknown unit {c:?}; use s, m, h or d"))),
        };
        if digits.is_empty() {
            return Err(bad("a unit needs a number before it"));
        }
        let n: u64 = digits.parse().map_err(|_| bad("number too large"))?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| bad("too long"))?;
    }
    if !digits.is_empty() {
        return Err(bad("a number needs a unit after it"));
    }
    if total == 0 {
        return Err(bad("give at least 1s"));
    }
    if total > MAX.as_secs() {
        return Err(bad("at most 30d; for longer, pause without --for"));
    }
    Ok(Duration::from_secs(total))
}

/// Checks `--reason`: one line of printable text, at most [`MAX_REASON`] bytes (it goes into
/// log lines and the service manager's status).
pub fn check_reason(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.chars().any(char::is_control) {
        return Err(format!("{text:?}: one line of text, no control characters"));
    }
    if t.len() > MAX_REASON {
        return Err(format!("at most {MAX_REASON} bytes, not {}", t.len()));
    }
    Ok(t.to_string())
}

/// The pause file, whether or not it still holds. One that cannot be parsed counts as a pause
/// until resumed, with the reason saying so: someone meant to pause.
pub fn read(store: &Store) -> Result<Option<Pause>, StoreError> {
    Ok(store.read_state(FILE)?.map(|b| {
        serde_json::from_slice(&b).unwrap_or_else(|e| Pause {
            since: 0,
            until: None,
            reason: Some(format!(
                "unreadable {}: {e}; `hosttune resume` removes it",
                store.dir().join(FILE).display()
            )),
        })
    }))
}

/// The pause that holds at `now`, if any.
pub fn active(store: &Store, now: u64) -> Result<Option<Pause>, StoreError> {
    Ok(read(store)?.filter(|p| p.active(now)))
}

/// Records a pause (replacing any earlier one).
pub fn write(store: &Store, p: &Pause) -> Result<(), StoreError> {
    let body = serde_json::to_vec_pretty(p).expect("a pause serializes");
    store.write_state(FILE, &body)
}

/// Removes the pause; `Ok(false)` when there was none.
pub fn remove(store: &Store) -> Result<bool, StoreError> {
    store.remove_state(FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_bad_ones_are_named() {
        let ok = |s: &str| parse_duration(s).unwrap().as_secs();
        assert_eq!(ok("90s"), 90);
        assert_eq!(ok("30m"), 1800);
        assert_eq!(ok("2h"), 7200);
        assert_eq!(ok("1d"), 86_400);
        assert_eq!(ok("1h30m"), 5400);
        assert_eq!(ok("30d"), 30 * 86_400);
        for (bad, why) in [
            ("", "at least 1s"),
            ("0s", "at least 1s"),
            ("10", "needs a unit"),
            ("h", "needs a number"),
            ("5w", "unknown unit 'w'"),
            ("1.5h", "unknown unit '.'"),
            ("31d", "at most 30d"),
            ("99999999999999999999s", "too large"),
            ("9999999999999999d", "too long"),
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert!(
                e.contains(why) && e.contains(&format!("{bad:?}")),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn reasons_are_one_short_line() {
        assert_eq!(check_reason(" drain ").unwrap(), "drain");
        assert!(check_reason("a\nb").is_err());
        assert!(check_reason(&"x".repeat(MAX_REASON + 1)).is_err());
    }

    #[test]
    fn a_pause_round_trips_expires_and_an_unreadable_one_holds() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("state"));
        assert_eq!(read(&store).unwrap(), None);
        let p = Pause {
            since: 100,
            until: Some(200),
            reason: Some("drain".into()),
        };
        write(&store, &p).unwrap();
        let mode = std::fs::metadata(store.dir().join(FILE)).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o600
        );
        assert_eq!(read(&store).unwrap(), Some(p.clone()));
        assert!(p.active(199) && !p.active(200));
        assert_eq!(active(&store, 150).unwrap(), Some(p.clone()));
        assert_eq!(active(&store, 250).unwrap(), None);
        assert_eq!(p.describe(), "paused until 1970-01-01T00:03:20Z (drain)");
        std::fs::write(store.dir().join(FILE), "{").unwrap();
        let odd = active(&store, 250).unwrap().unwrap();
        assert!(odd.reason.unwrap().contains("unreadable"));
        assert!(remove(&store).unwrap());
        assert!(!remove(&store).unwrap());
    }
}
