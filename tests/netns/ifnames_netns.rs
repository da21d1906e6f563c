//! Interface names are bytes: the kernel takes any bytes but `/`, `:`, whitespace and NUL. In a
//! throw-away network namespace with a veth named `bv\xff\xfe` (not UTF-8) beside `bv0`,
//! `bv.1` and `bv-é`: `apply` of a profile with plain and glob sysctls, `[dsr]` and a
//! `[[nic]] match = "bv*"` rule applies everything else and exits 0, naming the odd interface
//! escaped once; JSON and Prometheus reports stay valid; `rollback` restores; the agent's cycles
//! and link events pass the odd interface over without a failure.

use crate::common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Netns, hosttune, root_tests_enabled};

const ODD: &[u8] = b"bv\xff\xfe";
const ODD_SHOWN: &str = r"bv\xff\xfe";

const PROFILE: &str = r#"description = "interface names are bytes"
[sysctl]
"net.core.somaxconn" = 5000
"net.ipv4.conf.*.rp_filter" = 2
[dsr]
vips = ["192.0.2.100/32"]
[[nic]]
match = "bv*"
txqueuelen = 4321
"#;

/// `ip ARGS` in the namespace, with the odd name as one argument where `@` stands.
fn ip_odd(ns: &Netns, args: &[&str]) {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.name, "ip"])
        .args(args.iter().map(|a| match *a {
            "@" => OsStr::from_bytes(ODD),
            a => OsStr::new(a),
        }))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A file under the namespace's `/proc` or `/sys`, read from inside it.
fn cat(ns: &Netns, path: &Path) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.name, "cat"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "cat {}", path.display());
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn net(iface: &[u8], file: &str) -> PathBuf {
    Path::new("/sys/class/net")
        .join(OsStr::from_bytes(iface))
        .join(file)
}

fn rp_filter(iface: &[u8]) -> PathBuf {
    Path::new("/proc/sys/net/ipv4/conf")
        .join(OsStr::from_bytes(iface))
        .join("rp_filter")
}

/// Checks the Prometheus text exposition format line by line: comments, or
/// `name{label="value",...} number` where a value holds only `\\`, `\"` and `\n` escapes.
fn assert_valid_exposition(text: &str) {
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        assert!(
            sample_line(line).is_some(),
            "invalid exposition line: {line}"
        );
    }
}

fn sample_line(line: &str) -> Option<()> {
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let name_end = line.find(['{', ' '])?;
    word(&line[..name_end]).then_some(())?;
    let mut rest = &line[name_end..];
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            let eq = rest.find("=\"")?;
            word(&rest[..eq]).then_some(())?;
            let mut chars = rest[eq + 2..].char_indices();
            let close = loop {
                match chars.next()? {
                    (_, '\\') => match chars.next()? {
                        (_, '\\' | '"' | 'n') => {}
                        _ => return None,
                    },
                    (i, '"') => break eq + 2 + i,
                    (_, '\n') => return None,
                    _ => {}
                }
            };
            rest = &rest[close + 1..];
            if let Some(r) = rest.strip_prefix(',') {
                rest = r;
            } else {
                rest = rest.strip_prefix('}')?;
                break;
            }
        }
    }
    let value = rest.strip_prefix(' ')?.split(' ').next()?;
    value.parse::<f64>().ok().map(|_| ())
}

