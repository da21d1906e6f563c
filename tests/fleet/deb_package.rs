//! The Debian package, end to end: contrib/deb/test-install.sh builds it with cargo-deb,
//! installs it on this machine with `dpkg -i`, runs `/usr/sbin/hosttune --version` and
//! `hosttune profiles` from the installed path, checks the man page, completions, units (not
//! enabled, not started) and the conffile, and purges it.
//!
//! It needs root, dpkg and cargo-deb, a machine without hosttune installed (CI's fresh VMs;
//! `.ci/run` installs cargo-deb), and consent: HOSTTUNE_REQUIRE_ROOT_TESTS=1 (CI) or
//! HOSTTUNE_PACKAGE_TEST=1, since it installs a package on the machine it runs on. Without
//! them, or without a prerequisite, it is skipped loudly through `common::skip`, like every
//! other test; under `HOSTTUNE_REQUIRE_ROOT_TESTS=1` a missing prerequisite is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::skip;

fn succeeds(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Why the test cannot run here, if it cannot.
fn missing() -> Option<String> {
    // It installs a package on this machine: only where that is asked for (CI's throw-away
    // machines set HOSTTUNE_REQUIRE_ROOT_TESTS=1), never on a developer's host by surprise.
    let asked = ["HOSTTUNE_REQUIRE_ROOT_TESTS", "HOSTTUNE_PACKAGE_TEST"]
        .iter()
        .any(|v| std::env::var(v).as_deref() == Ok("1"));
    if !asked {
        return Some(
            "it installs the package on this machine; set HOSTTUNE_PACKAGE_TEST=1 to allow it"
                .into(),
        );
    }
    if !nix::unistd::Uid::effective().is_root() {
        return Some("not running as root (dpkg -i)".into());
    }
    if !succeeds("dpkg", &["--version"]) {
        return Some("dpkg is missing".into());
    }
    if !succeeds("cargo", &["deb", "--version"]) {
        return Some("cargo-deb is missing (cargo install cargo-deb --locked)".into());
    }
    let status = Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Status}", "hosttune"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if !status.is_empty() && status != "not-installed" {
        return Some(format!(
            "a hosttune package is on this machine ({status}); the test would replace and purge it"
        ));
    }
    if Path::new("/usr/sbin/hosttune").exists() {
        return Some("/usr/sbin/hosttune exists; the test would replace it".into());
    }
    None
}

#[test]
fn deb_builds_installs_runs_and_purges() {
    const TEST: &str = "deb_builds_installs_runs_and_purges";
    if let Some(why) = missing() {
        skip(
            TEST,
            &format!(
                "the Debian package test needs root, dpkg and cargo-deb on a machine without \
                 hosttune installed ({why})"
            ),
        );
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The nested `cargo deb` builds in a target dir of its own: the outer `cargo test` holds
    // the lock of its own, and sharing it would wait forever (or rebuild the test build).
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("deb");
    let out = Command::new(root.join("contrib/deb/test-install.sh"))
        .env("CARGO_TARGET_DIR", work.join("target"))
        .env("HOSTTUNE_DEB_OUT", work.join("out"))
        .output()
        .expect("run contrib/deb/test-install.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "contrib/deb/test-install.sh failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    eprintln!("{stdout}");
    assert!(stdout.contains("test-install: ok:"), "{stdout}");
}
