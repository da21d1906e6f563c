//! An apply that finds the host in sync (the boot oneshot's common case) writes nothing at all:
//! traced with strace in a throw-away network namespace, it opens nothing for writing, creates,
//! renames, removes, fsyncs or locks nothing, and does not create the state dir. What it must
//! still do is checked too: an interrupted apply's journal is found and settled, and a
//! recorded failure of the profile is cleared.

use crate::common;

use std::path::Path;

use common::Netns;

const PROFILE: &str = "[sysctl]
\"net.core.somaxconn\" = 8192
\"net.ipv4.tcp_fin_timeout\" = 30
\"net.ipv4.ip_local_port_range\" = \"10240 65000\"
\"net.ipv4.conf.all.arp_ignore\" = 1
\"net.ipv4.conf.default.rp_filter\" = 2
";

const TRACED: &str = "openat,open,creat,write,rename,renameat,renameat2,fsync,fdatasync,\
                      mkdir,mkdirat,unlink,unlinkat,flock";

/// Runs `hosttune --state-dir STATE apply PROFILE` under strace in the namespace; returns the
/// exit code, stderr and the trace.
fn traced_apply(ns: &Netns, state: &Path, profile: &Path, trace: &Path) -> (i32, String, String) {
    let bin = common::BIN;
    let o = ns.exec(
        "strace",
        &[
            "-f",
            "-e",
            &format!("trace={TRACED}"),
            "-o",
            trace.to_str().unwrap(),
            bin,
            "--state-dir",
            state.to_str().unwrap(),
            "apply",
            profile.to_str().unwrap(),
        ],
    );
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into(),
        std::fs::read_to_string(trace).unwrap(),
    )
}

/// The syscalls of a trace that change a file: an open for writing or creating, a write to
/// anything but stdout and stderr, a rename, unlink, mkdir, fsync, or an exclusive lock.
fn writes(trace: &str) -> Vec<String> {
    trace
        .lines()
        .filter(|l| {
            // `PID call(args) = ret`: the call's name and arguments.
            let call = l.split_once(' ').map_or(*l, |(_, c)| c.trim_start());
            let name = call.split('(').next().unwrap_or_default();
            match name {
                "open" | "openat" => ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"]
                    .iter()
                    .any(|f| call.contains(f)),
                "write" => !(call.starts_with("write(1,") || call.starts_with("write(2,")),
                "flock" => call.contains("LOCK_EX"),
                "creat" | "rename" | "renameat" | "renameat2" | "fsync" | "fdatasync" | "mkdir"
                | "mkdirat" | "unlink" | "unlinkat" => true,
                _ => false,
            }
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn the_write_filter_sees_what_an_apply_with_changes_does() {
    let trace = "12 openat(AT_FDCWD, \"/s/lock\", O_WRONLY|O_CREAT|O_NOFOLLOW|O_CLOEXEC, 0600) = 4
12 openat(AT_FDCWD, \"p.toml\", O_RDONLY|O_NOCTTY|O_NONBLOCK|O_CLOEXEC) = 4
12 write(1, \"apply p.toml: in sync\", 21) = 21
12 write(5, \"{}\", 2) = 2
12 flock(4, LOCK_EX|LOCK_NB) = 0
12 fsync(5) = 0
12 renameat(AT_FDCWD, \"/s/.x\", AT_FDCWD, \"/s/last-apply.json\") = 0
12 +++ exited with 0 +++";
    let w = writes(trace);
    assert_eq!(w.len(), 5, "{w:#?}");
    assert!(w[0].contains("/s/lock") && w[1].starts_with("12 write(5,"));
}

#[test]
fn an_in_sync_apply_writes_nothing() {
    if !common::root_tests_with("an_in_sync_apply_writes_nothing", &["strace"]) {
        return;
    }
    let ns = Netns::new("insync");
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let used = dir.path().join("used");
    let (code, out, err) = ns.hosttune(&used, &["apply", profile.to_str().unwrap()]);
    assert_eq!(code, 0, "first apply: {out}{err}");
    assert!(out.contains("changed sysctl net.core.somaxconn"), "{out}");
    let trace = dir.path().join("trace");

    // A state dir that holds snapshots, history and a successful outcome: nothing written.
    let (code, err, t) = traced_apply(&ns, &used, &profile, &trace);
    assert_eq!(code, 0, "{err}\n{t}");
    assert_eq!(
        writes(&t),
        Vec::<String>::new(),
        "in-sync apply wrote:\n{t}"
    );
    assert!(
        !t.contains("/lock\""),
        "in-sync apply opened the lock file:\n{t}"
    );

    // No state dir yet: it is not created.
    let fresh = dir.path().join("fresh");
    let (code, err, t) = traced_apply(&ns, &fresh, &profile, &trace);
    assert_eq!(code, 0, "{err}\n{t}");
    assert_eq!(
        writes(&t),
        Vec::<String>::new(),
        "in-sync apply wrote:\n{t}"
    );
    assert!(!fresh.exists(), "in-sync apply created {}", fresh.display());

    // An apply of the profile that failed last: the in-sync apply records its success.
    std::fs::write(
        used.join("last-apply.json"),
        "{\"profile\":\"".to_string()
            + profile.to_str().unwrap()
            + "\",\"success\":false,\"finished\":1}",
    )
    .unwrap();
    let (code, err, _) = traced_apply(&ns, &used, &profile, &trace);
    assert_eq!(code, 0, "{err}");
    let rec = std::fs::read_to_string(used.join("last-apply.json")).unwrap();
    assert!(rec.contains("\"success\":true"), "{rec}");

    // An interrupted apply's journal is still found by an apply that has nothing to change.
    let id = std::fs::read_to_string(used.join("history"))
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    let journal = used.join("journal.json");
    std::fs::write(
        &journal,
        format!(
            "{{\"snapshot\":\"{id}\",\"origin\":\"apply\",\"profile\":\"p\",\"pid\":1,\
             \"started\":\"2026-01-01T00:00:00Z\"}}"
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &journal,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let (code, out, err) = ns.hosttune(&used, &["apply", profile.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("was interrupted before it finished"), "{err}");
    assert!(!journal.exists(), "the interrupted apply was not settled");
    // And then nothing again.
    let (code, err, t) = traced_apply(&ns, &used, &profile, &trace);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        writes(&t),
        Vec::<String>::new(),
        "in-sync apply wrote:\n{t}"
    );
}
