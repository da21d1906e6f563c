//! Agent benchmarks, run with `cargo bench --bench agent` (as root for part 1).
//!
//! 1. **Reaction time.** In a network namespace this program creates (and deletes at the end,
//!    also on a panic), `hosttune agent` holds `[[nic]] match = "bv*" txqueuelen = 4321`. A
//!    helper inside the namespace (this program again, under `ip netns exec`, so that it sees
//!    the namespace's own sysfs) creates a veth `bvN`, then polls
//!    `/sys/class/net/bvN/tx_queue_len` every 200 µs until the agent has set it, 100 times.
//!    The time runs from just before `ip link add` starts to the read that sees 4321. The
//!    agent is then stopped with SIGTERM and must exit 0. It runs with `NOTIFY_SOCKET` and
//!    `WATCHDOG_USEC` pointing at this program, which checks READY=1, WATCHDOG=1 and
//!    STOPPING=1 as systemd would receive them.
//! 2. **Steady state.** The agent's interval audit of the built-in `lb`, in process: a plan
//!    (`hosttune::plan::build`) and its metrics text (`hosttune::report::prometheus`), 1,000
//!    times, on the 256-CPU x 4,096-IRQ fixture of `benches/plan.rs` (copied here: two
//!    64-queue mlx5 ports, an 11.8 MB `/proc/interrupts`) and on a host of the size
//!    (64 CPUs, 512 IRQs, one 64-queue port). CPU time per cycle (getrusage, user + sys),
//!    VmRSS after 10, 100, 250, 500, 750 and 1,000 cycles (flat when nothing accumulates),
//!    and the peak (VmHWM).
//!
//! Part 1 never touches this machine's own settings: the agent runs only inside the
//! namespace, with a profile of veth settings only.

use std::fs::File;
use std::hint::black_box;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use hosttune::host::{Host, RootFs};
use hosttune::profile::Catalog;

/// The binary under test: this build's, or `HOSTTUNE_BENCH_BIN` (e.g. the static release
/// build the README installs).
fn bin() -> String {
    std::env::var("HOSTTUNE_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_hosttune").to_string())
}

/// A field of `/proc/PID/status` in KiB (`VmHWM`, `VmRSS`).
fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The value at quantile `q` of sorted `v` (nearest rank).
fn quantile(v: &[Duration], q: f64) -> Duration {
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

// ---------------------------------------------------------------------------------------
// Part 1: reaction time in a namespace.

const CREATIONS: usize = 100;
const TXQ: &str = "4321";
const POLL: Duration = Duration::from_micros(200);
const GIVE_UP: Duration = Duration::from_secs(5);
/// The pause after a measurement and after a deletion, so that each creation meets an idle
/// agent.
const SETTLE: Duration = Duration::from_millis(30);

/// What has to go when the benchmark ends, normally or by a panic: the agent, then the
/// namespace (the agent would keep it alive).
static CLEANUP: Mutex<(Option<u32>, Option<String>)> = Mutex::new((None, None));

fn cleanup() {
    let mut c = CLEANUP.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(pid) = c.0.take() {
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
    }
    if let Some(ns) = c.1.take() {
        let _ = Command::new("ip")
            .args(["netns", "del", &ns])
            .stderr(Stdio::null())
            .status();
    }
}

/// Deletes the namespace (and kills the agent, if still registered) when dropped.
struct Netns(String);

impl Netns {
    fn new() -> Self {
        let name = format!("ht-agentbench-{}", std::process::id());
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("ip netns add");
        assert!(st.success(), "ip netns add {name}: {st}");
        CLEANUP.lock().unwrap().1 = Some(name.clone());
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        cleanup();
    }
}

/// The helper inside the namespace: for each number N on stdin, creates `bvN`, waits for
/// the agent's txqueuelen, prints "µs-to-created µs-to-applied", deletes `bvN`.
fn poller() {
    let mut out = io::stdout().lock();
    for line in io::stdin().lock().lines() {
        let n: usize = line.unwrap().trim().parse().unwrap();
        let (bv, bp) = (format!("bv{n}"), format!("bp{n}"));
        let file = format!("/sys/class/net/{bv}/tx_queue_len");
        let start = Instant::now();
        let st = Command::new("ip")
            .args(["link", "add", &bv, "type", "veth", "peer", "name", &bp])
            .status()
            .unwrap();
        assert!(st.success(), "ip link add {bv}: {st}");
        let created = start.elapsed();
        let applied = loop {
            if std::fs::read_to_string(&file).is_ok_and(|s| s.trim() == TXQ) {
                break Some(start.elapsed());
            }
            if start.elapsed() > GIVE_UP {
                break None;
            }
            std::thread::sleep(POLL);
        };
        // Let the agent finish its transaction (it reads the value back after writing it)
        // before the interface goes.
        std::thread::sleep(SETTLE);
        let _ = Command::new("ip").args(["link", "del", &bv]).status();
        match applied {
            Some(a) => writeln!(out, "{} {}", created.as_micros(), a.as_micros()),
            None => writeln!(out, "{} timeout", created.as_micros()),
        }
        .unwrap();
        out.flush().unwrap();
    }
}

/// Collects the sd_notify datagrams the agent sends, with when they arrived.
fn listen(sock: UnixDatagram, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<String>> {
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            if let Ok(n) = sock.recv(&mut buf) {
                for m in String::from_utf8_lossy(&buf[..n]).lines() {
                    got.push(m.to_string());
                }
            }
        }
        got
    })
}

