//! The systemd units in `contrib/systemd/`: both pass `systemd-analyze verify`, start the
//! binary where the README installs it, and agree on how they are ordered.
//!
//! `verify` checks that every command exists, so it runs on copies whose `ExecStart=` names
//! this build's binary. It exits 0 on an unknown key or a value it cannot parse (it only
//! warns), so any line it prints about a unit fails the test too. Without `systemd-analyze`
//! (the `systemd` package on Debian) the test is skipped loudly, unless
//! `HOSTTUNE_REQUIRE_ROOT_TESTS=1` (CI), which turns the skip into a failure.

use crate::common::{self, hosttune};
use std::path::{Path, PathBuf};
use std::process::Command;

const UNITS: [&str; 2] = ["hosttune.service", "hosttune-agent.service"];
const INSTALLED: &str = "/usr/sbin/hosttune";

fn unit_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib/systemd")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The values of `key=` in a unit, in order (every section; keys here are unique enough).
fn values(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
        .collect()
}

/// Whether `systemd-analyze` can run here; a loud skip otherwise (a failure in CI).
fn analyze_available() -> bool {
    match Command::new("systemd-analyze").arg("--version").output() {
        Ok(o) if o.status.success() => true,
        other => {
            let why = match other {
                Ok(o) => format!("systemd-analyze --version exited {}", o.status),
                Err(e) => format!("systemd-analyze: {e}"),
            };
            if std::env::var("HOSTTUNE_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
                panic!(
                    "units: cannot run systemd-analyze ({why}; Debian package `systemd`) and \
                     HOSTTUNE_REQUIRE_ROOT_TESTS=1"
                );
            }
            eprintln!(
                "\n*** SKIPPED units: systemd-analyze verify needs systemd-analyze ({why}; \
                 Debian package `systemd`) ***\n"
            );
            false
        }
    }
}

#[test]
fn units_pass_systemd_analyze_verify() {
    if !analyze_available() {
        return;
    }
    let bin = common::BIN;
    let dir = tempfile::tempdir().unwrap();
    let mut copies: Vec<PathBuf> = Vec::new();
    for name in UNITS {
        let text = unit_text(name);
        let exec = format!("ExecStart={INSTALLED} ");
        assert!(
            text.contains(&exec),
            "{name}: ExecStart= must run {INSTALLED}"
        );
        let copy = dir.path().join(name);
        std::fs::write(&copy, text.replace(&exec, &format!("ExecStart={bin} "))).unwrap();
        copies.push(copy);
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&copies)
        .output()
        .expect("systemd-analyze verify");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let about_ours: Vec<&str> = said
        .lines()
        .filter(|l| UNITS.iter().any(|u| l.contains(u)))
        .collect();
    assert!(
        out.status.success() && about_ours.is_empty(),
        "systemd-analyze verify {}: {}\n{said}",
        copies
            .iter()
            .map(|c| c.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        out.status
    );
}

/// Both units start where the README's install step puts the binary, and the agent's
/// command line uses only options the agent has.
#[test]
fn units_run_the_installed_binary_with_known_options() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    assert!(
        readme
            .lines()
            .any(|l| l.contains("install -m 0755") && l.trim_end().ends_with(INSTALLED)),
        "the README's install step must install the binary to {INSTALLED}"
    );
    let agent = unit_text("hosttune-agent.service");
    let exec = values(&agent, "ExecStart");
    assert_eq!(exec.len(), 1, "one ExecStart= in the agent unit");
    let words: Vec<&str> = exec[0].split_whitespace().collect();
    assert_eq!(words[..2], [INSTALLED, "agent"], "{}", exec[0]);
    let help = hosttune().output(&["agent", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    for opt in words.iter().filter(|w| w.starts_with("--")) {
        assert!(help.contains(opt), "`hosttune agent` has no {opt}:\n{help}");
    }
}

/// The oneshot no longer waits for udev to settle (deprecated; late NICs are the agent's
/// job); the agent is ordered like the oneshot and replaces it.
#[test]
fn units_are_ordered_alike_and_the_agent_replaces_the_oneshot() {
    let oneshot = unit_text("hosttune.service");
    let agent = unit_text("hosttune-agent.service");
    assert!(
        !oneshot
            .lines()
            .filter(|l| !l.starts_with('#'))
            .any(|l| l.contains("udev-settle")),
        "hosttune.service still depends on systemd-udev-settle"
    );
    for key in ["After", "Before", "Wants", "DefaultDependencies"] {
        let a = values(&agent, key);
        for v in values(&oneshot, key) {
            assert!(a.contains(&v), "hosttune-agent.service lacks {key}={v}");
        }
    }
    assert!(values(&agent, "Conflicts").contains(&"hosttune.service".to_string()));
    assert_eq!(values(&agent, "Type"), ["notify"]);
    assert_eq!(values(&agent, "Restart"), ["on-failure"]);
    assert_eq!(values(&agent, "ExecReload"), ["/bin/kill -HUP $MAINPID"]);
    for key in [
        "ProtectKernelTunables",
        "PrivateNetwork",
        "ProtectHostname",
        "PrivateIPC",
    ] {
        assert!(
            values(&agent, key).is_empty(),
            "{key}= would keep the agent from writing the kernel's settings"
        );
    }
    // [irqbalance] mode = "banned" writes /etc/default/irqbalance.
    for v in values(&agent, "ProtectSystem") {
        assert!(
            v != "full" && v != "strict",
            "ProtectSystem={v} makes /etc read-only"
        );
    }
}

/// Neither unit ships a role: both hold /etc/hosttune/profile.toml unless a drop-in names
/// another profile, and without it they fail naming the file and the drop-in to write.
#[test]
fn units_ship_without_a_role_and_a_missing_profile_is_named() {
    for name in UNITS {
        let text = unit_text(name);
        assert_eq!(
            values(&text, "Environment"),
            ["HOSTTUNE_PROFILE=/etc/hosttune/profile.toml"],
            "{name}"
        );
        assert!(
            values(&text, "ExecStart")[0].contains("${HOSTTUNE_PROFILE}"),
            "{name}"
        );
        // A condition would skip the unit silently.
        assert!(values(&text, "ConditionPathExists").is_empty(), "{name}");
    }
    if Path::new("/etc/hosttune/profile.toml").exists() {
        eprintln!(
            "units: /etc/hosttune/profile.toml exists here; its missing-file message is not checked"
        );
        return;
    }
    // On an empty tree and state dir: nothing is read or written but the message.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("proc")).unwrap();
    let out = hosttune()
        .root(dir.path())
        .state(dir.path().join("state"))
        .output(&["apply", "/etc/hosttune/profile.toml"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no profile: /etc/hosttune/profile.toml does not exist")
            && err.contains("systemctl edit hosttune.service")
            && err.contains("Environment=HOSTTUNE_PROFILE=NAME"),
        "{err}"
    );
    assert!(!dir.path().join("state").exists());
}
