//! The transmit queue length (`/sys/class/net/IFACE/tx_queue_len`).

use crate::host::{Host, paths};
use crate::knobs::KnobError;
use crate::knobs::nic::{Count, NicRule};
use crate::knobs::queues::{compare, refused};
use crate::plan::{Entry, Kind, Setting};
use crate::types::IfName;

/// Plans the rule's transmit queue length for one interface: one `txqueuelen` item.
/// Equivalent to comparing `ip link show IFACE` (`qlen`) with the wanted length.
pub fn plan(rule: &NicRule, iface: &IfName, host: &Host) -> Vec<Entry> {
    // `"max"` is refused while loading: the kernel has no maximum to take.
    let Some(Count::N(len)) = rule.txqueuelen else {
        return Vec::new();
    };
    let want = Setting::Txqueuelen {
        iface: iface.clone(),
        len,
    };
    match read(host, &want) {
        Ok(live) => vec![compare(want, live)],
        Err(e) => vec![refused(
            Kind::Txqueuelen,
            iface,
            &len.to_string(),
            e.to_string(),
        )],
    }
}

/// Writes the queue length. Equivalent to `ip link set IFACE txqueuelen N`.
pub fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
    let Setting::Txqueuelen { iface, len } = s else {
        unreachable!("txqueuelen::write of {s:?}")
    };
    let path = paths::net(iface, "tx_queue_len");
    host.fs
        .write(&path, &format!("{len}\n"))
        .map_err(|source| KnobError::File {
            path: host.fs.display(&path).display().to_string(),
            op: "write",
            source,
        })
}

/// Reads the queue length.
pub fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
    let Setting::Txqueuelen { iface, .. } = at else {
        unreachable!("txqueuelen::read of {at:?}")
    };
    let path = paths::net(iface, "tx_queue_len");
    let text = host.fs.read(&path).map_err(|source| KnobError::File {
        path: host.fs.display(&path).display().to_string(),
        op: "read",
        source,
    })?;
    let len = text.trim().parse().map_err(|_| KnobError::Other {
        iface: iface.clone(),
        what: format!("tx_queue_len {:?} is not a number", text.trim()),
    })?;
    Ok(Setting::Txqueuelen {
        iface: iface.clone(),
        len,
    })
}
