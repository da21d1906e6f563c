//! Offload features (`ethtool -k/-K`, the ETHTOOL_GFEATURES/SFEATURES ioctls): GRO, LRO,
//! `rx-udp-gro-forwarding` and the rest, by the names `ethtool -k` prints or the kernel's own
//! (`generic-receive-offload` is `rx-gro`).
//!
//! A feature change can change others (the kernel recomputes dependent features in
//! `netdev_update_features`), so the value a snapshot records is every feature of the
//! device as read, and undo and rollback write all of the changeable ones back; the
//! desired value names only the features the profile gives, and only those are compared.
//! A feature this kernel does not have is `unsupported` (older kernels lack
//! `rx-udp-gro-forwarding`, added in 5.12); one the device cannot change (`[fixed]`) is
//! `unsupported` when it differs, in sync when it already matches.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::host::ethtool_cmds::FEATURE_ALIASES;
use crate::host::{FeatureMap, FeatureState, Host, NicError, NicOpsExt as _};
use crate::knobs::cx::PlanCx;
use crate::knobs::nic_knob::NicKnob;
use crate::knobs::queues::read_failed;
use crate::knobs::{Entry, Item, Kind, KnobError, Setting, SettingOps, Status};
use crate::schema::{Loc, ProfileError};
use crate::types::IfName;

/// `features = { "generic-receive-offload" = true, "large-receive-offload" = false }`, plus
/// the explicit opt-out of the forwarding lint for this NIC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeaturesSpec {
    /// Keep `large-receive-offload = true` although the host forwards (the kernel warns and
    /// the forwarded packets suffer; see the README).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_lro_with_forwarding: bool,
    /// Feature name to on/off.
    #[serde(flatten)]
    pub features: BTreeMap<String, bool>,
}

/// The kernel's name of a feature given by `ethtool -k`'s name or the kernel's own.
pub fn kernel_name(name: &str) -> &str {
    FEATURE_ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, k)| k)
}

/// Whether a name has the shape of ethtool's and the kernel's feature names: lower-case
/// letters, digits, dashes and underscores (`rx-udp_tunnel-port-offload`).
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Whether a profile's feature name means LRO.
pub fn is_lro(name: &str) -> bool {
    kernel_name(name) == "rx-lro"
}

/// Whether a profile's feature name means GRO.
pub fn is_gro(name: &str) -> bool {
    kernel_name(name) == "rx-gro"
}

/// The `features` knob: one `features` item per interface.
pub struct Features;

impl NicKnob for Features {
    type Spec = FeaturesSpec;
    type Observed = Result<FeatureMap, NicError>;
    const KIND: Kind = Kind::Features;

    fn set_by(spec: &FeaturesSpec) -> bool {
        !spec.features.is_empty()
    }

    /// Names are ethtool's or the kernel's: lower-case letters, digits, dashes and
    /// underscores. Which ones a kernel has is only known on the host (a missing one is
    /// `unsupported` there).
    fn validate(spec: &FeaturesSpec, at: &Loc, errs: &mut Vec<ProfileError>) {
        for name in spec.features.keys() {
            if !is_name(name) {
                errs.push(ProfileError::invalid(
                    at.clone(),
                    format!(
                        "features: {name:?} is not a feature name (ethtool -k IFACE lists them, \
                         e.g. \"generic-receive-offload\")"
                    ),
                ));
            }
        }
        let mut by_kernel: BTreeMap<&str, (&str, bool)> = BTreeMap::new();
        for (name, on) in &spec.features {
            if let Some((other, was)) = by_kernel.insert(kernel_name(name), (name, *on)) {
                if was != *on {
                    errs.push(ProfileError::invalid(
                        at.clone(),
                        format!("features: {other:?} and {name:?} are one feature, set both ways"),
                    ));
                }
            }
        }
    }

    fn observe(_: &FeaturesSpec, iface: &IfName, cx: &PlanCx) -> Self::Observed {
        cx.host.nic.read::<FeatureMap>(iface, ())
    }

