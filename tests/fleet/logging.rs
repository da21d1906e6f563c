//! The log, from the outside: on stderr it reads as `hosttune: warning: ...` lines beside the
//! command's output; `HOSTTUNE_LOG` and `-v` choose what is logged; and when systemd
//! connected stderr to the journal (`JOURNAL_STREAM` names stderr's device and inode), the
//! messages go to journald's socket with their syslog priority instead. The journal is a
//! stand-in socket bound over /run in a private mount namespace (root), so the host's own
//! journal, if any, is never written.

use crate::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_hosttune");

/// A state dir with one unreadable snapshot (`zzz`), which `snapshots list` lists as such and
/// warns about; and a captured root (no kernel), which `-v` logs at info.
fn state(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let state = dir.join("state");
    let snaps = state.join("snapshots");
    std::fs::create_dir_all(&snaps).unwrap();
    for d in [&state, &snaps] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let zzz = snaps.join("zzz.json");
    std::fs::write(&zzz, "{\"id\":").unwrap();
    std::fs::set_permissions(&zzz, std::fs::Permissions::from_mode(0o600)).unwrap();
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("proc")).unwrap();
    (state, root)
}

fn list(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let (state, root) = state(dir);
    let mut c = Command::new(BIN);
    c.env_remove("HOSTTUNE_LOG")
        .env_remove("JOURNAL_STREAM")
        .arg("--root")
        .arg(&root)
        .arg("--state-dir")
        .arg(&state)
        .args(extra)
        .args(["snapshots", "list"])
        .envs(env.iter().copied());
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn stderr_has_hosttune_lines_and_the_filter_chooses_them() {
    let dir = tempfile::tempdir().unwrap();
    let o = list(dir.path(), &[], &[]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{out}{err}");
    assert!(out.starts_with("zzz  unreadable"), "{out}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("hosttune: warning: ") && err.contains("zzz"),
        "{err}"
    );

    // -v adds info (how the root is read); the output stays on stdout.
    let o = list(dir.path(), &["-v"], &[]);
    let err = text(&o.stderr);
    assert!(
        err.lines()
            .any(|l| l.starts_with("hosttune: --root ") && l.contains("a captured tree")),
        "{err}"
    );
    assert!(text(&o.stdout).starts_with("zzz  unreadable"));

    // HOSTTUNE_LOG replaces the level: off is silent, even with -v; the output stays.
    let o = list(dir.path(), &["-v"], &[("HOSTTUNE_LOG", "off")]);
    assert_eq!(text(&o.stderr), "");
    assert!(text(&o.stdout).starts_with("zzz  unreadable"));
    let o = list(dir.path(), &[], &[("HOSTTUNE_LOG", "hosttune=info")]);
    assert!(
        text(&o.stderr).contains("a captured tree"),
        "{}",
        text(&o.stderr)
    );

    // A filter that does not parse is said, and the level of the flags used.
    let o = list(dir.path(), &[], &[("HOSTTUNE_LOG", "hosttune=loud")]);
    let err = text(&o.stderr);
    assert!(
        err.starts_with("hosttune: warning: HOSTTUNE_LOG=hosttune=loud: "),
        "{err}"
    );
    assert!(err.contains("zzz"), "{err}");

    // JOURNAL_STREAM inherited by a process whose stderr is not the journal: stderr.
    let o = list(dir.path(), &[], &[("JOURNAL_STREAM", "1:1")]);
    assert!(
        text(&o.stderr).starts_with("hosttune: warning: "),
        "{}",
        text(&o.stderr)
    );
}

/// Fields of one journald native-protocol datagram (`NAME=value` lines, or `NAME`, a
/// little-endian u64 length, the value and a newline).
fn fields(mut d: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while !d.is_empty() {
        let nl = d.iter().position(|&b| b == b'\n').unwrap();
        let line = &d[..nl];
        if let Some(eq) = line.iter().position(|&b| b == b'=') {
            out.push((text(&line[..eq]), text(&line[eq + 1..])));
            d = &d[nl + 1..];
        } else {
            let len = u64::from_le_bytes(d[nl + 1..nl + 9].try_into().unwrap()) as usize;
            let value = &d[nl + 9..nl + 9 + len];
            out.push((text(line), text(value)));
            d = &d[nl + 9 + len + 1..];
        }
    }
    out
}

#[test]
fn under_systemd_messages_reach_the_journal_with_their_priority() {
    let test = "under_systemd_messages_reach_the_journal_with_their_priority";
    if !common::root_tests_with(test, &["unshare", "mount"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The stand-in journal: /run/systemd/journal/socket inside the namespace.
    let run = dir.path().join("run");
    std::fs::create_dir_all(run.join("systemd/journal")).unwrap();
    let journal = UnixDatagram::bind(run.join("systemd/journal/socket")).unwrap();
    journal
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (state, root) = state(dir.path());
    let err_path = dir.path().join("stderr");
    let err_file = std::fs::File::create(&err_path).unwrap();
    let meta = err_file.metadata().unwrap();
    let stream = format!("{}:{}", meta.dev(), meta.ino());
    let script = format!(
        "mount --bind '{}' /run && exec '{BIN}' -v --root '{}' --state-dir '{}' snapshots list",
        run.display(),
        root.display(),
        state.display()
    );
    let o = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env_remove("HOSTTUNE_LOG")
        .env("JOURNAL_STREAM", &stream)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(err_file))
        .output()
        .unwrap();
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert!(o.status.success(), "{err}");
    assert!(text(&o.stdout).starts_with("zzz  unreadable"));
    // Nothing on stderr: the journal has it.
    assert_eq!(err, "", "stderr");

    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = journal.recv(&mut buf) {
        // journald's probe: an empty datagram, which the real one discards.
        if n > 0 {
            got.push(fields(&buf[..n]));
        }
        journal
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
    }
    let find = |needle: &str| {
        got.iter()
            .find(|f| f.iter().any(|(k, v)| k == "MESSAGE" && v.contains(needle)))
            .unwrap_or_else(|| panic!("no message with {needle:?} in {got:#?}"))
    };
    let field =
        |f: &Vec<(String, String)>, k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let warn = find("zzz");
    assert_eq!(field(warn, "PRIORITY").as_deref(), Some("4"), "{warn:?}");
    assert_eq!(
        field(warn, "SYSLOG_IDENTIFIER").as_deref(),
        Some("hosttune")
    );
    let info = find("a captured tree");
    assert_eq!(field(info, "PRIORITY").as_deref(), Some("5"), "{info:?}");
}
