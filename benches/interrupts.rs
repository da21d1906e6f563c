//! Benchmark of the IRQ path on a large host: a `/proc/interrupts` of 256 CPUs and 4,096
//! IRQs (about 11 MB of counts, as the kernel prints them) with a 64-queue mlx5 function
//! among other devices' vectors, then parse + discovery + round-robin placement for that NIC.
//! Prints the median time per iteration and the peak resident memory (`VmHWM`).
//! Targets: under 20 ms per iteration and 16 MB peak. Run with `cargo bench --bench interrupts`.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use hosttune::cpulist::CpuList;
use hosttune::host::{Files, RootFs, paths};
use hosttune::irq::{Interrupts, queue_irqs_in, round_robin};

const CPUS: u32 = 256;
const IRQS: u32 = 4096;
const QUEUES: u32 = 64;
/// The 64-queue NIC's async vector; its completion vectors follow.
const NIC_BASE: u32 = 2000;
const ITERATIONS: usize = 60;

/// The text the kernel would print: prec 4 (nr_irqs >= 1000), "%10u " per CPU.
fn interrupts_text() -> String {
    let line_len = 6 + 11 * CPUS as usize + 80;
    let mut s = String::with_capacity(12 + 11 * CPUS as usize + line_len * (IRQS as usize + 8));
    s.push_str(&" ".repeat(12));
    for c in 0..CPUS {
        write!(s, "CPU{c:<8}").unwrap();
    }
    s.push('\n');
    for irq in 0..IRQS {
        write!(s, "{irq:>4}: ").unwrap();
        for c in 0..CPUS {
            let n = if (irq + c) % 7 == 0 {
                u64::from(irq) * 7919 + u64::from(c)
            } else {
                0
            };
            write!(s, "{n:>10} ").unwrap();
        }
        // The NIC (0000:af:00.0), its sibling function (same names, other BDF), and filler:
        // nvme queues and another driver's vectors.
        let (chip, name) = match irq {
            NIC_BASE => ("0000:af:00.0", "mlx5_async0@pci:0000:af:00.0".to_string()),
            i if i > NIC_BASE && i <= NIC_BASE + QUEUES => (
                "0000:af:00.0",
                format!("mlx5_comp{}@pci:0000:af:00.0", i - NIC_BASE - 1),
            ),
            i if i > NIC_BASE + QUEUES && i <= NIC_BASE + 2 * QUEUES + 1 => (
                "0000:af:00.1",
                format!("mlx5_comp{}@pci:0000:af:00.1", i - NIC_BASE - QUEUES - 1),
            ),
            i if i % 2 == 0 => ("0000:5e:00.0", format!("nvme{}q{}", i / 256, i % 256)),
            i => ("0000:18:00.0", format!("eth{}-TxRx-{}", i / 128, i % 128)),
        };
        writeln!(s, " IR-PCI-MSIX-{chip} {:>4}-edge      {name}", irq % 512).unwrap();
    }
    s.push_str(" NMI:");
    for _ in 0..CPUS {
        s.push_str("          0 ");
    }
    s.push_str("  Non-maskable interrupts\n ERR:          0\n MIS:          0\n");
    s
}

/// A root holding only the NIC's sysfs: class link, device link and 65 `msi_irqs` entries.
fn sysfs_tree(root: &Path) {
    let dev = root.join("sys/devices/pci0000:ae/0000:ae:00.0/0000:af:00.0");
    std::fs::create_dir_all(dev.join("net/ens3f0np0")).unwrap();
    std::fs::create_dir_all(dev.join("msi_irqs")).unwrap();
    std::fs::create_dir_all(root.join("sys/class/net")).unwrap();
    for irq in NIC_BASE..=NIC_BASE + QUEUES {
        std::fs::write(dev.join("msi_irqs").join(irq.to_string()), "msix\n").unwrap();
    }
    std::os::unix::fs::symlink("../../../0000:af:00.0", dev.join("net/ens3f0np0/device")).unwrap();
    std::os::unix::fs::symlink(
        "../../devices/pci0000:ae/0000:ae:00.0/0000:af:00.0/net/ens3f0np0",
        root.join("sys/class/net/ens3f0np0"),
    )
    .unwrap();
}

fn vm_hwm_kib() -> Option<u64> {
    let status = RootFs::new("/").read(&paths::self_status()).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let text = interrupts_text();
    let dir = tempfile::tempdir().unwrap();
    sysfs_tree(dir.path());
    let fs = RootFs::new(dir.path());
    let iface = "ens3f0np0".parse().unwrap();
    let cpus: CpuList = "2-31,34-63".parse().unwrap();

    let mut total = Vec::with_capacity(ITERATIONS);
    let mut parse_only = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let start = Instant::now();
        let parsed = Interrupts::parse(black_box(&text)).unwrap();
        parse_only.push(start.elapsed());
        let queues = queue_irqs_in(&fs, &iface, &parsed).unwrap();
        let placed = round_robin(&queues, &cpus).unwrap();
        total.push(start.elapsed());
        assert_eq!(placed.len(), QUEUES as usize);
        assert_eq!(placed[0].irq, NIC_BASE + 1);
        assert_eq!(placed[63].cpu, cpus.cpus()[3]);
        black_box(placed);
    }
    let total = median(total);
    let parse = median(parse_only);
    let hwm = vm_hwm_kib().unwrap_or(0);
    println!(
        "interrupts: {CPUS} CPUs, {IRQS} IRQs, {:.1} MB of text, {QUEUES}-queue NIC, {ITERATIONS} iterations",
        text.len() as f64 / 1e6
    );
    println!(
        "  parse + discovery + placement: median {:.2} ms (parse alone {:.2} ms); target < 20 ms: {}",
        total.as_secs_f64() * 1e3,
        parse.as_secs_f64() * 1e3,
        if total < Duration::from_millis(20) {
            "ok"
        } else {
            "MISSED"
        }
    );
    println!(
        "  peak memory (VmHWM): {:.1} MiB; target < 16 MiB: {}",
        hwm as f64 / 1024.0,
        if hwm < 16 * 1024 { "ok" } else { "MISSED" }
    );
}
