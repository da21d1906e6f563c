//! One regression test per case of issue 8, "Keep the all-or-nothing promise under every
//! fault": each test drives the binary the way the issue reproduced the break and asserts what
//! SPEC §3 now promises. Per-namespace keys and addresses are exercised on the real kernel in
//! network namespaces the tests create; host-global keys and the state dir only on copies of
//! `tests/fixtures/sysctl-host` through `--root`. Kills and signals land at a known write
//! through the test-hooks fault hook (`HOSTTUNE_FAULT`, `HOSTTUNE_FAULT_MARK`).

use crate::common;
use crate::common::hosttune;

use common::fixture::{copy_tree, tree_bytes};

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Netns, root_tests_enabled, root_tests_with};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

/// One finished run of the binary.
struct Run {
    code: i32,
    out: String,
    err: String,
}

impl Run {
    fn of(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            out: String::from_utf8_lossy(&o.stdout).into_owned(),
            err: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout:\n{}--- stderr:\n{}",
            self.code, self.out, self.err
        )
    }
}

fn run(mut cmd: Command) -> Run {
    Run::of(cmd.output().expect("run hosttune"))
}

/// `hosttune --state-dir STATE ARGS` inside the namespace (`ip netns exec` execs the binary in
/// its own pid, so a signal to the child reaches hosttune).
fn in_ns(ns: &Netns, state: &Path, args: &[&str]) -> Command {
    hosttune().netns(ns).state(state).command(args)
}

fn ns_run(ns: &Netns, state: &Path, args: &[&str]) -> Run {
    run(in_ns(ns, state, args))
}

/// A run stopped by the fault hook at a known write; killed on drop if the test fails first.
struct Paused {
    child: Option<Child>,
}

