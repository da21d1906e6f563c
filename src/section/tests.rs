//! A section added the way a future one would be (one type, one line in a list), exercised
//! through parsing, `show`, merging and the plan: a `[tunnel]` section that creates an
//! interface, so that the `[sysctl]` keys of that interface plan against it in the same apply
//! instead of `pending`.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize, Serializer};

use super::{All, Run, Section, list};
use crate::host::{Host, RootFs};
use crate::knobs::cx::PlanCx;
use crate::knobs::{Entry, Item, Kind, Setting, Status};
use crate::plan::{Build, build_in};
use crate::profile::{Profile, parse_str_in};
use crate::schema::{Locator, ProfileError};
use crate::types::IfName;

/// `[tunnel] name = "tunl0"`, as written and validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TunnelSpec {
    name: String,
}

/// A section that creates one interface, and declares that `[sysctl]` follows it.
struct Tunnel;

impl Section for Tunnel {
    const TABLE: &'static str = "tunnel";
    const BEFORE: &'static [&'static str] = &["sysctl"];
    type Raw = TunnelSpec;
    type Value = TunnelSpec;

    fn validate(raw: TunnelSpec, loc: &Locator, errs: &mut Vec<ProfileError>) -> TunnelSpec {
        if let Err(e) = raw.name.parse::<IfName>() {
            errs.push(ProfileError::invalid(
                loc.file(),
                format!("[tunnel] name: {e}"),
            ));
        }
        raw
    }

    fn show<S: Serializer>(v: &TunnelSpec, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    fn creates(v: &TunnelSpec, _: &PlanCx) -> Vec<IfName> {
        v.name.parse().into_iter().collect()
    }

    fn plan(v: &TunnelSpec, _: &mut Run) -> Vec<Entry> {
        let item = Item::new(
            Kind::Sysctl,
            format!("tunnel {}", v.name),
            "up",
            "-",
            Status::Drift,
        );
        vec![Entry::new(item, None, None)]
    }
}

/// The same section without the declaration: it plans where the list puts it.
struct LateTunnel;

impl Section for LateTunnel {
    const TABLE: &'static str = "tunnel";
    type Raw = TunnelSpec;
    type Value = TunnelSpec;

    fn validate(raw: TunnelSpec, loc: &Locator, errs: &mut Vec<ProfileError>) -> TunnelSpec {
        Tunnel::validate(raw, loc, errs)
    }
    fn show<S: Serializer>(v: &TunnelSpec, s: S) -> Result<S::Ok, S::Error> {
        Tunnel::show(v, s)
    }
    fn creates(v: &TunnelSpec, cx: &PlanCx) -> Vec<IfName> {
        Tunnel::creates(v, cx)
    }
    fn plan(v: &TunnelSpec, run: &mut Run) -> Vec<Entry> {
        Tunnel::plan(v, run)
    }
}

/// Today's sections with `[tunnel]` added at the end: the one line a new section needs.
type WithTunnel = list![
    super::sysctl::Sysctl,
    super::dsr::Dsr,
    super::nic::Nic,
    super::cpu::Cpu,
    super::irqbalance::Irqbalance,
    super::conntrack::Conntrack,
    Tunnel,
];

type WithLateTunnel = list![super::sysctl::Sysctl, super::dsr::Dsr, LateTunnel];

const PROFILE: &str = "description = \"tunnel host\"\n\
                       [tunnel]\nname = \"tunl0\"\n\
                       [sysctl]\n\"net.ipv4.conf.tunl0.rp_filter\" = 0\n\
                       \"net.ipv4.conf.eth0.rp_filter\" = 1\n";

/// A host with `lo` and `eth0`, whose new interfaces start with `rp_filter` 2.
fn host_tree(root: &Path) {
    for iface in ["lo", "eth0"] {
        fs::create_dir_all(root.join("sys/class/net").join(iface)).unwrap();
    }
    for (conf, v) in [("all", "0"), ("default", "2"), ("lo", "0"), ("eth0", "1")] {
        let dir = root.join("proc/sys/net/ipv4/conf").join(conf);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("rp_filter"), format!("{v}\n")).unwrap();
    }
}

fn plan_with<L: super::List>(p: &Profile) -> Vec<Entry> {
    let dir = tempfile::tempdir().unwrap();
    host_tree(dir.path());
    let fs = RootFs::new(dir.path());
    let opts = Build {
        allow_host_global: false,
        boot_conflicts: false,
    };
    build_in::<L>(p, &Host::offline(&fs), &Default::default(), opts).entries
}

fn line(e: &Entry) -> (String, Status, String, String) {
    let i = &e.item;
    (
        i.object.clone(),
        i.status,
        i.desired.clone(),
        i.live.clone(),
    )
}

