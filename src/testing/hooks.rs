//! Fault injection for the binary under test (`test-hooks` feature only). `HOSTTUNE_FAULT`
//! names one forward write and what happens to it:
//!
//! - `KIND:N:error`: the N-th write of an item of KIND (`sysctl`, `arp`, `vip`, `channels`,
//!   `ring`, `txqueuelen`, `irq_affinity`, `irqbalance`) fails without writing;
//! - `KIND:N:partial`: it is written, then reported as failed (an effect the kernel kept while
//!   returning an error);
//! - `KIND:N:pause`: it is written, then the process creates the file `HOSTTUNE_FAULT_MARK`
//!   and waits (up to 30 s) for a signal, so that a test can `kill -9` or SIGTERM it there;
//! - `store:commit`: recording the outcome in the state dir fails with ENOSPC after every
//!   write is done;
//! - `store:history`: the same, after the rollback history was already rewritten;
//! - `store:end:pause`: after the outcome and the history are recorded, before the journal is
//!   removed, the process creates `HOSTTUNE_FAULT_MARK` and waits (up to 30 s), so that a test
//!   can `kill -9` it there.
//!
//! Undo and rollback writes are never faulted: they are what the tests check.
//!
//! It is a wrapper ([`crate::fault::Faults`]) that `Store::new` puts around the store and
//! its transactions' setting I/O when `HOSTTUNE_FAULT` is set; apply knows nothing of it.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::fault::{Faults, Stage, When};
use crate::host::Host;
use crate::knobs::KnobError;
use crate::knobs::Setting;
use crate::knobs::setting_io::SettingIo;
use crate::model::Item;
use crate::signals::Guard;

/// Forward writes of the faulted kind seen so far in this process.
static SEEN: AtomicUsize = AtomicUsize::new(0);

/// `HOSTTUNE_FAULT` as (kind, N, action); `store:STAGE` gives N = 0 and action STAGE, and
/// `store:end:pause` gives `None` here (it is read by [`Injector::store`]).
fn fault() -> Option<(String, usize, String)> {
    let v = std::env::var("HOSTTUNE_FAULT").ok()?;
    let mut p = v.splitn(3, ':');
    let kind = p.next()?.to_string();
    let second = p.next()?;
    match p.next() {
        Some(action) => Some((kind, second.parse().ok()?, action.to_string())),
        None => Some((kind, 0, second.to_string())),
    }
}

/// The injector `HOSTTUNE_FAULT` asks for, if it is set.
pub fn from_env() -> Option<Arc<dyn Faults>> {
    std::env::var_os("HOSTTUNE_FAULT")?;
    Some(Arc::new(Injector::default()))
}

/// The fault injector: each store fault fires once per process, as the recording it fails
/// runs once per transaction.
#[derive(Debug, Default)]
pub struct Injector {
    fired: AtomicBool,
}

/// A transaction's setting I/O with the injector around its forward writes.
struct Faulty<'a> {
    inner: &'a dyn SettingIo,
    signals: Option<&'a Guard>,
}

impl SettingIo for Faulty<'_> {
    fn write(&self, host: &Host, s: &Setting) -> Result<(), KnobError> {
        self.inner.write(host, s)
    }
    fn read(&self, host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        self.inner.read(host, at)
    }
    fn write_item(&self, host: &Host, item: &Item, to: &Setting) -> Result<(), KnobError> {
        write(self.inner, host, item, to, self.signals)
    }
}

impl Faults for Injector {
    fn wrap<'a>(
        &'a self,
        io: &'a dyn SettingIo,
        signals: Option<&'a Guard>,
    ) -> Box<dyn SettingIo + 'a> {
        Box::new(Faulty { inner: io, signals })
    }

    fn store(&self, stage: Stage, when: When) -> io::Result<()> {
        let named = match (stage, when) {
            // `commit`: the first recording write fails unwritten.
            (Stage::Kept | Stage::History, When::Before) => "commit",
            // `history`: the history is rewritten, then the recording fails.
            (Stage::History, When::After) => "history",
            (Stage::End, When::Before) => {
                store_pause("end", &self.fired);
                return Ok(());
            }
            _ => return Ok(()),
        };
        match fault() {
            Some((kind, _, action)) if kind == "store" && action == named => {
                if self.fired.swap(true, Ordering::SeqCst) {
                    return Ok(());
                }
                Err(io::Error::from_raw_os_error(libc::ENOSPC))
            }
            _ => Ok(()),
        }
    }
}

/// A forward write, faulted when it is the one `HOSTTUNE_FAULT` names.
fn write(
    io: &dyn SettingIo,
    host: &Host,
    item: &Item,
    to: &Setting,
    signals: Option<&Guard>,
) -> Result<(), KnobError> {
    let Some((kind, n, action)) = fault().filter(|f| f.0 == item.kind.as_str()) else {
        return io.write(host, to);
    };
    if SEEN.fetch_add(1, Ordering::SeqCst) + 1 != n {
        return io.write(host, to);
    }
    let what = format!("{} {}", item.kind, item.object);
    match action.as_str() {
        "error" => Err(KnobError::Injected(format!(
            "{what}: injected fault ({kind}:{n}:error)"
        ))),
        "partial" => {
            io.write(host, to)?;
            Err(KnobError::Injected(format!(
                "{what}: injected fault after the write took effect ({kind}:{n}:partial)"
            )))
        }
        "pause" => {
            io.write(host, to)?;
            if let Ok(mark) = std::env::var("HOSTTUNE_FAULT_MARK") {
                let _ = std::fs::write(mark, what);
            }
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(30) {
                if signals.is_some_and(|g| g.caught().is_some()) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(())
        }
        other => panic!("HOSTTUNE_FAULT action {other:?}: error, partial or pause"),
    }
}

/// Waits at a point of the recording of the outcome when `HOSTTUNE_FAULT=store:STAGE:pause`
/// names it (see the module's documentation), once.
fn store_pause(stage: &str, fired: &AtomicBool) {
    let Some((kind, _, action)) = std::env::var("HOSTTUNE_FAULT").ok().and_then(|v| {
        let mut p = v.splitn(3, ':');
        Some((
            p.next()?.to_string(),
            p.next()?.to_string(),
            p.next()?.to_string(),
        ))
    }) else {
        return;
    };
    if kind != "store" || action != "pause" || fault_stage_is_not(stage) {
        return;
    }
    if fired.swap(true, Ordering::SeqCst) {
        return;
    }
    if let Ok(mark) = std::env::var("HOSTTUNE_FAULT_MARK") {
        let _ = std::fs::write(mark, stage);
    }
    std::thread::sleep(Duration::from_secs(30));
}

fn fault_stage_is_not(stage: &str) -> bool {
    std::env::var("HOSTTUNE_FAULT")
        .map(|v| v.split(':').nth(1) != Some(stage))
        .unwrap_or(true)
}
