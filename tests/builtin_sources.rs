//! The built-in roles are safe, sourced production defaults: every key of `profiles/*.toml`
//! names a public source in the comment block above it (the notion of the repository's
//! pre-stop check: a URL, a kernel `Documentation/` path, a man page `man tcp(7)`, or
//! ip-sysctl), and the resolved roles keep the rules the README states: no role disables
//! IPv6, only `lb` forwards, no `route_localnet` on all/default, no memory limit as a floor,
//! at most a quarter of RAM, and reserved ports wherever the ephemeral range is widened.

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::cargo_bin;

const ROLES: &[&str] = &["tcp-base", "tcp-server", "client", "web", "lb"];

/// Keys the kernel sizes from RAM: never a floor in a built-in.
const MEMORY_LIMITS: &[&str] = &[
    "net.ipv4.tcp_mem",
    "net.ipv4.udp_mem",
    "net.sctp.sctp_mem",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "fs.file-max",
    "net.netfilter.nf_conntrack_max",
];

fn profiles_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")
}

fn is_source(line: &str) -> bool {
    line.contains("http://")
        || line.contains("https://")
        || line.contains("Documentation/")
        || line.contains("ip-sysctl")
        || line.split("man ").skip(1).any(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || ".-".contains(*c))
                .collect();
            !name.is_empty() && rest[name.len()..].starts_with('(')
        })
}

/// `key = ...` lines (a quoted sysctl key, optional `-` included, or a bare table key), not
/// the file's `description` and `extends`.
fn key_of(line: &str) -> Option<&str> {
    let (k, _) = line.split_once('=')?;
    let k = k.trim();
    let bare = k.trim_matches('"').trim_start_matches('-');
    let ok = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.*-/".contains(c));
    (ok && k != "description" && k != "extends").then_some(k)
}

/// Keys without a source in the comment block directly above them. A block is the run of
/// comment lines before a key; it carries over consecutive key lines and ends at a blank line
/// or any other line (a table header).
fn unsourced(text: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') {
            block.push(line);
            continue;
        }
        match key_of(line) {
            Some(k) => {
                if !block.iter().any(|b| is_source(b)) {
                    bad.push(k.to_string());
                }
            }
            None => block.clear(),
        }
    }
    bad
}

#[test]
fn the_source_check_finds_keys_without_a_source() {
    let text = "[sysctl]\n# why, no source\n\"net.core.somaxconn\" = 1\n\n\
                # Source: man tcp(7)\n\"net.ipv4.a\" = 1\n\"-net.ipv4.b\" = 2\n\n\
                # Source: https://example.org/x\n[[nic]]\nrings = { rx = \"max\" }\n\
                # see Documentation/networking/scaling.rst\nchannels = { combined = 1 }\n";
    assert_eq!(unsourced(text), ["\"net.core.somaxconn\"", "rings"]);
    assert!(is_source("# man ip-sysctl"));
    assert!(!is_source("# a man of letters (no page)"));
}

#[test]
fn every_builtin_key_names_a_public_source() {
    let mut files = 0;
    for e in std::fs::read_dir(profiles_dir()).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let bad = unsourced(&text);
        assert!(
            bad.is_empty(),
            "{}: keys without a source above them: {bad:?}",
            path.display()
        );
        assert!(!text.contains("seed 0"), "{}", path.display());
    }
    assert_eq!(files, ROLES.len());
}

#[test]
fn the_builtins_are_the_top_level_profiles_only() {
    let mut on_disk: Vec<String> = std::fs::read_dir(profiles_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.is_file() && p.extension().is_some_and(|x| x == "toml"))
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    on_disk.sort();
    let mut builtin: Vec<String> = hosttune::profile::BUILTIN
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    builtin.sort();
    assert_eq!(builtin, on_disk);
    assert!(!builtin.iter().any(|n| n.contains("benchmark")));
}

