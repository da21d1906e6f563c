//! Benchmark of a whole plan on a large load balancer: the built-in `lb` profile on a fixture
//! root with 256 online CPUs (128-255 isolated), a `/proc/interrupts` of 4,096 IRQs (about
//! 11 MB, as the kernel prints it) and two 64-queue mlx5 ports, `ens1f0np0` and `ens1f1np1`
//! (functions 0000:3b:00.0 and .1, each an async vector and 64 completion vectors, with sysfs
//! device links, `msi_irqs` and `/proc/irq/N/*_affinity_list`), plus the `/proc/sys` keys of
//! `lb`, `tcp-server` and `tcp-base` (optional ones absent).
//!
//! Times `hosttune::knobs::plan` with the `Offline` seams (rings and channels are then
//! `unsupported`; the IRQ placement reads `/proc/interrupts`), and counts through a wrapping
//! `Files` how often one plan reads `/proc/interrupts`. Prints the median plan time, the peak
//! resident memory (`VmHWM`, reset after the fixture is written) and the reads per plan.
//! Run with `cargo bench --bench plan`.
//!
//! Only `knobs::plan`, `host::{Host, RootFs, Offline, Files}` and `profile::Catalog` are
//! used, so that the figures can be taken the same way before and after a change inside the
//! library; the plan is checked through its `Debug` text.

use std::fs::File;
use std::hint::black_box;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hosttune::host::{Files, Host, RootFs};
use hosttune::profile::Catalog;

const CPUS: u32 = 256;
const ISOLATED: &str = "128-255";
const IRQS: u32 = 4096;
const QUEUES: u32 = 64;
/// Port 0's async vector; its completion vectors follow, then port 1's async and completion
/// vectors.
const NIC_BASE: u32 = 2000;
const PORTS: [(&str, &str); 2] = [("ens1f0np0", "0000:3b:00.0"), ("ens1f1np1", "0000:3b:00.1")];
const PCI_PARENT: &str = "sys/devices/pci0000:3a/0000:3a:00.0";
const ITERATIONS: usize = 30;

/// The keys of `lb` and what it extends that are not optional, with the values a stock
/// kernel holds (so the plan has drift to report).
const SYSCTLS: &[(&str, &str)] = &[
    ("net/ipv4/tcp_fin_timeout", "60"),
    ("net/ipv4/tcp_syncookies", "1"),
    ("net/ipv4/tcp_syn_retries", "6"),
    ("net/ipv4/tcp_max_syn_backlog", "4096"),
    ("net/ipv4/tcp_keepalive_time", "7200"),
    ("net/ipv4/tcp_keepalive_intvl", "75"),
    ("net/ipv4/tcp_keepalive_probes", "9"),
    ("net/ipv4/tcp_window_scaling", "1"),
    ("net/core/netdev_max_backlog", "1000"),
    ("net/core/rmem_default", "212992"),
    ("net/core/wmem_default", "212992"),
    ("net/core/rmem_max", "212992"),
    ("net/core/wmem_max", "212992"),
    ("net/ipv4/tcp_rmem", "4096\t131072\t6291456"),
    ("net/ipv4/tcp_wmem", "4096\t16384\t4194304"),
    ("net/ipv4/tcp_mem", "4628160\t6170880\t9256320"),
    ("fs/file-max", "9223372036854775807"),
    ("net/ipv4/ip_forward", "0"),
    ("net/ipv4/conf/all/rp_filter", "2"),
    ("net/ipv4/conf/all/route_localnet", "0"),
    ("net/ipv4/ip_local_port_range", "32768\t60999"),
    ("vm/swappiness", "60"),
    ("net/ipv6/conf/all/disable_ipv6", "0"),
    ("net/ipv6/conf/default/disable_ipv6", "0"),
    ("net/core/somaxconn", "4096"),
    ("net/ipv4/tcp_max_orphans", "262144"),
    ("net/ipv4/tcp_max_tw_buckets", "262144"),
    ("net/core/netdev_budget", "300"),
    ("net/core/netdev_budget_usecs", "2000"),
    ("kernel/numa_balancing", "1"),
];

/// Which port and queue an IRQ belongs to: `Some((port, None))` for the async vector,
/// `Some((port, Some(q)))` for completion vector `q`.
fn nic_vector(irq: u32) -> Option<(usize, Option<u32>)> {
    let off = irq.checked_sub(NIC_BASE)?;
    let (port, idx) = (off / (QUEUES + 1), off % (QUEUES + 1));
    (port < PORTS.len() as u32).then(|| (port as usize, idx.checked_sub(1)))
}

