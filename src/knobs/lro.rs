//! Large receive offload of one device, on or off: recorded only as a side effect. The kernel
//! turns LRO off on every device when IPv4 or IPv6 forwarding is enabled for all interfaces,
//! and on one device when forwarding is enabled on it (`dev_disable_lro`, see
//! Documentation/networking/ip-sysctl.rst, `forwarding`): LRO merges segments that a router
//! must forward as they came. hosttune records a device's LRO before such a write so that an
//! undo or rollback turns it back on.

use crate::host::Host;
use crate::host::NicOpsExt as _;
use crate::knobs::{Kind, KnobError, Setting};

/// [`Setting::Lro`]'s operations.
pub struct LroOps;

impl crate::knobs::SettingOps for LroOps {
    fn address(s: &Setting) -> String {
        let Setting::Lro { iface, .. } = s else {
            unreachable!()
        };
        format!("lro {iface}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::Lro { iface, on } = s else {
            unreachable!()
        };
        let v = if *on { "on" } else { "off" };
        (Kind::Lro, iface.to_string(), v.into())
    }
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::Lro { iface, .. } = s else {
            unreachable!()
        };
        crate::knobs::setting::check_iface(iface)
    }
    /// Equivalent to `ethtool -k IFACE` (`large-receive-offload`).
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        let Setting::Lro { iface, .. } = at else {
            unreachable!()
        };
        Ok(Setting::Lro {
            iface: iface.clone(),
            on: host.nic.lro(iface)?,
        })
    }
    /// Equivalent to `ethtool -K IFACE lro on|off`.
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        let Setting::Lro { iface, on } = s else {
            unreachable!()
        };
        host.nic.set_lro(iface, *on)?;
        Ok(())
    }
}
