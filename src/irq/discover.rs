//! Finding a NIC's queue interrupts: the IRQs its PCI function owns (`msi_irqs/`), named by
//! `/proc/interrupts`, filtered to queue vectors and ordered by queue index.
//!
//! Drivers name their vectors in their own ways, and some not after the interface at all:
//! ixgbe, igb and bnxt `eth0-TxRx-3` (or `-rx-`/`-tx-` when a vector serves one direction),
//! i40e/ice/iavf `i40e-eth0-TxRx-3`, ena `eth0-Tx-Rx-3`, mlx5 `mlx5_comp3@pci:0000:3b:00.0`
//! (per PCI function), virtio-net `virtio0-input.3` and `virtio0-output.3` (per virtio
//! device). Control vectors (`mlx5_async0@pci:...`, `i40e-0000:3b:00.0:misc`, the fdir
//! vectors, `ena-mgmnt@pci:...`, `virtio0-config`, ixgbe's bare `eth0`) are left out: they
//! carry no traffic and some drivers re-pin them.

use std::io;
use std::path::{Path, PathBuf};

use super::interrupts::{Interrupts, InterruptsError};
use crate::host::fs::{Files, paths};
use crate::types::IfName;

/// One queue interrupt of a NIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueIrq {
    /// The IRQ number (`/proc/irq/N`).
    pub irq: u32,
    /// The queue (channel) index the driver put in the name.
    pub queue: u32,
    /// The action name, as in `/proc/interrupts`.
    pub name: String,
}

/// Why a NIC's queue interrupts could not be found.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("interface {iface}: no device link at {} ({err}); not a physical NIC?", path.display())]
    NoDevice {
        iface: IfName,
        path: PathBuf,
        err: io::Error,
    },
    #[error("interface {iface}: cannot read {}: {err}", path.display())]
    Read {
        iface: IfName,
        path: PathBuf,
        err: io::Error,
    },
    #[error("interface {iface}: {}: entry {entry:?} is not an IRQ number", path.display())]
    BadMsiEntry {
        iface: IfName,
        path: PathBuf,
        entry: String,
    },
    #[error("interface {iface}: {err}")]
    Interrupts { iface: IfName, err: InterruptsError },
    #[error(
        "interface {iface}: no queue interrupts found for device {} (is the interface up? \
         vector names of its driver not recognised?)",
        device.display()
    )]
    NoQueues { iface: IfName, device: PathBuf },
}

/// Reads and parses `/proc/interrupts`, then finds `iface`'s queue interrupts. Equivalent
/// to `grep eth0 /proc/interrupts` restricted to `ls /sys/class/net/eth0/device/msi_irqs`.
pub fn queue_irqs(fs: &dyn Files, iface: &IfName) -> Result<Vec<QueueIrq>, DiscoverError> {
    let path = paths::interrupts();
    let file = fs.open_read(&path).map_err(|err| DiscoverError::Read {
        iface: iface.clone(),
        path: fs.display(&path),
        err,
    })?;
    let parsed = Interrupts::read_from(file).map_err(|err| DiscoverError::Interrupts {
        iface: iface.clone(),
        err,
    })?;
    queue_irqs_in(fs, iface, &parsed)
}

/// Finds `iface`'s queue interrupts in an already parsed `/proc/interrupts`, so that several
/// NICs share one read of a large file.
pub fn queue_irqs_in(
    fs: &dyn Files,
    iface: &IfName,
    interrupts: &Interrupts,
) -> Result<Vec<QueueIrq>, DiscoverError> {
    let link = paths::net(iface, "device");
    let device = fs
        .canonicalize(&link)
        .map_err(|err| DiscoverError::NoDevice {
            iface: iface.clone(),
            path: fs.display(&link),
            err,
        })?;
    let dev_name = file_name(&device);
    // virtio-net's netdev hangs off `virtioN`, a child of the PCI function that owns the
    // MSI-X vectors; the vectors are named after `virtioN`, not the interface.
    let virtio = dev_name
        .strip_prefix("virtio")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .map(|_| dev_name);
    let pci_dev = match (virtio, device.parent()) {
        (Some(_), Some(parent)) => parent.to_path_buf(),
        _ => device.clone(),
    };
    let bdf = Some(file_name(&pci_dev)).filter(|n| is_pci_address(n));
    let names = Names {
        iface: iface.as_str(),
        bdf,
        virtio,
    };

    let mut found: Vec<(u32, Dir, QueueIrq)> = Vec::new();
    let mut consider = |irq: u32| {
        let Some(line) = interrupts.get(irq) else {
            // Allocated but not requested (interface down): the kernel does not print it.
            return;
        };
        if let Some((queue, dir, name)) = line
            .actions()
            .find_map(|a| names.classify(a).map(|(q, d)| (q, d, a)))
        {
            let name = name.to_string();
            found.push((queue, dir, QueueIrq { irq, queue, name }));
        }
    };
    match msi_irqs(fs, iface, &pci_dev)? {
        Some(irqs) => irqs.into_iter().for_each(&mut consider),
        // No MSI (legacy INTx, or a tree captured without msi_irqs): names alone decide,
        // and they are specific enough (interface, PCI address or virtio device in each).
        None => interrupts.irqs().iter().for_each(|l| consider(l.irq)),
    }
    if found.is_empty() {
        return Err(DiscoverError::NoQueues {
            iface: iface.clone(),
            device,
        });
    }
    found.sort_by_key(|(queue, dir, q)| (*queue, *dir, q.irq));
    Ok(found.into_iter().map(|(_, _, q)| q).collect())
}