fn hosttune(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(cargo_bin("hosttune"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// `hosttune show ROLE`'s `[sysctl]` table, keys without their optional `-`.
fn sysctl(role: &str) -> toml::Table {
    let (code, out, err) = hosttune(&["show", role]);
    assert_eq!(code, 0, "{role}: {err}");
    let doc: toml::Table = toml::from_str(&out).unwrap_or_else(|e| panic!("{role}: {e}\n{out}"));
    doc.get("sysctl")
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.trim_start_matches('-').to_string(), v))
        .collect()
}

#[test]
fn the_resolved_roles_keep_the_safety_rules() {
    for role in ROLES {
        let s = sysctl(role);
        for (key, v) in &s {
            assert!(
                !(key.ends_with(".disable_ipv6") && v.as_integer() == Some(1)),
                "{role}: {key} disables IPv6"
            );
            assert!(
                !(key.contains(".all.route_localnet") || key.contains(".default.route_localnet")),
                "{role}: {key}"
            );
            if key.ends_with(".rp_filter") {
                assert_ne!(v.as_integer(), Some(0), "{role}: {key} = 0; use loose (2)");
            }
            if let Some(t) = v.as_table() {
                if MEMORY_LIMITS.contains(&key.as_str()) {
                    assert!(
                        !t.contains_key("min"),
                        "{role}: memory limit {key} is a floor: {t}"
                    );
                }
                if let Some(f) = t.get("ram_fraction") {
                    let all: Vec<f64> = match f {
                        toml::Value::Array(a) => a.iter().map(|x| x.as_float().unwrap()).collect(),
                        x => vec![x.as_float().unwrap()],
                    };
                    assert!(
                        all.iter().all(|x| *x > 0.0 && *x <= 0.25),
                        "{role}: {key} = {f}"
                    );
                }
            }
        }
        let forwards = s
            .get("net.ipv4.ip_forward")
            .and_then(toml::Value::as_integer)
            == Some(1);
        assert_eq!(forwards, *role == "lb", "{role}: ip_forward");
        assert!(
            !s.contains_key("net.ipv6.conf.all.forwarding") || *role == "lb",
            "{role}"
        );
        if let Some(range) = s.get("net.ipv4.ip_local_port_range") {
            let r: Vec<u32> = range
                .as_str()
                .unwrap()
                .split_whitespace()
                .map(|n| n.parse().unwrap())
                .collect();
            if r[0] < 32768 || r[1] > 60999 {
                let reserved = s
                    .get("net.ipv4.ip_local_reserved_ports")
                    .and_then(|v| v.get("include"))
                    .and_then(toml::Value::as_array)
                    .unwrap_or_else(|| panic!("{role}: a widened range without reserved ports"));
                let ports: Vec<i64> = reserved
                    .iter()
                    .filter_map(toml::Value::as_integer)
                    .collect();
                assert!(ports.contains(&9100), "{role}: {ports:?}");
                if *role == "web" {
                    assert!(ports.contains(&80) && ports.contains(&443), "{ports:?}");
                }
            }
        }
    }
    // The roles each need: the client widens its ports, web answers ARP as a real server,
    // lb pins IRQs with irqbalance off.
    assert!(sysctl("client").contains_key("net.ipv4.ip_local_port_range"));
    let (_, web, _) = hosttune(&["show", "web"]);
    assert!(
        web.contains("arp_ignore = 1") && web.contains("arp_announce = 2"),
        "{web}"
    );
    let (_, lb, _) = hosttune(&["show", "lb"]);
    for want in [
        "irq_cpus = \"isolated\"",
        "mode = \"disabled\"",
        "combined = \"max\"",
    ] {
        assert!(lb.contains(want), "{want}: {lb}");
    }
}

#[test]
fn the_benchmark_rig_is_an_example_that_still_loads() {
    let rig = profiles_dir().join("examples/benchmark-rig.toml");
    let rig = rig.to_str().unwrap();
    let (code, out, err) = hosttune(&["validate", rig]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let text = std::fs::read_to_string(rig).unwrap();
    assert!(text.starts_with("# NOT FOR PRODUCTION"), "{text}");
    assert!(!text.contains("seed 0") && !text.contains("shared/"));
    // The rig's unsafe values live here, and only here.
    let s = sysctl(rig);
    assert_eq!(s["net.ipv6.conf.all.disable_ipv6"].as_integer(), Some(1));
    assert_eq!(s["net.ipv4.conf.all.route_localnet"].as_integer(), Some(1));
    assert!(s["net.ipv4.tcp_mem"].get("min").is_some());
    let (code, _, err) = hosttune(&["show", "benchmark-rig"]);
    assert_eq!(code, 2, "the example is not a built-in: {err}");
}
