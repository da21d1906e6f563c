//! A listen queue that overflows, for the evidence test and benchmark: inside a network
//! namespace, a server listens with the largest backlog listen(2) takes (capped by the
//! namespace's `net.core.somaxconn` when it listens) and never accepts, and a client opens N
//! connections at once. Also runs hosttune inside the namespace with the built-in `web`
//! profile's host-global keys on scratch files.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, bind, connect, getsockname, listen,
    socket,
};

use super::Netns;

/// `TcpExtListenOverflows` and `TcpExtListenDrops` of the namespace the calling thread is in.
pub fn listen_counters() -> (u64, u64) {
    // /proc/net follows the process's first thread; /proc/thread-self/net this thread's.
    let text = std::fs::read_to_string("/proc/thread-self/net/netstat").expect("netstat");
    let m = hosttune::evidence::netstat::parse(&text).expect("parse netstat");
    (m["TcpExtListenOverflows"], m["TcpExtListenDrops"])
}

/// One burst of `n` connections at a fresh listener that never accepts. Returns how much
/// ListenOverflows grew (the connections the accept queue had no room for).
pub fn burst(ns: &Netns, n: usize) -> u64 {
    ns.enter(|| {
        let limit = (n as u64 + 1024).max(4096);
        let _ = nix::sys::resource::setrlimit(
            nix::sys::resource::Resource::RLIMIT_NOFILE,
            limit,
            limit,
        );
        let (before, _) = listen_counters();
        let server = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .expect("socket");
        bind(
            server.as_raw_fd(),
            &SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)),
        )
        .expect("bind");
        // -1: as many as somaxconn allows at this moment (the kernel caps it at listen time).
        listen(&server, Backlog::MAXALLOWABLE).expect("listen");
        let at: SockaddrIn = getsockname(server.as_raw_fd()).unwrap();
        let clients: Vec<OwnedFd> = (0..n)
            .map(|_| {
                let c = socket(
                    AddressFamily::Inet,
                    SockType::Stream,
                    SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
                    None,
                )
                .expect("client socket");
                match connect(c.as_raw_fd(), &at) {
                    Ok(()) | Err(nix::errno::Errno::EINPROGRESS) => {}
                    Err(e) => panic!("connect: {e}"),
                }
                c
            })
            .collect();
        // Over loopback each handshake completes (or its SYN is dropped) within the
        // connect; wait well short of the 1 s SYN retransmit timer.
        std::thread::sleep(Duration::from_millis(300));
        let (after, _) = listen_counters();
        drop(clients);
        drop(server);
        after - before
    })
}

/// hosttune inside `ns`, in its own mount namespace where the built-in `web` profile's
/// host-global keys (`vm.swappiness`, `fs.file-max`) are scratch files bind-mounted over
/// /proc/sys, so that nothing outside the namespace can change even if the namespace
/// detection failed.
pub struct Scratched<'a> {
    pub ns: &'a Netns,
    pub state: PathBuf,
    script: String,
    _tmp: tempfile::TempDir,
}

impl<'a> Scratched<'a> {
    pub fn new(ns: &'a Netns, bin: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let state = tmp.path().join("state");
        let mut script = String::from("set -e\n");
        for (name, proc) in [
            ("swappiness", "/proc/sys/vm/swappiness"),
            ("file-max", "/proc/sys/fs/file-max"),
        ] {
            let path = tmp.path().join(name);
            std::fs::write(&path, std::fs::read(proc).unwrap()).unwrap();
            script.push_str(&format!("mount --bind {} {proc}\n", path.display()));
        }
        script.push_str(&format!(
            "exec {bin} --state-dir {} \"$@\"\n",
            state.display()
        ));
        Self {
            ns,
            state,
            script,
            _tmp: tmp,
        }
    }

    /// The command line, to run or spawn.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            &self.ns.name,
            "unshare",
            "-m",
            "sh",
            "-c",
            &self.script,
            "sh",
        ])
        .args(args);
        c
    }

    /// Runs hosttune; returns the exit code, stdout and stderr.
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let o = self.command(args).output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    /// The scratch dir.
    pub fn dir(&self) -> &Path {
        self._tmp.path()
    }
}
