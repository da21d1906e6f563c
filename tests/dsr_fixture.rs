//! `[dsr]` ARP rules on small fixture trees through `--root`: the effective value
//! max(conf/all, conf/IFACE) decides an uplink's status, conf/lo alone is not enough, and an
//! interface above the desired value is the only one written. There is no kernel behind a
//! tree, so VIP items are `unsupported`.

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin;

const PROFILE: &str =
    "description = \"fixture real server\"\n[dsr]\nvips = [\"192.168.16.100/32\"]\n";

/// A tree with conf/{all,default,lo,eth0} and /sys/class/net/{lo,eth0}; values are
/// (all, default, lo, eth0) for arp_ignore and for arp_announce.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new(ignore: [u8; 4], announce: [u8; 4]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        for iface in ["lo", "eth0"] {
            std::fs::create_dir_all(root.join("sys/class/net").join(iface)).unwrap();
        }
        for (i, conf) in ["all", "default", "lo", "eth0"].iter().enumerate() {
            let d = root.join("proc/sys/net/ipv4/conf").join(conf);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("arp_ignore"), format!("{}\n", ignore[i])).unwrap();
            std::fs::write(d.join("arp_announce"), format!("{}\n", announce[i])).unwrap();
        }
        std::fs::write(dir.path().join("site.toml"), PROFILE).unwrap();
        Self { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Runs hosttune on the tree; `args` naming a command that takes a profile get the site
    /// profile appended (`rollback` takes a snapshot id instead).
    fn run(&self, args: &[&str]) -> (i32, String) {
        let site = self.dir.path().join("site.toml");
        let mut all: Vec<&str> = args.to_vec();
        if args[0] != "rollback" {
            all.push(site.to_str().unwrap());
        }
        let o = std::process::Command::new(cargo_bin("hosttune"))
            .arg("--root")
            .arg(self.root())
            .arg("--state-dir")
            .arg(self.dir.path().join("state"))
            .args(&all)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        (o.status.code().unwrap_or(-1), out)
    }

    /// `(object, live, status)` of every item, from the JSON report, and the exit code.
    fn audit(&self) -> (i32, Vec<(String, String, String)>) {
        let (code, out) = self.run(&["audit", "--format", "json"]);
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        let items = doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let s = |k: &str| i[k].as_str().unwrap().to_string();
                (s("object"), s("live"), s("status"))
            })
            .collect();
        (code, items)
    }

    fn read(&self, conf: &str, key: &str) -> String {
        let p = Path::new("proc/sys/net/ipv4/conf").join(conf).join(key);
        std::fs::read_to_string(self.root().join(p)).unwrap()
    }
}

fn rows(want: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    want.iter()
        .map(|(o, l, s)| (o.to_string(), l.to_string(), s.to_string()))
        .collect()
}

const VIP_ROW: (&str, &str, &str) = ("192.168.16.100/32 on lo", "-", "unsupported");

#[test]
fn all_0_eth0_1_drifts_on_all_only() {
    let t = Tree::new([0, 0, 0, 1], [2, 2, 0, 0]);
    let (code, items) = t.audit();
    assert_eq!(code, 1);
    assert_eq!(
        items,
        rows(&[
            ("arp_ignore all", "0", "drift"),
            ("arp_ignore default", "0", "drift"),
            ("arp_ignore eth0", "all=0 eth0=1 effective=1", "ok"),
            ("arp_announce all", "2", "ok"),
            ("arp_announce default", "2", "ok"),
            ("arp_announce eth0", "all=2 eth0=0 effective=2", "ok"),
            VIP_ROW,
        ])
    );
    assert_eq!(t.run(&["apply"]).0, 0);
    assert_eq!(t.read("all", "arp_ignore"), "1\n");
    assert_eq!(t.read("eth0", "arp_ignore"), "1\n");
    assert_eq!(t.audit().0, 0);
}

#[test]
fn all_2_eth0_0_is_fixed_by_all_alone() {
    let t = Tree::new([2, 2, 0, 0], [2, 2, 0, 0]);
    let (code, items) = t.audit();
    assert_eq!(code, 1);
    assert_eq!(
        items[..3],
        rows(&[
            ("arp_ignore all", "2", "drift"),
            ("arp_ignore default", "2", "drift"),
            ("arp_ignore eth0", "all=2 eth0=0 effective=2", "ok"),
        ])
    );
    let (code, out) = t.run(&["apply"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        !out.contains("arp_ignore eth0"),
        "eth0 must not be written:\n{out}"
    );
    assert_eq!(t.read("eth0", "arp_ignore"), "0\n");
    let (code, items) = t.audit();
    assert_eq!(code, 0);
    assert_eq!(items[2].1, "all=1 eth0=0 effective=1");
    let (code, out) = t.run(&["apply"]);
    assert_eq!(code, 0);
    assert!(out.contains("in sync, nothing written"), "{out}");
}

#[test]
fn only_lo_set_as_the_seed_does_is_drift() {
    // Seed 003: net.ipv4.conf.lo.arp_ignore = 1, arp_announce = 2, nothing else.
    let t = Tree::new([0, 0, 1, 0], [0, 0, 2, 0]);
    let (code, items) = t.audit();
    assert_eq!(code, 1);
    assert_eq!(
        items,
        rows(&[
            ("arp_ignore all", "0", "drift"),
            ("arp_ignore default", "0", "drift"),
            ("arp_ignore eth0", "all=0 eth0=0 effective=0", "ok"),
            ("arp_announce all", "0", "drift"),
            ("arp_announce default", "0", "drift"),
            ("arp_announce eth0", "all=0 eth0=0 effective=0", "ok"),
            VIP_ROW,
        ])
    );
    assert_eq!(t.run(&["apply", "--dry-run"]).0, 1);
    assert_eq!(t.read("all", "arp_ignore"), "0\n", "dry run wrote");
}

#[test]
fn an_interface_above_the_desired_value_is_written_and_rolled_back() {
    let t = Tree::new([1, 1, 0, 3], [2, 2, 0, 2]);
    let (code, items) = t.audit();
    assert_eq!(code, 1);
    assert_eq!(
        items[2],
        rows(&[("arp_ignore eth0", "all=1 eth0=3 effective=3", "drift")])[0]
    );
    let drift: Vec<_> = items.iter().filter(|i| i.2 == "drift").collect();
    assert_eq!(drift.len(), 1, "{items:?}");
    assert_eq!(t.run(&["apply"]).0, 0);
    assert_eq!(t.read("eth0", "arp_ignore"), "1\n");
    assert_eq!(t.audit().0, 0);
    assert_eq!(t.run(&["rollback"]).0, 0);
    assert_eq!(t.read("eth0", "arp_ignore"), "3\n");
}
