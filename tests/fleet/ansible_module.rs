//! The Ansible module (`contrib/ansible/library/hosttune.py`) with ansible-core (PyPI, in
//! `$HOSTTUNE_VENV`), against localhost inside a throw-away network namespace, with a profile
//! of namespaced keys only: `--check` reports changed and writes nothing, an apply changes,
//! a second apply is ok, an audit is ok, and a bad profile fails the task; check mode with
//! `profile_content` audits the profile a play would install (on a first run, and when the
//! profile changes). The role, in the same way with its paths in a temporary directory, works
//! in check mode on a first run and stops and disables an agent left running before it
//! applies (a stand-in systemctl records the calls). The role's playbook passes
//! `--syntax-check`. Skips loudly without ansible-playbook, or fails under
//! HOSTTUNE_REQUIRE_ROOT_TESTS=1.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Netns;

const PROFILE: &str = r#"description = "namespaced keys for the Ansible test"
[sysctl]
"net.core.somaxconn" = 8191
"net.ipv4.tcp_fin_timeout" = 23
"#;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `ansible-playbook` with the module on its library path, plain output, and its temporary
/// files in `tmp`.
fn playbook(tool: &Path, tmp: &Path) -> Command {
    let mut c = Command::new(tool);
    c.env("ANSIBLE_LIBRARY", repo().join("contrib/ansible/library"))
        .env("ANSIBLE_ROLES_PATH", repo().join("contrib/ansible/roles"))
        .env("ANSIBLE_LOCAL_TEMP", tmp.join("ansible-local"))
        .env("ANSIBLE_REMOTE_TEMP", tmp.join("ansible-remote"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .env("ANSIBLE_LOCALHOST_WARNING", "0")
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "0")
        // ansible-core refuses to start without a UTF-8 locale.
        .env("LC_ALL", "C.UTF-8")
        .env("LANG", "C.UTF-8");
    c
}

/// One run of the module's playbook in `ns`: (exit code, changed count, failed count, output).
struct Run {
    code: i32,
    changed: u32,
    failed: u32,
    out: String,
}

fn recap(out: &str, field: &str) -> u32 {
    let line = out
        .lines()
        .find(|l| l.starts_with("localhost") && l.contains("changed="))
        .unwrap_or_else(|| panic!("no PLAY RECAP line: {out}"));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{field}=")))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {field}= in {line}"))
}

fn run_in(ns: &Netns, tool: &Path, tmp: &Path, profile: &Path, extra: &[&str]) -> Run {
    run_book(ns, tool, tmp, "netns.yml", profile, extra)
}

fn run_book(
    ns: &Netns,
    tool: &Path,
    tmp: &Path,
    book: &str,
    profile: &Path,
    extra: &[&str],
) -> Run {
    let mut c = playbook(Path::new("ip"), tmp);
    c.args(["netns", "exec", &ns.name])
        .arg(tool)
        .args(["-i", "localhost,", "-c", "local"])
        .arg(repo().join("tests/ansible").join(book))
        .arg("-e")
        .arg(format!("hosttune_binary={}", common::BIN))
        .arg("-e")
        .arg(format!(
            "hosttune_state_dir={}",
            tmp.join("state").display()
        ))
        .arg("-e")
        .arg(format!("hosttune_profile={}", profile.display()))
        .args(extra);
    let o = c.output().expect("ip netns exec ansible-playbook");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    Run {
        code: o.status.code().unwrap_or(-1),
        changed: recap(&out, "changed"),
        failed: recap(&out, "failed"),
        out,
    }
}

