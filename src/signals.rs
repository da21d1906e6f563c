//! Signals during a transaction. SIGTERM (systemd stop), SIGINT (Ctrl-C) and SIGHUP (a closed
//! terminal) are blocked for the whole of an apply or rollback and read from a signalfd
//! between steps, so that none of them can end the process between a write and its undo.
//! The transaction decides what a caught signal means (apply undoes, rollback finishes), then
//! reports it. SIGKILL cannot be caught: the journal in the state dir covers that case.

use std::cell::Cell;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// While alive, the three signals are blocked and queued on a signalfd; dropping it restores
/// the previous mask (a signal read here is consumed and does not fire then).
pub struct Guard {
    fd: SignalFd,
    old: SigSet,
    caught: Cell<Option<Signal>>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("caught", &self.caught.get())
            .finish()
    }
}

fn set() -> SigSet {
    let mut s = SigSet::empty();
    s.add(Signal::SIGTERM);
    s.add(Signal::SIGINT);
    s.add(Signal::SIGHUP);
    s
}

impl Guard {
    /// Blocks SIGTERM, SIGINT and SIGHUP for this thread (the program is single-threaded
    /// while it writes) and opens a non-blocking signalfd for them.
    pub fn block() -> nix::Result<Guard> {
        let mask = set();
        let old = mask.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
        match SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC) {
            Ok(fd) => Ok(Guard {
                fd,
                old,
                caught: Cell::new(None),
            }),
            Err(e) => {
                let _ = old.thread_set_mask();
                Err(e)
            }
        }
    }

    /// The first signal received so far, if any (reads and consumes every queued one).
    pub fn caught(&self) -> Option<Signal> {
        while let Ok(Some(info)) = self.fd.read_signal() {
            if self.caught.get().is_none() {
                self.caught
                    .set(Signal::try_from(info.ssi_signo as i32).ok());
            }
        }
        self.caught.get()
    }
}

impl Guard {
    /// Reads the next queued signal, if any, for a loop that handles signals one by one (the
    /// agent: SIGHUP reloads, SIGTERM stops).
    pub fn take(&self) -> Option<Signal> {
        match self.fd.read_signal() {
            Ok(Some(info)) => Signal::try_from(info.ssi_signo as i32).ok(),
            _ => None,
        }
    }
}

impl std::os::fd::AsFd for Guard {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.caught();
        let _ = self.old.thread_set_mask();
    }
}

/// A signal's name as `kill -l` prints it with the SIG prefix (`SIGTERM`).
pub fn name(s: Signal) -> &'static str {
    s.as_str()
}
