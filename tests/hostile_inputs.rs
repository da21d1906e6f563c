//! Hostile inputs: a device, a FIFO, a huge file or a deep `extends` chain as a profile, and
//! out-of-range `--interval` values, each refused promptly with a clear error and exit 2. Every
//! command runs on a fixture root with its own state dir, under a deadline: a regression that
//! blocks or reads forever fails here instead of hanging the suite.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;

struct Case {
    dir: tempfile::TempDir,
}

/// The longest any of these commands may take; each is refused before reading the host.
const DEADLINE: Duration = Duration::from_secs(20);

impl Case {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("root/proc/sys/net/core");
        std::fs::create_dir_all(&sys).unwrap();
        std::fs::write(sys.join("somaxconn"), "4096\n").unwrap();
        std::fs::create_dir_all(dir.path().join("profiles")).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn fifo(&self, name: &str) -> PathBuf {
        let p = self.path(name);
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        p
    }

    /// Runs hosttune on the fixture root; kills it and fails the test past the deadline.
    fn run(&self, args: &[&str]) -> (i32, String) {
        let mut child = Command::new(cargo_bin("hosttune"))
            .arg("--root")
            .arg(self.path("root"))
            .arg("--state-dir")
            .arg(self.path("state"))
            .arg("--profile-dir")
            .arg(self.path("profiles"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if start.elapsed() > DEADLINE {
                let _ = child.kill();
                let _ = child.wait();
                panic!("hosttune {args:?} still running after {DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        use std::io::Read;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status.code().unwrap_or(-1), err)
    }

    /// `args` exits 2 with every one of `want` on stderr.
    fn refuses(&self, args: &[&str], want: &[&str]) {
        let (code, err) = self.run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        for w in want {
            assert!(err.contains(w), "{args:?}: want {w:?} in: {err}");
        }
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn dev_zero_as_a_profile_is_refused_before_reading() {
    let c = Case::new();
    for verb in ["validate", "show", "audit", "apply"] {
        c.refuses(
            &[verb, "/dev/zero"],
            &["/dev/zero", "character device, not a regular file"],
        );
    }
}

#[test]
fn dev_zero_as_an_extends_parent_is_refused_at_the_extends() {
    let c = Case::new();
    let p = c.file("p.toml", "extends = \"/dev/zero\"\n");
    c.refuses(
        &["validate", s(&p)],
        &[
            &format!("{}:1:11: extends \"/dev/zero\"", p.display()),
            "character device",
        ],
    );
}

#[test]
fn a_fifo_profile_or_parent_returns_promptly() {
    let c = Case::new();
    let f = c.fifo("profiles/fifo.toml");
    let want = [s(&f), "is a FIFO, not a regular file"];
    // By path, by name from the profile dir, and through apply on the fixture root.
    c.refuses(&["validate", s(&f)], &want);
    c.refuses(&["validate", "fifo"], &want);
    c.refuses(&["apply", s(&f)], &want);
    let p = c.file("p.toml", "extends = \"profiles/fifo.toml\"\n");
    c.refuses(
        &["validate", s(&p)],
        &["extends \"profiles/fifo.toml\"", "FIFO"],
    );
    // `profiles` lists the directory without opening the FIFO for a blocking read.
    let (code, err) = c.run(&["profiles"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_profile_over_the_size_cap_is_refused() {
    let c = Case::new();
    let cap = hosttune::userfile::MAX_BYTES as usize;
    let mut text = String::from("[sysctl]\n\"net.core.somaxconn\" = 4096\n");
    text.push_str(&"#".repeat(cap + 1 - text.len()));
    let p = c.file("big.toml", &text);
    c.refuses(&["validate", s(&p)], &[s(&p), "larger than 4 MiB"]);
    let q = c.file("child.toml", "extends = \"big.toml\"\n");
    c.refuses(
        &["validate", s(&q)],
        &["extends \"big.toml\"", "larger than 4 MiB"],
    );
}

#[test]
fn a_deep_extends_chain_is_refused_naming_the_chain() {
    let c = Case::new();
    for i in 0..100 {
        c.file(
            &format!("chain/c{i}.toml"),
            &format!("extends = \"c{}.toml\"\n", i + 1),
        );
    }
    let last = c.file(
        "chain/c100.toml",
        "[sysctl]\n\"net.core.somaxconn\" = 4096\n",
    );
    let top = c.path("chain/c0.toml");
    let (code, err) = c.run(&["validate", s(&top)]);
    assert_eq!(code, 2, "{err}");
    let deepest = c.path("chain/c31.toml");
    assert!(
        err.contains(&format!(
            "{}:1:11: extends chain deeper than 32 files: {} -> ",
            deepest.display(),
            top.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("-> {}; ", deepest.display())),
        "{err}"
    );
    assert!(!err.contains(s(&last)), "{err}");
    // 32 files are fine.
    let ok = c.path("chain/c69.toml");
    let (code, err) = c.run(&["validate", s(&ok)]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_parent_named_over_and_over_is_refused() {
    let c = Case::new();
    // Each file names the next four times: 4^12 loads without a limit.
    for i in 0..12 {
        let n = format!("\"m{}.toml\"", i + 1);
        c.file(
            &format!("many/m{i}.toml"),
            &format!("extends = [{n}, {n}, {n}, {n}]\n"),
        );
    }
    c.file("many/m12.toml", "description = \"leaf\"\n");
    let top = c.path("many/m0.toml");
    c.refuses(
        &["validate", s(&top)],
        &["extends reads more than 1024 files for one profile"],
    );
}

#[test]
fn interval_out_of_range_is_a_usage_error() {
    let c = Case::new();
    let p = c.file("p.toml", "[sysctl]\n\"net.core.somaxconn\" = 4096\n");
    for bad in ["0", "86401", "18446744073709551615"] {
        let (code, err) = c.run(&["agent", s(&p), "--mode", "report", "--interval", bad]);
        assert_eq!(code, 2, "--interval {bad}: {err}");
        assert!(err.contains("--interval"), "--interval {bad}: {err}");
        assert!(!err.contains("panicked"), "--interval {bad}: {err}");
        assert!(err.contains("1..=86400"), "--interval {bad}: {err}");
    }
}

#[test]
fn import_inputs_follow_the_same_rule() {
    let c = Case::new();
    c.refuses(&["import", "/dev/zero"], &["/dev/zero", "character device"]);
    let f = c.fifo("sysctl.fifo");
    c.refuses(&["import", s(&f)], &[s(&f), "is a FIFO"]);
    let big = c.file(
        "big.conf",
        &"# comment\n".repeat(hosttune::userfile::MAX_BYTES as usize / 10 + 1),
    );
    c.refuses(&["import", s(&big)], &[s(&big), "larger than 4 MiB"]);
}