#[test]
fn a_created_interface_s_keys_plan_after_its_section_against_the_default_values() {
    let p = parse_str_in::<WithTunnel>("t.toml", PROFILE).unwrap();
    assert_eq!(p.extra.get::<Tunnel>().unwrap().name, "tunl0");
    let entries = plan_with::<WithTunnel>(&p);
    let lines: Vec<_> = entries.iter().map(line).collect();
    let s = |a: &str, st, d: &str, l: &str| (a.to_string(), st, d.to_string(), l.to_string());
    assert_eq!(
        lines,
        [
            s("tunnel tunl0", Status::Drift, "up", "-"),
            s("net.ipv4.conf.tunl0.rp_filter", Status::Drift, "0", "2"),
            s("net.ipv4.conf.eth0.rp_filter", Status::Ok, "1", "1"),
        ]
    );
    let note = entries[1].item.note.as_deref().unwrap();
    assert!(
        note.starts_with(
            "interface tunl0 is created by [tunnel] earlier in this apply, with the value of \
             net.ipv4.conf.default.rp_filter"
        ),
        "{note}"
    );
    // A write apply makes, after the tunnel's, recording the value the interface starts with.
    let (to, from) = entries[1].change().expect("a change");
    let key = "net.ipv4.conf.tunl0.rp_filter".parse().unwrap();
    assert_eq!(
        to,
        &Setting::Sysctl {
            key,
            value: "0".into()
        }
    );
    assert!(matches!(from, Setting::Sysctl { value, .. } if value.trim() == "2"));
}

#[test]
fn without_the_declared_order_or_the_section_the_key_stays_pending() {
    let late = parse_str_in::<WithLateTunnel>("t.toml", PROFILE).unwrap();
    let entries = plan_with::<WithLateTunnel>(&late);
    let lines: Vec<_> = entries
        .iter()
        .map(|e| (e.item.object.as_str(), e.item.status))
        .collect();
    assert_eq!(
        lines,
        [
            ("net.ipv4.conf.tunl0.rp_filter", Status::Pending),
            ("net.ipv4.conf.eth0.rp_filter", Status::Ok),
            ("tunnel tunl0", Status::Drift),
        ]
    );
    let p = parse_str_in::<WithTunnel>("t.toml", PROFILE).unwrap();
    let entries = plan_with::<All>(&p);
    assert_eq!(
        entries[0].item.status,
        Status::Pending,
        "{:?}",
        entries[0].item
    );
    assert_eq!(entries.len(), 2);
}

#[test]
fn a_new_section_parses_validates_shows_and_merges_through_the_list() {
    let p = parse_str_in::<WithTunnel>("t.toml", PROFILE).unwrap();
    assert_eq!(
        p.to_toml_in::<WithTunnel>(),
        "# profile  (resolved from t.toml)\ndescription = \"tunnel host\"\n\n[sysctl]\n\
         \"net.ipv4.conf.tunl0.rp_filter\" = 0\n\"net.ipv4.conf.eth0.rp_filter\" = 1\n\n\
         [tunnel]\nname = \"tunl0\"\n"
    );
    // Errors come with the file, as every section's do.
    let bad = PROFILE.replace("tunl0\"\n[", "tun/0\"\n[");
    let e = parse_str_in::<WithTunnel>("t.toml", &bad).unwrap_err();
    assert!(e.to_string().starts_with("t.toml: [tunnel] name: "), "{e}");
    let e = parse_str_in::<WithTunnel>("t.toml", "[tunnel]\nnmae = \"x\"\n").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("t.toml:2:1: unknown field `nmae`"),
        "{e}"
    );
    // Without the line in the list, the table is unknown, named among those there are.
    let e = parse_str_in::<All>("t.toml", PROFILE).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.toml:2:2: unknown field `tunnel`, expected one of `description`, `extends`, \
         `sysctl`, `dsr`, `nic`, `cpu`, `irqbalance`, `conntrack`"
    );
    // A child without the section keeps its parent's; a child's replaces it.
    let mut parent = p.clone();
    parent.merge_in::<WithTunnel>(parse_str_in::<WithTunnel>("c.toml", "").unwrap());
    assert_eq!(parent.extra, p.extra);
    assert_eq!(parent.sources, ["t.toml", "c.toml"]);
    let child = parse_str_in::<WithTunnel>("c.toml", "[tunnel]\nname = \"gre1\"\n").unwrap();
    parent.merge_in::<WithTunnel>(child);
    assert_eq!(parent.extra.get::<Tunnel>().unwrap().name, "gre1");
    assert_eq!(parent.sysctl, p.sysctl);
    assert_ne!(parent, p);
}

#[test]
fn the_unknown_field_message_is_serde_s() {
    let names = [
        "description",
        "extends",
        "sysctl",
        "dsr",
        "nic",
        "cpu",
        "irqbalance",
    ];
    let ours = crate::profile::unknown_field_message("x", &names);
    let serde = <toml::de::Error as serde::de::Error>::unknown_field(
        "x",
        &[
            "description",
            "extends",
            "sysctl",
            "dsr",
            "nic",
            "cpu",
            "irqbalance",
        ],
    );
    assert_eq!(ours, serde.message());
}
