//! `pause`, `resume` and `status`: the commands that steer or watch an agent through the
//! state dir alone, with no host tree, profile or lock, so they work from anywhere the
//! state dir is readable.

use std::time::Duration;

use anyhow::{Context, Result};

use super::output::{Code, out};
use crate::snapshot::{self, Store};

/// `hosttune pause`: records the pause; says whether an agent runs to act on it.
pub(super) fn pause(store: &Store, for_: Option<Duration>, reason: Option<String>) -> Result<Code> {
    use crate::agent::pause::{self, Pause};
    let now = snapshot::now_unix();
    let p = Pause {
        since: now,
        until: for_.map(|d| now + d.as_secs()),
        reason: reason.filter(|r| !r.is_empty()),
    };
    pause::write(store, &p).context("cannot record the pause")?;
    let who = match store.agent_running() {
        Some(pid) if pid != 0 => format!("the agent (pid {pid}) stops correcting at once"),
        Some(_) => "the agent stops correcting at once".to_string(),
        None => "no agent runs now; one that starts does not apply while paused".to_string(),
    };
    out(&format!("{}; {who}\n", p.describe()))?;
    Ok(0)
}

/// `hosttune resume`: removes the pause.
pub(super) fn resume(store: &Store) -> Result<Code> {
    let was = crate::agent::pause::read(store).context("cannot read the pause")?;
    let removed = crate::agent::pause::remove(store).context("cannot remove the pause")?;
    let now = snapshot::now_unix();
    let msg = match (removed, was) {
        (true, Some(p)) if p.active(now) => match store.agent_running() {
            Some(_) => "resumed: the agent corrects drift again within a second",
            None => "resumed: no agent runs now; the next one applies its profile at start",
        },
        (true, _) => "the pause had already expired; removed it",
        (false, _) => "not paused",
    };
    out(&format!("{msg}\n"))?;
    Ok(0)
}

/// `hosttune status`: reads the state dir (no lock, no writes) and judges it.
pub(super) fn status(store: &Store, format: crate::agent::status::Format) -> Result<Code> {
    use crate::agent::status::{self, AgentStatus, Format};
    let file: Option<AgentStatus> = match store.read_state(status::FILE)? {
        Some(b) => match serde_json::from_slice(&b) {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!("{}: {e}", store.dir().join(status::FILE).display());
                None
            }
        },
        None => None,
    };
    let now = snapshot::now_unix();
    let pause = crate::agent::pause::active(store, now)?;
    let r = status::judge(store.agent_running(), file, pause, now);
    match format {
        Format::Text => out(&status::text(&r))?,
        Format::Json => out(&(serde_json::to_string_pretty(&r)? + "\n"))?,
    }
    Ok(r.exit_code)
}
