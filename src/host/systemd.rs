//! The real [`Services`]: runs `systemctl` with an argument vector (no shell) and reads its
//! answers the way systemctl(1) documents them. Where systemd is not PID 1 (containers, other
//! init systems) every call is `Unsupported`, so irqbalance items are reported as such rather
//! than failing the run.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::Command;

use crate::host::services::{ServiceError, ServiceState, Services};

/// The directory whose existence means systemd is the running init system; sd_booted(3)
/// decides the same way.
pub const BOOTED_MARKER: &str = "/run/systemd/system";

/// Units handled through the `systemctl` command.
#[derive(Debug, Clone)]
pub struct Systemctl {
    program: PathBuf,
    booted_marker: PathBuf,
}

/// What one systemctl run said.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    /// `None` when killed by a signal.
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Answer {
    /// The first word systemctl printed, which is the state for the `is-*` verbs.
    fn word(&self) -> &str {
        self.stdout.split_whitespace().next().unwrap_or("")
    }

    /// A one-line reason for a failure: systemctl's own message when it gave one.
    fn detail(&self) -> String {
        let line = |s: &str| {
            s.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(String::from)
        };
        line(&self.stderr)
            .or_else(|| line(&self.stdout))
            .unwrap_or_else(|| match self.code {
                Some(code) => format!("exit status {code}"),
                None => "killed by a signal".into(),
            })
    }
}

impl Systemctl {
    /// This host's `systemctl` (found on `PATH`) and the host's own booted check.
    pub fn host() -> Self {
        Self::new("systemctl", BOOTED_MARKER)
    }

