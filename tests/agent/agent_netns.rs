//! `hosttune agent` on the real kernel, inside throw-away network namespaces, holding a profile
//! for `veth*`: a new veth gets its txqueuelen, channels and RPS; a hand-made change is put
//! back (enforce) or only reported (report); a pending key is applied when its interface
//! appears; SIGHUP with a broken profile keeps the agent running; SIGTERM exits 0 with no
//! transaction left half-done; the metrics file is valid; the lock keeps `apply` and a second
//! agent away. And on a fixture root: an IRQ that comes back unpinned is pinned again.

use crate::common;
use crate::common::hosttune;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fixture::FixtureHost;
use common::{Netns, root_tests_enabled, root_tests_with};

/// A running agent, stopped (SIGKILL) on drop if the test did not stop it.
struct Agent {
    child: Option<Child>,
    err: PathBuf,
}

impl Agent {
    fn start(mut cmd: Command, dir: &Path) -> Agent {
        let err = dir.join("agent.err");
        let child = cmd
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Agent {
            child: Some(child),
            err,
        }
    }
    fn log(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }
    fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = self.child.as_ref().unwrap().id() as i32;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).unwrap();
    }
    fn running(&mut self) -> bool {
        matches!(self.child.as_mut().unwrap().try_wait(), Ok(None))
    }
    /// SIGTERM, then the exit code.
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
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `f` until it holds or `limit` passes; returns how long it took.
fn within(limit: Duration, what: &str, log: impl Fn() -> String, f: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?}\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

const PROFILE: &str = r#"[sysctl]
"net.ipv4.conf.late0.rp_filter" = 2
"net.core.somaxconn" = 4242
[[nic]]
match = "veth*"
txqueuelen = 5000
channels = { rx = 2, tx = 2 }
rps_cpus = "1"
"#;

struct Rig {
    ns: Netns,
    dir: tempfile::TempDir,
}

