//! The `{ ram_fraction = ... }` and `{ include = [...] }` sysctl value forms end to end: load
//! errors name file:line:column (and the key), audit shows the number a share of RAM comes to
//! on a fixture tree's `/proc/meminfo`, and apply writes the union of reserved ports, keeping
//! the host's own, then rolls back to the same bytes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use common::fixture::{copy_tree, tree_bytes};

/// A copy of `tests/fixtures/sysctl-host` with a 16 GiB `/proc/meminfo` and a reserved-ports
/// list holding the site's own range.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sysctl-host"),
            &root,
        );
        std::fs::write(
            root.join("proc/meminfo"),
            "MemTotal:       16777216 kB\nMemFree:         8388608 kB\n",
        )
        .unwrap();
        std::fs::write(
            root.join("proc/sys/net/ipv4/ip_local_reserved_ports"),
            "8000-8010\n",
        )
        .unwrap();
        Self { dir }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let o = Command::new(cargo_bin("hosttune"))
            .arg("--root")
            .arg(self.root())
            .arg("--state-dir")
            .arg(self.dir.path().join("state"))
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into(),
            String::from_utf8_lossy(&o.stderr).into(),
        )
    }
    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).unwrap()
    }
}

const FORMS: &str = r#"description = "value forms"
[sysctl]
"net.ipv4.tcp_mem" = { ram_fraction = [0.03, 0.04, 0.06] }
"net.ipv4.ip_local_reserved_ports" = { include = [80, 443, 9100] }
"#;

#[test]
fn bad_forms_fail_while_loading_with_file_line_column() {
    let t = Tree::new();
    // (profile text, what stderr must say)
    for (i, (text, want)) in [
        (
            "[sysctl]\n\"net.ipv4.tcp_mem\" = { ram_fraction = [0.03, 0.3, 0.06] }\n",
            ":2:22: sysctl key net.ipv4.tcp_mem: ram_fraction field 2: 0.3 is outside (0, 0.25]",
        ),
        (
            "[sysctl]\n\"net.ipv4.udp_mem\" = { ram_fraction = 0 }\n",
            ":2:22: sysctl key net.ipv4.udp_mem: ram_fraction field 1: 0 is outside",
        ),
        (
            "[sysctl]\n\"net.ipv4.tcp_mem\" = { ram_fraction = [0.06, 0.04, 0.08] }\n",
            ":2:22: sysctl key net.ipv4.tcp_mem: ram_fraction field 2: 0.04 is below field 1",
        ),
        (
            "[sysctl]\n\"net.ipv4.tcp_mem\" = { ram_fraction = \"6%\" }\n",
            ":2:",
        ),
        (
            "[sysctl]\n\"net.ipv4.ip_local_reserved_ports\" = { include = [80, 70000] }\n",
            ":2:",
        ),
        (
            "[sysctl]\n\"net.ipv4.ip_local_reserved_ports\" = { include = [\"9-8\"] }\n",
            "the range \"9-8\" runs backwards",
        ),
        (
            "[sysctl]\n\"net.ipv4.ip_local_reserved_ports\" = { include = [] }\n",
            "must not be empty",
        ),
        (
            "[sysctl]\n\"net.ipv4.tcp_mem\" = { ram_fraction = 0.1, min = 5 }\n",
            "a sysctl value is one form",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let p = t.file(&format!("bad{i}.toml"), text);
        let (code, out, err) = t.run(&["validate", &p]);
        assert_eq!(code, 2, "{text}: {out}{err}");
        assert!(
            err.contains(&format!("bad{i}.toml{want}")) || err.contains(want),
            "{text}: {err}"
        );
        assert!(err.contains(&format!("bad{i}.toml:2:")), "{text}: {err}");
    }
}

#[test]
fn audit_shows_the_share_of_ram_as_a_number_and_the_ports_to_add() {
    let t = Tree::new();
    let p = t.file("forms.toml", FORMS);
    let (code, out, err) = t.run(&["audit", &p, "--format", "json"]);
    assert_eq!(code, 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let item = |object: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["object"] == object)
            .cloned()
            .unwrap_or_else(|| panic!("{object}: {out}"))
    };
    // 16 GiB of 4 KiB pages is 4194304 pages: 3%, 4% and 6% of it, rounded down.
    let mem = item("net.ipv4.tcp_mem");
    let page = hosttune::knobs::ram::page_size();
    let pages = (16u64 << 30) / page;
    let want: Vec<String> = [0.03, 0.04, 0.06]
        .iter()
        .map(|f| (((16u64 << 30) as f64 * f) as u64 / page).to_string())
        .collect();
    if page == 4096 {
        assert_eq!(pages, 4_194_304);
        assert_eq!(want, ["125829", "167772", "251658"]);
    }
    assert_eq!(
        mem["desired"],
        format!("{} (3% 4% 6% of RAM)", want.join(" ")),
        "{mem}"
    );
    assert_eq!(mem["status"], "drift");
    let ports = item("net.ipv4.ip_local_reserved_ports");
    assert_eq!(ports["desired"], "⊇ 80,443,9100");
    assert_eq!(ports["live"], "8000-8010");
    assert_eq!(ports["note"], "+ 80,443,9100");
}

#[test]
fn apply_writes_the_union_and_the_computed_share_then_rolls_back() {
    let t = Tree::new();
    let before = tree_bytes(&t.root());
    let p = t.file("forms.toml", FORMS);
    let (code, out, err) = t.run(&["apply", &p]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        t.read("proc/sys/net/ipv4/ip_local_reserved_ports"),
        "80,443,8000-8010,9100\n"
    );
    let mem: Vec<u64> = t
        .read("proc/sys/net/ipv4/tcp_mem")
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let page = hosttune::knobs::ram::page_size();
    assert_eq!(mem[2], ((16u64 << 30) as f64 * 0.06) as u64 / page);
    // In sync now: a second apply writes nothing, a covering list stays as the kernel has it.
    let (code, out, _) = t.run(&["audit", &p]);
    assert_eq!(code, 0, "{out}");
    std::fs::write(
        t.root().join("proc/sys/net/ipv4/ip_local_reserved_ports"),
        "1-1024,8000-9200\n",
    )
    .unwrap();
    let (code, out, _) = t.run(&["audit", &p]);
    assert_eq!(code, 0, "a covering list is in sync: {out}");
    std::fs::write(
        t.root().join("proc/sys/net/ipv4/ip_local_reserved_ports"),
        "80,443,8000-8010,9100\n",
    )
    .unwrap();
    let (code, out, err) = t.run(&["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(tree_bytes(&t.root()), before);
}

#[test]
fn a_share_of_ram_without_meminfo_is_an_error_naming_it() {
    let t = Tree::new();
    std::fs::remove_file(t.root().join("proc/meminfo")).unwrap();
    let p = t.file("forms.toml", FORMS);
    let (code, out, err) = t.run(&["apply", "--dry-run", &p]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("/proc/meminfo"),
        "{out}{err}"
    );
}
