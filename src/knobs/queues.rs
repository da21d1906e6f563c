//! Plan steps shared by the per-NIC queue knobs (`ring.rs`, `channels.rs`, `txqueuelen.rs`):
//! turning `"max"` into the driver's number, refusing what the driver cannot take, and the
//! report line for a compared setting, an unsupported operation or a failed read.

use crate::host::NicError;
use crate::knobs::nic_knob::Count;
use crate::knobs::{Entry, Item, Kind, Setting, Status};
use crate::types::IfName;

/// The number a count asks for on this interface: `"max"` is the driver's pre-set maximum
/// (`ethtool -g/-l` "Pre-set maximums"). A number above it is refused here, at plan time,
/// because the ethtool core would refuse it with a bare EINVAL halfway through an apply.
pub fn pick(iface: &IfName, what: &str, want: Count, max: u32) -> Result<u32, String> {
    match want {
        _ if max == 0 => Err(format!(
            "{iface}'s driver reports no {what} (its maximum is 0)"
        )),
        Count::Max => Ok(max),
        Count::N(n) if n > max => Err(format!(
            "{what} {n} is above the maximum {max} that {iface}'s driver reports"
        )),
        Count::N(n) => Ok(n),
    }
}

/// Desired against live: `ok` when equal, else `drift` (apply writes `desired`). Equality is
/// exact, so a value the driver rounds shows as drift until an apply records it as kept.
pub fn compare(desired: Setting, live: Setting) -> Entry {
    let (kind, object, want) = desired.describe();
    let (_, _, now) = live.describe();
    let status = Status::of(desired == live);
    Entry::new(
        Item::new(kind, object, want, now, status),
        Some(desired),
        Some(live),
    )
}

/// An item that cannot be planned: apply stops before any write.
pub fn refused(kind: Kind, iface: &IfName, desired: &str, why: String) -> Entry {
    Entry::new(
        Item::new(kind, iface.as_str(), desired, "-", Status::Error).note(why),
        None,
        None,
    )
}

/// A failed read of the live value: EOPNOTSUPP (veth rings, an offline `--root` tree) is
/// `unsupported` and the rest of the profile still applies; any other errno is an error.
pub fn read_failed(kind: Kind, iface: &IfName, desired: &str, err: NicError) -> Entry {
    let status = match err {
        NicError::Unsupported { .. } => Status::Unsupported,
        NicError::Os { .. } => Status::Error,
    };
    Entry::new(
        Item::new(kind, iface.as_str(), desired, "-", status).note(err.to_string()),
        None,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_takes_the_driver_maximum_and_above_it_is_refused() {
        let eth0: IfName = "eth0".parse().unwrap();
        assert_eq!(pick(&eth0, "rx ring", Count::Max, 4096), Ok(4096));
        assert_eq!(pick(&eth0, "rx ring", Count::N(4096), 4096), Ok(4096));
        let e = pick(&eth0, "rx ring", Count::N(5000), 4096).unwrap_err();
        assert!(e.contains("rx ring 5000") && e.contains("4096") && e.contains("eth0"));
        assert!(pick(&eth0, "tx ring", Count::Max, 0).is_err());
    }
}
