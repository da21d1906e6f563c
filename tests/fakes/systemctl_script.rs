//! `Systemctl` against a stand-in `systemctl` script that records its argument vector and
//! answers with canned output, so the argument vectors and the parsing of real systemctl
//! answers are tested without touching this machine's services.

use std::path::Path;
use std::sync::Mutex;

use hosttune::host::systemd::Systemctl;
use hosttune::host::{ServiceError, ServiceState, Services};

const IRQB: &str = "irqbalance.service";

/// Writing an executable while another thread forks can make exec fail with ETXTBSY (the
/// child briefly holds the write descriptor); these tests write and run scripts one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    /// A script whose `case "$1" in ... esac` body is `cases`; any other verb exits 0.
    fn new(cases: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("booted")).unwrap();
        let d = dir.path().display();
        let script = format!(
            "#!/bin/sh\nprintf '[%s]' \"$@\" >> {d}/argv.log\necho >> {d}/argv.log\n\
             echo \"$LC_ALL\" >> {d}/env.log\ncase \"$1\" in\n{cases}\n*) exit 0 ;;\nesac\n"
        );
        let path = dir.path().join("systemctl");
        std::fs::write(&path, script).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).unwrap();
        Self { dir }
    }

    fn systemctl(&self) -> Systemctl {
        Systemctl::new(
            self.dir.path().join("systemctl"),
            self.dir.path().join("booted"),
        )
    }

    fn argv(&self) -> Vec<String> {
        read_lines(&self.dir.path().join("argv.log"))
    }

    fn env(&self) -> Vec<String> {
        read_lines(&self.dir.path().join("env.log"))
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.lines().map(String::from).collect(),
        Err(_) => Vec::new(),
    }
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn state_asks_is_enabled_then_is_active_with_plain_argv() {
    let _one = lock();
    let fake = Fake::new(
        "is-enabled) echo enabled; exit 0 ;;\n\
         is-active) echo active; exit 0 ;;",
    );
    let state = fake.systemctl().state(IRQB);
    assert_eq!(
        state,
        Ok(Some(ServiceState {
            active: true,
            enabled: true
        }))
    );
    assert_eq!(
        fake.argv(),
        [
            "[is-enabled][irqbalance.service]",
            "[is-active][irqbalance.service]"
        ]
    );
    assert_eq!(fake.env(), ["C", "C"], "systemctl must run with LC_ALL=C");
}

#[test]
fn a_disabled_stopped_unit_reads_back_from_nonzero_exits() {
    let _one = lock();
    let fake = Fake::new(
        "is-enabled) echo disabled; exit 1 ;;\n\
         is-active) echo inactive; exit 3 ;;",
    );
    let state = fake.systemctl().state(IRQB);
    assert_eq!(
        state,
        Ok(Some(ServiceState {
            active: false,
            enabled: false
        }))
    );
}

#[test]
fn a_unit_that_is_not_installed_is_none_in_old_and_new_systemd() {
    let _one = lock();
    let new = Fake::new("is-enabled) echo not-found; exit 4 ;;");
    assert_eq!(new.systemctl().state(IRQB), Ok(None));
    assert_eq!(
        new.argv(),
        ["[is-enabled][irqbalance.service]"],
        "is-active asked for nothing"
    );

    let old = Fake::new(
        "is-enabled) echo \"Failed to get unit file state for $2: No such file or directory\" >&2; exit 1 ;;",
    );
    assert_eq!(old.systemctl().state(IRQB), Ok(None));
}

#[test]
fn changes_run_one_verb_each() {
    let _one = lock();
    let fake = Fake::new("");
    let sc = fake.systemctl();
    sc.set_active(IRQB, false).unwrap();
    sc.set_enabled(IRQB, false).unwrap();
    sc.set_enabled(IRQB, true).unwrap();
    sc.set_active(IRQB, true).unwrap();
    sc.restart(IRQB).unwrap();
    let want = ["stop", "disable", "enable", "start", "restart"].map(|v| format!("[{v}][{IRQB}]"));
    assert_eq!(fake.argv(), want);
}

#[test]
fn a_refusal_carries_systemctls_own_message() {
    let _one = lock();
    let fake = Fake::new("stop) echo \"Failed to stop $2: Access denied\" >&2; exit 1 ;;");
    let err = fake.systemctl().set_active(IRQB, false).unwrap_err();
    let detail = "Failed to stop irqbalance.service: Access denied".to_string();
    assert_eq!(
        err,
        ServiceError::Failed {
            action: "stop",
            unit: IRQB.into(),
            detail
        }
    );
    assert_eq!(
        err.to_string(),
        "systemctl stop irqbalance.service: Failed to stop irqbalance.service: Access denied"
    );
}

#[test]
fn an_unreadable_answer_is_an_error_naming_the_unit() {
    let _one = lock();
    let fake =
        Fake::new("is-enabled) echo 'Failed to connect to bus: Host is down' >&2; exit 1 ;;");
    let err = fake.systemctl().state(IRQB).unwrap_err();
    assert_eq!(
        err.to_string(),
        "systemctl is-enabled irqbalance.service: Failed to connect to bus: Host is down"
    );
}

#[test]
fn a_missing_systemctl_or_an_option_like_unit_runs_nothing() {
    let _one = lock();
    let fake = Fake::new("");
    let gone = Systemctl::new(
        fake.dir.path().join("no-systemctl"),
        fake.dir.path().join("booted"),
    );
    let err = gone.state(IRQB).unwrap_err();
    assert!(
        matches!(err, ServiceError::Unsupported(ref why) if why.ends_with("no-systemctl not found")),
        "{err}"
    );
    assert!(fake.systemctl().set_active("--no-block", false).is_err());
    assert!(fake.argv().is_empty());
}

/// The one test that runs this machine's own systemctl, read-only: with systemd as PID 1, a
/// unit that cannot exist reads as not installed; without it, the answer is `Unsupported`.
#[test]
fn the_hosts_systemctl_reads_a_missing_unit_as_not_installed() {
    let _one = lock();
    let state = Systemctl::host().state("hosttune-no-such-unit.service");
    if Path::new(hosttune::host::systemd::BOOTED_MARKER).is_dir() {
        assert_eq!(state, Ok(None));
    } else {
        assert!(
            matches!(state, Err(ServiceError::Unsupported(_))),
            "{state:?}"
        );
    }
}