    fn diff(spec: &FeaturesSpec, iface: &IfName, live: Self::Observed) -> Vec<Entry> {
        diff(spec, iface, live)
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Named features against the device's (pure): one item per interface, or an `unsupported`
/// one naming the features this kernel lacks or the device cannot change.
pub fn diff(spec: &FeaturesSpec, iface: &IfName, live: Result<FeatureMap, NicError>) -> Vec<Entry> {
    let asked: Vec<String> = spec
        .features
        .iter()
        .map(|(n, on)| format!("{n} {}", on_off(*on)))
        .collect();
    let asked = asked.join(", ");
    let live = match live {
        Ok(m) => m,
        Err(e) => return vec![read_failed(Kind::Features, iface, &asked, e)],
    };
    let mut want = FeatureMap::new();
    let mut missing = Vec::new();
    let mut fixed = Vec::new();
    let mut shown = Vec::new();
    for (name, &on) in &spec.features {
        let k = kernel_name(name);
        match live.get(k) {
            None => missing.push(name.as_str()),
            Some(s) if s.fixed && s.on != on => fixed.push(format!("{name} is {}", on_off(s.on))),
            Some(s) => {
                shown.push(format!("{name} {}", on_off(s.on)));
                if !s.fixed {
                    want.insert(k.to_string(), FeatureState { on, fixed: false });
                }
            }
        }
    }
    if !missing.is_empty() || !fixed.is_empty() {
        let mut why = Vec::new();
        if !missing.is_empty() {
            why.push(format!(
                "this kernel has no feature {} (ethtool -k {iface} lists them)",
                missing.join(", ")
            ));
        }
        if !fixed.is_empty() {
            why.push(format!("fixed on {iface}: {}", fixed.join(", ")));
        }
        return vec![Entry::new(
            Item::new(
                Kind::Features,
                iface.as_str(),
                asked,
                "-",
                Status::Unsupported,
            )
            .note(why.join("; ")),
            None,
            None,
        )];
    }
    let desired = Setting::Features {
        iface: iface.clone(),
        features: want,
    };
    let live = Setting::Features {
        iface: iface.clone(),
        features: live,
    };
    let status = Status::of(FeaturesOps::same(&desired, &live));
    vec![Entry::new(
        Item::new(
            Kind::Features,
            iface.as_str(),
            asked,
            shown.join(", "),
            status,
        ),
        Some(desired),
        Some(live),
    )]
}

/// Feature states in snapshots: every feature of the device as read (so dependants come back
/// too), or the named ones to write.
pub struct FeaturesOps;

impl SettingOps for FeaturesOps {
    fn address(s: &Setting) -> String {
        let Setting::Features { iface, .. } = s else {
            unreachable!()
        };
        format!("features {iface}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::Features { iface, features } = s else {
            unreachable!()
        };
        let text = if features.len() <= 4 {
            let v: Vec<String> = features
                .iter()
                .map(|(n, st)| format!("{n} {}", on_off(st.on)))
                .collect();
            v.join(", ")
        } else {
            let on = features.values().filter(|st| st.on).count();
            format!("{} features as read, {on} on", features.len())
        };
        (Kind::Features, iface.to_string(), text)
    }
    /// Every feature that both name has the same state: the named ones of a desired value
    /// against all of a read one, or two full reads.
    fn same(a: &Setting, b: &Setting) -> bool {
        let (
            Setting::Features {
                iface: i1,
                features: a,
            },
            Setting::Features {
                iface: i2,
                features: b,
            },
        ) = (a, b)
        else {
            return false;
        };
        let (small, big) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        i1 == i2
            && small
                .iter()
                .all(|(n, s)| big.get(n).is_some_and(|t| t.on == s.on))
    }
    /// An interface name and feature names of letters, digits, dashes and underscores.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::Features { iface, features } = s else {
            unreachable!()
        };
        crate::knobs::setting::check_iface(iface)?;
        match features.keys().find(|n| !is_name(n)) {
            Some(bad) => Err(format!("{bad:?} is not a feature name")),
            None => Ok(()),
        }
    }
    /// Equivalent to `ethtool -k IFACE`.
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        let Setting::Features { iface, .. } = at else {
            unreachable!()
        };
        Ok(Setting::Features {
            iface: iface.clone(),
            features: host.nic.read::<FeatureMap>(iface, ())?,
        })
    }
    /// Equivalent to `ethtool -K IFACE NAME on|off ...` for every feature it holds that the
    /// device can change.
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        let Setting::Features { iface, features } = s else {
            unreachable!()
        };
        Ok(host.nic.write(iface, features.clone())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(states: &[(&str, bool, bool)]) -> FeatureMap {
        states
            .iter()
            .map(|(n, on, fixed)| {
                (
                    n.to_string(),
                    FeatureState {
                        on: *on,
                        fixed: *fixed,
                    },
                )
            })
            .collect()
    }

    fn spec(f: &[(&str, bool)]) -> FeaturesSpec {
        FeaturesSpec {
            allow_lro_with_forwarding: false,
            features: f.iter().map(|(n, on)| (n.to_string(), *on)).collect(),
        }
    }

    #[test]
    fn diff_table() {
        let eth0: IfName = "eth0".parse().unwrap();
        let device = live(&[
            ("rx-gro", true, false),
            ("rx-lro", false, true),
            ("rx-udp-gro-forwarding", false, false),
            ("tx-generic-segmentation", true, false),
        ]);
        // (asked, status, live text)
        type Row<'a> = (&'a [(&'a str, bool)], Status, &'a str);
        let rows: [Row; 6] = [
            (
                &[("generic-receive-offload", true)],
                Status::Ok,
                "generic-receive-offload on",
            ),
            (&[("gro", false)], Status::Drift, "gro on"),
            (
                &[
                    ("rx-udp-gro-forwarding", true),
                    ("large-receive-offload", false),
                ],
                Status::Drift,
                "large-receive-offload off, rx-udp-gro-forwarding off",
            ),
            (&[("large-receive-offload", true)], Status::Unsupported, "-"),
            (&[("rx-gro-list", true)], Status::Unsupported, "-"),
            (&[("rx-lro", false)], Status::Ok, "rx-lro off"),
        ];
        for (asked, status, shown) in rows {
            let d = diff(&spec(asked), &eth0, Ok(device.clone()));
            assert_eq!(d.len(), 1);
            assert_eq!(
                (d[0].item.status, d[0].item.live.as_str()),
                (status, shown),
                "{asked:?}"
            );
        }
        let d = diff(&spec(&[("rx-gro-list", true)]), &eth0, Ok(device.clone()));
        assert!(
            d[0].item
                .note
                .as_ref()
                .unwrap()
                .contains("no feature rx-gro-list")
        );
        let d = diff(&spec(&[("lro", true)]), &eth0, Ok(device));
        assert!(
            d[0].item
                .note
                .as_ref()
                .unwrap()
                .contains("fixed on eth0: lro is off")
        );
    }

    #[test]
    fn a_snapshot_holds_every_feature_and_a_desired_value_only_the_named() {
        let eth0: IfName = "eth0".parse().unwrap();
        let device = live(&[("rx-gro", true, false), ("rx-gro-hw", true, false)]);
        let d = diff(&spec(&[("gro", false)]), &eth0, Ok(device));
        let Some(Setting::Features { features: want, .. }) = &d[0].desired else {
            panic!()
        };
        assert_eq!(want.keys().collect::<Vec<_>>(), ["rx-gro"]);
        let Some(Setting::Features { features: was, .. }) = &d[0].live else {
            panic!()
        };
        assert_eq!(was.len(), 2, "dependants are recorded for undo");
        // After the write the kernel also turned rx-gro-hw off: the named one reads back.
        let back = Setting::Features {
            iface: eth0.clone(),
            features: live(&[("rx-gro", false, false), ("rx-gro-hw", false, false)]),
        };
        assert!(FeaturesOps::same(d[0].desired.as_ref().unwrap(), &back));
        assert!(!FeaturesOps::same(d[0].live.as_ref().unwrap(), &back));
    }

    #[test]
    fn names_are_checked_while_loading() {
        let at = Loc::default();
        let mut errs = Vec::new();
        Features::validate(&spec(&[("GRO", true), ("rx gro", true)]), &at, &mut errs);
        assert_eq!(errs.len(), 2, "{errs:?}");
        errs.clear();
        Features::validate(&spec(&[("gro", true), ("rx-gro", false)]), &at, &mut errs);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].to_string().contains("one feature"), "{errs:?}");
        errs.clear();
        Features::validate(&spec(&[("gro", true), ("rx-gro", true)]), &at, &mut errs);
        assert!(errs.is_empty());
    }
}
