//! A generated load-balancer host for the benchmarks (`--root` trees): `/proc/interrupts` as
//! the kernel prints it, mlx5 ports with sysfs device links, `msi_irqs` and
//! `/proc/irq/N/*_affinity_list`, the CPU files and the `/proc/sys` keys of the built-in `lb`.
//! Included by benches/plan.rs and benches/agent.rs with `#[path]`.
#![allow(dead_code)]

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::symlink;
use std::path::Path;

/// The sizes of a generated host.
pub struct Shape {
    pub name: &'static str,
    pub cpus: u32,
    pub isolated: &'static str,
    pub irqs: u32,
    pub ports: usize,
    /// The ports' `local_cpulist`.
    pub local: &'static str,
    /// Port 0's async vector; its completion vectors follow, then port 1's.
    pub nic_base: u32,
}

pub const QUEUES: u32 = 64;
pub const PORTS: [(&str, &str); 2] = [("ens1f0np0", "0000:3b:00.0"), ("ens1f1np1", "0000:3b:00.1")];
pub const PCI_PARENT: &str = "sys/devices/pci0000:3a/0000:3a:00.0";

/// The keys of `lb` and what it extends that are not optional, with the values a stock
/// kernel holds (so the plan has drift to report).
pub const SYSCTLS: &[(&str, &str)] = &[
    ("net/ipv4/tcp_syncookies", "1"),
    ("net/core/rmem_max", "212992"),
    ("net/core/wmem_max", "212992"),
    ("net/ipv4/ip_forward", "0"),
    ("net/ipv4/conf/all/rp_filter", "1"),
    ("net/core/netdev_max_backlog", "1000"),
    ("net/core/netdev_budget", "300"),
    ("net/core/netdev_budget_usecs", "2000"),
    ("kernel/numa_balancing", "1"),
];

impl Shape {
    /// Which port and queue an IRQ belongs to: `Some((port, None))` for the async vector,
    /// `Some((port, Some(q)))` for completion vector `q`.
    pub fn nic_vector(&self, irq: u32) -> Option<(usize, Option<u32>)> {
        let off = irq.checked_sub(self.nic_base)?;
        let (port, idx) = (off / (QUEUES + 1), off % (QUEUES + 1));
        (port < self.ports as u32).then(|| (port as usize, idx.checked_sub(1)))
    }
}

pub fn put(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `/proc/interrupts` as the kernel prints it (prec 4 since nr_irqs >= 1000, "%10u " per
/// online CPU, chip, hwirq, flow, actions; then x86's own lines).
pub fn write_interrupts(s: &Shape, path: &Path) -> io::Result<u64> {
    std::fs::create_dir_all(path.parent().unwrap())?;
    let mut w = BufWriter::new(File::create(path)?);
    write!(w, "{:12}", "")?;
    for c in 0..s.cpus {
        write!(w, "CPU{c:<8}")?;
    }
    writeln!(w)?;
    for irq in 0..s.irqs {
        write!(w, "{irq:>4}: ")?;
        for c in 0..s.cpus {
            let n = if (irq + c) % 7 == 0 {
                u64::from(irq) * 7919 + u64::from(c)
            } else {
                0
            };
            write!(w, "{n:>10} ")?;
        }
        let (chip, hwirq, flow, name) = match (irq, s.nic_vector(irq)) {
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
        for c in 0..s.cpus {
            write!(w, "{:>10} ", c * 3)?;
        }
        writeln!(w, "  {desc}")?;
    }
    writeln!(w, " ERR:          0\n MIS:          0")?;
    w.into_inner()?.sync_all()?;
    Ok(std::fs::metadata(path)?.len())
}

/// Everything else `lb` reads: CPUs, the ports' sysfs and IRQ files, `lo`, `/proc/sys`.
pub fn write_tree(s: &Shape, root: &Path) {
    let cpu = root.join("sys/devices/system/cpu");
    put(&cpu.join("possible"), &format!("0-{}\n", s.cpus - 1));
    put(&cpu.join("present"), &format!("0-{}\n", s.cpus - 1));
    put(&cpu.join("online"), &format!("0-{}\n", s.cpus - 1));
    put(&cpu.join("offline"), "\n");
    put(&cpu.join("isolated"), &format!("{}\n", s.isolated));
    std::fs::create_dir_all(root.join("sys/class/net")).unwrap();

    for (port, (iface, bdf)) in PORTS.iter().take(s.ports).enumerate() {
        let rel = format!("{PCI_PARENT}/{bdf}");
        let dev = root.join(&rel);
        put(&dev.join("numa_node"), "0\n");
        put(&dev.join("local_cpulist"), &format!("{}\n", s.local));
        let base = s.nic_base + port as u32 * (QUEUES + 1);
        for irq in base..=base + QUEUES {
            put(&dev.join("msi_irqs").join(irq.to_string()), "msix\n");
            // The driver's own spread: completion vector q on CPU q, async on 0.
            let cpu = (irq - base) % s.cpus;
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

/// The generated hosts: the 256-CPU load balancer of benches/plan.rs, and the size issue 11
/// sets its targets for.
pub const SHAPES: [Shape; 2] = [
    Shape {
        name: "the 256-CPU fixture of benches/plan.rs",
        cpus: 256,
        isolated: "128-255",
        irqs: 4096,
        ports: 2,
        local: "0-63,128-191",
        nic_base: 2000,
    },
    Shape {
        name: "the issue's size: one 64-queue NIC",
        cpus: 64,
        isolated: "32-63",
        irqs: 512,
        ports: 1,
        local: "0-63",
        nic_base: 256,
    },
];
