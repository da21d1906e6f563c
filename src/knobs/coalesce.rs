//! Interrupt coalescing (`ethtool -c/-C`, the ETHTOOL_GCOALESCE/SCOALESCE ioctls): how long,
//! or after how many frames, a NIC waits before it raises a receive or transmit interrupt.
//! `coalesce = { "rx-usecs" = 64, "adaptive-rx" = false }` names parameters as ethtool(8)
//! does; only those are compared and written. The ioctl carries every parameter, so a write
//! reads the whole struct first and changes only the named ones.
//!
//! Drivers take values their own way: e1000e turns `rx-usecs` into an interrupt rate
//! (`1000000 / rx-usecs`, low two bits cleared) and reports `1000000 / rate` back, so 3000
//! reads back as 3012; it refuses (EINVAL) 2, 5-9 and anything above 10000. A rounded
//! read-back is `clamped` (and kept, so later audits compare against it); a refused value
//! fails the apply, which is undone.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::host::ethtool_cmds::CoalesceParam;
use crate::host::{Coalesce, Host, NicError, NicOpsExt as _};
use crate::knobs::cx::PlanCx;
use crate::knobs::nic_knob::NicKnob;
use crate::knobs::queues::{compare, read_failed};
use crate::knobs::{Entry, Kind, KnobError, Setting, SettingOps};
use crate::schema::{Loc, ProfileError};
use crate::types::IfName;

/// One value of `coalesce`: a number, or `true`/`false` for `adaptive-rx`/`adaptive-tx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoalesceNum {
    N(u32),
    Bool(bool),
}

impl CoalesceNum {
    /// The number the kernel field holds (`true` is 1).
    pub fn get(self) -> u32 {
        match self {
            Self::N(n) => n,
            Self::Bool(b) => b.into(),
        }
    }
}