impl Paused {
    /// Starts `cmd` with `HOSTTUNE_FAULT=fault` and waits until the faulted write is done.
    fn start(mut cmd: Command, fault: &str, dir: &Path) -> Self {
        let mark = dir.join(format!("paused-{}", fault.replace(':', "-")));
        let _ = std::fs::remove_file(&mark);
        let child = cmd
            .env("HOSTTUNE_FAULT", fault)
            .env("HOSTTUNE_FAULT_MARK", &mark)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hosttune");
        let mut p = Self { child: Some(child) };
        let start = Instant::now();
        while !mark.exists() {
            let exited = p.child.as_mut().unwrap().try_wait().unwrap().is_some();
            if exited || start.elapsed() > Duration::from_secs(20) {
                panic!(
                    "hosttune never paused at {fault}:\n{}",
                    p.signal_and_wait(Signal::SIGKILL)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        p
    }

    fn signal_and_wait(&mut self, sig: Signal) -> Run {
        let child = self.child.take().expect("still running");
        let _ = kill(Pid::from_raw(child.id() as i32), sig);
        Run::of(child.wait_with_output().expect("wait for hosttune"))
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `sysctl -a` restricted to per-namespace keys, as key -> value, without the ones that
/// differ between any two reads (counters, secrets).
fn sysctl_all(ns: &Netns) -> BTreeMap<String, String> {
    let out = ns.exec("sysctl", &["-a"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("net."))
        .filter_map(|l| l.split_once(" = "))
        .filter(|(k, _)| {
            !k.ends_with("_count") && !k.contains("stable_secret") && !k.contains("fastopen_key")
        })
        .map(|(k, v)| {
            (
                k.to_string(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect()
}

/// Keys of the two dumps whose values differ.
fn dump_diff(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let mut keys: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(k) != b.get(k))
        .map(|k| format!("{k}: {:?} -> {:?}", a.get(&k), b.get(&k)))
        .collect()
}

fn assert_same_dump(before: &BTreeMap<String, String>, ns: &Netns, what: &dyn fmt::Display) {
    let d = dump_diff(before, &sysctl_all(ns));
    assert!(
        d.is_empty(),
        "the namespace differs from before:\n{d:#?}\n{what}"
    );
}

/// `want`, or `want + 1` when that is already the live value, so that a write happens.
fn other(live: &str, want: u64) -> String {
    if live.trim() == want.to_string() {
        (want + 1).to_string()
    } else {
        want.to_string()
    }
}

fn write_profile(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn set_mode(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

/// A copy of `tests/fixtures/sysctl-host` at `DIR/root`, with state at `DIR/state`.
struct Fixture {
    dir: TempDir,
}

/// Host-global keys of the fixture, each different from its value there.
const GLOBAL: &str = r#"description = "global keys"
[sysctl]
"vm.swappiness" = 100
"kernel.numa_balancing" = 0
"fs.file-max" = 2000000
"net.core.rmem_max" = 16777216
"net.ipv4.tcp_mem" = "185688 247584 6291456"
"#;

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sysctl-host"),
            &dir.path().join("root"),
        );
        Self { dir }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }
    fn profile(&self) -> String {
        write_profile(self.dir.path(), "global", GLOBAL)
    }
    /// `hosttune --root ROOT --state-dir STATE ARGS`.
    fn cmd(&self, state: &Path, args: &[&str]) -> Command {
        hosttune().root(self.root()).state(state).command(args)
    }
    fn run(&self, args: &[&str]) -> Run {
        run(self.cmd(&self.state(), args))
    }
    /// Every file under the root, byte for byte.
    fn bytes(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        tree_bytes(&self.root())
    }
}

/// The snapshot id an apply or rollback report ends with (`..., snapshot ID`).
fn snapshot_id(r: &Run) -> String {
    let line = r
        .out
        .lines()
        .rev()
        .find(|l| l.contains("changed, snapshot "))
        .unwrap_or_else(|| panic!("no snapshot in the report:\n{r}"));
    line.rsplit(' ').next().unwrap().to_string()
}

/// Case 1's profile: the third field of tcp_rmem is refused after the kernel stored the first
/// two.
const PARTIAL_RMEM: &str = r#"[sysctl]
"net.ipv4.tcp_fin_timeout" = 30
"net.core.somaxconn" = 8192
"net.ipv4.tcp_rmem" = "8192 65536 0"
"net.ipv4.tcp_keepalive_time" = 600
"#;

#[test]
fn case01_a_partial_vector_write_is_undone() {
    if !root_tests_with("case01_a_partial_vector_write_is_undone", &["sysctl"]) {
        return;
    }
    let ns = Netns::new("aon01");
    let tmp = TempDir::new().unwrap();
    let state = tmp.path().join("state");
    let before = sysctl_all(&ns);
    let rmem = ns.sysctl("net.ipv4.tcp_rmem");
    assert_ne!(rmem, "8192 65536 0");

    let p = write_profile(tmp.path(), "rmem", PARTIAL_RMEM);
    let r = ns_run(&ns, &state, &["apply", &p]);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.out.contains("restored sysctl net.ipv4.tcp_rmem"), "{r}");
    assert_eq!(ns.sysctl("net.ipv4.tcp_rmem"), rmem, "{r}");
    assert_same_dump(&before, &ns, &r);

    // A plain value with the wrong number of fields stops the apply while planning.
    let p = write_profile(
        tmp.path(),
        "fields",
        "[sysctl]\n\"net.core.somaxconn\" = [1, 2]\n",
    );
    let r = ns_run(&ns, &state, &["apply", &p]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.err
            .contains("holds 1 field(s) on this host, the profile gives 2"),
        "{r}"
    );
    assert!(r.err.contains(&format!("{p}:2:1")), "{r}");
    assert_same_dump(&before, &ns, &r);
}

#[test]
fn case02_a_list_for_a_single_valued_key_is_a_plan_error() {
    if !root_tests_with(
        "case02_a_list_for_a_single_valued_key_is_a_plan_error",
        &["sysctl"],
    ) {
        return;
    }
    let ns = Netns::new("aon02");
    let tmp = TempDir::new().unwrap();
    let state = tmp.path().join("state");
    let before = sysctl_all(&ns);
    let p = write_profile(
        tmp.path(),
        "list",
        "[sysctl]\n\"net.ipv4.tcp_syn_retries\" = [3, 4]\n",
    );

    let r = ns_run(&ns, &state, &["apply", &p]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.err.contains("net.ipv4.tcp_syn_retries")
            && r.err
                .contains("holds 1 field(s) on this host, the profile gives 2")
            && r.err.contains(&format!("{p}:2:1")),
        "{r}"
    );
    assert!(!r.out.contains("clamped"), "{r}");
    assert_same_dump(&before, &ns, &r);
    assert!(
        !state.join("kept.json").exists(),
        "a plan error must not record kept values"
    );

    // Nothing remembered makes a later audit say in sync: it still reports the error.
    let r = ns_run(&ns, &state, &["audit", &p]);
    assert_eq!(r.code, 2, "{r}");
    let line = r
        .out
        .lines()
        .find(|l| l.contains("net.ipv4.tcp_syn_retries"))
        .unwrap_or_else(|| panic!("no item line:\n{r}"));
    assert!(line.contains(" error"), "{r}");
    assert!(!r.out.contains(": in sync"), "{r}");
}

#[test]
fn case03_unusable_vips_are_rejected_and_a_read_back_mismatch_fails() {
    let tmp = TempDir::new().unwrap();
    for (i, vip) in ["0.0.0.0", "0.0.0.0/32"].into_iter().enumerate() {
        let p = write_profile(
            tmp.path(),
            &format!("vip{i}"),
            &format!("[dsr]\nvips = [\"{vip}\"]\n"),
        );
        let r = run(hosttune().command(&["validate", &p]));
        assert_eq!(r.code, 2, "{vip}: {r}");
        assert!(r.err.contains(&format!("{p}:2:8")), "{vip}: {r}");
        assert!(r.err.contains("unspecified address"), "{vip}: {r}");
        assert!(!r.out.contains("valid"), "{vip}: {r}");
    }

    if !root_tests_with(
        "case03_unusable_vips_are_rejected_and_a_read_back_mismatch_fails",
        &["sysctl"],
    ) {
        return;
    }
    // ping_group_range takes "5 2" (high below low) without an error and stores "1 0"
    // instead (net/ipv4/sysctl_net_ipv4.c): a read-back that differs, and no rounding.
    let ns = Netns::new("aon03");
    let state = tmp.path().join("state");
    let before = sysctl_all(&ns);
    assert_ne!(ns.sysctl("net.ipv4.ping_group_range"), "5 2");
    let somaxconn = other(&ns.sysctl("net.core.somaxconn"), 8192);
    let p = write_profile(
        tmp.path(),
        "mismatch",
        &format!(
            "[sysctl]\n\"net.core.somaxconn\" = {somaxconn}\n\"net.ipv4.ping_group_range\" = \
             \"5 2\"\n"
        ),
    );
    let r = ns_run(&ns, &state, &["apply", &p]);
    assert_eq!(r.code, 1, "{r}");
    assert!(!r.out.contains("clamped"), "{r}");
    assert!(
        r.out
            .lines()
            .any(|l| l.starts_with("failed") && l.contains("net.ipv4.ping_group_range")),
        "{r}"
    );
    assert!(r.out.contains("restored sysctl net.core.somaxconn"), "{r}");
    assert_same_dump(&before, &ns, &r);
    assert!(!state.join("kept.json").exists(), "{r}");
    let r = ns_run(&ns, &state, &["audit", &p]);
    assert_eq!(r.code, 1, "the mismatch must stay drift: {r}");
}

/// The six keys of case 4a, in profile order, with a value other than the live one.
fn six_keys(ns: &Netns) -> Vec<(&'static str, String)> {
    [
        ("net.ipv4.tcp_fin_timeout", 30),
        ("net.core.somaxconn", 8192),
        ("net.ipv4.tcp_keepalive_time", 600),
        ("net.ipv4.tcp_synack_retries", 2),
        ("net.ipv4.tcp_syn_retries", 3),
        ("net.ipv4.tcp_max_syn_backlog", 4096),
    ]
    .into_iter()
    .map(|(k, v)| (k, other(&ns.sysctl(k), v)))
    .collect()
}

fn sysctl_profile(keys: &[(&str, String)]) -> String {
    let mut s = String::from("[sysctl]\n");
    for (k, v) in keys {
        s.push_str(&format!("\"{k}\" = {v}\n"));
    }
    s
}

#[test]
fn case04_the_default_rollback_target_is_not_hijacked() {
    if !root_tests_with(
        "case04_the_default_rollback_target_is_not_hijacked",
        &["sysctl"],
    ) {
        return;
    }
    let tmp = TempDir::new().unwrap();

    // (b) a good apply, then one that fails and is undone: rollback undoes the good one.
    let ns = Netns::new("aon04b");
    let state = tmp.path().join("state-b");
    let before = sysctl_all(&ns);
    let synack = ns.sysctl("net.ipv4.tcp_synack_retries");
    let good = write_profile(
        tmp.path(),
        "good",
        &format!(
            "[sysctl]\n\"net.ipv4.tcp_synack_retries\" = {}\n",
            other(&synack, 2)
        ),
    );
    let r = ns_run(&ns, &state, &["apply", &good]);
    assert_eq!(r.code, 0, "{r}");
    assert_ne!(ns.sysctl("net.ipv4.tcp_synack_retries"), synack);
    let bad = write_profile(tmp.path(), "bad", PARTIAL_RMEM);
    let r = ns_run(&ns, &state, &["apply", &bad]);
    assert_eq!(r.code, 1, "{r}");
    let r = ns_run(&ns, &state, &["rollback"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(!r.out.contains("in sync, nothing written"), "{r}");
    assert_eq!(ns.sysctl("net.ipv4.tcp_synack_retries"), synack, "{r}");
    assert_same_dump(&before, &ns, &r);

    // Chained applies are walked back one at a time.
    let ns = Netns::new("aon04c");
    let state = tmp.path().join("state-c");
    let orig = ns.sysctl("net.core.somaxconn");
    assert!(orig != "1000" && orig != "2000", "somaxconn is {orig}");
    let a = write_profile(tmp.path(), "a", "[sysctl]\n\"net.core.somaxconn\" = 1000\n");
    let b = write_profile(tmp.path(), "b", "[sysctl]\n\"net.core.somaxconn\" = 2000\n");
    assert_eq!(ns_run(&ns, &state, &["apply", &a]).code, 0);
    assert_eq!(ns_run(&ns, &state, &["apply", &b]).code, 0);
    assert_eq!(ns.sysctl("net.core.somaxconn"), "2000");
    let r = ns_run(&ns, &state, &["rollback"]);
    assert_eq!(
        (r.code, ns.sysctl("net.core.somaxconn")),
        (0, String::from("1000")),
        "{r}"
    );
    let r = ns_run(&ns, &state, &["rollback"]);
    assert_eq!((r.code, ns.sysctl("net.core.somaxconn")), (0, orig), "{r}");
    let r = ns_run(&ns, &state, &["rollback"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.err.contains("no snapshot to roll back to"), "{r}");

    // (a) kill -9 after 3 of 6 writes, the same apply again, then one rollback.
    let ns = Netns::new("aon04a");
    let state = tmp.path().join("state-a");
    let before = sysctl_all(&ns);
    let keys = six_keys(&ns);
    let live: Vec<String> = keys.iter().map(|(k, _)| ns.sysctl(k)).collect();
    let p = write_profile(tmp.path(), "six", &sysctl_profile(&keys));
    let mut paused = Paused::start(
        in_ns(&ns, &state, &["apply", &p]),
        "sysctl:3:pause",
        tmp.path(),
    );
    paused.signal_and_wait(Signal::SIGKILL);
    let now: Vec<String> = keys.iter().map(|(k, _)| ns.sysctl(k)).collect();
    for (i, (k, v)) in keys.iter().enumerate() {
        let want = if i < 3 { v } else { &live[i] };
        assert_eq!(&now[i], want, "{k} after the kill at the 3rd write");
    }
    let r = ns_run(&ns, &state, &["apply", &p]);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.err.contains("was interrupted"), "{r}");
    let r = ns_run(&ns, &state, &["rollback"]);
    assert_eq!(r.code, 0, "{r}");
    for (i, (k, _)) in keys.iter().enumerate() {
        assert_eq!(ns.sysctl(k), live[i], "{k} after rollback\n{r}");
    }
    assert_same_dump(&before, &ns, &r);
}

#[test]
fn case05_a_vanished_interface_does_not_block_the_rollback() {
    if !root_tests_with(
        "case05_a_vanished_interface_does_not_block_the_rollback",
        &["sysctl"],
    ) {
        return;
    }
    let ns = Netns::new("aon05");
    ns.ip(&["link", "add", "a.b", "type", "veth", "peer", "name", "pb"]);
    let tmp = TempDir::new().unwrap();
    let state = tmp.path().join("state");
    let somaxconn = ns.sysctl("net.core.somaxconn");
    let fin = ns.sysctl("net.ipv4.tcp_fin_timeout");
    let rp = ns.sysctl("net/ipv4/conf/a.b/rp_filter");
    let rp_want = if rp == "2" { "1" } else { "2" };
    let p = write_profile(
        tmp.path(),
        "iface",
        &format!(
            "[sysctl]\n\"net.core.somaxconn\" = {}\n\"net.ipv4.conf.a/b.rp_filter\" = \
             {rp_want}\n\"net.ipv4.tcp_fin_timeout\" = {}\n",
            other(&somaxconn, 8192),
            other(&fin, 30)
        ),
    );
    let is_ab = |k: &String| k.contains("a/b") || k.contains(".pb.");
    let mut before = sysctl_all(&ns);
    before.retain(|k, _| !is_ab(k));

    let r = ns_run(&ns, &state, &["apply", &p]);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(ns.sysctl("net/ipv4/conf/a.b/rp_filter"), rp_want);
    ns.ip(&["link", "del", "a.b"]);

    let r = ns_run(&ns, &state, &["rollback"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.out
            .lines()
            .any(|l| l.contains("gone") && l.contains("a/b.rp_filter")),
        "{r}"
    );
    assert_eq!(ns.sysctl("net.core.somaxconn"), somaxconn, "{r}");
    assert_eq!(ns.sysctl("net.ipv4.tcp_fin_timeout"), fin, "{r}");
    let mut after = sysctl_all(&ns);
    after.retain(|k, _| !is_ab(k));
    let d = dump_diff(&before, &after);
    assert!(d.is_empty(), "{d:#?}\n{r}");
}

/// Four namespaced keys, each with a value other than the live one.
fn four_keys(ns: &Netns) -> String {
    sysctl_profile(&six_keys(ns)[..4])
}

#[test]
fn case06_a_signal_mid_apply_undoes_and_mid_rollback_finishes() {
    if !root_tests_with(
        "case06_a_signal_mid_apply_undoes_and_mid_rollback_finishes",
        &["sysctl"],
    ) {
        return;
    }
    let ns = Netns::new("aon06");
    let tmp = TempDir::new().unwrap();
    let before = sysctl_all(&ns);
    let p = write_profile(tmp.path(), "four", &four_keys(&ns));

    for sig in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        let state = tmp.path().join(format!("state-{sig}"));
        let mut paused = Paused::start(
            in_ns(&ns, &state, &["apply", &p]),
            "sysctl:2:pause",
            tmp.path(),
        );
        assert_ne!(sysctl_all(&ns), before, "the first writes happened");
        let r = paused.signal_and_wait(sig);
        assert_eq!(r.code, 1, "{sig}: {r}");
        assert!(
            r.out
                .contains(&format!("stopped: interrupted by {}", sig.as_str())),
            "{sig}: {r}"
        );
        assert!(r.out.contains("restored"), "{sig}: {r}");
        let lines: Vec<&str> = r.err.lines().collect();
        assert!(
            lines.len() == 1 && lines[0].starts_with("hosttune: apply"),
            "{sig}: {r}"
        );
        assert_same_dump(&before, &ns, &r);
        // An undone apply is no rollback target.
        let r = ns_run(&ns, &state, &["rollback"]);
        assert_eq!(r.code, 2, "{sig}: {r}");
    }

    // SIGTERM mid-rollback: the rollback finishes, then says so.
    let state = tmp.path().join("state-rollback");
    let r = ns_run(&ns, &state, &["apply", &p]);
    assert_eq!(r.code, 0, "{r}");
    assert_ne!(sysctl_all(&ns), before);
    let mut paused = Paused::start(
        in_ns(&ns, &state, &["rollback"]),
        "sysctl:2:pause",
        tmp.path(),
    );
    let r = paused.signal_and_wait(Signal::SIGTERM);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.out.contains("SIGTERM"), "{r}");
    assert!(r.err.contains("SIGTERM"), "{r}");
    assert_same_dump(&before, &ns, &r);
}

#[test]
fn case07_a_state_dir_failure_after_the_writes_undoes_them() {
    let h = Fixture::new();
    let p = h.profile();
    let before = h.bytes();
    let r = run({
        let mut c = h.cmd(&h.state(), &["apply", &p]);
        c.env("HOSTTUNE_FAULT", "store:commit");
        c
    });
    assert_eq!(r.code, 1, "{r}");
    assert!(
        r.out
            .contains("stopped: the state dir could not record the outcome"),
        "{r}"
    );
    assert!(r.out.contains("restored sysctl vm.swappiness"), "{r}");
    assert!(h.bytes() == before, "the fixture differs from before\n{r}");
    let r = h.run(&["rollback"]);
    assert_eq!(r.code, 2, "the failed apply is no rollback target: {r}");
    assert!(r.err.contains("no snapshot to roll back to"), "{r}");
    assert!(h.bytes() == before);
}

#[test]
fn case08_the_state_dir_mode_is_never_changed() {
    let h = Fixture::new();
    let p = h.profile();
    let before = h.bytes();
    let open = h.dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    set_mode(&open, 0o1777);

    // A symlink to a world-writable dir: refused, and the dir keeps its sticky bit.
    let link = h.dir.path().join("link");
    std::os::unix::fs::symlink(&open, &link).unwrap();
    let r = run(h.cmd(&link, &["apply", &p]));
    assert_eq!(r.code, 2, "{r}");
    assert!(r.err.contains("symlink"), "{r}");
    assert_eq!(mode(&open), 0o1777, "{r}");
    assert!(h.bytes() == before, "{r}");

    // A world-writable dir itself (`--state-dir /tmp`).
    let r = run(h.cmd(&open, &["apply", &p]));
    assert_eq!(r.code, 2, "{r}");
    assert!(r.err.contains("writable by group or others"), "{r}");
    assert_eq!(mode(&open), 0o1777, "{r}");
    assert!(h.bytes() == before, "{r}");

    // An existing private dir is used as it is.
    let kept = h.dir.path().join("kept");
    std::fs::create_dir(&kept).unwrap();
    set_mode(&kept, 0o750);
    let r = run(h.cmd(&kept, &["apply", &p]));
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(mode(&kept), 0o750, "{r}");
    let r = run(h.cmd(&kept, &["rollback"]));
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(mode(&kept), 0o750, "{r}");

    // A missing one is created private.
    let fresh = h.dir.path().join("fresh");
    let r = run(h.cmd(&fresh, &["apply", &p]));
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(mode(&fresh), 0o700, "{r}");
}

#[test]
fn case09_output_files_and_stdout_errors() {
    let h = Fixture::new();
    let p = h.profile();
    let cwd = h.dir.path().join("reports");
    std::fs::create_dir(&cwd).unwrap();
    let prom = cwd.join("rep.prom");
    let audit = |h: &Fixture| {
        let mut c = h.cmd(
            &h.state(),
            &[
                "audit",
                &p,
                "--format",
                "prometheus",
                "--output",
                "rep.prom",
            ],
        );
        c.current_dir(&cwd);
        run(c)
    };

    // A relative path, a new file: readable by node_exporter, and the exit code is the
    // audit's verdict (the fixture drifts from the profile).
    let r = audit(&h);
    assert_eq!(r.code, 1, "{r}");
    assert_eq!(mode(&prom), 0o644, "{r}");
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(text.contains("hosttune_in_sync{profile="), "{text}");

    // An existing file keeps its mode.
    set_mode(&prom, 0o640);
    std::fs::write(&prom, "stale\n").unwrap();
    let r = audit(&h);
    assert_eq!(r.code, 1, "{r}");
    assert_eq!(mode(&prom), 0o640, "{r}");
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(text.contains("hosttune_in_sync{profile="), "{text}");

    // Standard output on a full disk: an error, not truncated output with exit 0.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut c = h.cmd(&h.state(), &["audit", &p, "--format", "json"]);
    c.stdout(full);
    let r = run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.err.contains("cannot write to standard output"), "{r}");

    // Standard output a pipe whose reader is gone (`| head -c1` that already quit): no panic,
    // the verdict as usual.
    let (reader, writer) = nix::unistd::pipe().unwrap();
    drop(reader);
    let mut c = h.cmd(&h.state(), &["audit", &p]);
    c.stdout(Stdio::from(writer));
    let r = run(c);
    assert!(!r.err.contains("panicked"), "{r}");
    assert_eq!(r.code, 1, "{r}");
}

#[test]
fn case10_damaged_state_files_do_not_stop_recovery() {
    let h = Fixture::new();
    let p = h.profile();
    let before = h.bytes();

    // A corrupt kept.json: audit warns and runs, rollback (the recovery path) works.
    let r = h.run(&["apply", &p]);
    assert_eq!(r.code, 0, "{r}");
    let kept = h.state().join("kept.json");
    std::fs::write(&kept, "{").unwrap();
    set_mode(&kept, 0o600);
    let r = h.run(&["audit", &p]);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.err.contains("warning") && r.err.contains("kept"), "{r}");
    let r = h.run(&["rollback"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(h.bytes() == before, "{r}");

    // A partial snapshot file: the listing shows it as unreadable next to the good ones, and
    // a rollback to a good one works.
    let r = h.run(&["apply", &p]);
    assert_eq!(r.code, 0, "{r}");
    let good = snapshot_id(&r);
    let zzz = h.state().join("snapshots/zzz.json");
    std::fs::write(&zzz, "{\"id\":").unwrap();
    set_mode(&zzz, 0o600);
    let r = h.run(&["snapshots", "list"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.out
            .lines()
            .any(|l| l.starts_with(&good) && l.contains("apply")),
        "{r}"
    );
    assert!(
        r.out.lines().any(|l| l.starts_with("zzz  unreadable")),
        "{r}"
    );
    let r = h.run(&["rollback", &good]);
    assert_eq!(r.code, 0, "{r}");
    assert!(h.bytes() == before, "{r}");
}

#[test]
fn case11_rollback_puts_a_moved_vip_back_before_removing_it_from_lo() {
    if !root_tests_enabled("case11_rollback_puts_a_moved_vip_back_before_removing_it_from_lo") {
        return;
    }
    let ns = Netns::new("aon11");
    ns.ip(&[
        "link", "add", "up0", "type", "veth", "peer", "name", "up0peer",
    ]);
    ns.ip(&["link", "set", "up0", "up"]);
    ns.ip(&["addr", "add", "192.0.2.10/32", "dev", "up0"]);
    let tmp = TempDir::new().unwrap();
    let state = tmp.path().join("state");
    let p = write_profile(tmp.path(), "vip", "[dsr]\nvips = [\"192.0.2.10/32\"]\n");
    let has = |dev: &str| {
        !ns.ip(&["-o", "addr", "show", "dev", dev, "to", "192.0.2.10/32"])
            .trim()
            .is_empty()
    };

    let r = ns_run(&ns, &state, &["apply", &p]);
    assert_eq!(r.code, 0, "{r}");
    assert!(has("lo") && !has("up0"), "{r}");

    let r = ns_run(&ns, &state, &["rollback"]);
    assert_eq!(r.code, 0, "{r}");
    let at = |what: &str| {
        r.out
            .lines()
            .position(|l| l.starts_with(what))
            .unwrap_or_else(|| panic!("no {what:?}:\n{r}"))
    };
    let back = at("changed vip 192.0.2.10/32 on up0");
    let off_lo = at("changed vip 192.0.2.10/32 on lo");
    assert!(
        back < off_lo,
        "the VIP must be back on the uplink before it leaves lo:\n{r}"
    );
    assert!(has("up0") && !has("lo"), "{r}");
}

/// Lines that say one thing twice: the object, or an OS error.
fn repeated<'a>(text: &'a str, object: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| {
            l.matches(object).count() > 1
                || (1..200).any(|n| l.matches(&format!("(os error {n})")).count() > 1)
        })
        .collect()
}

#[test]
fn case12_every_error_is_printed_once() {
    // A state-dir error: a path under a regular file.
    let h = Fixture::new();
    let p = h.profile();
    let file = h.dir.path().join("plain");
    std::fs::write(&file, "").unwrap();
    let bad = file.join("state");
    let r = run(h.cmd(&bad, &["apply", &p]));
    assert_eq!(r.code, 2, "{r}");
    assert!(r.err.contains("(os error 20)"), "{r}");
    let twice = repeated(&r.err, bad.to_str().unwrap());
    assert!(twice.is_empty(), "{twice:#?}\n{r}");
    assert_eq!(
        r.err.matches("(os error 20)").count(),
        1,
        "the error is printed more than once:\n{r}"
    );

    if !root_tests_enabled("case12_every_error_is_printed_once") {
        return;
    }
    let ns = Netns::new("aon12");
    let tmp = TempDir::new().unwrap();
    let p = write_profile(tmp.path(), "rmem", PARTIAL_RMEM);
    let r = ns_run(&ns, &tmp.path().join("state"), &["apply", &p]);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.err.contains("net.ipv4.tcp_rmem"), "{r}");
    for text in [&r.err, &r.out] {
        let twice = repeated(text, "net.ipv4.tcp_rmem");
        assert!(twice.is_empty(), "{twice:#?}\n{r}");
    }
}

/// Found by an operator's review: a state-dir failure after the history was rewritten left
/// the undone apply as the rollback default.
#[test]
fn review_an_undone_apply_never_stays_in_the_history() {
    let h = Fixture::new();
    let before = h.bytes();
    let a = write_profile(h.dir.path(), "a", "[sysctl]\n\"vm.swappiness\" = 11\n");
    let b = write_profile(h.dir.path(), "b", "[sysctl]\n\"vm.swappiness\" = 22\n");
    assert_eq!(h.run(&["apply", &a]).code, 0);
    let after_a = h.bytes();
    let r = run({
        let mut c = h.cmd(&h.state(), &["apply", &b]);
        c.env("HOSTTUNE_FAULT", "store:history");
        c
    });
    assert_eq!(r.code, 1, "{r}");
    assert!(h.bytes() == after_a, "the failed apply was undone\n{r}");
    let r = h.run(&["rollback"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        h.bytes() == before,
        "rollback undid apply a, not the failed b\n{r}"
    );
}

/// Found by an operator's review: an apply that stopped at planning used up the journal of
/// an interrupted apply, so one rollback no longer returned to before both.
#[test]
fn review_a_plan_failure_does_not_use_up_an_interrupted_apply() {
    let h = Fixture::new();
    let before = h.bytes();
    let p = h.profile();
    let mark = h.dir.path().join("mark");
    let mut child = h
        .cmd(&h.state(), &["apply", &p])
        .env("HOSTTUNE_FAULT", "sysctl:2:pause")
        .env("HOSTTUNE_FAULT_MARK", &mark)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !mark.exists() {
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let broken = write_profile(h.dir.path(), "broken", "[sysctl]\n\"vm.no_such_key\" = 1\n");
    let r = h.run(&["apply", &broken]);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.err.contains("was interrupted"), "{r}");
    let r = h.run(&["apply", &p]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.err.contains("was interrupted"),
        "the journal is still there: {r}"
    );
    let r = h.run(&["rollback"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        h.bytes() == before,
        "one rollback returns to before both\n{r}"
    );
}

/// Found by an operator's review: a snapshot taken on one --root was restored onto another.
#[test]
fn review_a_snapshot_is_rolled_back_only_where_it_was_taken() {
    let a = Fixture::new();
    let b = Fixture::new();
    let p = a.profile();
    assert_eq!(a.run(&["apply", &p]).code, 0);
    let b_before = b.bytes();
    let r = run(b.cmd(&a.state(), &["rollback"]));
    assert_eq!(r.code, 2, "{r}");
    assert!(r.err.contains("was taken on --root"), "{r}");
    assert!(b.bytes() == b_before, "tree b was not touched");
    assert_eq!(a.run(&["rollback"]).code, 0);
}
