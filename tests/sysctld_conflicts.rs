//! Boot-time sysctl sources on a fixture root: `audit --format json` marks the items that a
//! sysctl.d file or /etc/sysctl.conf sets to another value, with file and line, following
//! sysctl.d(5) precedence (masking by name and by /dev/null, /etc/sysctl.conf last, an
//! explicit key over a glob).

mod common;

use common::fixture::copy_tree;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use serde_json::{Value, json};

const PROFILE: &str = r#"
description = "conflicts"
[sysctl]
"net.core.somaxconn" = 500000
"vm.swappiness" = 100
"net.ipv4.conf.all.rp_filter" = 0
"fs.file-max" = 2000000
"net.ipv4.ip_local_port_range" = "1024 65535"
"#;

/// A copy of `tests/fixtures/sysctl-host` with the given boot-time files.
struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new(files: &[(&str, &str)], links: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sysctl-host"),
            &root,
        );
        for (p, text) in files {
            let p = root.join(p.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        for (p, to) in links {
            let p = root.join(p.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(to, p).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("profiles")).unwrap();
        std::fs::write(dir.path().join("profiles/site.toml"), PROFILE).unwrap();
        Self { dir }
    }

    fn audit(&self, format: &str) -> (i32, String) {
        let o = Command::new(cargo_bin("hosttune"))
            .arg("--root")
            .arg(self.dir.path().join("root"))
            .arg("--state-dir")
            .arg(self.dir.path().join("state"))
            .arg("--profile-dir")
            .arg(self.dir.path().join("profiles"))
            .args(["audit", "site", "--format", format])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.code().unwrap_or(-1), out)
    }

    /// Each item's conflicts by object; items without any are left out.
    fn conflicts(&self) -> BTreeMap<String, Value> {
        let (code, out) = self.audit("json");
        assert_eq!(code, 1, "{out}");
        let doc: Value = serde_json::from_str(&out).unwrap();
        doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| {
                i.get("conflicts")
                    .map(|c| (i["object"].as_str().unwrap().to_string(), c.clone()))
            })
            .collect()
    }
}

#[test]
fn a_conflicting_file_is_reported_with_file_and_line() {
    let h = Host::new(
        &[(
            "/etc/sysctl.d/99-other.conf",
            "# another team's tuning\n\nnet.core.somaxconn = 4096\n",
        )],
        &[],
    );
    let c = h.conflicts();
    assert_eq!(
        c,
        BTreeMap::from([(
            "net.core.somaxconn".to_string(),
            json!([{"file": "/etc/sysctl.d/99-other.conf", "line": 3, "value": "4096"}])
        )])
    );
    let (_, text) = h.audit("text");
    let line = text
        .lines()
        .find(|l| l.contains("net.core.somaxconn"))
        .unwrap();
    assert!(
        line.ends_with("drift  (set to 4096 at boot by /etc/sysctl.d/99-other.conf:3)"),
        "{text}"
    );
}

#[test]
fn masked_files_are_not_read() {
    let h = Host::new(
        &[
            ("/usr/lib/sysctl.d/50-vendor.conf", "vm.swappiness = 60\n"),
            ("/usr/lib/sysctl.d/60-tuning.conf", "fs.file-max = 1000\n"),
            ("/run/sysctl.d/60-tuning.conf", "fs.file-max = 2000000\n"),
            (
                "/usr/lib/sysctl.d/70-ports.conf",
                "net.ipv4.ip_local_port_range = 32768 60999\n",
            ),
        ],
        &[("/etc/sysctl.d/50-vendor.conf", "/dev/null")],
    );
    // 50-vendor is masked by the /dev/null link, 60-tuning in /usr/lib by the one in /run;
    // 70-ports is not masked, and conflicts.
    assert_eq!(
        h.conflicts(),
        BTreeMap::from([(
            "net.ipv4.ip_local_port_range".to_string(),
            json!([{"file": "/usr/lib/sysctl.d/70-ports.conf", "line": 1,
                    "value": "32768 60999"}])
        )])
    );
}

#[test]
fn etc_sysctl_conf_is_applied_last_and_wins() {
    let h = Host::new(
        &[
            (
                "/etc/sysctl.d/99-zzz.conf",
                "net.ipv4.conf.all.rp_filter = 2\nvm.swappiness = 100\n",
            ),
            (
                "/etc/sysctl.conf",
                "net.ipv4.conf.all.rp_filter = 0\nvm.swappiness = 10\n",
            ),
        ],
        &[("/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")],
    );
    assert_eq!(
        h.conflicts(),
        BTreeMap::from([(
            "vm.swappiness".to_string(),
            json!([{"file": "/etc/sysctl.conf", "line": 2, "value": "10"}])
        )])
    );
}

#[test]
fn an_explicit_key_wins_over_a_glob() {
    let glob = (
        "/etc/sysctl.d/90-rp.conf",
        "net.ipv4.conf.*.rp_filter = 2\n",
    );
    let h = Host::new(&[glob], &[]);
    assert_eq!(
        h.conflicts(),
        BTreeMap::from([(
            "net.ipv4.conf.all.rp_filter".to_string(),
            json!([{"file": "/etc/sysctl.d/90-rp.conf", "line": 1, "value": "2"}])
        )])
    );
    let h = Host::new(
        &[
            glob,
            (
                "/etc/sysctl.d/10-rp.conf",
                "net/ipv4/conf/all/rp_filter = 0\n",
            ),
        ],
        &[],
    );
    assert!(h.conflicts().is_empty());
}

#[test]
fn sources_with_the_same_values_change_nothing() {
    let plain = Host::new(&[], &[]);
    let same = Host::new(
        &[
            (
                "/etc/sysctl.d/10-same.conf",
                "net.core.somaxconn=500000\nnet.ipv4.ip_local_port_range = 1024\t65535\n",
            ),
            ("/etc/sysctl.conf", "vm.swappiness = 0100\n"),
        ],
        &[],
    );
    assert!(same.conflicts().is_empty());
    assert_eq!(same.audit("text"), plain.audit("text"));
    assert_eq!(same.audit("json"), plain.audit("json"));
}
