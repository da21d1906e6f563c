//! [`Setting`]: a value at one place on the host, as snapshots store it and apply writes it.
//! The enum is generated from the registry (`registry.rs`), one variant per kind of value,
//! each dispatching to its knob's [`SettingOps`]: the closed set stays an enum because it is
//! a file format, and the compiler still checks every case.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::{Kind, KnobError, Setting};
use crate::host::Host;
use crate::types::IfName;

/// What each kind of [`Setting`] knows about itself; implemented by one unit type in its
/// knob's module and named next to the variant in the registry.
pub trait SettingOps {
    /// The place it lives, for matching a snapshot entry with a live read and for the
    /// kept-values store (`sysctl net.core.somaxconn`, `channels eth0`).
    fn address(s: &Setting) -> String;
    /// The report kind, object and value text.
    fn describe(s: &Setting) -> (Kind, String, String);
    /// Whether two settings at the same address hold the same value, as the kernel compares
    /// them.
    fn same(a: &Setting, b: &Setting) -> bool {
        a == b
    }
    /// Whether the kernel or driver is known to round this value on write, so that a
    /// read-back that differs is `clamped` (and remembered) rather than a failed write.
    fn may_round(_s: &Setting) -> bool {
        false
    }
    /// Whether a rollback restores it after every other kind: values that belong to objects
    /// which restoring another setting re-creates (a NIC's queues, re-created by its
    /// channels). A knob whose plan is stale after another's (`NicKnob::stale_after`) says
    /// yes for its values.
    fn restores_late() -> bool {
        false
    }
    /// Whether a setting read back from a snapshot lies on the tuning surface, checked before
    /// anything is written: a snapshot decides what `rollback` writes as root, so a file
    /// that is not this knob's, a service that is not irqbalance or a path that leaves
    /// `/proc/sys` is refused. No default: every kind says what it accepts.
    fn validate(s: &Setting) -> Result<(), String>;
    /// Reads the live value at the setting's address.
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError>;
    /// Writes the setting.
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError>;
}

/// Declares the dispatch of each [`Setting`] variant to its knob's [`SettingOps`] from
/// `Variant => Ops` lines (`registry.rs`).
macro_rules! dispatch {
    ($( $var:ident => $ops:ty ),* $(,)?) => {
        impl Setting {
            /// See [`SettingOps::describe`]: the report kind, object and value text.
            pub fn describe(&self) -> ($crate::knobs::Kind, String, String) {
                match self { $( Setting::$var { .. } => <$ops as $crate::knobs::SettingOps>::describe(self), )* }
            }
            /// See [`SettingOps::address`].
            pub fn address(&self) -> String {
                match self { $( Setting::$var { .. } => <$ops as $crate::knobs::SettingOps>::address(self), )* }
            }
            /// See [`SettingOps::same`]; settings of different kinds are never the same.
            pub fn same_value(&self, other: &Setting) -> bool {
                match self {
                    $( Setting::$var { .. } => std::mem::discriminant(self) == std::mem::discriminant(other)
                        && <$ops as $crate::knobs::SettingOps>::same(self, other), )*
                }
            }
            /// See [`SettingOps::may_round`].
            pub fn may_round(&self) -> bool {
                match self { $( Setting::$var { .. } => <$ops as $crate::knobs::SettingOps>::may_round(self), )* }
            }
            /// See [`SettingOps::restores_late`].
            pub fn restores_late(&self) -> bool {
                match self { $( Setting::$var { .. } => <$ops as $crate::knobs::SettingOps>::restores_late(), )* }
            }
            /// See [`SettingOps::validate`].
            pub fn validate(&self) -> Result<(), String> {
                match self { $( Setting::$var { .. } => <$ops as $crate::knobs::SettingOps>::validate(self), )* }
            }
            /// See [`SettingOps::read`]. Equivalent to the knob's read command.
            pub fn read(&self, host: &$crate::host::Host) -> Result<Setting, $crate::knobs::KnobError> {
                match self { $( Setting::$var { .. } => <$ops as $crate::knobs::SettingOps>::read(host, self), )* }
            }
            /// See [`SettingOps::write`]. Equivalent to the knob's write command.
            pub fn write(&self, host: &$crate::host::Host) -> Result<(), $crate::knobs::KnobError> {
                match self { $( Setting::$var { .. } => <$ops as $crate::knobs::SettingOps>::write(host, self), )* }
            }
        }

        /// The report kind, object and value text of a setting.
        pub fn describe(s: &Setting) -> ($crate::knobs::Kind, String, String) {
            s.describe()
        }
    };
}

pub(crate) use dispatch;

/// An interface name that the kernel would accept: checked again (the type checks it as it is
/// parsed), because it becomes a `/sys/class/net` path component.
pub fn check_iface(iface: &IfName) -> Result<(), String> {
    iface
        .as_str()
        .parse::<IfName>()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Reads one setting of a snapshot (entry `index` of its `settings`), checked by its kind's
/// [`SettingOps::validate`]; the error names the entry by index, kind and place.
fn checked(index: usize, raw: serde_json::Value) -> Result<Setting, String> {
    let named = |what: String, why: String| format!("settings[{index}] ({what}): {why}");
    let label = raw_label(&raw);
    let s: Setting = serde_json::from_value(raw).map_err(|e| named(label, e.to_string()))?;
    s.validate()
        .map_err(|why| named(s.address(), format!("outside what hosttune tunes: {why}")))?;
    Ok(s)
}

/// `kind place` of an entry that does not parse, from its raw fields.
fn raw_label(raw: &serde_json::Value) -> String {
    let kind = raw
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("no kind");
    let place = ["path", "unit", "key", "iface", "irq"]
        .iter()
        .find_map(|f| raw.get(*f))
        .map(|v| match v {
            serde_json::Value::String(s) => format!(" {s:?}"),
            other => format!(" {other}"),
        })
        .unwrap_or_default();
    format!("{kind}{place}")
}

/// `#[serde(deserialize_with)]` for a snapshot's `settings`: every entry read and checked on
/// its own, so that the first one outside the tuning surface refuses the whole list, named.
pub fn checked_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Setting>, D::Error> {
    Vec::<serde_json::Value>::deserialize(d)?
        .into_iter()
        .enumerate()
        .map(|(i, raw)| checked(i, raw).map_err(D::Error::custom))
        .collect()
}

/// `#[serde(deserialize_with)]` for one stored setting (the kept-values file).
pub fn checked_one<'de, D: Deserializer<'de>>(d: D) -> Result<Setting, D::Error> {
    let s = Setting::deserialize(d)?;
    s.validate()
        .map_err(|why| D::Error::custom(format!("{}: {why}", s.address())))?;
    Ok(s)
}
