//! Journal and history stay exact under `kill -9`: an interrupted rollback is finished, never
//! repeated one apply further back; an agent killed mid-correction, then a new agent, leave one
//! history entry for the agent's life. Real kernel, in throw-away network namespaces.

use crate::common;
use crate::common::hosttune;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Netns, root_tests_enabled};

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

/// Runs hosttune in the namespace with `fault`, waits for it to reach the fault's mark, and
/// kills it with SIGKILL there.
fn kill_at_mark(ns: &Netns, state: &Path, args: &[&str], fault: &str, mark: &Path) {
    let _ = std::fs::remove_file(mark);
    let mut child = hosttune()
        .netns(ns)
        .state(state)
        .env("HOSTTUNE_FAULT", fault)
        .env("HOSTTUNE_FAULT_MARK", mark)
        .command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !mark.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{args:?} never reached {fault}"
        );
        if let Ok(Some(st)) = child.try_wait() {
            panic!("{args:?} exited ({st}) before reaching {fault}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn an_interrupted_rollback_is_finished_not_repeated() {
    if !root_tests_enabled("an_interrupted_rollback_is_finished_not_repeated") {
        return;
    }
    let ns = Netns::new("introll");
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let (somax, fin) = (
        ns.sysctl("net.core.somaxconn"),
        ns.sysctl("net.ipv4.tcp_fin_timeout"),
    );
    let a = write(
        tmp.path(),
        "a.toml",
        "[sysctl]\n\"net.core.somaxconn\" = 1111\n",
    );
    let b = write(
        tmp.path(),
        "b.toml",
        "[sysctl]\n\"net.core.somaxconn\" = 2222\n\"net.ipv4.tcp_fin_timeout\" = 44\n",
    );
    assert_eq!(ns.hosttune(&state, &["apply", &a]).0, 0);
    assert_eq!(ns.hosttune(&state, &["apply", &b]).0, 0);
    // Killed after restoring B's "before" and taking B off the history, before the journal
    // was removed.
    let mark = tmp.path().join("mark");
    kill_at_mark(&ns, &state, &["rollback"], "store:end:pause", &mark);
    assert_eq!(ns.sysctl("net.core.somaxconn"), "1111");
    assert_eq!(ns.sysctl("net.ipv4.tcp_fin_timeout"), fin);

    // The next rollback finishes that one: the host stays at A.
    let (code, out, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("finishes restoring its target"), "{err}");
    assert_eq!(ns.sysctl("net.core.somaxconn"), "1111", "{out}\n{err}");
    // Then one more walks back A.
    let (code, out, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(ns.sysctl("net.core.somaxconn"), somax);
    let (code, _, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no snapshot to roll back to"), "{err}");
}

#[test]
fn a_killed_agent_then_a_new_one_leave_one_history_entry() {
    if !root_tests_enabled("a_killed_agent_then_a_new_one_leave_one_history_entry") {
        return;
    }
    let ns = Netns::new("intagent");
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let somax = ns.sysctl("net.core.somaxconn");
    let fin = ns.sysctl("net.ipv4.tcp_fin_timeout");
    let p = write(
        tmp.path(),
        "p.toml",
        "[sysctl]\n\"net.core.somaxconn\" = 5000\n\"net.ipv4.tcp_fin_timeout\" = 33\n",
    );
    // Write 1 and 2 are the start apply; the hand change below makes write 3 the correction,
    // where the agent is killed.
    let mark = tmp.path().join("mark");
    let _ = std::fs::remove_file(&mark);
    let mut first = hosttune()
        .netns(&ns)
        .state(&state)
        .env("HOSTTUNE_FAULT", "sysctl:3:pause")
        .env("HOSTTUNE_FAULT_MARK", &mark)
        .command(&["agent", &p, "--interval", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while ns.sysctl("net.ipv4.tcp_fin_timeout") != "33" {
        assert!(t.elapsed() < Duration::from_secs(20), "no start apply");
        std::thread::sleep(Duration::from_millis(20));
    }
    ns.must("sysctl", &["-qw", "net.core.somaxconn=123"]);
    while !mark.exists() {
        assert!(t.elapsed() < Duration::from_secs(20), "no correction");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();

    // A new agent takes the interrupted correction over, then stops.
    let mut second = hosttune()
        .netns(&ns)
        .state(&state)
        .command(&["agent", &p, "--interval", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(second.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(second.wait().unwrap().code(), Some(0));
    assert_eq!(ns.sysctl("net.core.somaxconn"), "5000");

    // One rollback gives back the host from before the first agent.
    let (code, out, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(ns.sysctl("net.core.somaxconn"), somax, "{out}");
    assert_eq!(ns.sysctl("net.ipv4.tcp_fin_timeout"), fin, "{out}");
    // And there is nothing older to restore: a later hand change stays.
    ns.must("sysctl", &["-qw", "net.core.somaxconn=777"]);
    let (code, out, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert_eq!(ns.sysctl("net.core.somaxconn"), "777");
}

/// A rollback stopped at each kind of its own steps (`kill -9` at a restore write, after the
/// history was rewritten, SIGTERM at a restore write) is finished by the next `rollback`: the
/// host ends as before the apply, and the history is empty.
#[test]
fn a_rollback_stopped_at_any_of_its_steps_is_finished_by_the_next() {
    if !root_tests_enabled("a_rollback_stopped_at_any_of_its_steps_is_finished_by_the_next") {
        return;
    }
    for (fault, signal) in [
        ("sysctl:2:pause", "KILL"),
        ("sysctl:3:pause", "KILL"),
        ("store:end:pause", "KILL"),
        ("sysctl:2:pause", "TERM"),
    ] {
        let ns = Netns::new("introllstep");
        let tmp = tempfile::tempdir().unwrap();
        let state = tmp.path().join("state");
        let before = ns.sysctl_all();
        let p = write(
            tmp.path(),
            "p.toml",
            "[sysctl]\n\"net.core.somaxconn\" = 1111\n\"net.ipv4.tcp_fin_timeout\" = 44\n\
             \"net.ipv4.tcp_keepalive_time\" = 555\n",
        );
        assert_eq!(ns.hosttune(&state, &["apply", &p]).0, 0);
        let mark = tmp.path().join("mark");
        let what = format!("{fault} {signal}");
        if signal == "KILL" {
            kill_at_mark(&ns, &state, &["rollback"], fault, &mark);
        } else {
            let child = hosttune()
                .netns(&ns)
                .state(&state)
                .env("HOSTTUNE_FAULT", fault)
                .env("HOSTTUNE_FAULT_MARK", &mark)
                .command(&["rollback"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let t = Instant::now();
            while !mark.exists() {
                assert!(t.elapsed() < Duration::from_secs(20), "{what}: no mark");
                std::thread::sleep(Duration::from_millis(10));
            }
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            )
            .unwrap();
            let o = child.wait_with_output().unwrap();
            // A rollback finishes what it started, then says it was asked to stop.
            assert_eq!(o.status.code(), Some(1), "{what}");
        }
        let (code, out, err) = ns.hosttune(&state, &["rollback"]);
        if signal == "KILL" {
            assert_eq!(code, 0, "{what}: {out}\n{err}");
            assert!(err.contains("was interrupted"), "{what}: {err}");
        }
        assert_eq!(ns.sysctl_all(), before, "{what}: {out}\n{err}");
        let (code, _, err) = ns.hosttune(&state, &["rollback"]);
        assert_eq!(code, 2, "{what}: nothing older to restore: {err}");
    }
}