impl Rig {
    fn new(tag: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.toml"), PROFILE).unwrap();
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
    fn agent(&self, extra: &[&str]) -> Agent {
        let mut c = hosttune().netns(&self.ns).state(self.state()).command(&[
            "agent",
            &self.profile(),
            "--textfile",
        ]);
        c.arg(self.textfile()).args(extra);
        let a = Agent::start(c, self.dir.path());
        // Ready once the first cycle wrote the metrics.
        within(
            Duration::from_secs(10),
            "first cycle",
            || a.log(),
            || self.textfile().exists(),
        );
        a
    }
    fn qlen(&self, iface: &str) -> String {
        let o = self
            .ns
            .exec("cat", &[&format!("/sys/class/net/{iface}/tx_queue_len")]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
    fn veth(&self, name: &str) {
        self.ns.ip(&[
            "link",
            "add",
            name,
            "numrxqueues",
            "4",
            "numtxqueues",
            "4",
            "type",
            "veth",
            "peer",
            "name",
            &format!("p{name}"),
            "numrxqueues",
            "4",
            "numtxqueues",
            "4",
        ]);
    }
}

/// The textfile: HELP and TYPE before each metric's samples, every sample line well formed
/// (`name{labels} value`), no series twice; and `promtool check metrics` where installed.
fn assert_valid_metrics(text: &str) {
    let mut typed = std::collections::HashSet::new();
    let mut series = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            typed.insert(rest.split(' ').next().unwrap().to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (name_labels, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let name = name_labels.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        assert!(typed.contains(name), "no TYPE before {line}");
        assert!(series.insert(name_labels.to_string()), "twice: {line}");
    }
    if let Ok(o) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(text.as_bytes())?;
            c.wait_with_output()
        })
    {
        assert!(
            o.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn a_new_veth_gets_its_settings_and_hand_changes_are_put_back() {
    if !root_tests_with(
        "a_new_veth_gets_its_settings_and_hand_changes_are_put_back",
        &["ethtool"],
    ) {
        return;
    }
    let rig = Rig::new("agent");
    let agent = rig.agent(&["--interval", "2"]);
    assert_eq!(rig.ns.sysctl("net.core.somaxconn"), "4242");

    rig.veth("veth0");
    let took = within(
        Duration::from_secs(1),
        "veth0 tuned",
        || agent.log(),
        || rig.qlen("veth0") == "5000",
    );
    within(
        Duration::from_secs(1),
        "channels and RPS",
        || agent.log(),
        || {
            let ch = rig.ns.must("ethtool", &["-l", "veth0"]);
            let rps = rig
                .ns
                .exec("cat", &["/sys/class/net/veth0/queues/rx-1/rps_cpus"]);
            ch.split("Current hardware settings:")
                .nth(1)
                .is_some_and(|c| c.contains("RX:\t\t2"))
                && String::from_utf8_lossy(&rps.stdout)
                    .trim()
                    .trim_start_matches(['0', ','])
                    == "2"
        },
    );
    eprintln!("veth0 tuned {took:?} after it appeared");

    // A hand-made change is put back (by its link event, or at the latest the interval).
    rig.ns.ip(&["link", "set", "veth0", "txqueuelen", "1000"]);
    within(
        Duration::from_secs(3),
        "txqueuelen restored",
        || agent.log(),
        || rig.qlen("veth0") == "5000",
    );
    assert!(
        agent
            .log()
            .contains("hosttune: agent: changed txqueuelen veth0: 1000 -> 5000"),
        "{}",
        agent.log()
    );

    // The pending key is applied when its interface appears.
    rig.ns.ip(&[
        "link", "add", "late0", "type", "veth", "peer", "name", "late1",
    ]);
    within(
        Duration::from_secs(1),
        "late0 rp_filter",
        || agent.log(),
        || rig.ns.sysctl("net/ipv4/conf/late0/rp_filter") == "2",
    );

    let metrics = std::fs::read_to_string(rig.textfile()).unwrap();
    assert_valid_metrics(&metrics);
    assert!(
        metrics.contains("hosttune_agent_changes_total{kind=\"txqueuelen\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hosttune_agent_events_total{type=\"link\"}"),
        "{metrics}"
    );
    let mode = std::fs::metadata(rig.textfile()).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o644
    );

    // Beside the agent: audit works, apply and a second agent are refused.
    let (code, _, err) = rig.ns.hosttune(&rig.state(), &["apply", &rig.profile()]);
    assert_eq!(code, 2);
    assert!(err.contains("a hosttune agent holds"), "{err}");
    let (code, out, err) = rig.ns.hosttune(&rig.state(), &["audit", &rig.profile()]);
    assert_eq!(
        code, 0,
        "the agent holds the profile, so the audit is in sync: {out}{err}"
    );
    let (code, _, err) = rig
        .ns
        .hosttune(&rig.state(), &["agent", &rig.profile(), "--interval", "5"]);
    assert_eq!(code, 2);
    assert!(err.contains("a hosttune agent holds"), "{err}");

    // SIGTERM: exit 0, no transaction in flight, one rollback entry for the whole session.
    assert_eq!(agent.stop(), 0);
    assert!(!rig.state().join("journal.json").exists());
    let history = std::fs::read_to_string(rig.state().join("history")).unwrap();
    assert_eq!(history.lines().count(), 1, "{history}");
    let (code, out, err) = rig.ns.hosttune(&rig.state(), &["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(rig.qlen("veth0"), "1000");
    assert_eq!(rig.ns.sysctl("net/ipv4/conf/late0/rp_filter"), "0");
    assert_ne!(rig.ns.sysctl("net.core.somaxconn"), "4242");
}

#[test]
fn report_mode_reports_drift_and_leaves_it() {
    if !root_tests_enabled("report_mode_reports_drift_and_leaves_it") {
        return;
    }
    let rig = Rig::new("agrep");
    rig.veth("veth0");
    let agent = rig.agent(&["--interval", "1", "--mode", "report"]);
    // The start applies; afterwards drift is only reported.
    within(
        Duration::from_secs(2),
        "veth0 tuned at start",
        || agent.log(),
        || rig.qlen("veth0") == "5000",
    );
    rig.ns.ip(&["link", "set", "veth0", "txqueuelen", "1000"]);
    within(
        Duration::from_secs(3),
        "drift reported",
        || agent.log(),
        || agent.log().contains("drift txqueuelen veth0"),
    );
    assert_eq!(rig.qlen("veth0"), "1000", "report mode never writes");
    let metrics = std::fs::read_to_string(rig.textfile()).unwrap();
    assert_valid_metrics(&metrics);
    assert!(metrics.contains("hosttune_in_sync{"), "{metrics}");
    assert_eq!(agent.stop(), 0);
}

#[test]
fn sighup_with_a_broken_profile_keeps_the_agent_and_the_old_profile() {
    if !root_tests_enabled("sighup_with_a_broken_profile_keeps_the_agent_and_the_old_profile") {
        return;
    }
    let rig = Rig::new("aghup");
    let mut agent = rig.agent(&["--interval", "30"]);
    std::fs::write(rig.profile(), "[sysctl\n").unwrap();
    agent.signal(nix::sys::signal::Signal::SIGHUP);
    within(
        Duration::from_secs(3),
        "reload refused",
        || agent.log(),
        || {
            agent
                .log()
                .contains("does not load, keeping the one loaded before")
        },
    );
    assert!(agent.running());
    // The old profile still holds: a new veth is tuned.
    rig.veth("veth1");
    within(
        Duration::from_secs(1),
        "veth1 tuned",
        || agent.log(),
        || rig.qlen("veth1") == "5000",
    );
    // A good profile reloads.
    std::fs::write(rig.profile(), PROFILE.replace("5000", "6000")).unwrap();
    agent.signal(nix::sys::signal::Signal::SIGHUP);
    within(
        Duration::from_secs(3),
        "reloaded",
        || agent.log(),
        || rig.qlen("veth1") == "6000",
    );
    assert_eq!(agent.stop(), 0);
}

#[test]
fn on_a_fixture_root_an_irq_that_comes_back_unpinned_is_pinned_again() {
    let h = FixtureHost::new("lb-ixgbe");
    let p = h.profile(
        "irq",
        "[[nic]]\nmatch = \"eth0\"\nirq_cpus = \"isolated\"\n",
    );
    let textfile = h.dir.path().join("m.prom");
    let mut c = hosttune().root(h.root()).state(h.state()).command(&[
        "agent",
        &p,
        "--interval",
        "1",
        "--textfile",
    ]);
    c.arg(&textfile);
    let agent = Agent::start(c, h.dir.path());
    within(
        Duration::from_secs(10),
        "first cycle",
        || agent.log(),
        || textfile.exists() && h.affinity(60) == "4",
    );
    // The textfile carries each item's evidence gauges.
    let metrics = std::fs::read_to_string(&textfile).unwrap();
    assert!(
        metrics.contains("object=\"eth0 queue 0 irq 60\",counter=\"interrupts_outside_irq_cpus\"}"),
        "{metrics}"
    );
    // A driver reset re-creates the IRQ with the default affinity.
    std::fs::write(h.root().join("proc/irq/60/smp_affinity_list"), "0-7\n").unwrap();
    // The change is logged once its transaction is recorded, after the write: wait for both.
    within(
        Duration::from_secs(3),
        "irq 60 pinned again",
        || agent.log(),
        || {
            h.affinity(60) == "4"
                && agent
                    .log()
                    .contains("changed irq_affinity eth0 queue 0 irq 60: 0-7 -> 4")
        },
    );
    assert!(
        agent
            .log()
            .contains("changed irq_affinity eth0 queue 0 irq 60: 0-7 -> 4"),
        "{}",
        agent.log()
    );
    assert_eq!(agent.stop(), 0);
}

#[test]
fn report_mode_still_tunes_an_interface_that_appears() {
    if !root_tests_enabled("report_mode_still_tunes_an_interface_that_appears") {
        return;
    }
    let rig = Rig::new("agrnew");
    let agent = rig.agent(&["--interval", "30", "--mode", "report"]);
    rig.veth("veth3");
    within(
        Duration::from_secs(1),
        "new veth3 tuned",
        || agent.log(),
        || rig.qlen("veth3") == "5000",
    );
    // A change to it afterwards is drift, only reported.
    rig.ns.ip(&["link", "set", "veth3", "txqueuelen", "1000"]);
    within(
        Duration::from_secs(2),
        "drift reported",
        || agent.log(),
        || agent.log().contains("drift txqueuelen veth3"),
    );
    assert_eq!(rig.qlen("veth3"), "1000");
    // Deleted and created again under the same name: a new interface, tuned again.
    rig.ns.ip(&["link", "del", "veth3"]);
    rig.veth("veth3");
    within(
        Duration::from_secs(1),
        "re-created veth3 tuned",
        || agent.log(),
        || rig.qlen("veth3") == "5000",
    );
    assert_eq!(agent.stop(), 0);
}

#[test]
fn an_agent_killed_mid_transaction_loses_no_before_value() {
    if !root_tests_enabled("an_agent_killed_mid_transaction_loses_no_before_value") {
        return;
    }
    let rig = Rig::new("agkill");
    let before = rig.ns.sysctl_all();
    std::fs::write(
        rig.profile(),
        "[sysctl]\n\"net.core.somaxconn\" = 4242\n\"net.ipv4.tcp_fin_timeout\" = 33\n\
         \"net.ipv4.tcp_keepalive_time\" = 777\n",
    )
    .unwrap();
    let mark = rig.dir.path().join("paused");
    let c = hosttune()
        .netns(&rig.ns)
        .state(rig.state())
        .env("HOSTTUNE_FAULT", "sysctl:2:pause")
        .env("HOSTTUNE_FAULT_MARK", &mark)
        .command(&["agent", &rig.profile(), "--interval", "30"]);
    let mut first = Agent::start(c, rig.dir.path());
    within(
        Duration::from_secs(10),
        "paused mid-apply",
        || first.log(),
        || mark.exists(),
    );
    first.child.as_mut().unwrap().kill().unwrap(); // SIGKILL: no undo
    first.child.as_mut().unwrap().wait().unwrap();
    assert_eq!(
        rig.ns.sysctl("net.core.somaxconn"),
        "4242",
        "the first write stayed"
    );

    let second = rig.agent(&["--interval", "30"]);
    within(
        Duration::from_secs(3),
        "second agent applied",
        || second.log(),
        || rig.ns.sysctl("net.ipv4.tcp_keepalive_time") == "777",
    );
    assert_eq!(second.stop(), 0);
    let (code, out, err) = rig.ns.hosttune(&rig.state(), &["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        rig.ns.sysctl_all(),
        before,
        "one rollback returns to before the first apply"
    );
}
