//! The proof of effect as a real-kernel test: in a network namespace, a burst of connections
//! at a listener that never accepts overflows its accept queue under the default somaxconn
//! (4096), does not after `hosttune apply web` (somaxconn ≥ 65535), and does again after
//! `hosttune rollback`; `audit --evidence` shows ListenOverflows at each step.

use crate::common;

use common::burst::{Scratched, burst};
use common::{Netns, root_tests_enabled};

/// Connections per burst: above the namespace's default somaxconn of 4096.
const N: usize = 6000;

fn overflow_evidence(json: &str) -> (u64, Option<u64>) {
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();
    let item = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["object"] == "net.core.somaxconn")
        .unwrap_or_else(|| panic!("{json}"));
    let e = item["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["counter"] == "TcpExtListenOverflows")
        .unwrap_or_else(|| panic!("{item}"));
    (e["value"].as_u64().unwrap(), e["increase"].as_u64())
}

#[test]
fn listen_overflows_before_web_none_after_and_again_after_rollback() {
    let test = "listen_overflows_before_web_none_after_and_again_after_rollback";
    if !root_tests_enabled(test) {
        return;
    }
    let ns = Netns::new("evid");
    assert_eq!(ns.sysctl("net.core.somaxconn"), "4096");
    let h = Scratched::new(&ns, common::BIN);
    let audit = || {
        let (code, out, err) = h.run(&["audit", "web", "--evidence", "--format", "json"]);
        // Only called while somaxconn is the namespace's default: drift.
        assert_eq!(code, 1, "{out}{err}");
        overflow_evidence(&out)
    };

    let before = burst(&ns, N);
    assert!(
        before > 0,
        "no overflow with somaxconn 4096 and {N} connections"
    );
    assert_eq!(audit().0, before, "evidence = what the namespace counted");
    let (code, text, err) = h.run(&["audit", "web", "--evidence"]);
    assert_eq!(code, 1, "{err}");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("somaxconn 4096 < 65535"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(&format!(
            "ListenOverflows {before} since the namespace was created"
        )),
        "{line}"
    );

    let (code, out, err) = h.run(&["apply", "web"]);
    assert_eq!(code, 0, "{out}{err}");
    // The server listens again after the apply: the backlog is capped at listen() time.
    let after = burst(&ns, N);
    assert_eq!(
        after,
        0,
        "overflows with somaxconn {}",
        ns.sysctl("net.core.somaxconn")
    );
    // With an interval around a burst, the evidence grows by what the burst overflowed.
    let child = h
        .command(&[
            "audit",
            "web",
            "--evidence-interval",
            "2",
            "--format",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(burst(&ns, N), 0);
    let out = child.wait_with_output().unwrap();
    let (value, increase) = overflow_evidence(&String::from_utf8_lossy(&out.stdout));
    assert_eq!((value, increase), (before, Some(0)));

    let (code, out, err) = h.run(&["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(ns.sysctl("net.core.somaxconn"), "4096");
    let again = burst(&ns, N);
    assert!(again > 0, "no overflow after rollback");
    assert_eq!(audit().0, before + again);
}