/// The IRQ numbers in `DEVICE/msi_irqs/`, or `None` if the device has no such directory.
fn msi_irqs(
    fs: &dyn Files,
    iface: &IfName,
    device: &Path,
) -> Result<Option<Vec<u32>>, DiscoverError> {
    let dir = device.join("msi_irqs");
    let entries = match fs.read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(DiscoverError::Read {
                iface: iface.clone(),
                path: fs.display(&dir),
                err,
            });
        }
    };
    entries
        .into_iter()
        .map(|entry| {
            entry
                .to_str()
                .and_then(|e| e.parse().ok())
                .ok_or_else(|| DiscoverError::BadMsiEntry {
                    iface: iface.clone(),
                    path: fs.display(&dir),
                    entry: crate::types::escape_bytes(entry.as_encoded_bytes()),
                })
        })
        .collect::<Result<Vec<u32>, _>>()
        .map(Some)
}

fn file_name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// `DDDD:BB:DD.F`, as `pci_name()` prints it and as sysfs names PCI device directories.
fn is_pci_address(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b':',
            10 => *c == b'.',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Which direction a vector serves; orders the vectors of one queue index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Dir {
    Both,
    Rx,
    Tx,
}

/// What the vector names of one NIC may contain.
struct Names<'a> {
    iface: &'a str,
    bdf: Option<&'a str>,
    virtio: Option<&'a str>,
}

/// Driver prefixes put before the interface name (i40e, ice and iavf use the driver name).
const DRIVER_PREFIXES: [&str; 4] = ["", "i40e-", "ice-", "iavf-"];

impl Names<'_> {
    /// The queue index and direction of a queue vector's action name; `None` for control
    /// vectors and other devices' vectors.
    fn classify(&self, action: &str) -> Option<(u32, Dir)> {
        if let Some(bdf) = self.bdf {
            if let Some((n, at)) = action
                .strip_prefix("mlx5_comp")
                .and_then(|r| r.split_once("@pci:"))
            {
                return (at == bdf).then(|| index(n).map(|q| (q, Dir::Both)))?;
            }
        }
        if let Some(dev) = self.virtio {
            // Only `virtioN-...` names belong to a virtio NIC; `-config` and the shared
            // `-virtqueues` vector (too few MSI-X vectors) carry no single queue.
            let rest = action.strip_prefix(dev)?.strip_prefix('-')?;
            return if let Some(n) = rest.strip_prefix("input.") {
                index(n).map(|q| (q, Dir::Rx))
            } else {
                index(rest.strip_prefix("output.")?).map(|q| (q, Dir::Tx))
            };
        }
        DRIVER_PREFIXES.iter().find_map(|prefix| {
            let rest = action
                .strip_prefix(prefix)?
                .strip_prefix(self.iface)?
                .strip_prefix('-')?;
            let (kind, n) = rest.rsplit_once('-')?;
            let dir = match kind {
                "TxRx" | "Tx-Rx" => Dir::Both,
                "rx" => Dir::Rx,
                "tx" => Dir::Tx,
                _ => return None,
            };
            index(n).map(|q| (q, dir))
        })
    }
}

fn index(n: &str) -> Option<u32> {
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names<'a>(iface: &'a str, bdf: Option<&'a str>, virtio: Option<&'a str>) -> Names<'a> {
        Names { iface, bdf, virtio }
    }

    #[test]
    fn queue_vectors_by_driver() {
        let eth0 = names("eth0", Some("0000:3b:00.0"), None);
        for (action, want) in [
            ("eth0-TxRx-3", Some((3, Dir::Both))),
            ("eth0-rx-1", Some((1, Dir::Rx))),
            ("eth0-tx-1", Some((1, Dir::Tx))),
            ("i40e-eth0-TxRx-12", Some((12, Dir::Both))),
            ("ice-eth0-TxRx-0", Some((0, Dir::Both))),
            ("eth0-Tx-Rx-7", Some((7, Dir::Both))),
            ("mlx5_comp5@pci:0000:3b:00.0", Some((5, Dir::Both))),
            ("mlx5_comp5@pci:0000:3b:00.1", None),
            ("mlx5_async0@pci:0000:3b:00.0", None),
            ("i40e-0000:3b:00.0:misc", None),
            ("i40e-0000:3b:00.0:fdir-TxRx-0", None),
            ("ena-mgmnt@pci:0000:3b:00.0", None),
            ("eth0", None),
            ("eth10-TxRx-0", None),
            ("eth0-TxRx-x", None),
            ("eth0-TxRx-", None),
            ("nvme0q1", None),
        ] {
            assert_eq!(eth0.classify(action), want, "{action}");
        }
    }

    #[test]
    fn virtio_vectors_are_named_after_the_virtio_device() {
        let v = names("eth0", None, Some("virtio1"));
        assert_eq!(v.classify("virtio1-input.2"), Some((2, Dir::Rx)));
        assert_eq!(v.classify("virtio1-output.2"), Some((2, Dir::Tx)));
        assert_eq!(v.classify("virtio1-config"), None);
        assert_eq!(v.classify("virtio1-virtqueues"), None);
        assert_eq!(v.classify("virtio10-input.0"), None);
        assert_eq!(v.classify("virtio0-input.0"), None);
        assert_eq!(v.classify("eth0-TxRx-0"), None);
    }

    #[test]
    fn pci_addresses() {
        assert!(is_pci_address("0000:3b:00.0"));
        assert!(!is_pci_address("virtio0"));
        assert!(!is_pci_address("pci0000:3a"));
    }
}