#[test]
fn an_interface_named_with_bytes_that_are_not_utf8_is_skipped_and_the_rest_applies() {
    let test = "an_interface_named_with_bytes_that_are_not_utf8_is_skipped_and_the_rest_applies";
    if !root_tests_enabled(test) {
        return;
    }
    let ns = Netns::new("ifn");
    ip_odd(
        &ns,
        &["link", "add", "@", "type", "veth", "peer", "name", "bv.1"],
    );
    ns.ip(&["link", "add", "bv0", "type", "veth", "peer", "name", "bv-é"]);
    ip_odd(&ns, &["addr", "add", "192.0.2.7/24", "dev", "@"]);
    ip_odd(&ns, &["link", "set", "@", "up"]);
    ns.ip(&["link", "set", "bv.1", "up"]);
    let tuned: [&[u8]; 3] = [b"bv0", b"bv.1", "bv-é".as_bytes()];
    let before_qlen = cat(&ns, &net(ODD, "tx_queue_len"));
    let before_rp = cat(&ns, &rp_filter(ODD));
    let before_somaxconn = ns.sysctl("net.core.somaxconn");
    let before_bv0 = cat(&ns, &net(b"bv0", "tx_queue_len"));

    let dir = tempfile::tempdir().unwrap();
    let prof = dir.path().join("p.toml");
    std::fs::write(&prof, PROFILE).unwrap();
    let prof = prof.to_str().unwrap();
    let state = dir.path().join("state");

    let (code, out, err) = ns.hosttune(&state, &["apply", prof]);
    assert_eq!(code, 0, "{out}{err}");
    let all = format!("{out}{err}");
    let odd_lines: Vec<&str> = all.lines().filter(|l| l.contains(ODD_SHOWN)).collect();
    assert!(
        odd_lines.len() == 1 && odd_lines[0].contains("not UTF-8"),
        "the odd interface is named escaped exactly once:\n{all}"
    );
    assert!(!all.contains('\u{FFFD}'), "{all}");
    assert_eq!(ns.sysctl("net.core.somaxconn"), "5000");
    for i in tuned {
        assert_eq!(cat(&ns, &net(i, "tx_queue_len")), "4321", "{out}");
        assert_eq!(cat(&ns, &rp_filter(i)), "2", "{out}");
    }
    assert!(
        ns.ip(&["addr", "show", "dev", "lo"])
            .contains("192.0.2.100/32")
    );
    // The odd interface is left alone.
    assert_eq!(cat(&ns, &net(ODD, "tx_queue_len")), before_qlen);
    assert_eq!(cat(&ns, &rp_filter(ODD)), before_rp);

    let (code, out, err) = ns.hosttune(&state, &["audit", prof]);
    assert_eq!(code, 0, "in sync: {out}{err}");
    assert!(out.contains(ODD_SHOWN), "{out}");

    let (code, out, err) = ns.hosttune(&state, &["audit", prof, "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let items = doc["items"].as_array().unwrap();
    let odd: Vec<_> = items.iter().filter(|i| i["object"] == ODD_SHOWN).collect();
    assert_eq!(odd.len(), 1, "{out}");
    assert_eq!(odd[0]["status"], "skipped");
    for name in ["bv0", "bv.1", "bv-é"] {
        assert!(
            items
                .iter()
                .any(|i| i["object"] == name && i["kind"] == "txqueuelen" && i["status"] == "ok"),
            "{name}: {out}"
        );
    }

    let (code, out, err) = ns.hosttune(&state, &["audit", prof, "--format", "prometheus"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_valid_exposition(&out);
    assert!(out.contains(r#"object="bv\\xff\\xfe""#), "{out}");
    assert!(out.contains(r#"object="bv-é""#), "{out}");

    agent_passes_the_odd_interface_over(&ns, dir.path(), prof);

    let (code, out, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(ns.sysctl("net.core.somaxconn"), before_somaxconn);
    assert_eq!(cat(&ns, &net(b"bv0", "tx_queue_len")), before_bv0);
    assert!(
        !ns.ip(&["addr", "show", "dev", "lo"])
            .contains("192.0.2.100/32")
    );
    assert_eq!(cat(&ns, &net(ODD, "tx_queue_len")), before_qlen);
}

/// `agent --interval 1` for a few cycles, with link events of the odd interface and a new
/// `bv2` meanwhile: `bv2` is tuned, no cycle fails, SIGTERM exits 0.
fn agent_passes_the_odd_interface_over(ns: &Netns, dir: &Path, prof: &str) {
    let log = dir.join("agent.err");
    let textfile = dir.join("agent.prom");
    let mut child = hosttune()
        .netns(ns)
        .state(dir.join("agent-state"))
        .command(&["agent", prof, "--interval", "1", "--textfile"])
        .arg(&textfile)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stop = |child: &mut std::process::Child| {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let start = Instant::now();
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return st.code().unwrap_or(-1);
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                let _ = child.wait();
                return -1;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let waited = (|| {
        let start = Instant::now();
        while !textfile.exists() {
            if start.elapsed() > Duration::from_secs(10) {
                return Err("no first cycle within 10s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    })();
    if let Err(e) = waited {
        stop(&mut child);
        panic!("{e}: {}", std::fs::read_to_string(&log).unwrap_or_default());
    }
    ip_odd(ns, &["link", "set", "@", "down"]);
    ip_odd(ns, &["link", "set", "@", "up"]);
    ns.ip(&["link", "add", "bv2", "type", "veth", "peer", "name", "bvp2"]);
    let start = Instant::now();
    while cat(ns, &net(b"bv2", "tx_queue_len")) != "4321"
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(2500));
    let code = stop(&mut child);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(code, 0, "{text}");
    assert_eq!(cat(ns, &net(b"bv2", "tx_queue_len")), "4321", "{text}");
    for bad in ["fail", "cannot", "error", "\u{FFFD}"] {
        assert!(!text.contains(bad), "{bad:?} in the agent's log:\n{text}");
    }
    let said: Vec<&str> = text.lines().filter(|l| l.contains(ODD_SHOWN)).collect();
    assert!(
        said.len() == 1 && said[0].starts_with("hosttune: agent: skipped"),
        "the odd interface is named once, at start, not every cycle:\n{text}"
    );
    let metrics = std::fs::read_to_string(&textfile).unwrap();
    assert_valid_exposition(&metrics);
    assert!(metrics.contains(r#"object="bv\\xff\\xfe""#), "{metrics}");
    let counter = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name}: {metrics}"))
    };
    assert!(
        counter("hosttune_agent_cycles_total ") >= 4,
        "start, link and interval cycles ran: {metrics}"
    );
    assert_eq!(counter("hosttune_agent_failures_total "), 0, "{metrics}");
}