fn put(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `/proc/interrupts` as the kernel prints it (prec 4 since nr_irqs >= 1000, "%10u " per
/// online CPU, chip, hwirq, flow, actions; then x86's own lines), written as it is made so
/// that the fixture does not count in the peak.
fn write_interrupts(path: &Path) -> io::Result<u64> {
    std::fs::create_dir_all(path.parent().unwrap())?;
    let mut w = BufWriter::new(File::create(path)?);
    write!(w, "{:12}", "")?;
    for c in 0..CPUS {
        write!(w, "CPU{c:<8}")?;
    }
    writeln!(w)?;
    for irq in 0..IRQS {
        write!(w, "{irq:>4}: ")?;
        for c in 0..CPUS {
            let n = if (irq + c) % 7 == 0 {
                u64::from(irq) * 7919 + u64::from(c)
            } else {
                0
            };
            write!(w, "{n:>10} ")?;
        }
        let (chip, hwirq, flow, name) = match (irq, nic_vector(irq)) {
            (_, Some((port, q))) => {
                let bdf = PORTS[port].1;
                let name = match q {
                    None => format!("mlx5_async0@pci:{bdf}"),
                    Some(q) => format!("mlx5_comp{q}@pci:{bdf}"),
                };
                (
                    format!("IR-PCI-MSIX-{bdf}"),
                    q.map_or(0, |q| q + 1),
                    "edge",
                    name,
                )
            }
            (0..=15, _) => ("IR-IO-APIC".into(), irq, "edge", format!("legacy{irq}")),
            (16..=23, _) => (
                "IR-IO-APIC".into(),
                irq,
                "fasteoi",
                "i801_smbus, ehci_hcd:usb1".into(),
            ),
            // Filler: NVMe queues and another NIC's vectors that must not be taken for ens1*.
            (i, _) if i % 2 == 0 => (
                "IR-PCI-MSIX-0000:5e:00.0".into(),
                i % 512,
                "edge",
                format!("nvme{}q{}", i / 256, i % 256),
            ),
            (i, _) => (
                "IR-PCI-MSIX-0000:18:00.0".into(),
                i % 512,
                "edge",
                format!("eth{}-TxRx-{}", i / 128, i % 128),
            ),
        };
        writeln!(w, " {chip:>8} {hwirq:>4}-{flow:<8}  {name}")?;
    }
    for (label, desc) in [
        ("NMI", "Non-maskable interrupts"),
        ("LOC", "Local timer interrupts"),
        ("RES", "Rescheduling interrupts"),
        ("CAL", "Function call interrupts"),
        ("TLB", "TLB shootdowns"),
    ] {
        write!(w, "{label:>4}: ")?;
        for c in 0..CPUS {
            write!(w, "{:>10} ", c * 3)?;
        }
        writeln!(w, "  {desc}")?;
    }
    writeln!(w, " ERR:          0\n MIS:          0")?;
    w.into_inner()?.sync_all()?;
    Ok(std::fs::metadata(path)?.len())
}

/// Everything else `lb` reads: CPUs, the two ports' sysfs and IRQ files, `lo`, `/proc/sys`.
fn write_tree(root: &Path) {
    let cpu = root.join("sys/devices/system/cpu");
    put(&cpu.join("possible"), &format!("0-{}\n", CPUS - 1));
    put(&cpu.join("present"), &format!("0-{}\n", CPUS - 1));
    put(&cpu.join("online"), &format!("0-{}\n", CPUS - 1));
    put(&cpu.join("offline"), "\n");
    put(&cpu.join("isolated"), &format!("{ISOLATED}\n"));
    std::fs::create_dir_all(root.join("sys/class/net")).unwrap();

    for (port, (iface, bdf)) in PORTS.iter().enumerate() {
        let rel = format!("{PCI_PARENT}/{bdf}");
        let dev = root.join(&rel);
        put(&dev.join("numa_node"), "0\n");
        put(&dev.join("local_cpulist"), "0-63,128-191\n");
        let base = NIC_BASE + port as u32 * (QUEUES + 1);
        for irq in base..=base + QUEUES {
            put(&dev.join("msi_irqs").join(irq.to_string()), "msix\n");
            // The driver's own spread: completion vector q on CPU q, async on 0.
            let cpu = irq - base;
            let irq_dir = root.join(format!("proc/irq/{irq}"));
            put(&irq_dir.join("smp_affinity_list"), &format!("{cpu}\n"));
            put(
                &irq_dir.join("effective_affinity_list"),
                &format!("{cpu}\n"),
            );
        }
        let nd = dev.join("net").join(iface);
        put(&nd.join("tx_queue_len"), "1000\n");
        put(&nd.join("mtu"), "1500\n");
        put(&nd.join("operstate"), "up\n");
        symlink(format!("../../../{bdf}"), nd.join("device")).unwrap();
        symlink(
            format!("../../{}/net/{iface}", rel.trim_start_matches("sys/")),
            root.join("sys/class/net").join(iface),
        )
        .unwrap();
    }
    let lo = root.join("sys/devices/virtual/net/lo");
    put(&lo.join("tx_queue_len"), "1000\n");
    put(&lo.join("mtu"), "65536\n");
    symlink(
        "../../devices/virtual/net/lo",
        root.join("sys/class/net/lo"),
    )
    .unwrap();

    for (key, value) in SYSCTLS {
        put(&root.join("proc/sys").join(key), &format!("{value}\n"));
    }
}

/// The root's files, counting the reads of `/proc/interrupts`.
struct Counting {
    inner: RootFs,
    interrupts: AtomicUsize,
    reads: AtomicUsize,
}

impl Files for Counting {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        if path == Path::new("/proc/interrupts") {
            self.interrupts.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.read(path)
    }
    fn write(&self, path: &Path, data: &str) -> io::Result<()> {
        self.inner.write(path, data)
    }
    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        self.inner.read_link(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.inner.read_dir(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.inner.canonicalize(path)
    }
    fn display(&self, path: &Path) -> PathBuf {
        self.inner.display(path)
    }
    fn replace(&self, path: &Path, data: &str) -> io::Result<()> {
        self.inner.replace(path, data)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }
}

/// A field of `/proc/self/status` in KiB (`VmHWM`, `VmRSS`).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let text_len = write_interrupts(&root.join("proc/interrupts")).unwrap();
    write_tree(&root);
    let profiles = dir.path().join("profiles"); // empty: the built-in `lb`
    std::fs::create_dir_all(&profiles).unwrap();
    let profile = Catalog::new(vec![profiles])
        .load("lb")
        .unwrap_or_else(|e| panic!("built-in lb: {e}"));

    let fs = Counting {
        inner: RootFs::new(&root),
        interrupts: AtomicUsize::new(0),
        reads: AtomicUsize::new(0),
    };
    let host = Host::offline(&fs);
    let kept = Default::default();

    // The fixture was written in pieces, but start the peak here all the same (writing 5 to
    // clear_refs resets VmHWM to the current RSS, Linux 4.0 and later): the peak is then this
    // baseline plus the most any plan holds at once.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss_before = status_kib("VmRSS:").unwrap_or(0);

    // One plan, checked: every queue IRQ of both ports placed, nothing unreadable.
    let plan = hosttune::plan::build(&profile, &host, &kept);
    let shown = format!("{plan:?}");
    let placed = shown.matches("kind: IrqAffinity").count();
    let errors = shown.matches("status: Error").count();
    assert_eq!(
        placed,
        PORTS.len() * QUEUES as usize,
        "IRQ affinity items of the lb plan; plan: {shown}"
    );
    assert_eq!(errors, 0, "error items in the lb plan: {shown}");
    let per_plan = fs.interrupts.swap(0, Ordering::Relaxed);
    let files_per_plan = fs.reads.swap(0, Ordering::Relaxed);
    drop((plan, shown));

    let mut times = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let start = Instant::now();
        let plan = hosttune::plan::build(black_box(&profile), &host, &kept);
        times.push(start.elapsed());
        black_box(plan);
    }
    let reads = fs.interrupts.load(Ordering::Relaxed);
    assert_eq!(reads, per_plan * ITERATIONS, "reads differ between plans");
    let hwm = status_kib("VmHWM:").unwrap_or(0);
    let (min, max) = (*times.iter().min().unwrap(), *times.iter().max().unwrap());
    let med = median(times);

    println!(
        "plan: built-in lb, {CPUS} CPUs (isolated {ISOLATED}), {IRQS} IRQs, {:.1} MB of \
         /proc/interrupts, 2 x {QUEUES}-queue mlx5, {ITERATIONS} iterations",
        text_len as f64 / 1e6
    );
    println!(
        "  plan time: median {:.2} ms (min {:.2}, max {:.2})",
        med.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    println!(
        "  peak memory (VmHWM): {:.1} MiB{}; RSS before the first plan {:.1} MiB",
        mib(hwm),
        if reset {
            " since the fixture was written"
        } else {
            " (could not reset it: includes the fixture's making)"
        },
        mib(rss_before)
    );
    println!(
        "  /proc/interrupts reads per plan: {per_plan} (of {files_per_plan} file reads); \
         {placed} queue IRQs placed"
    );
}