fn wait_exit(agent: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < within {
        if let Some(st) = agent.try_wait().unwrap() {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn reaction() {
    if !nix::unistd::Uid::effective().is_root() {
        println!("\n*** skipped reaction time: needs root for a network namespace ***");
        return;
    }
    let ns = Netns::new();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("veth.toml");
    std::fs::write(
        &profile,
        format!("[[nic]]\nmatch = \"bv*\"\ntxqueuelen = {TXQ}\n"),
    )
    .unwrap();
    let notify_path = dir.path().join("notify.sock");
    let stop = Arc::new(AtomicBool::new(false));
    let notes = listen(UnixDatagram::bind(&notify_path).unwrap(), stop.clone());
    let stderr = dir.path().join("agent.stderr");
    let textfile = dir.path().join("agent.prom");

    let started = Instant::now();
    let mut agent = Command::new("ip")
        .args(["netns", "exec", &ns.0, &bin()])
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args(["agent", profile.to_str().unwrap(), "--interval", "3600"])
        .arg("--textfile")
        .arg(&textfile)
        .env("NOTIFY_SOCKET", &notify_path)
        .env("WATCHDOG_USEC", "1000000")
        .env_remove("WATCHDOG_PID")
        .stdout(Stdio::null())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .expect("start the agent");
    // `ip netns exec` execs the command: this pid is the agent's.
    CLEANUP.lock().unwrap().0 = Some(agent.id());
    let agent_pid = agent.id().to_string();
    while !textfile.exists() {
        assert!(
            agent.try_wait().unwrap().is_none(),
            "the agent exited at start: {}",
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
        assert!(started.elapsed() < GIVE_UP, "the agent did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    let ready_after = started.elapsed();

    let mut helper = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(std::env::current_exe().unwrap())
        .arg("--poller")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the helper in the namespace");
    let mut to_helper = helper.stdin.take().unwrap();
    let mut from_helper = BufReader::new(helper.stdout.take().unwrap());
    let (mut created, mut applied, mut timeouts) = (Vec::new(), Vec::new(), 0);
    for n in 0..CREATIONS {
        writeln!(to_helper, "{n}").unwrap();
        let mut line = String::new();
        from_helper.read_line(&mut line).unwrap();
        let mut f = line.split_whitespace();
        created.push(Duration::from_micros(f.next().unwrap().parse().unwrap()));
        match f.next().unwrap().parse() {
            Ok(us) => applied.push(Duration::from_micros(us)),
            Err(_) => timeouts += 1,
        }
        // Let the agent take the deletion's events before the next creation.
        std::thread::sleep(SETTLE);
    }
    drop(to_helper);
    assert!(helper.wait().unwrap().success(), "the helper failed");
    let rss = status_kib(&agent_pid, "VmRSS:").unwrap_or(0);
    let hwm = status_kib(&agent_pid, "VmHWM:").unwrap_or(0);
    let cpu = std::fs::read_to_string(format!("/proc/{agent_pid}/stat"))
        .ok()
        .and_then(|s| {
            let f: Vec<&str> = s.rsplit_once(") ")?.1.split_whitespace().collect();
            Some(f[11].parse::<u64>().ok()? + f[12].parse::<u64>().ok()?)
        })
        .unwrap_or(0);

    kill(Pid::from_raw(agent.id() as i32), Signal::SIGTERM).unwrap();
    let exit = wait_exit(&mut agent, Duration::from_secs(30));
    CLEANUP.lock().unwrap().0 = None;
    stop.store(true, Ordering::Relaxed);
    let notes = notes.join().unwrap();
    let log = std::fs::read_to_string(&stderr).unwrap_or_default();
    let metrics = std::fs::read_to_string(&textfile).unwrap_or_default();
    drop(ns);

    created.sort();
    applied.sort();
    let changes = log
        .lines()
        .filter(|l| l.starts_with("hosttune: agent: changed txqueuelen bv"))
        .count();
    let count = |m: &str| notes.iter().filter(|n| *n == m).count();
    println!(
        "reaction: veth created in a namespace -> txqueuelen {TXQ} read back, {CREATIONS} \
         creations, poll every {} us",
        POLL.as_micros()
    );
    println!(
        "  applied:  median {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} of {CREATIONS}; {timeouts} \
         not within {} s)",
        ms(quantile(&applied, 0.5)),
        ms(quantile(&applied, 0.99)),
        ms(*applied.last().unwrap_or(&Duration::ZERO)),
        applied.len(),
        GIVE_UP.as_secs()
    );
    println!(
        "  of which `ip link add` itself: median {:.1} ms, p99 {:.1} ms",
        ms(quantile(&created, 0.5)),
        ms(quantile(&created, 0.99))
    );
    println!(
        "  agent: first metrics file {:.0} ms after start; RSS {:.1} MiB, peak {:.1} MiB, CPU \
         {} ticks; {changes} `changed txqueuelen` lines",
        ms(ready_after),
        mib(rss),
        mib(hwm),
        cpu
    );
    println!(
        "  sd_notify: READY=1 x{}, WATCHDOG=1 x{} (WATCHDOG_USEC=1s), STOPPING=1 x{}; \
         SIGTERM -> {}",
        count("READY=1"),
        count("WATCHDOG=1"),
        count("STOPPING=1"),
        exit.map_or("no exit within 30 s".to_string(), |s| s.to_string())
    );
    for l in metrics.lines().filter(|l| {
        l.starts_with("hosttune_agent_changes_total{")
            || l.starts_with("hosttune_agent_failures_total")
    }) {
        println!("  textfile: {l}");
    }
    for l in log.lines().filter(|l| {
        !l.starts_with("hosttune: agent: changed txqueuelen bv")
            && !l.ends_with("SIGTERM received; stopping")
    }) {
        println!("  agent said: {l}");
    }
    assert_eq!(timeouts, 0, "creations the agent did not tune; log:\n{log}");
    assert_eq!(changes, CREATIONS, "changes logged; log:\n{log}");
    assert_eq!(count("READY=1"), 1, "READY=1; log:\n{log}");
    assert_eq!(count("STOPPING=1"), 1, "STOPPING=1; log:\n{log}");
    assert!(
        exit.is_some_and(|s| s.code() == Some(0)),
        "the agent's exit after SIGTERM: {exit:?}; log:\n{log}"
    );
}

// ---------------------------------------------------------------------------------------
// Part 2: steady state. The fixture generator is benches/plan.rs's, with the host's size as
// a parameter.

#[path = "common/host.rs"]
mod host;
use host::{QUEUES, SHAPES, Shape, write_interrupts, write_tree};

const CYCLES: usize = 1000;

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    let u = getrusage(UsageWho::RUSAGE_SELF).unwrap();
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
    };
    tv(u.user_time()) + tv(u.system_time())
}

fn steady_state(s: &Shape) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let text_len = write_interrupts(s, &root.join("proc/interrupts")).unwrap();
    write_tree(s, &root);
    let profiles = dir.path().join("profiles"); // empty: the built-in `lb`
    std::fs::create_dir_all(&profiles).unwrap();
    let profile = Catalog::new(vec![profiles])
        .load("lb")
        .unwrap_or_else(|e| panic!("built-in lb: {e}"));
    let fs = RootFs::new(&root);
    let host = Host::offline(&fs);
    let kept = Default::default();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    };

    // The peak from here on, as in benches/plan.rs (writing 5 to clear_refs resets VmHWM to
    // the current RSS, Linux 4.0 and later).
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss_before = status_kib("self", "VmRSS:").unwrap_or(0);

    // One cycle, checked: every queue IRQ placed, nothing unreadable.
    let plan = hosttune::plan::build(&profile, &host, &kept);
    let text = hosttune::report::prometheus(&plan, now(), None, Default::default());
    let irq_items = text
        .lines()
        .filter(|l| l.starts_with("hosttune_item_in_sync{") && l.contains("kind=\"irq_affinity\""))
        .count();
    assert_eq!(
        irq_items,
        s.ports * QUEUES as usize,
        "irq_affinity items in the metrics:\n{text}"
    );
    assert!(
        !text.contains("status=\"error\"} 1"),
        "error items in the lb plan:\n{text}"
    );
    let sysctls = text
        .lines()
        .filter(|l| l.starts_with("hosttune_item_in_sync{") && l.contains("kind=\"sysctl\""))
        .count();
    drop((plan, text));

    let mut times = Vec::with_capacity(CYCLES);
    let mut rss = Vec::new();
    let cpu_start = cpu_time();
    for i in 1..=CYCLES {
        let start = Instant::now();
        let plan = hosttune::plan::build(black_box(&profile), &host, &kept);
        let text = hosttune::report::prometheus(&plan, now(), None, Default::default());
        times.push(start.elapsed());
        black_box((plan, text));
        if [10, 100, 250, 500, 750, 1000].contains(&i) {
            rss.push((i, status_kib("self", "VmRSS:").unwrap_or(0)));
        }
    }
    let cpu = (cpu_time() - cpu_start) / CYCLES as u32;
    let hwm = status_kib("self", "VmHWM:").unwrap_or(0);
    times.sort();

    println!(
        "\nsteady state ({}): built-in lb, {} CPUs (isolated {}), {} IRQs, {:.2} MB of \
         /proc/interrupts, {} x {QUEUES}-queue mlx5; {sysctls} sysctl items, {irq_items} \
         queue IRQs; {CYCLES} cycles of plan + metrics text",
        s.name,
        s.cpus,
        s.isolated,
        s.irqs,
        text_len as f64 / 1e6,
        s.ports
    );
    println!(
        "  per cycle: CPU (user+sys) {:.2} ms; wall median {:.2} ms, p99 {:.2} ms",
        ms(cpu),
        ms(quantile(&times, 0.5)),
        ms(quantile(&times, 0.99))
    );
    println!(
        "  VmRSS: {:.1} MiB before the first cycle, {}; peak (VmHWM) {:.1} MiB{}",
        mib(rss_before),
        rss.iter()
            .map(|(i, k)| format!("{:.1} MiB after {i}", mib(*k)))
            .collect::<Vec<_>>()
            .join(", "),
        mib(hwm),
        if reset {
            ""
        } else {
            " (could not reset it: includes the fixture's making)"
        }
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--poller") => return poller(),
        // Each size in a process of its own, so that one's heap is not in the other's RSS.
        Some("--steady") => return steady_state(&SHAPES[args[2].parse::<usize>().unwrap()]),
        _ => {}
    }
    // `cargo test` runs benchmarks once without `--bench`; only measure under `cargo bench`.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        cleanup();
        hook(info);
    }));
    println!("binary: {}", bin());
    reaction();
    for i in 0..SHAPES.len() {
        let st = Command::new(std::env::current_exe().unwrap())
            .args(["--steady", &i.to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "steady state {i}: {st}");
    }
}
