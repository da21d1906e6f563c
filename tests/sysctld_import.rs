//! `hosttune import`: seed 003's "Web VM" sysctl.conf gives the sysctls of the benchmark-rig
//! example profile (`profiles/examples/benchmark-rig.toml`), the printed profile validates,
//! and lines that cannot be carried over are named on stderr with file:line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin;

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

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sysctld")
        .join(name)
}

fn file(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// A `[sysctl]` value as text: numbers and strings as written, lists space-separated.
fn text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.split_whitespace().collect::<Vec<_>>().join(" "),
        toml::Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// `[sysctl]` by key without its optional `-`, with whether it was optional.
fn sysctl(profile: &str) -> BTreeMap<String, (bool, toml::Value)> {
    let doc: toml::Table = toml::from_str(profile).unwrap_or_else(|e| panic!("{e}\n{profile}"));
    doc["sysctl"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(k, v)| match k.strip_prefix('-') {
            Some(k) => (k.to_string(), (true, v.clone())),
            None => (k.clone(), (false, v.clone())),
        })
        .collect()
}

#[test]
fn seed_003_web_vm_gives_the_benchmark_rig_example_sysctls() {
    let seed = fixture("seed003-web-vm.conf");
    let (code, out, err) = hosttune(&["import", seed.to_str().unwrap(), "--name", "web-vm"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    let imported = sysctl(&out);
    // The example reproduces the rig's director: the web VM's sysctl.conf plus the director's
    // own keys, and the director's larger input backlog.
    let rig = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/examples/benchmark-rig.toml");
    let (code, shown, err) = hosttune(&["show", rig.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let mut web = sysctl(&shown);
    let director_only: Vec<String> = web
        .keys()
        .filter(|k| !imported.contains_key(*k))
        .cloned()
        .collect();
    assert_eq!(
        director_only,
        ["kernel.numa_balancing", "net.ipv4.conf.all.route_localnet"]
    );
    for k in &director_only {
        web.remove(k);
    }
    assert_eq!(
        web.remove("net.core.netdev_max_backlog").unwrap().1,
        toml::Value::Table(toml::toml! { min = 9000000 })
    );
    assert_eq!(
        imported["net.core.netdev_max_backlog"].1,
        toml::Value::Integer(1000000)
    );
    assert_eq!(web.len() + 1, imported.len());
    let mut optional_in_web = Vec::new();
    for (key, (opt, want)) in &web {
        let (imp_opt, got) = &imported[key];
        // A bound (`{ min = N }`) keeps the seed's value as its floor.
        let want = match want {
            toml::Value::Table(t) => t
                .get("min")
                .or_else(|| t.get("max"))
                .unwrap_or_else(|| panic!("{key}: {t}")),
            v => v,
        };
        assert_eq!(text(got), text(want), "{key}");
        assert!(!imp_opt, "{key}: the seed marks no key optional");
        if *opt {
            optional_in_web.push(key.as_str());
        }
    }
    // The only other differences: keys the example makes optional where the seed does not.
    assert_eq!(
        optional_in_web,
        ["net.core.netdev_weight", "net.netfilter.nf_conntrack_max"]
    );
    // Numbers stay numbers, multi-field values are strings.
    assert_eq!(
        imported["net.core.somaxconn"].1,
        toml::Value::Integer(500000)
    );
    assert_eq!(
        imported["net.ipv4.tcp_rmem"].1,
        toml::Value::String("4096 16384 4194304".into())
    );
    assert!(out.contains("description = \"web-vm: sysctl settings imported from "));
}

#[test]
fn the_imported_profile_passes_validate() {
    let dir = tempfile::tempdir().unwrap();
    let seed = fixture("seed003-web-vm.conf");
    let extra = file(
        dir.path(),
        "extra.conf",
        "-net.ipv4.conf.eth0/100.rp_filter = 2\nkernel.core_pattern = |/bin/x \"%p\"\n",
    );
    let (code, out, err) = hosttune(&["import", seed.to_str().unwrap(), &extra]);
    assert_eq!(code, 0, "{err}");
    let profile = file(dir.path(), "imported.toml", &out);
    let (code, v, err) = hosttune(&["validate", &profile]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(v.ends_with(": valid\n"), "{v}");
    assert!(
        out.contains("\"-net.ipv4.conf.eth0/100.rp_filter\" = 2\n"),
        "{out}"
    );
}

#[test]
fn bad_lines_are_named_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = file(
        dir.path(),
        "bad.conf",
        "# site\nvm.swappiness\nnet.core.somaxconn = 1024\n--vm.a = 1\n-net.ipv4.conf.all.rp_filter\n",
    );
    let (code, out, err) = hosttune(&["import", &bad]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.ends_with(
            "[sysctl]\n\"net.core.somaxconn\" = 1024\n\
             \"net.ipv4.conf.all.rp_filter\" = { exclude = true }\n"
        ),
        "{out}"
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].starts_with(&format!(
        "hosttune: {bad}:2: not imported: not an assignment"
    )));
    assert!(lines[1].starts_with(&format!("hosttune: {bad}:4: not imported: key \"-vm.a\"")));

    let only_bad = file(
        dir.path(),
        "only-bad.conf",
        "vm.swappiness\n\n; nothing else\n",
    );
    let (code, out, err) = hosttune(&["import", &only_bad]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(&format!("{only_bad}:1: not imported")),
        "{err}"
    );
    assert!(err.contains("hosttune: nothing to import from"), "{err}");

    let missing = dir.path().join("missing.conf").display().to_string();
    let (code, out, err) = hosttune(&["import", &bad, &missing]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.starts_with(&format!("hosttune: cannot read {missing}")),
        "{err}"
    );
}

#[test]
fn later_files_win_and_globs_carry_over() {
    let dir = tempfile::tempdir().unwrap();
    let a = file(
        dir.path(),
        "10-a.conf",
        "vm.swappiness = 10\nnet.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.lo.rp_filter = 0\n",
    );
    let b = file(dir.path(), "20-b.conf", "vm/swappiness = 100\n");
    let (code, out, err) = hosttune(&["import", &a, &b]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.split_once("[sysctl]\n").unwrap().1,
        "\"vm.swappiness\" = 100\n\"net.ipv4.conf.*.rp_filter\" = 2\n\
         \"-net.ipv4.conf.lo.rp_filter\" = 0\n"
    );
    assert_eq!(
        err,
        format!(
            "hosttune: {b}:1: vm.swappiness is set again: 100 replaces 10 from {a}:1 (the later \
             one wins, as at boot)\n"
        )
    );
}