#[test]
fn check_apply_reapply_in_a_namespace() {
    let test = "ansible check_apply_reapply_in_a_namespace";
    if !common::root_tests_with(test, &["ansible-playbook"]) {
        return;
    }
    let tool = common::tool_path("ansible-playbook").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("ns.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let ns = Netns::new("ansible");
    let before = (
        ns.sysctl("net.core.somaxconn"),
        ns.sysctl("net.ipv4.tcp_fin_timeout"),
    );
    assert_ne!(before, ("8191".into(), "23".into()));

    // Check mode is an audit: changed, with the drift in the diff, and nothing written.
    let r = run_in(&ns, &tool, tmp.path(), &profile, &["--check", "--diff"]);
    assert_eq!((r.code, r.changed, r.failed), (0, 1, 0), "{}", r.out);
    assert!(
        r.out.contains("+sysctl net.core.somaxconn = 8191"),
        "{}",
        r.out
    );
    assert!(
        r.out
            .contains(&format!("-sysctl net.core.somaxconn = {}", before.0)),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("+sysctl net.ipv4.tcp_fin_timeout = 23"),
        "{}",
        r.out
    );
    assert_eq!(
        (
            ns.sysctl("net.core.somaxconn"),
            ns.sysctl("net.ipv4.tcp_fin_timeout")
        ),
        before,
        "check mode wrote"
    );

    let r = run_in(&ns, &tool, tmp.path(), &profile, &[]);
    assert_eq!((r.code, r.changed, r.failed), (0, 1, 0), "{}", r.out);
    assert!(
        r.out.contains("changed sysctl net.core.somaxconn"),
        "{}",
        r.out
    );
    assert_eq!(ns.sysctl("net.core.somaxconn"), "8191");
    assert_eq!(ns.sysctl("net.ipv4.tcp_fin_timeout"), "23");

    let r = run_in(&ns, &tool, tmp.path(), &profile, &[]);
    assert_eq!((r.code, r.changed, r.failed), (0, 0, 0), "{}", r.out);

    let r = run_in(
        &ns,
        &tool,
        tmp.path(),
        &profile,
        &["--check", "-e", "hosttune_state=audited"],
    );
    assert_eq!((r.code, r.changed, r.failed), (0, 0, 0), "{}", r.out);
    // The debug task prints the result as escaped JSON.
    assert!(r.out.contains(r#"\"in_sync\": true"#), "{}", r.out);

    // A bad profile: hosttune exits 2 and the task fails with its message (file:line).
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        "no_such_key = 1\n[sysctl]\n\"net.ipv4.tcp_fin_timeout\" = 23\n",
    )
    .unwrap();
    let r = run_in(&ns, &tool, tmp.path(), &bad, &[]);
    assert_ne!(r.code, 0, "{}", r.out);
    assert_eq!(r.failed, 1, "{}", r.out);
    assert!(r.out.contains("no_such_key"), "{}", r.out);
    assert_eq!(ns.sysctl("net.core.somaxconn"), "8191");
}

/// Check mode with `profile_content` audits that text as the named profile: on a first run
/// (the profile not installed yet: no "not found") and after the profile changed (the new
/// values, not the installed ones), writing nothing.
#[test]
fn check_mode_audits_the_profile_a_play_would_install() {
    let test = "ansible check_mode_audits_the_profile_a_play_would_install";
    if !common::root_tests_with(test, &["ansible-playbook"]) {
        return;
    }
    let tool = common::tool_path("ansible-playbook").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("profiles");
    std::fs::create_dir_all(&dir).unwrap();
    let ns = Netns::new("ansck");
    let before = ns.sysctl("net.core.somaxconn");
    assert_ne!(before, "8191");
    let vars = |content: &str| {
        serde_json::json!({
            "hosttune_profile": "roletest",
            "hosttune_profile_dirs": [dir.to_str().unwrap()],
            "hosttune_profile_content": content,
        })
        .to_string()
    };
    let installed = dir.join("roletest.toml");

    // First run: nothing installed.
    let v = vars(PROFILE);
    let r = run_in(
        &ns,
        &tool,
        tmp.path(),
        &installed,
        &["--check", "--diff", "-e", &v],
    );
    assert_eq!((r.code, r.changed, r.failed), (0, 1, 0), "{}", r.out);
    assert!(
        r.out.contains("+sysctl net.core.somaxconn = 8191"),
        "{}",
        r.out
    );
    assert!(!installed.exists(), "check mode installed the profile");
    assert_eq!(ns.sysctl("net.core.somaxconn"), before, "check mode wrote");

    // Installed and applied, then changed in the play: check mode audits the new text.
    std::fs::write(&installed, PROFILE).unwrap();
    let r = run_in(&ns, &tool, tmp.path(), &installed, &[]);
    assert_eq!((r.code, r.changed, r.failed), (0, 1, 0), "{}", r.out);
    assert_eq!(ns.sysctl("net.core.somaxconn"), "8191");
    let v = vars(&PROFILE.replace("8191", "8000"));
    let r = run_in(
        &ns,
        &tool,
        tmp.path(),
        &installed,
        &["--check", "--diff", "-e", &v],
    );
    assert_eq!((r.code, r.changed, r.failed), (0, 1, 0), "{}", r.out);
    assert!(
        r.out.contains("-sysctl net.core.somaxconn = 8191"),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("+sysctl net.core.somaxconn = 8000"),
        "{}",
        r.out
    );
    assert!(!r.out.contains("tcp_fin_timeout ="), "{}", r.out);
    assert_eq!(ns.sysctl("net.core.somaxconn"), "8191");
    // The same text as installed: in sync.
    let v = vars(PROFILE);
    let r = run_in(&ns, &tool, tmp.path(), &installed, &["--check", "-e", &v]);
    assert_eq!((r.code, r.changed, r.failed), (0, 0, 0), "{}", r.out);
}

/// The role with its paths in a temporary directory: `--check` on a first run (nothing
/// installed) audits the profile it would install and writes nothing; a real run with an agent
/// left enabled and running (from `hosttune_mode: agent`) disables and stops it, then applies.
#[test]
fn the_role_checks_a_first_run_and_stops_a_left_agent() {
    let test = "ansible the_role_checks_a_first_run_and_stops_a_left_agent";
    if !common::root_tests_with(test, &["ansible-playbook"]) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let tool = common::tool_path("ansible-playbook").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("systemctl.log");
    let fake = tmp.path().join("systemctl");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$*\" >> {}\ncase \"$1\" in\n  is-enabled) echo enabled ;;\n  \
             is-active) echo active ;;\nesac\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = tmp.path().join("etc-profiles");
    let ns = Netns::new("ansrole");
    let before = ns.sysctl("net.core.somaxconn");
    let v = serde_json::json!({
        "hosttune_mode": "none",
        "hosttune_systemctl": fake.to_str().unwrap(),
        "hosttune_profile_dir": dir.to_str().unwrap(),
        "hosttune_profile_name": "roletest",
        "hosttune_profile_content": PROFILE,
    })
    .to_string();
    let unused = tmp.path().join("unused.toml");

    let r = run_book(
        &ns,
        &tool,
        tmp.path(),
        "role_netns.yml",
        &unused,
        &["--check", "-e", &v],
    );
    assert_eq!((r.code, r.failed), (0, 0), "{}", r.out);
    assert!(r.changed >= 1, "{}", r.out);
    assert!(!r.out.contains("not found"), "{}", r.out);
    assert!(
        !dir.join("roletest.toml").exists(),
        "check mode installed the profile"
    );
    assert_eq!(ns.sysctl("net.core.somaxconn"), before, "check mode wrote");
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !calls.contains("disable"),
        "check mode disabled the agent: {calls}"
    );

    let r = run_book(
        &ns,
        &tool,
        tmp.path(),
        "role_netns.yml",
        &unused,
        &["-e", &v],
    );
    assert_eq!((r.code, r.failed), (0, 0), "{}", r.out);
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        calls.contains("disable --now hosttune-agent.service"),
        "the agent was not stopped: {calls}"
    );
    assert!(dir.join("roletest.toml").exists());
    assert_eq!(ns.sysctl("net.core.somaxconn"), "8191");
}

#[test]
fn the_role_passes_the_syntax_check() {
    let test = "ansible the_role_passes_the_syntax_check";
    if !common::tools_present(test, &["ansible-playbook"]) {
        return;
    }
    let tool = common::tool_path("ansible-playbook").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let o = playbook(&tool, tmp.path())
        .args(["-i", "localhost,", "--syntax-check"])
        .arg(repo().join("tests/ansible/role.yml"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
