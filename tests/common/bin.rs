//! The one way the integration tests run the hosttune binary under test: a small builder that
//! adds the global options (`--state-dir`, `--root`, `--profile-dir`), environment (fault
//! hooks, stand-in seams) and, for real-kernel tests, `ip netns exec` into a throw-away
//! namespace. Tests that need the `Command` itself (to spawn, pipe stdin, signal) take it
//! from [`Hosttune::command`]; the rest use [`Hosttune::run`].

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Output};

use super::Netns;

/// The binary under test, built by cargo for this test run.
pub const BIN: &str = env!("CARGO_BIN_EXE_hosttune");

/// How to run the binary: global options, environment, and the namespace to run it in.
#[derive(Clone, Default)]
pub struct Hosttune {
    netns: Option<String>,
    global: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
}

/// A run of the binary with no global options, in the test's own namespace.
pub fn hosttune() -> Hosttune {
    Hosttune::default()
}

impl Hosttune {
    /// `--state-dir DIR`: every test keeps its own, never the machine's `/var/lib/hosttune`.
    pub fn state(self, dir: impl AsRef<Path>) -> Self {
        self.global("--state-dir", dir.as_ref())
    }

    /// `--root DIR`: a fixture tree (or a bind-mounted live one) in place of `/`.
    pub fn root(self, dir: impl AsRef<Path>) -> Self {
        self.global("--root", dir.as_ref())
    }

    /// A global flag without a value given before the command, e.g. `-v`.
    pub fn arg(mut self, flag: &str) -> Self {
        self.global.push(flag.into());
        self
    }

    /// Any other global option given before the command, e.g. `--profile-dir DIR`.
    pub fn global(mut self, flag: &str, value: impl AsRef<OsStr>) -> Self {
        self.global.push(flag.into());
        self.global.push(value.as_ref().into());
        self
    }

    /// An environment variable for the binary (`HOSTTUNE_FAULT`, `HOSTTUNE_TEST_SEAMS`, ...);
    /// `ip netns exec` passes the environment through.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().into(), value.as_ref().into()));
        self
    }

    /// Runs the binary inside `ns` (`ip netns exec` execs it, so the child's pid is
    /// hosttune's own and a signal to it reaches hosttune).
    pub fn netns(mut self, ns: &Netns) -> Self {
        self.netns = Some(ns.name.clone());
        self
    }

    /// The command line `hosttune GLOBAL... ARGS...`, not started.
    pub fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut c = match &self.netns {
            Some(name) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", name, BIN]);
                c
            }
            None => Command::new(BIN),
        };
        c.args(&self.global).args(args);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs `hosttune GLOBAL... ARGS...` to completion.
    pub fn output<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("run {BIN}: {e}"))
    }

    /// Runs `hosttune GLOBAL... ARGS...`: the exit code (-1 when killed by a signal), stdout
    /// and stderr.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> (i32, String, String) {
        split(&self.output(args))
    }
}

/// An `Output` as (exit code, -1 when killed by a signal; stdout; stderr).
pub fn split(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