    /// `program` is run for every call; calls are `Unsupported` while the directory
    /// `booted_marker` does not exist. Tests pass a script and a temporary directory.
    pub fn new(program: impl Into<PathBuf>, booted_marker: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            booted_marker: booted_marker.into(),
        }
    }

    /// Runs `systemctl VERB UNIT`; only a failure to run at all is an error here.
    fn run(&self, verb: &'static str, unit: &str) -> Result<Answer, ServiceError> {
        if !self.booted_marker.is_dir() {
            return Err(ServiceError::Unsupported(format!(
                "systemd is not the init system (no directory {})",
                self.booted_marker.display()
            )));
        }
        check_unit_name(verb, unit)?;
        let out = Command::new(&self.program)
            .args([verb, unit])
            // systemctl's messages, which we parse, carry strerror(3) text.
            .env("LC_ALL", "C")
            .output()
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => {
                    ServiceError::Unsupported(format!("{} not found", self.program.display()))
                }
                _ => failed(verb, unit, format!("run {}: {e}", self.program.display())),
            })?;
        Ok(Answer {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs a verb that changes something; systemctl's exit status decides.
    fn change(&self, verb: &'static str, unit: &str) -> Result<(), ServiceError> {
        let answer = self.run(verb, unit)?;
        match answer.code {
            Some(0) => Ok(()),
            _ => Err(failed(verb, unit, answer.detail())),
        }
    }
}

fn failed(action: &'static str, unit: &str, detail: String) -> ServiceError {
    ServiceError::Failed {
        action,
        unit: unit.to_string(),
        detail,
    }
}

/// Unit names are passed as arguments; one starting with `-` would be read as an option.
/// The character set is systemd's own (unit_name_is_valid).
fn check_unit_name(verb: &'static str, unit: &str) -> Result<(), ServiceError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c);
    if unit.is_empty() || unit.len() > 255 || unit.starts_with('-') || !unit.chars().all(allowed) {
        return Err(failed(verb, unit, "not a valid unit name".into()));
    }
    Ok(())
}

/// Reads `systemctl is-enabled UNIT`: `Some(true)` when the unit starts at boot,
/// `None` when no unit file exists.
///
/// systemctl exits 0 for enabled, enabled-runtime, static, alias, indirect and generated
/// (the unit is pulled in at boot), non-zero for disabled, linked, masked and bad. A missing
/// unit prints `not-found` and exits 4 on recent systemd; older versions (252 included, when
/// not going through the bus) print nothing on stdout and "No such file or directory" or
/// "does not exist" on stderr, exiting 1.
fn parse_is_enabled(a: &Answer) -> Result<Option<bool>, String> {
    match a.word() {
        "enabled" | "enabled-runtime" | "static" | "alias" | "indirect" | "generated" => {
            Ok(Some(true))
        }
        "disabled" | "linked" | "linked-runtime" | "masked" | "masked-runtime" | "bad" => {
            Ok(Some(false))
        }
        "not-found" => Ok(None),
        "" if a.stderr.contains("No such file or directory")
            || a.stderr.contains("does not exist") =>
        {
            Ok(None)
        }
        "" => Err(a.detail()),
        // A state newer than this code (e.g. `transient`): trust the documented exit status.
        _ => Ok(Some(a.code == Some(0))),
    }
}

/// Reads `systemctl is-active UNIT`: whether the unit runs now.
///
/// systemctl prints the unit's ActiveState and exits 0 for active, reloading and
/// refreshing, 3 otherwise (4 when the unit is not loaded). `activating` counts as running:
/// the process is already there, and stopping it is what a `disabled` profile wants.
fn parse_is_active(a: &Answer) -> Result<bool, String> {
    match a.word() {
        "active" | "reloading" | "refreshing" | "activating" => Ok(true),
        "inactive" | "failed" | "deactivating" | "maintenance" => Ok(false),
        "" => Err(a.detail()),
        _ => Ok(a.code == Some(0)),
    }
}

impl Services for Systemctl {
    /// Equivalent to `systemctl is-enabled UNIT` then `systemctl is-active UNIT`.
    fn state(&self, unit: &str) -> Result<Option<ServiceState>, ServiceError> {
        let enabled = parse_is_enabled(&self.run("is-enabled", unit)?);
        let Some(enabled) = enabled.map_err(|d| failed("is-enabled", unit, d))? else {
            return Ok(None);
        };
        let active = parse_is_active(&self.run("is-active", unit)?);
        let active = active.map_err(|d| failed("is-active", unit, d))?;
        Ok(Some(ServiceState { active, enabled }))
    }

    /// Equivalent to `systemctl start UNIT` / `systemctl stop UNIT`.
    fn set_active(&self, unit: &str, active: bool) -> Result<(), ServiceError> {
        self.change(if active { "start" } else { "stop" }, unit)
    }

    /// Equivalent to `systemctl enable UNIT` / `systemctl disable UNIT`.
    fn set_enabled(&self, unit: &str, enabled: bool) -> Result<(), ServiceError> {
        self.change(if enabled { "enable" } else { "disable" }, unit)
    }

    /// Equivalent to `systemctl restart UNIT`.
    fn restart(&self, unit: &str) -> Result<(), ServiceError> {
        self.change("restart", unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: i32, stdout: &str, stderr: &str) -> Answer {
        Answer {
            code: Some(code),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn is_enabled_answers_map_to_boot_state() {
        let cases = [
            (answer(0, "enabled\n", ""), Ok(Some(true))),
            (answer(0, "enabled-runtime\n", ""), Ok(Some(true))),
            (answer(0, "static\n", ""), Ok(Some(true))),
            (answer(0, "indirect\n", ""), Ok(Some(true))),
            (answer(1, "disabled\n", ""), Ok(Some(false))),
            (answer(1, "masked\n", ""), Ok(Some(false))),
            (answer(4, "not-found\n", ""), Ok(None)),
            (
                answer(
                    1,
                    "",
                    "Failed to get unit file state for x.service: No such file or directory\n",
                ),
                Ok(None),
            ),
            (
                answer(
                    1,
                    "",
                    "Failed to get unit file state for x.service: Unit file x.service does not exist.\n",
                ),
                Ok(None),
            ),
            (answer(0, "transient\n", ""), Ok(Some(true))),
            (
                answer(1, "", "Failed to connect to bus: Host is down\n"),
                Err("Failed to connect to bus: Host is down".into()),
            ),
        ];
        for (a, want) in cases {
            assert_eq!(parse_is_enabled(&a), want, "{a:?}");
        }
    }

    #[test]
    fn is_active_answers_map_to_running() {
        let cases = [
            (answer(0, "active\n", ""), Ok(true)),
            (answer(0, "reloading\n", ""), Ok(true)),
            (answer(3, "activating\n", ""), Ok(true)),
            (answer(3, "inactive\n", ""), Ok(false)),
            (answer(3, "failed\n", ""), Ok(false)),
            (answer(4, "inactive\n", ""), Ok(false)),
            (answer(3, "deactivating\n", ""), Ok(false)),
            (answer(1, "", ""), Err("exit status 1".into())),
        ];
        for (a, want) in cases {
            assert_eq!(parse_is_active(&a), want, "{a:?}");
        }
    }

    #[test]
    fn without_systemd_as_init_every_call_is_unsupported() {
        let dir = tempfile::tempdir().unwrap();
        // The program is never run: it does not even exist.
        let sc = Systemctl::new(
            dir.path().join("systemctl"),
            dir.path().join("run/systemd/system"),
        );
        let want = format!(
            "systemd is not the init system (no directory {})",
            dir.path().join("run/systemd/system").display()
        );
        assert_eq!(
            sc.state("irqbalance.service"),
            Err(ServiceError::Unsupported(want.clone()))
        );
        assert_eq!(
            sc.set_active("irqbalance.service", false),
            Err(ServiceError::Unsupported(want.clone()))
        );
        assert_eq!(
            sc.set_enabled("irqbalance.service", false),
            Err(ServiceError::Unsupported(want.clone()))
        );
        assert_eq!(
            sc.restart("irqbalance.service"),
            Err(ServiceError::Unsupported(want))
        );
    }

    #[test]
    fn option_like_or_odd_unit_names_are_refused_before_running() {
        let dir = tempfile::tempdir().unwrap();
        let sc = Systemctl::new(dir.path().join("systemctl"), dir.path());
        for bad in ["", "--now", "a b.service", "../x.service", "x;reboot"] {
            let err = sc.set_active(bad, true).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("systemctl start {bad}: not a valid unit name")
            );
        }
    }
}
