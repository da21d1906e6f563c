//! `contrib/kubernetes/*.yaml` is valid for the newest Kubernetes version that the installed
//! `kubernetes-validate` (PyPI) knows (its default `-k`), strictly (an unknown field is an
//! error); the three role manifests are what `generate.sh` makes of the template and the
//! role profiles, each site profile in a ConfigMap is a valid hosttune profile, and every
//! DaemonSet selects the nodes of one role and is ready only when `hosttune status` says so.
//! `.ci/run` installs kubernetes-validate in `$HOSTTUNE_VENV`; without it (or without PyYAML,
//! which comes with it) a test skips loudly, or fails under HOSTTUNE_REQUIRE_ROOT_TESTS=1.

use crate::common;
use crate::common::hosttune;

use std::path::{Path, PathBuf};
use std::process::Command;

const ROLES: [&str; 3] = ["web", "lb", "client"];

fn dir_of() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/kubernetes")
}

fn manifests() -> Vec<PathBuf> {
    let dir = dir_of();
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
    for kind in [
        "namespace",
        "serviceaccount",
        "configmap",
        "daemonset",
        "job",
    ] {
        assert!(
            text.contains(&format!("passed for resource {kind}/")),
            "{kind} was not validated: {text}"
        );
    }
    // A field the schema does not have is caught: the check is really strict.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let ds = std::fs::read_to_string(dir_of().join("hosttune-web.yaml")).unwrap();
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

/// `generate.sh` run into a temporary directory writes exactly the committed role manifests.
#[test]
fn the_role_manifests_are_generated_from_the_template() {
    let out = tempfile::tempdir().unwrap();
    common::run(
        dir_of().join("generate.sh").to_str().unwrap(),
        &[out.path().to_str().unwrap()],
    );
    for role in ROLES {
        let name = format!("hosttune-{role}.yaml");
        let fresh = std::fs::read_to_string(out.path().join(&name)).unwrap();
        let committed = std::fs::read_to_string(dir_of().join(&name)).unwrap();
        assert!(
            fresh == committed,
            "contrib/kubernetes/{name} is stale: run contrib/kubernetes/generate.sh"
        );
        // The profile's sha256 is in the pod template, so a profile change rolls out.
        let profile = std::fs::read(dir_of().join(format!("profiles/{role}.toml"))).unwrap();
        let sha = hosttune::sha256::hex(&profile);
        assert!(
            committed.contains(&format!("hosttune.io/profile-sha256: \"{sha}\"")),
            "{name}: no checksum annotation of profiles/{role}.toml"
        );
    }
}

/// Each role's ConfigMap holds `ROLE-site.toml` (a YAML block scalar) that loads as a hosttune
/// profile extending the built-in role, and the agent's arguments name it and the mounted
/// paths.
#[test]
fn each_configmap_profile_is_valid_and_the_agent_uses_it() {
    for role in ROLES {
        let path = dir_of().join(format!("hosttune-{role}.yaml"));
        let ds = std::fs::read_to_string(&path).unwrap();
        let key = format!("{role}-site.toml: |");
        let mut lines = ds.lines().skip_while(|l| l.trim() != key).skip(1);
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
        assert!(
            profile.contains(&format!("extends = \"{role}\"")),
            "no {key} extending {role} in {}",
            path.display()
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(format!("{role}-site.toml")), &profile).unwrap();
        let o = hosttune()
            .global("--profile-dir", dir.path())
            .output(&["validate", &format!("{role}-site")]);
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
            &format!("- {role}-site"),
            "--textfile=/var/lib/prometheus/node-exporter/hosttune.prom",
            "mountPath: /host/proc",
            "mountPath: /host/sys",
            "hostNetwork: true",
            "privileged: true",
            "- operator: Exists",
            "priorityClassName: system-node-critical",
        ] {
            assert!(ds.contains(arg), "{arg} missing from {}", path.display());
        }
    }
}

