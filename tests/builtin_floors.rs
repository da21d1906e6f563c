//! No built-in profile lowers a capacity: every capacity key of the built-ins is a floor, and
//! auditing each profile on this host (read-only) proposes no move down (`↓`), whatever the
//! host's RAM and CPUs made the kernel choose.

use assert_cmd::cargo::cargo_bin;

/// Queue lengths, buffer sizes, table and file limits (README, "Capacities are floors").
const CAPACITIES: &[&str] = &[
    "net.core.somaxconn",
    "net.ipv4.tcp_max_syn_backlog",
    "net.core.netdev_max_backlog",
    "net.core.netdev_budget",
    "net.core.netdev_budget_usecs",
    "net.core.rmem_max",
    "net.core.wmem_max",
];

#[test]
fn no_builtin_profile_lowers_a_capacity_on_this_host() {
    let state = tempfile::tempdir().unwrap();
    // (role, how many capacity keys it sets)
    for (p, count) in [("client", 2), ("web", 5), ("lb", 5)] {
        let o = std::process::Command::new(cargo_bin("hosttune"))
            .arg("--state-dir")
            .arg(state.path())
            .args(["audit", "--format", "json", p])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{p}: {e}: {}", String::from_utf8_lossy(&o.stderr)));
        let mut seen = 0;
        for i in v["items"].as_array().unwrap() {
            let object = i["object"].as_str().unwrap();
            if !CAPACITIES.contains(&object) {
                continue;
            }
            seen += 1;
            let desired = i["desired"].as_str().unwrap();
            assert!(
                desired.starts_with('≥'),
                "{p}: {object} = {desired} is not a floor"
            );
            let note = i["note"].as_str().unwrap_or_default();
            assert!(
                !note.contains('↓'),
                "{p}: {object} would be lowered: {note}"
            );
        }
        assert_eq!(seen, count, "{p}: capacity keys found in the audit");
    }
}
