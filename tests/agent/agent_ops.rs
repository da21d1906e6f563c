//! The agent as operators drive it, on the real kernel inside throw-away network namespaces:
//! `--mode observe` writes nothing (strace finds no write open under /proc/sys or /sys); a
//! pause keeps a drained VIP off `lo` until `resume`, ends by itself with `--for`, and holds
//! across an agent restart; `hosttune status` answers with its exit codes and JSON; report
//! mode tunes 200 veths created at once (events lost included); `READY=1` and `STATUS=` reach
//! a notify socket, "degraded" while an item fails, "in sync" once it no longer does; the
//! metrics name the profile and the sha256 of `hosttune show`.

use crate::common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Netns, root_tests_enabled, root_tests_with};

/// A running agent, stopped (SIGKILL) on drop if the test did not stop it.
struct Agent {
    child: Option<Child>,
    err: PathBuf,
    /// The agent's own pid (the child may be strace).
    pid: i32,
}

impl Agent {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }
    fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid), sig).unwrap();
    }
    /// SIGTERM to the agent, then the child's exit code.
    fn stop(mut self) -> i32 {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let mut c = self.child.take().unwrap();
        let start = Instant::now();
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the agent did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `f` until it holds or `limit` passes.
fn within(limit: Duration, what: &str, log: impl Fn() -> String, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?}\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that `f` holds all through `span`.
fn throughout(span: Duration, what: &str, log: impl Fn() -> String, f: impl Fn() -> bool) {
    let start = Instant::now();
    while start.elapsed() < span {
        assert!(
            f(),
            "{what}: no longer after {:?}\n{}",
            start.elapsed(),
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const PROFILE: &str = r#"[sysctl]
"net.core.somaxconn" = 4242
"net.ipv4.tcp_fin_timeout" = 33
[[nic]]
match = "veth*"
txqueuelen = 5000
"#;

const VIP: &str = "192.0.2.10";

struct Rig {
    ns: Netns,
    dir: tempfile::TempDir,
}

impl Rig {
    fn new(tag: &str, profile: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.toml"), profile).unwrap();
        Rig {
            ns: Netns::new(tag),
            dir,
        }
    }
    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }
    fn profile(&self) -> String {
        self.dir.path().join("p.toml").display().to_string()
    }
    fn textfile(&self) -> PathBuf {
        self.dir.path().join("hosttune.prom")
    }
    fn metrics(&self) -> String {
        std::fs::read_to_string(self.textfile()).unwrap_or_default()
    }
    /// The agent's command line in the namespace, `wrap` before the binary (strace).
    fn agent_cmd(&self, wrap: &[&str], extra: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns.name])
            .args(wrap)
            .arg(common::BIN)
            .arg("--state-dir")
            .arg(self.state())
            .args(["agent", &self.profile(), "--textfile"])
            .arg(self.textfile())
            .args(extra);
        c
    }
    /// Starts an agent and waits for its first cycle (its status file names its pid).
    fn start(&self, mut c: Command) -> Agent {
        let _ = std::fs::remove_file(self.textfile());
        let err = self.dir.path().join(format!("agent-{}.err", rand_tag()));
        let child = c
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        let mut a = Agent {
            child: Some(child),
            err,
            pid: 0,
        };
        let status = self.state().join("agent-status.json");
        let started = Instant::now();
        loop {
            let pid = std::fs::read_to_string(&status)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["pid"].as_i64());
            let ours = pid.is_some_and(|p| {
                std::fs::read_to_string(self.state().join("agent.lock"))
                    .is_ok_and(|l| l.starts_with(&format!("{p} ")))
            });
            if ours && self.textfile().exists() {
                a.pid = pid.unwrap() as i32;
                return a;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "first cycle not within 15 s\n{}",
                a.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    fn agent(&self, extra: &[&str]) -> Agent {
        self.start(self.agent_cmd(&[], extra))
    }
    fn hosttune(&self, args: &[&str]) -> (i32, String, String) {
        self.ns.hosttune(&self.state(), args)
    }
    fn status_json(&self) -> (i32, serde_json::Value) {
        let (code, out, err) = self.hosttune(&["status", "--format", "json"]);
        let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
        (code, v)
    }
    fn qlen(&self, iface: &str) -> String {
        let o = self
            .ns
            .exec("cat", &[&format!("/sys/class/net/{iface}/tx_queue_len")]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
    fn vip_on_lo(&self) -> bool {
        self.ns
            .ip(&["-4", "addr", "show", "dev", "lo"])
            .contains(&format!("inet {VIP}/32"))
    }
}

fn rand_tag() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn observe_mode_never_writes() {
    if !root_tests_enabled("observe_mode_never_writes") {
        return;
    }
    let strace = common::tool_path("strace");
    if strace.is_none() {
        common::skip(
            "observe_mode_never_writes (its strace half)",
            "needs strace (apt package strace); checking the namespace's values only",
        );
    }
    let rig = Rig::new("agobs", PROFILE);
    rig.ns.ip(&[
        "link", "add", "veth0", "type", "veth", "peer", "name", "pveth0",
    ]);
    let before = rig.ns.sysctl_all();
    let trace = rig.dir.path().join("strace.out");
    let wrap: Vec<String> = match &strace {
        Some(s) => vec![
            s.display().to_string(),
            "-f".into(),
            "-qq".into(),
            "-e".into(),
            "trace=open,openat,openat2,creat,truncate".into(),
            "-o".into(),
            trace.display().to_string(),
        ],
        None => Vec::new(),
    };
    let wrap: Vec<&str> = wrap.iter().map(String::as_str).collect();
    let agent = rig.start(rig.agent_cmd(&wrap, &["--mode", "observe", "--interval", "1"]));
    // A hand change, an interface that appears, and three audits: none is written.
    rig.ns.ip(&[
        "link", "add", "veth1", "type", "veth", "peer", "name", "pveth1",
    ]);
    std::thread::sleep(Duration::from_millis(3200));
    assert_eq!(rig.qlen("veth0"), "1000");
    assert_eq!(rig.qlen("veth1"), "1000");
    let mut after = rig.ns.sysctl_all();
    after.retain(|k, _| !k.contains("veth1"));
    assert_eq!(
        after, before,
        "observe mode changed the namespace's sysctls"
    );
    let log = agent.log();
    assert!(log.contains("observe mode"), "{log}");
    assert!(
        log.contains("drift txqueuelen veth0: 1000 (wants 5000)"),
        "{log}"
    );
    assert!(log.contains("drift sysctl net.core.somaxconn"), "{log}");
    assert!(!log.contains("changed "), "{log}");

    // Drift is exported and `status` says so (exit 5), naming the mode.
    let m = rig.metrics();
    assert!(m.contains("hosttune_in_sync{"), "{m}");
    let (code, v) = rig.status_json();
    assert_eq!(code, 5, "{v}");
    assert_eq!(v["agent"]["mode"], "observe");
    assert!(
        v["agent"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("observing: "),
        "{v}"
    );
    assert!(
        v["agent"]["drift"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "txqueuelen veth0"),
        "{v}"
    );
    assert_eq!(agent.stop(), 0);

    if strace.is_some() {
        let text = std::fs::read_to_string(&trace).unwrap();
        // Paths are opened relative to the root's descriptor (openat2 RESOLVE_IN_ROOT), so
        // they show without the leading slash.
        assert!(
            text.contains("proc/sys/net/core/somaxconn"),
            "strace saw no reads: {text}"
        );
        let host_path = |l: &&str| {
            ["\"/proc/sys", "\"proc/sys", "\"/sys/", "\"sys/"]
                .iter()
                .any(|p| l.contains(p))
        };
        let writes: Vec<&str> = text
            .lines()
            .filter(host_path)
            .filter(|l| {
                l.contains("O_WRONLY")
                    || l.contains("O_RDWR")
                    || l.contains("O_CREAT")
                    || l.contains("O_TRUNC")
                    || l.contains("truncate(")
                    || l.contains("creat(")
            })
            .collect();
        assert!(
            writes.is_empty(),
            "observe mode opened for writing:\n{}",
            writes.join("\n")
        );
    }
}

#[test]
fn a_pause_keeps_a_drained_vip_off_lo_until_resume() {
    if !root_tests_enabled("a_pause_keeps_a_drained_vip_off_lo_until_resume") {
        return;
    }
    let rig = Rig::new(
        "agpause",
        &format!("[sysctl]\n\"net.core.somaxconn\" = 4242\n[dsr]\nvips = [\"{VIP}/32\"]\n"),
    );
    let agent = rig.agent(&["--interval", "1"]);
    assert!(rig.vip_on_lo(), "{}", agent.log());
    let (code, _) = rig.status_json();
    assert_eq!(code, 0);

    // Drain: pause first, then take the VIP off lo.
    let (code, out, err) = rig.hosttune(&["pause", "--for", "1h", "--reason", "drain"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("paused until") && out.contains("(drain)"),
        "{out}"
    );
    let mode = std::fs::metadata(rig.state().join("pause.json")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    rig.ns
        .ip(&["addr", "del", &format!("{VIP}/32"), "dev", "lo"]);
    // Over 2+ intervals the agent audits, exports and writes nothing.
    throughout(
        Duration::from_millis(2600),
        "the VIP stays off lo while paused",
        || agent.log(),
        || !rig.vip_on_lo(),
    );
    let log = agent.log();
    assert!(
        log.contains("paused until") && log.contains("(drain)"),
        "{log}"
    );
    let m = rig.metrics();
    assert!(m.contains("\nhosttune_agent_paused 1\n"), "{m}");
    assert!(
        m.contains("\nhosttune_agent_pause_expiry_timestamp_seconds "),
        "{m}"
    );
    let (code, v) = rig.status_json();
    assert_eq!(code, 4, "{v}");
    assert_eq!(v["paused"], true);
    assert_eq!(v["pause_reason"], "drain");
    assert!(
        v["paused_until"].as_u64().unwrap() > v["agent"]["last_cycle"].as_u64().unwrap() + 3500
    );
    let (code, text, _) = rig.hosttune(&["status"]);
    assert_eq!(code, 4);
    assert!(text.contains("paused:           until "), "{text}");

    let (code, out, err) = rig.hosttune(&["resume"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("resumed"), "{out}");
    within(
        Duration::from_secs(3),
        "the VIP is back on lo",
        || agent.log(),
        || rig.vip_on_lo(),
    );
    within(
        Duration::from_secs(3),
        "unpaused in the metrics",
        || agent.log(),
        || rig.metrics().contains("\nhosttune_agent_paused 0\n"),
    );
    assert!(agent.log().contains("the pause is over"), "{}", agent.log());
    within(
        Duration::from_secs(3),
        "status 0",
        || agent.log(),
        || rig.status_json().0 == 0,
    );
    let (code, out, _) = rig.hosttune(&["resume"]);
    assert_eq!((code, out.as_str()), (0, "not paused\n"));
    assert_eq!(agent.stop(), 0);
}

#[test]
fn a_pause_for_two_seconds_ends_by_itself() {
    if !root_tests_enabled("a_pause_for_two_seconds_ends_by_itself") {
        return;
    }
    let rig = Rig::new("agpfor", PROFILE);
    let agent = rig.agent(&["--interval", "1"]);
    let (code, out, err) = rig.hosttune(&["pause", "--for", "2s"]);
    assert_eq!(code, 0, "{out}{err}");
    let paused_at = Instant::now();
    rig.ns.must("sysctl", &["-qw", "net.core.somaxconn=100"]);
    throughout(
        Duration::from_millis(1200),
        "the hand change stays while paused",
        || agent.log(),
        || rig.ns.sysctl("net.core.somaxconn") == "100",
    );
    within(
        Duration::from_secs(6),
        "put back after the pause",
        || agent.log(),
        || rig.ns.sysctl("net.core.somaxconn") == "4242",
    );
    assert!(paused_at.elapsed() >= Duration::from_secs(1), "too early");
    assert!(
        rig.state().join("pause.json").exists(),
        "an expired pause is left in place"
    );
    within(
        Duration::from_secs(3),
        "status 0 after the expiry",
        || agent.log(),
        || rig.status_json().0 == 0,
    );
    assert_eq!(agent.stop(), 0);

    // Bad durations: exit 2 naming the value.
    for bad in ["10", "5w", "0s", "31d"] {
        let (code, _, err) = rig.hosttune(&["pause", "--for", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(
            err.contains(&format!("{bad:?}")) && err.contains("--for"),
            "{err}"
        );
    }
}

#[test]
fn a_pause_holds_across_an_agent_restart() {
    if !root_tests_enabled("a_pause_holds_across_an_agent_restart") {
        return;
    }
    let rig = Rig::new("agprst", PROFILE);
    // No agent runs: status says so, and pause works all the same.
    let (code, v) = rig.status_json();
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["running"], false);
    let (code, out, err) = rig.hosttune(&["pause", "--reason", "maintenance"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("no agent runs now"), "{out}");
    let (code, _) = rig.status_json();
    assert_eq!(code, 3, "no agent: 3 even when paused");

    let before = rig.ns.sysctl("net.core.somaxconn");
    let agent = rig.agent(&["--interval", "1"]);
    assert!(
        agent.log().contains("the start apply is skipped"),
        "{}",
        agent.log()
    );
    throughout(
        Duration::from_millis(1500),
        "nothing applied",
        || agent.log(),
        || rig.ns.sysctl("net.core.somaxconn") == before,
    );
    let (code, v) = rig.status_json();
    assert_eq!(code, 4, "{v}");
    assert_eq!(v["paused_until"], serde_json::Value::Null);
    assert!(
        !rig.state().join("history").exists(),
        "no transaction while paused"
    );
    // Restarted: still paused.
    assert_eq!(agent.stop(), 0);
    let agent = rig.agent(&["--interval", "1"]);
    throughout(
        Duration::from_millis(1200),
        "still nothing applied",
        || agent.log(),
        || rig.ns.sysctl("net.core.somaxconn") == before,
    );
    let (code, _, _) = rig.hosttune(&["resume"]);
    assert_eq!(code, 0);
    within(
        Duration::from_secs(3),
        "applied after resume",
        || agent.log(),
        || rig.ns.sysctl("net.core.somaxconn") == "4242",
    );
    assert_eq!(agent.stop(), 0);
}

#[test]
fn status_tells_in_sync_drift_and_stale_apart_and_names_the_profile() {
    if !root_tests_with(
        "status_tells_in_sync_drift_and_stale_apart_and_names_the_profile",
        &["sha256sum"],
    ) {
        return;
    }
    let rig = Rig::new("agstat", PROFILE);
    // No state dir at all: no agent, nothing created.
    let (code, out, _) = rig.hosttune(&["status"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("not running"), "{out}");
    assert!(!rig.state().exists(), "status created the state dir");

    let agent = rig.agent(&["--interval", "1"]);
    let (code, v) = rig.status_json();
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["running"], true);
    assert_eq!(v["pid"], agent.pid);
    assert_eq!(v["verdict"], "in sync");
    let a = &v["agent"];
    assert_eq!(a["mode"], "enforce");
    assert_eq!(
        a["profile"], "p",
        "a path-given profile is named by its file stem"
    );
    assert_eq!(a["interval_seconds"], 1);
    assert_eq!(a["drift"], serde_json::json!([]));
    assert_eq!(a["failing"], serde_json::json!([]));
    assert_eq!(a["last_transaction"]["success"], true);
    assert_eq!(a["summary"], "in sync");
    // The sha256 is that of `hosttune show` exactly.
    let show = rig.dir.path().join("show.toml");
    let (code, shown, _) = rig.hosttune(&["show", &rig.profile()]);
    assert_eq!(code, 0);
    std::fs::write(&show, &shown).unwrap();
    let sum = common::run("sha256sum", &[show.to_str().unwrap()]);
    let sum = String::from_utf8_lossy(&sum.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(a["sha256"], sum.as_str());
    let m = rig.metrics();
    assert!(
        m.contains(&format!(
            "\nhosttune_profile_info{{profile=\"p\",sha256=\"{sum}\"}} 1\n"
        )),
        "{m}"
    );
    assert!(
        !m.contains(&rig.profile()),
        "a metric carries the profile's path:\n{m}"
    );

    // Hung: no cycle for over 3 intervals.
    agent.signal(nix::sys::signal::Signal::SIGSTOP);
    std::thread::sleep(Duration::from_millis(4200));
    let (code, v) = rig.status_json();
    agent.signal(nix::sys::signal::Signal::SIGCONT);
    assert_eq!(code, 6, "{v}");
    assert_eq!(v["stale"], true);
    within(
        Duration::from_secs(3),
        "fresh again",
        || agent.log(),
        || rig.status_json().0 == 0,
    );
    assert_eq!(agent.stop(), 0);

    // Report mode with drift: 5, the item named.
    let agent = rig.agent(&["--interval", "1", "--mode", "report"]);
    rig.ns.must("sysctl", &["-qw", "net.core.somaxconn=100"]);
    within(
        Duration::from_secs(4),
        "drift in status",
        || agent.log(),
        || rig.status_json().0 == 5,
    );
    let (_, v) = rig.status_json();
    assert_eq!(
        v["agent"]["drift"],
        serde_json::json!(["sysctl net.core.somaxconn"])
    );
    assert_eq!(v["verdict"], "drift: 1 items");
    assert_eq!(agent.stop(), 0);
    let (code, _) = rig.status_json();
    assert_eq!(code, 3, "stopped");
}

/// Creates 200 veths at once (`ip -batch`) beside an agent in report mode and waits until
/// each has its txqueuelen; `rcvbuf` shrinks the agent's link event queue so that the burst
/// overflows it. Returns whether the agent resynchronised.
fn two_hundred_veths(tag: &str, rcvbuf: Option<&str>) -> bool {
    let rig = Rig::new(tag, PROFILE);
    let mut c = rig.agent_cmd(&[], &["--interval", "60", "--mode", "report"]);
    if let Some(n) = rcvbuf {
        c.env("HOSTTUNE_TEST_LINK_RCVBUF", n);
    }
    let agent = rig.start(c);
    let batch = rig.dir.path().join("veths.batch");
    let mut cmds = String::new();
    for i in 0..200 {
        cmds.push_str(&format!("link add veth{i} type veth peer name pveth{i}\n"));
    }
    std::fs::write(&batch, cmds).unwrap();
    // Stopped while they are created, as an agent busy with a slow transaction would be.
    agent.signal(nix::sys::signal::Signal::SIGSTOP);
    rig.ns.ip(&["-batch", batch.to_str().unwrap()]);
    agent.signal(nix::sys::signal::Signal::SIGCONT);
    let untuned = || {
        (0..200)
            .filter(|i| rig.qlen(&format!("veth{i}")) != "5000")
            .count()
    };
    let start = Instant::now();
    while untuned() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} of 200 veths without their txqueuelen after 60 s\n{}",
            untuned(),
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let resync = rig
        .metrics()
        .contains("hosttune_agent_events_total{type=\"resync\"}");
    eprintln!("200 veths tuned in {:?}; resync: {resync}", start.elapsed());
    // Report mode still only reports drift on an interface it knows.
    rig.ns.ip(&["link", "set", "veth7", "txqueuelen", "1000"]);
    within(
        Duration::from_secs(3),
        "drift reported",
        || agent.log(),
        || agent.log().contains("drift txqueuelen veth7"),
    );
    assert_eq!(rig.qlen("veth7"), "1000");
    assert_eq!(agent.stop(), 0);
    resync
}

#[test]
fn report_mode_tunes_200_veths_created_at_once() {
    if !root_tests_enabled("report_mode_tunes_200_veths_created_at_once") {
        return;
    }
    two_hundred_veths("agburst", None);
}

#[test]
fn report_mode_resync_after_lost_link_events_tunes_every_new_veth() {
    if !root_tests_enabled("report_mode_resync_after_lost_link_events_tunes_every_new_veth") {
        return;
    }
    assert!(
        two_hundred_veths("agresync", Some("4096")),
        "the link event queue did not overflow: the resync was not exercised"
    );
}

/// Collects the datagrams sent to a notify socket the test binds.
fn notifications(
    sock: &UnixDatagram,
    until: impl Fn(&[String]) -> bool,
    limit: Duration,
) -> Vec<String> {
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut got = Vec::new();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while !until(&got) {
        assert!(start.elapsed() < limit, "notifications: {got:?}");
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).trim_end().to_string());
        }
    }
    got
}

#[test]
fn ready_says_degraded_while_an_item_fails_then_in_sync() {
    if !root_tests_enabled("ready_says_degraded_while_an_item_fails_then_in_sync") {
        return;
    }
    let rig = Rig::new("agnotify", PROFILE);
    let path = rig.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let mut c = rig.agent_cmd(&[], &["--interval", "1"]);
    // The start apply's first sysctl write fails (that item is held back with a backoff, the
    // rest of the start apply goes through without it); its retry a second later succeeds.
    c.env("NOTIFY_SOCKET", &path)
        .env("HOSTTUNE_FAULT", "sysctl:1:error");
    let agent = rig.start(c);
    let got = notifications(
        &sock,
        |g| g.iter().any(|m| m.contains("READY=1")),
        Duration::from_secs(5),
    );
    let ready = got.iter().find(|m| m.contains("READY=1")).unwrap();
    assert!(
        ready
            .lines()
            .any(|l| l == "STATUS=degraded: 1 items failing"),
        "{got:?}\n{}",
        agent.log()
    );
    let got = notifications(
        &sock,
        |g| g.iter().any(|m| m == "STATUS=in sync"),
        Duration::from_secs(5),
    );
    assert!(!got.is_empty());
    assert_eq!(rig.ns.sysctl("net.core.somaxconn"), "4242");
    let m = rig.metrics();
    assert!(m.contains("\nhosttune_agent_failures_total 1\n"), "{m}");
    assert!(m.contains("\nhosttune_agent_items_failing 0\n"), "{m}");

    // A reload that fails is counted and named.
    std::fs::write(rig.profile(), "[sysctl\n").unwrap();
    agent.signal(nix::sys::signal::Signal::SIGHUP);
    within(
        Duration::from_secs(3),
        "reload failure counted",
        || agent.log(),
        || {
            rig.metrics()
                .contains("\nhosttune_agent_failures_total 2\n")
        },
    );
    assert!(
        agent.log().contains("SIGHUP: reload failed"),
        "{}",
        agent.log()
    );
    assert_eq!(agent.stop(), 0);
    let _ = std::fs::remove_file(Path::new(&path));
}
