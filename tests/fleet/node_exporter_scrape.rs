//! A real Prometheus scrape of hosttune's textfile: Debian's node_exporter
//! (`prometheus-node-exporter`) runs as `nobody` on 127.0.0.1 and a free port, with only its
//! textfile collector, pointed at the directory where `hosttune audit --format prometheus
//! --output` wrote (on a fixture root, so nothing live is read or touched). The scrape has
//! hosttune's metrics and `node_textfile_scrape_error 0`; the same file made unreadable to
//! `nobody` gives `node_textfile_scrape_error 1`, which proves the exporter really reads it
//! unprivileged. node_exporter is killed at the end, also when the test panics.

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fixture::FixtureHost;
use common::hosttune;

const EXPORTER: &str = "prometheus-node-exporter";

const PROFILE: &str = r#"description = "scrape test"
[sysctl]
"net.core.somaxconn" = { min = 500000 }
"net.ipv4.tcp_rmem" = "4096 131072 6291456"
"#;

/// node_exporter for the life of the value: killed and reaped on drop, panics included.
struct Exporter {
    child: Child,
    log: PathBuf,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Exporter {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// Starts node_exporter as nobody:nogroup with only the textfile collector on `dir`.
fn start(dir: &Path, port: u16, log: PathBuf) -> Exporter {
    let bin = common::tool_path(EXPORTER).unwrap();
    let setpriv = common::tool_path("setpriv").unwrap();
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(setpriv)
        .args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
        .arg(bin)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(["--collector.disable-defaults", "--collector.textfile"])
        .arg(format!("--collector.textfile.directory={}", dir.display()))
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start node_exporter");
    Exporter { child, log }
}

/// `GET /metrics` over HTTP/1.0 (the server closes the connection after the answer); retries
/// until the exporter listens, for at most 15 seconds.
fn scrape(e: &mut Exporter, port: u16) -> String {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = e.child.try_wait() {
            panic!("node_exporter exited ({status}): {}", e.log());
        }
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(mut s) => {
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    .unwrap();
                let mut body = String::new();
                s.read_to_string(&mut body).expect("read the scrape");
                assert!(body.starts_with("HTTP/1.0 200"), "{body}");
                return body;
            }
            Err(_) if start.elapsed() < Duration::from_secs(15) => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(err) => panic!("node_exporter on 127.0.0.1:{port}: {err}\n{}", e.log()),
        }
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn node_exporter_scrapes_the_textfile_as_nobody() {
    let test = "node_exporter_scrapes_the_textfile_as_nobody";
    if !nix::unistd::Uid::effective().is_root() {
        common::skip(test, "needs root to run node_exporter as nobody");
        return;
    }
    if !common::tools_present(test, &[EXPORTER, "setpriv"]) {
        return;
    }
    let host = FixtureHost::new("vm-virtio");
    let profiles = host.dir.path().join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    std::fs::write(profiles.join("scrape.toml"), PROFILE).unwrap();
    // The textfile directory must be reachable by nobody: temp dirs are 0700.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let textfiles = dir.path().join("textfile");
    std::fs::create_dir(&textfiles).unwrap();
    std::fs::set_permissions(&textfiles, std::fs::Permissions::from_mode(0o755)).unwrap();
    let prom = textfiles.join("hosttune.prom");

    let o = hosttune()
        .root(host.root())
        .state(host.state())
        .global("--profile-dir", &profiles)
        .command(&["audit", "scrape", "--format", "prometheus", "--output"])
        .arg(&prom)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "drift expected: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        mode(&prom),
        0o644,
        "the textfile must be readable by node_exporter"
    );

    let port = free_port();
    let mut e = start(&textfiles, port, dir.path().join("exporter.log"));
    let m = scrape(&mut e, port);
    for want in [
        "hosttune_drift_items{kind=\"sysctl\",profile=\"scrape\"} 1",
        "hosttune_items{kind=\"sysctl\",profile=\"scrape\",status=\"ok\"} 1",
        "hosttune_in_sync{profile=\"scrape\"} 0",
        "hosttune_item_in_sync{kind=\"sysctl\",object=\"net.core.somaxconn\",profile=\"scrape\"} 0",
        "hosttune_last_run_timestamp_seconds{profile=\"scrape\"}",
        "node_textfile_scrape_error 0",
    ] {
        assert!(
            m.contains(want),
            "{want} missing from the scrape:\n{m}\nlog: {}",
            e.log()
        );
    }
    assert!(
        m.lines()
            .any(|l| l.starts_with("node_textfile_mtime_seconds{") && l.contains("hosttune.prom")),
        "{m}"
    );

    // Unreadable to nobody: the exporter reports the error, so the scrape above was really
    // made unprivileged.
    std::fs::set_permissions(&prom, std::fs::Permissions::from_mode(0o600)).unwrap();
    let m = scrape(&mut e, port);
    assert!(m.contains("node_textfile_scrape_error 1"), "{m}");
    assert!(!m.contains("hosttune_drift_items"), "{m}");
}
