//! The boot oneshot's common case, run with `cargo bench --bench in_sync` as root: a host
//! already in sync. Inside a throw-away network namespace, `hosttune apply` and
//! `hosttune audit` of a profile of 19 per-namespace sysctls against procps `sysctl -p` of
//! the same keys, in interleaved paired runs (the order rotates every round), reported as the
//! median of the per-pair ratios, with each command's median wall time and peak RSS.
//!
//! This process joins the namespace itself (setns), so that every run is a plain fork and exec
//! of the command, as a boot unit's is, with no `ip netns exec` in the figure.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

/// Per-namespace keys only: host-global ones (`kernel.*`, `vm.*`, `net.core.netdev_*`) would
/// reach the whole host from inside the namespace.
const KEYS: &[(&str, &str)] = &[
    ("net.core.somaxconn", "8192"),
    ("net.ipv4.tcp_syncookies", "1"),
    ("net.ipv4.tcp_fin_timeout", "30"),
    ("net.ipv4.tcp_tw_reuse", "1"),
    ("net.ipv4.ip_local_port_range", "10240 65000"),
    ("net.ipv4.tcp_max_syn_backlog", "8192"),
    ("net.ipv4.conf.all.rp_filter", "2"),
    ("net.ipv4.conf.default.rp_filter", "2"),
    ("net.ipv4.tcp_slow_start_after_idle", "0"),
    ("net.ipv4.tcp_keepalive_time", "600"),
    ("net.ipv4.tcp_keepalive_intvl", "30"),
    ("net.ipv4.tcp_keepalive_probes", "5"),
    ("net.ipv4.tcp_mtu_probing", "1"),
    ("net.ipv4.tcp_no_metrics_save", "1"),
    ("net.ipv4.conf.all.arp_ignore", "1"),
    ("net.ipv4.conf.all.arp_announce", "2"),
    ("net.ipv4.conf.default.arp_ignore", "1"),
    ("net.ipv4.conf.default.arp_announce", "2"),
    ("net.ipv4.tcp_fastopen", "3"),
];

/// Pairs measured (each pair: one run of every command).
const ROUNDS: usize = 300;

/// The binary under test: this build's, or `HOSTTUNE_BENCH_BIN`.
fn bin() -> String {
    std::env::var("HOSTTUNE_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_hosttune").to_string())
}

/// The namespace, deleted when dropped (also when a run panics).
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn time_once(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let st = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run");
    let d = t.elapsed();
    assert!(st.success(), "{cmd:?}: {st} (expected in sync, exit 0)");
    d
}

/// Peak RSS in KiB of one run, measured by a fresh copy of this program so that no other
/// child's peak is counted.
fn peak_rss_kib(cmd: &Command) -> i64 {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--child-rss")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(-1)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run(dir: &Path) {
    let prof = dir.join("in-sync.toml");
    let conf = dir.join("in-sync.conf");
    let state = dir.join("state");
    let mut p = String::from("description = \"19 per-namespace sysctls\"\n[sysctl]\n");
    let mut c = String::new();
    for (k, v) in KEYS {
        p.push_str(&format!("\"{k}\" = \"{v}\"\n"));
        c.push_str(&format!("{k} = {v}\n"));
    }
    std::fs::write(&prof, p).unwrap();
    std::fs::write(&conf, c).unwrap();
    let hosttune = |verb: &str| {
        let mut c = Command::new(bin());
        c.arg("--state-dir").arg(&state).arg(verb).arg(&prof);
        c
    };
    let sysctl_p = || {
        let mut c = Command::new("sysctl");
        c.arg("-q").arg("-p").arg(&conf);
        c
    };
    // In sync first, with sysctl -p (so that hosttune never writes, not even once).
    time_once(&mut sysctl_p());
    time_once(&mut hosttune("apply"));
    assert!(
        !state.exists(),
        "an in-sync apply created its state dir {}",
        state.display()
    );
    // The last two are references, interleaved like the rest: hosttune's start-up alone, and
    // fork and exec alone.
    let names = [
        "sysctl -p",
        "hosttune apply",
        "hosttune audit",
        "hosttune -V",
        "true",
    ];
    let mut times: [Vec<f64>; 5] = Default::default();
    for round in 0..ROUNDS {
        for k in 0..names.len() {
            let which = (round + k) % names.len();
            let mut cmd = match which {
                0 => sysctl_p(),
                1 => hosttune("apply"),
                2 => hosttune("audit"),
                3 => {
                    let mut c = Command::new(bin());
                    c.arg("--version");
                    c
                }
                _ => Command::new("true"),
            };
            times[which].push(time_once(&mut cmd).as_secs_f64());
        }
    }
    let ratio = |i: usize| median(times[i].iter().zip(&times[0]).map(|(h, s)| h / s).collect());
    let rss = [
        peak_rss_kib(&sysctl_p()),
        peak_rss_kib(&hosttune("apply")),
        peak_rss_kib(&hosttune("audit")),
    ];
    println!(
        "{} per-namespace sysctls, already in sync, {ROUNDS} interleaved rounds",
        KEYS.len()
    );
    println!(
        "{:16} {:>10} {:>12} {:>10}",
        "command", "median", "vs sysctl", "peak RSS"
    );
    for i in 0..names.len() {
        let rss = rss.get(i).map_or("-".to_string(), |k| format!("{k} KiB"));
        println!(
            "{:16} {:>7.3} ms {:>11.2}x {:>10}",
            names[i],
            median(times[i].clone()) * 1e3,
            if i == 0 { 1.0 } else { ratio(i) },
            rss
        );
    }
    for i in 1..3 {
        let r = ratio(i);
        let ok = r <= 0.8 && rss[i] < 10 * 1024;
        println!(
            "{}: {r:.2}x sysctl -p, {} KiB: target (<= 0.80x, < 10 MiB) {}",
            names[i],
            rss[i],
            if ok { "met" } else { "NOT met" }
        );
    }
    assert!(!state.exists(), "an in-sync apply created its state dir");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child-rss") {
        let st = Command::new(&args[2])
            .args(&args[3..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        assert!(st.is_ok(), "cannot run {}", args[2]);
        println!(
            "{}",
            getrusage(UsageWho::RUSAGE_CHILDREN)
                .map(|u| u.max_rss())
                .unwrap_or(-1)
        );
        return;
    }
    // `cargo test` runs benchmarks once without `--bench`; only measure under `cargo bench`.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    println!("binary: {}", bin());
    if !nix::unistd::Uid::effective().is_root() {
        println!(
            "\n*** skipped in-sync apply/audit vs sysctl -p: needs root for a network namespace ***"
        );
        return;
    }
    let ns = Netns(format!("ht-insync-{}", std::process::id()));
    let ok = Command::new("ip")
        .args(["netns", "add", &ns.0])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip netns add {}", ns.0);
    let fd = std::fs::File::open(Path::new("/run/netns").join(&ns.0)).expect("open netns");
    // This process (and every command it runs) now lives in the throw-away namespace; the
    // host's own namespace is not touched.
    nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
    let dir = tempfile::tempdir().unwrap();
    run(dir.path());
}