/// Every document of every manifest, as JSON (through PyYAML, which kubernetes-validate
/// brings), with the file it came from; `None` (after a loud skip) without PyYAML.
fn documents(test: &str) -> Option<Vec<(PathBuf, serde_json::Value)>> {
    if !common::tools_present(test, &["kubernetes-validate"]) {
        return None;
    }
    let venv_python = common::tool_path("kubernetes-validate")
        .unwrap()
        .with_file_name("python3");
    let python = if venv_python.exists() {
        venv_python
    } else {
        common::tool_path("python3")?
    };
    let mut docs = Vec::new();
    for path in manifests() {
        let o = Command::new(&python)
            .args([
                "-c",
                "import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))",
            ])
            .arg(&path)
            .output()
            .unwrap();
        if !o.status.success() {
            common::skip(
                test,
                &format!(
                    "{} cannot read YAML (PyYAML): {}",
                    python.display(),
                    String::from_utf8_lossy(&o.stderr)
                ),
            );
            return None;
        }
        let v: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
        docs.extend(v.into_iter().map(|d| (path.clone(), d)));
    }
    Some(docs)
}

/// Every DaemonSet runs on the nodes of one role (`hosttune.io/role` in its nodeSelector, the
/// role its agent's profile is for), is ready only when `hosttune status` in its state dir
/// exits 0, and rolls out one node at a time, held by that probe; a stopped pod never rolls
/// back. One DaemonSet per role.
#[test]
fn every_daemonset_selects_a_role_and_probes_hosttune_status() {
    let test = "every_daemonset_selects_a_role_and_probes_hosttune_status";
    let Some(docs) = documents(test) else { return };
    let mut roles = Vec::new();
    for (path, d) in docs.iter().filter(|(_, d)| d["kind"] == "DaemonSet") {
        let at = path.display();
        let spec = &d["spec"];
        let pod = &spec["template"]["spec"];
        let role = pod["nodeSelector"]["hosttune.io/role"]
            .as_str()
            .unwrap_or_else(|| panic!("{at}: the nodeSelector names no hosttune.io/role"));
        assert!(ROLES.contains(&role), "{at}: role {role}");
        assert_eq!(
            spec["selector"]["matchLabels"]["hosttune.io/role"], role,
            "{at}"
        );
        assert_eq!(pod["priorityClassName"], "system-node-critical", "{at}");
        let c = &pod["containers"][0];
        let args: Vec<&str> = c["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let at_agent = args.iter().position(|a| *a == "agent").expect("agent");
        assert_eq!(args[at_agent + 1], format!("{role}-site"), "{at}");
        let state = args
            .iter()
            .find(|a| a.starts_with("--state-dir="))
            .expect("--state-dir");
        let probe: Vec<&str> = c["readinessProbe"]["exec"]["command"]
            .as_array()
            .unwrap_or_else(|| panic!("{at}: no exec readinessProbe"))
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            probe[0], c["command"][0],
            "{at}: the probe runs another binary"
        );
        assert_eq!(probe.last(), Some(&"status"), "{at}: {probe:?}");
        assert!(
            probe.contains(state),
            "{at}: the probe reads another state dir"
        );
        let ru = &spec["updateStrategy"]["rollingUpdate"];
        assert_eq!(spec["updateStrategy"]["type"], "RollingUpdate", "{at}");
        assert_eq!(ru["maxUnavailable"], 1, "{at}");
        assert_eq!(ru["maxSurge"], 0, "{at}: two agents on a node");
        assert!(spec["minReadySeconds"].as_u64().unwrap_or(0) >= 60, "{at}");
        assert!(
            !args.iter().any(|a| a.contains("rollback")) && c["lifecycle"].is_null(),
            "{at}: a pod stop must never roll back"
        );
        let cm = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|v| v["configMap"]["name"].as_str())
            .expect("a ConfigMap volume");
        assert_eq!(cm, format!("hosttune-{role}-profiles"), "{at}");
        roles.push(role.to_string());
    }
    roles.sort();
    let mut want: Vec<String> = ROLES.iter().map(|r| r.to_string()).collect();
    want.sort();
    assert_eq!(roles, want, "one DaemonSet per role");
    // The uninstall path: a Job that runs `hosttune rollback` with the agents' state dir.
    let job = docs
        .iter()
        .find(|(_, d)| d["kind"] == "Job")
        .expect("the rollback Job");
    let args = job.1["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(
        args.contains("\"rollback\"") && args.contains("--state-dir=/var/lib/hosttune"),
        "{args}"
    );
}