impl<'de> Deserialize<'de> for CoalesceNum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = CoalesceNum;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number from 0 to 4294967295 (or true/false for adaptive-rx/-tx)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<CoalesceNum, E> {
                u32::try_from(v).map(CoalesceNum::N).map_err(|_| {
                    E::custom(format!(
                        "{v} is not a coalescing value: give a number from 0 to 4294967295"
                    ))
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<CoalesceNum, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<CoalesceNum, E> {
                Ok(CoalesceNum::Bool(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for CoalesceNum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::N(n) => s.serialize_u32(*n),
            Self::Bool(b) => s.serialize_bool(*b),
        }
    }
}

/// `coalesce = { "rx-usecs" = 64, "adaptive-rx" = 0 }`: `ethtool -C` parameter names to
/// values. A name ethtool(8) does not know is refused while loading.
pub type CoalesceSpec = BTreeMap<CoalesceParam, CoalesceNum>;

/// Parameters that are switches (0 off, 1 on).
const SWITCHES: [&str; 2] = ["adaptive-rx", "adaptive-tx"];

/// The `coalesce` knob: one `coalesce` item per interface.
pub struct Coalescing;

impl NicKnob for Coalescing {
    type Spec = CoalesceSpec;
    type Observed = Result<Coalesce, NicError>;
    const KIND: Kind = Kind::Coalesce;

    fn validate(spec: &CoalesceSpec, at: &Loc, errs: &mut Vec<ProfileError>) {
        let mut bad = |msg: String| errs.push(ProfileError::invalid(at.clone(), msg));
        if spec.is_empty() {
            bad("coalesce: give at least one parameter, such as \"rx-usecs\" = 64".into());
        }
        for (p, v) in spec {
            let switch = SWITCHES.contains(&p.name());
            match v {
                CoalesceNum::Bool(_) if !switch => {
                    bad(format!("coalesce: {p} takes a number, not true/false"));
                }
                CoalesceNum::N(n) if switch && *n > 1 => {
                    bad(format!("coalesce: {p} is 0 or 1 (or false/true), not {n}"));
                }
                _ => {}
            }
        }
    }

    fn observe(_: &CoalesceSpec, iface: &IfName, cx: &PlanCx) -> Self::Observed {
        cx.host.nic.read(iface, ())
    }

    fn diff(spec: &CoalesceSpec, iface: &IfName, live: Self::Observed) -> Vec<Entry> {
        diff(spec, iface, live)
    }
}

/// The named parameters against the live ones (pure). A driver without coalescing
/// (EOPNOTSUPP: veth, an offline tree) makes the item `unsupported`.
pub fn diff(spec: &CoalesceSpec, iface: &IfName, live: Result<Coalesce, NicError>) -> Vec<Entry> {
    let want: BTreeMap<CoalesceParam, u32> = spec.iter().map(|(p, v)| (*p, v.get())).collect();
    let live = match live {
        Ok(c) => c,
        Err(e) => return vec![read_failed(Kind::Coalesce, iface, &show(&want), e)],
    };
    let now = want.keys().map(|p| (*p, live.get(*p))).collect();
    let setting = |params| Setting::Coalesce {
        iface: iface.clone(),
        params,
    };
    vec![compare(setting(want), setting(now))]
}

/// `rx-usecs 64, adaptive-rx 0`, in struct order.
fn show(params: &BTreeMap<CoalesceParam, u32>) -> String {
    let parts: Vec<String> = params.iter().map(|(p, v)| format!("{p} {v}")).collect();
    parts.join(", ")
}

/// Coalescing parameters in snapshots: the named ones only.
pub struct CoalesceOps;

impl SettingOps for CoalesceOps {
    fn address(s: &Setting) -> String {
        let Setting::Coalesce { iface, .. } = s else {
            unreachable!()
        };
        format!("coalesce {iface}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::Coalesce { iface, params } = s else {
            unreachable!()
        };
        (Kind::Coalesce, iface.to_string(), show(params))
    }
    /// e1000e stores `rx-usecs` as an interrupt rate and reads back the rate's inverse
    /// (3000 comes back as 3012): see the module documentation.
    fn may_round(_: &Setting) -> bool {
        true
    }
    /// An interface name and at least one parameter (names are checked as they are parsed).
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::Coalesce { iface, params } = s else {
            unreachable!()
        };
        if params.is_empty() {
            return Err("no coalescing parameter".into());
        }
        crate::knobs::setting::check_iface(iface)
    }
    /// Equivalent to `ethtool -c IFACE`, keeping the parameters `at` names.
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        let Setting::Coalesce { iface, params } = at else {
            unreachable!()
        };
        let live: Coalesce = host.nic.read(iface, ())?;
        Ok(Setting::Coalesce {
            iface: iface.clone(),
            params: params.keys().map(|p| (*p, live.get(*p))).collect(),
        })
    }
    /// Equivalent to `ethtool -C IFACE rx-usecs 64 ...`: the whole struct as read, with the
    /// named parameters changed; nothing is written when they already hold those values.
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        let Setting::Coalesce { iface, params } = s else {
            unreachable!()
        };
        let mut c: Coalesce = host.nic.read(iface, ())?;
        if params.iter().all(|(p, v)| c.get(*p) == *v) {
            return Ok(());
        }
        for (p, v) in params {
            c.set(*p, *v);
        }
        Ok(host.nic.write(iface, c)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knobs::Status;

    fn spec(toml_text: &str) -> CoalesceSpec {
        #[derive(Deserialize)]
        struct R {
            coalesce: CoalesceSpec,
        }
        toml::from_str::<R>(toml_text).unwrap().coalesce
    }

    fn live(pairs: &[(&str, u32)]) -> Coalesce {
        let mut c = Coalesce::default();
        for (n, v) in pairs {
            c.set_by_name(n, *v).unwrap();
        }
        c
    }

    #[test]
    fn diff_table() {
        let eth0: IfName = "eth0".parse().unwrap();
        // (spec, live parameters, desired text, live text, status)
        type Row<'a> = (&'a str, &'a [(&'a str, u32)], &'a str, &'a str, Status);
        let rows: [Row; 4] = [
            (
                r#"coalesce = { "rx-usecs" = 64 }"#,
                &[("rx-usecs", 3), ("tx-usecs", 8)],
                "rx-usecs 64",
                "rx-usecs 3",
                Status::Drift,
            ),
            (
                r#"coalesce = { "rx-usecs" = 64, "adaptive-rx" = false }"#,
                &[("rx-usecs", 64)],
                "rx-usecs 64, adaptive-rx 0",
                "rx-usecs 64, adaptive-rx 0",
                Status::Ok,
            ),
            (
                r#"coalesce = { "adaptive-tx" = true, "tx-frames" = 32 }"#,
                &[("tx-frames", 32), ("adaptive-tx", 0), ("rx-usecs", 50)],
                "tx-frames 32, adaptive-tx 1",
                "tx-frames 32, adaptive-tx 0",
                Status::Drift,
            ),
            // Parameters the rule does not name are neither compared nor shown.
            (
                r#"coalesce = { "tx-usecs" = 8 }"#,
                &[("tx-usecs", 8), ("rx-usecs", 999)],
                "tx-usecs 8",
                "tx-usecs 8",
                Status::Ok,
            ),
        ];
        for (text, now, want_d, want_l, status) in rows {
            let d = diff(&spec(text), &eth0, Ok(live(now)));
            assert_eq!(d.len(), 1, "{text}");
            let i = &d[0].item;
            assert_eq!(
                (
                    i.object.as_str(),
                    i.desired.as_str(),
                    i.live.as_str(),
                    i.status
                ),
                ("eth0", want_d, want_l, status),
                "{text}"
            );
        }
    }

    #[test]
    fn a_driver_without_coalescing_is_unsupported_and_other_errors_fail() {
        let eth0: IfName = "eth0".parse().unwrap();
        let s = spec(r#"coalesce = { "rx-usecs" = 64 }"#);
        let e = NicError::unsupported("ETHTOOL_GCOALESCE", &eth0, "Operation not supported");
        let d = diff(&s, &eth0, Err(e));
        assert_eq!(d[0].item.status, Status::Unsupported);
        assert_eq!(d[0].item.desired, "rx-usecs 64");
        assert!(d[0].desired.is_none());
        let e = NicError::Os {
            op: "ETHTOOL_GCOALESCE",
            iface: eth0.clone(),
            errno: nix::errno::Errno::ENODEV,
        };
        assert_eq!(diff(&s, &eth0, Err(e))[0].item.status, Status::Error);
    }

    #[test]
    fn bad_values_are_refused_while_loading() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct R {
            coalesce: CoalesceSpec,
        }
        let err = |t: &str| toml::from_str::<R>(t).unwrap_err().to_string();
        assert!(err(r#"coalesce = { "rx_usecs" = 1 }"#).contains("\"rx_usecs\""));
        assert!(err(r#"coalesce = { "rx-usecs" = -1 }"#).contains("from 0 to 4294967295"));
        assert!(err(r#"coalesce = { "rx-usecs" = "64" }"#).contains("a number"));

        let at = Loc {
            file: "p.toml".into(),
            line: 2,
            col: 1,
        };
        let check = |t: &str| {
            let mut errs = Vec::new();
            Coalescing::validate(&spec(t), &at, &mut errs);
            errs.iter().map(|e| e.to_string()).collect::<Vec<_>>()
        };
        assert!(check(r#"coalesce = { "adaptive-rx" = true, "rx-usecs" = 0 }"#).is_empty());
        assert_eq!(
            check(r#"coalesce = { "rx-usecs" = true }"#),
            ["p.toml:2:1: coalesce: rx-usecs takes a number, not true/false"]
        );
        assert_eq!(
            check(r#"coalesce = { "adaptive-tx" = 2 }"#),
            ["p.toml:2:1: coalesce: adaptive-tx is 0 or 1 (or false/true), not 2"]
        );
        assert_eq!(check("coalesce = {}").len(), 1);
    }
}
