//! `contrib/kubernetes/*.yaml` is valid for the newest Kubernetes version that the installed
//! `kubernetes-validate` (PyPI) knows (its default `-k`), strictly (an unknown field is an
//! error), and the site profile in its ConfigMap is a valid hosttune profile. `.ci/run` installs
//! kubernetes-validate in `$HOSTTUNE_VENV`; without it the first test skips loudly, or fails
//! under HOSTTUNE_REQUIRE_ROOT_TESTS=1.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn manifests() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/kubernetes");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no manifests in {}", dir.display());
    v
}

#[test]
fn manifests_validate_strictly_against_the_newest_kubernetes() {
    let test = "manifests_validate_strictly_against_the_newest_kubernetes";
    if !common::tools_present(test, &["kubernetes-validate"]) {
        return;
    }
    let tool = common::tool_path("kubernetes-validate").unwrap();
    let o = Command::new(&tool)
        .arg("--strict")
        .args(manifests())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    eprintln!("{text}");
    assert!(o.status.success(), "kubernetes-validate --strict: {text}");
    for kind in ["namespace", "serviceaccount", "configmap", "daemonset"] {
        assert!(
            text.contains(&format!("passed for resource {kind}/")),
            "{kind} was not validated: {text}"
        );
    }
    // A field the schema does not have is caught: the check is really strict.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let ds = std::fs::read_to_string(manifests()[0].as_path()).unwrap();
    std::fs::write(
        &bad,
        ds.replace("hostPID: false", "hostPID: false\n      hostPIDs: false"),
    )
    .unwrap();
    let o = Command::new(&tool)
        .args(["--strict", "--quiet"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!o.status.success(), "an unknown field passed");
}

/// The ConfigMap's `site.toml` (a YAML block scalar) loads as a hosttune profile, and the agent's
/// arguments name it and the mounted paths.
#[test]
fn the_configmap_profile_is_valid_and_the_agent_uses_it() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/kubernetes/daemonset.yaml");
    let ds = std::fs::read_to_string(&path).unwrap();
    let mut lines = ds
        .lines()
        .skip_while(|l| l.trim() != "site.toml: |")
        .skip(1);
    let indent = "    ";
    let mut profile = String::new();
    for l in lines.by_ref() {
        if l.is_empty() {
            profile.push('\n');
        } else if let Some(rest) = l.strip_prefix(indent) {
            profile.push_str(rest);
            profile.push('\n');
        } else {
            break;
        }
    }
    assert!(profile.contains("extends"), "no site.toml in {ds}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("site.toml"), &profile).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hosttune"))
        .arg("--profile-dir")
        .arg(dir.path())
        .args(["validate", "site"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{profile}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for arg in [
        "--root=/host",
        "--state-dir=/var/lib/hosttune",
        "--profile-dir=/etc/hosttune/profiles",
        "- agent",
        "- site",
        "--textfile=/var/lib/prometheus/node-exporter/hosttune.prom",
        "mountPath: /host/proc",
        "mountPath: /host/sys",
        "hostNetwork: true",
        "privileged: true",
        "- operator: Exists",
    ] {
        assert!(ds.contains(arg), "{arg} missing from {}", path.display());
    }
}
