//! Bad input of every kind exits 2 with a message naming the place, and the host (a fixture
//! tree) is left exactly as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin;

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("root/proc/sys/vm");
        std::fs::create_dir_all(&sys).unwrap();
        std::fs::write(sys.join("swappiness"), "60\n").unwrap();
        std::fs::create_dir_all(dir.path().join("profiles")).unwrap();
        Self { dir }
    }
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join("profiles").join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    fn tree(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut m = BTreeMap::new();
        let mut stack = vec![self.dir.path().join("root")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    m.insert(p.clone(), std::fs::read(&p).unwrap());
                }
            }
        }
        m
    }
    /// Runs `apply PROFILE` and `validate PROFILE`; both must exit 2 with `want` in stderr,
    /// and nothing under the root may change.
    fn rejects(&self, profile: &str, want: &[&str]) {
        let before = self.tree();
        for verb in ["apply", "validate"] {
            let o = Command::new(cargo_bin("hosttune"))
                .arg("--root")
                .arg(self.dir.path().join("root"))
                .arg("--state-dir")
                .arg(self.dir.path().join("state"))
                .arg("--profile-dir")
                .arg(self.dir.path().join("profiles"))
                .args([verb, profile])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{verb} {profile}: {err}");
            for w in want {
                assert!(
                    err.contains(w),
                    "{verb} {profile}: stderr lacks {w:?}:\n{err}"
                );
            }
            assert!(err.lines().all(|l| l.starts_with("hosttune: ")), "{err}");
        }
        assert_eq!(self.tree(), before, "{profile}: the host changed");
        assert!(
            !self.dir.path().join("state/snapshots").exists() || {
                std::fs::read_dir(self.dir.path().join("state/snapshots"))
                    .unwrap()
                    .next()
                    .is_none()
            }
        );
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn malformed_toml() {
    let c = Case::new();
    let f = c.file("m.toml", "[sysctl]\n\"vm.swappiness\" = = 1\n");
    c.rejects(p(&f), &["m.toml:2:"]);
}

#[test]
fn unknown_key_names_line_and_column() {
    let c = Case::new();
    let f = c.file(
        "u.toml",
        "description = \"x\"\n[dsr]\nvips = []\narp_ignor = 1\n",
    );
    c.rejects(p(&f), &["u.toml:4:1", "unknown field `arp_ignor`"]);
    let f = c.file("u2.toml", "descripton = \"x\"\n");
    c.rejects(p(&f), &["u2.toml:1:1", "descripton"]);
}

#[test]
fn wrong_value_type() {
    let c = Case::new();
    let f = c.file("t.toml", "[sysctl]\n\"vm.swappiness\" = true\n");
    c.rejects(
        p(&f),
        &[
            "t.toml:2:",
            "expected a number, a string, a list of numbers, a bound",
        ],
    );
    let f = c.file("t2.toml", "description = 5\n");
    c.rejects(p(&f), &["t2.toml:1:"]);
}

#[test]
fn traversal_and_empty_segment_keys() {
    let c = Case::new();
    let f = c.file(
        "k.toml",
        "[sysctl]\n\"net/../../etc/shadow\" = 1\n\"net..core\" = 1\n\"vm/./swappiness\" = 1\n",
    );
    c.rejects(
        p(&f),
        &[
            "k.toml:2:1",
            "'.' or '..'",
            "k.toml:3:1",
            "empty segment",
            "k.toml:4:1",
        ],
    );
}

#[test]
fn same_key_twice_in_either_form() {
    let c = Case::new();
    let f = c.file("d.toml", "[sysctl]\n\"net.ipv4.conf.eth0/100.rp_filter\" = 1\n\"net/ipv4/conf/eth0.100/rp_filter\" = 2\n");
    c.rejects(p(&f), &["d.toml:3:1", "given twice", "d.toml:2:1"]);
}

#[test]
fn extends_cycle() {
    let c = Case::new();
    c.file("a.toml", "extends = \"b\"\n");
    c.file("b.toml", "extends = \"a\"\n");
    c.rejects("a", &["extends cycle", "a.toml -> ", "b.toml"]);
}

#[test]
fn missing_parent() {
    let c = Case::new();
    c.file(
        "orphan.toml",
        "description = \"x\"\nextends = [\"web\", \"nonesuch\"]\n",
    );
    c.rejects(
        "orphan",
        &["orphan.toml:2:11", "extends \"nonesuch\": no such profile"],
    );
}

#[test]
fn unreadable_and_missing_files() {
    let c = Case::new();
    let f = c.file("bin.toml", "");
    std::fs::write(&f, [0xff, 0xfe, 0x00]).unwrap();
    c.rejects(p(&f), &["bin.toml", "not UTF-8"]);
    let missing = c.dir.path().join("profiles/none.toml");
    c.rejects(p(&missing), &["none.toml", "cannot read profile"]);
    c.rejects("nonesuch", &["profile \"nonesuch\" not found"]);
}

#[test]
fn a_directory_is_not_a_profile() {
    let c = Case::new();
    let d = c.dir.path().join("profiles/dir.toml");
    std::fs::create_dir(&d).unwrap();
    c.rejects(p(&d), &["dir.toml: is a directory"]);
}

#[test]
fn bad_dsr_values() {
    let c = Case::new();
    for (name, body, want) in [
        (
            "addr",
            "vips = [\"192.168.16.300/32\"]",
            "not an IPv4 or IPv6 address",
        ),
        ("wide", "vips = [\"192.168.16.0/24\"]", "host prefix"),
        (
            "dup",
            "vips = [\"192.168.16.100/32\", \"192.168.16.100\"]",
            "listed twice",
        ),
        (
            "ign",
            "arp_ignore = 4",
            "arp_ignore must be 0, 1, 2, 3 or 8",
        ),
        ("ann", "arp_announce = 3", "arp_announce must be 0, 1 or 2"),
    ] {
        let f = c.file(&format!("{name}.toml"), &format!("[dsr]\n{body}\n"));
        c.rejects(p(&f), &[&format!("{name}.toml:2:"), want]);
    }
}

#[test]
fn vips_that_can_never_work_on_lo() {
    let c = Case::new();
    for (name, vip, why) in [
        ("any4", "0.0.0.0", "is the unspecified address"),
        ("any6", "::", "is the unspecified address"),
        (
            "mc4",
            "224.0.0.18/32",
            "is a multicast address (224.0.0.0/4)",
        ),
        ("mc6", "ff02::1", "is a multicast address (ff00::/8)"),
        (
            "bcast",
            "255.255.255.255",
            "is the limited broadcast address",
        ),
        (
            "mapped",
            "::ffff:192.0.2.10",
            "is an IPv4-mapped IPv6 address (::ffff:0:0/96)",
        ),
        ("lo4", "127.0.0.2/32", "is a loopback address"),
        ("lo6", "::1/128", "is the loopback address"),
    ] {
        // After a good VIP, so that the message, not the position, has to name the bad one:
        // as for a wide prefix, the position is the list's.
        let body = format!("description = \"x\"\n[dsr]\nvips = [\"192.0.2.10\", \"{vip}\"]\n");
        let f = c.file(&format!("{name}.toml"), &body);
        let at = format!("{name}.toml:3:8");
        c.rejects(p(&f), &[&at, &format!("VIP \"{vip}\" {why}")]);
    }
    // The mapped address's message says what to write instead.
    let f = c.file("hint.toml", "[dsr]\nvips = [\"::ffff:192.0.2.10\"]\n");
    c.rejects(
        p(&f),
        &["hint.toml:2:8", "list the IPv4 address 192.0.2.10 instead"],
    );
}

#[test]
fn bad_nic_values() {
    let c = Case::new();
    for (name, body, want) in [
        ("neg", "rings = { rx = -1 }", "not a positive 32-bit count"),
        (
            "zero",
            "channels = { combined = 0 }",
            "not a positive 32-bit count",
        ),
        (
            "maxx",
            "rings = { tx = \"maximum\" }",
            "not a count; use a number or \"max\"",
        ),
        ("unk", "ringz = { rx = 1 }", "unknown field `ringz`"),
        ("slash", "match = \"eth/0\"", "cannot contain '/'"),
        ("long", "match = \"enp59s0f1np1abcde\"", "at most 15 bytes"),
        ("both", "channels = { combined = 2, rx = 2 }", "not both"),
        ("cpus", "irq_cpus = \"isolatd\"", "irq_cpus must be"),
        ("none", "match = \"eth0\"", "rule sets nothing"),
        ("norings", "rings = {}", "rings: give rx, tx or both"),
        (
            "qmax",
            "txqueuelen = \"max\"",
            "txqueuelen has no driver maximum",
        ),
        ("irqlist", "irq_cpus = \"3-1\"", "runs backwards"),
    ] {
        let f = c.file(&format!("{name}.toml"), &format!("[[nic]]\n{body}\n"));
        c.rejects(p(&f), &[&format!("{name}.toml:"), want]);
    }
}

#[test]
fn two_leading_dashes() {
    let c = Case::new();
    let f = c.file("dash.toml", "[sysctl]\n\"--vm.swappiness\" = 1\n");
    c.rejects(
        p(&f),
        &[
            "dash.toml:2:1: sysctl key \"--vm.swappiness\" starts with more than one '-': a \
             single '-' makes a key optional; write \"-vm.swappiness\" or \"vm.swappiness\"",
        ],
    );
}

#[test]
fn a_control_character_in_a_value() {
    let c = Case::new();
    let f = c.file("cr.toml", "[sysctl]\n\"vm.swappiness\" = \"1\\r\"\n");
    c.rejects(
        p(&f),
        &[
            "cr.toml:2:19: sysctl value \"1\\r\" contains the control character U+000D: a \
             value is one line of text, fields separated by spaces or tabs; remove it",
        ],
    );
}

#[test]
fn an_unquoted_dotted_key() {
    let c = Case::new();
    let f = c.file(
        "dots.toml",
        "[sysctl]\n\"vm.swappiness\" = 10\nnet.core.somaxconn = 1024\n",
    );
    c.rejects(
        p(&f),
        &[
            "dots.toml:3:1: [sysctl] key net.core.somaxconn is not quoted, so TOML reads it as \
             nested tables; write dotted sysctl keys in quotes: \"net.core.somaxconn\" = 1024",
        ],
    );
}

#[test]
fn extends_of_the_wrong_type() {
    let c = Case::new();
    let f = c.file("ext5.toml", "description = \"x\"\nextends = 5\n");
    c.rejects(
        p(&f),
        &["ext5.toml:2:11: extends must be a profile name or a list of names, not integer `5`"],
    );
}

#[test]
fn an_absolute_path_key() {
    let c = Case::new();
    let f = c.file(
        "abs.toml",
        "[sysctl]\n\"/proc/sys/net/core/somaxconn\" = 1\n",
    );
    c.rejects(
        p(&f),
        &[
            "abs.toml:2:1: sysctl key \"/proc/sys/net/core/somaxconn\" is an absolute path; \
             sysctl keys are relative to /proc/sys: write \"net/core/somaxconn\" or \
             \"net.core.somaxconn\"",
        ],
    );
}

#[test]
fn extends_cycle_through_relative_paths() {
    let c = Case::new();
    let a = c.file("a.toml", "extends = \"./b.toml\"\n");
    c.file("b.toml", "description = \"b\"\nextends = \"./a.toml\"\n");
    let dir = p(a.parent().unwrap()).to_string();
    let chain = format!(
        "{dir}/b.toml:2:11: extends cycle: {dir}/a.toml -> {dir}/b.toml -> {dir}/a.toml; \
         remove one of these extends ({dir}/a.toml:1:11, {dir}/b.toml:2:11)"
    );
    c.rejects(p(&a), &[&chain]);
    // A path that grows on every turn (`profiles/../profiles/self.toml`) is still one file.
    let s = c.file("self.toml", "extends = \"../profiles/self.toml\"\n");
    let chain = format!(
        "{dir}/self.toml:1:11: extends cycle: {dir}/self.toml -> {dir}/self.toml; remove one \
         of these extends ({dir}/self.toml:1:11)"
    );
    c.rejects(p(&s), &[&chain]);
}

#[test]
fn missing_parent_given_by_path() {
    let c = Case::new();
    let f = c.file(
        "lost.toml",
        "description = \"x\"\nextends = [\"web\", \"./nope.toml\"]\n",
    );
    let dir = p(f.parent().unwrap()).to_string();
    c.rejects(
        p(&f),
        &[&format!(
            "lost.toml:2:11: extends \"./nope.toml\": cannot read {dir}/nope.toml: No such file \
             or directory (os error 2); a relative path is taken from the directory of the file \
             that extends it"
        )],
    );
}

#[test]
fn a_per_interface_arp_key_against_dsr() {
    let c = Case::new();
    let f = c.file(
        "arp.toml",
        "[sysctl]\n\"net.ipv4.conf.eth0.arp_ignore\" = 3\n[dsr]\narp_ignore = 1\n",
    );
    c.rejects(
        p(&f),
        &[
            "arp.toml:2:1: [sysctl] net.ipv4.conf.eth0.arp_ignore = 3 conflicts with [dsr] \
             arp_ignore = 1 (",
            "arp.toml:4:14): the kernel uses the larger of conf/all and conf/eth0, so [dsr] \
             lowers conf/eth0 on every apply and [sysctl] raises it again; remove the key or \
             set it to 1",
        ],
    );
    // After merging: the key in a child, [dsr] (here its default) in the parent.
    let parent = c.file(
        "rs.toml",
        "description = \"x\"\n[dsr]\nvips = [\"192.0.2.10\"]\n",
    );
    let child = c.file(
        "rs-eth0.toml",
        "extends = \"rs\"\n[sysctl]\n\"net.ipv4.conf.eth0/100.arp_announce\" = 1\n",
    );
    c.rejects(
        p(&child),
        &[&format!(
            "rs-eth0.toml:3:1: [sysctl] net.ipv4.conf.eth0/100.arp_announce = 1 conflicts with \
             the default [dsr] arp_announce = 2 ([dsr] at {}:2:1): the kernel uses the larger \
             of conf/all and conf/eth0.100, so with conf/all at 2 this key changes nothing; \
             remove the key or set it to 2",
            p(&parent)
        )],
    );
}
