//! The runners of the commands that read: `profiles`, `show`, `validate`, `audit`,
//! `snapshot`, `snapshots` and `import`. Each returns its exit code; what it prints is its
//! output (see [`super::output`]).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::SnapshotsAction;
use super::ctx::Ctx;
use super::output::{Code, out, say, verdict};
use crate::atomic;
use crate::plan::Plan;
use crate::report::{self, Format};
use crate::snapshot::{self, Origin, Snapshot, Store};

/// `hosttune profiles`: each profile's name, description and where it comes from.
pub(super) fn profiles(ctx: &Ctx) -> Result<Code> {
    let mut s = String::new();
    for (name, origin, desc) in ctx.catalog.list() {
        s.push_str(&format!("{name:12} {desc} [{origin}]\n"));
    }
    out(&s)?;
    Ok(0)
}

/// `hosttune show`: the resolved profile as TOML.
pub(super) fn show(ctx: &Ctx, profile: &str) -> Result<Code> {
    out(&ctx.load(profile)?.to_toml())?;
    Ok(0)
}

/// `hosttune validate`: every profile is checked; the problems of all of them are the error.
pub(super) fn validate(ctx: &Ctx, profiles: &[String]) -> Result<Code> {
    let mut failed = Vec::new();
    for p in profiles {
        match ctx.catalog.load(p) {
            Ok(_) => out(&format!("{p}: valid\n"))?,
            Err(e) => failed.push(e.to_string()),
        }
    }
    if failed.is_empty() {
        Ok(0)
    } else {
        bail!("{}", failed.join("\n"))
    }
}

/// `hosttune snapshot`: records the live values of everything the profile covers, and what
/// its writes would change besides them.
pub(super) fn snapshot(ctx: &Ctx, profile: &str) -> Result<Code> {
    let plan = ctx.plan(profile)?;
    let snap = Snapshot {
        id: Store::new_id(),
        profile: profile.to_string(),
        origin: Origin::Manual,
        created: snapshot::now_rfc3339(),
        host: ctx.host_name(),
        place: Some(ctx.place()),
        settings: plan.entries.iter().filter_map(|e| e.live.clone()).collect(),
        side: Vec::new(),
    };
    // What the profile's writes would change besides themselves, as it is now.
    let reach = crate::side::reach_all(plan.entries.iter().filter_map(|e| e.desired.as_ref()));
    let mut snap = snap;
    snap.side = crate::side::capture(&ctx.host(), &reach)
        .into_iter()
        .filter(|s| !snap.settings.iter().any(|x| x.address() == s.address()))
        .collect();
    ctx.store.save(&snap)?;
    out(&format!(
        "snapshot {}: {} settings of profile {profile}\n",
        snap.id,
        snap.settings.len()
    ))?;
    Ok(0)
}

/// `hosttune audit`: the report in the format asked for, on stdout or atomically into a
/// file; the exit code is the plan's verdict.
pub(super) fn audit(
    ctx: &Ctx,
    profile: &str,
    format: Format,
    output: Option<PathBuf>,
    evidence: &crate::evidence::EvidenceArgs,
) -> Result<Code> {
    let plan = ctx.plan_evidence(profile, evidence)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let body = match format {
        Format::Text => report::text(&plan, ctx.quiet),
        Format::Json => report::json(&plan, &ctx.host_name()),
        Format::Prometheus => {
            let last = match ctx.store.last_result() {
                Ok(Some((p, success, finished_unix))) if p == plan.profile => {
                    Some(report::LastApply {
                        success,
                        finished_unix,
                    })
                }
                _ => None,
            };
            let named = Plan {
                profile: report::profile_label(&plan.profile),
                ..plan.clone()
            };
            report::prometheus(
                &named,
                now,
                last,
                crate::evidence::render::Series::per_cpu(evidence.evidence_per_cpu),
            )
        }
    };
    match output {
        // 0644 (or the existing file's mode): node_exporter reads textfiles unprivileged.
        Some(path) => atomic::write(&path, body.as_bytes(), atomic::Mode::KeepOr(0o644))
            .with_context(|| format!("cannot write report to {}", path.display()))?,
        None => out(&body)?,
    }
    Ok(verdict(&plan))
}

/// `hosttune snapshots`: list, show or delete; an unreadable snapshot is listed as such.
pub(super) fn snapshots(ctx: &Ctx, action: SnapshotsAction) -> Result<Code> {
    match action {
        SnapshotsAction::List => {
            let history = ctx.store.history()?;
            let mut s = String::new();
            for (id, snap) in ctx.store.list()? {
                let mark = match history.iter().rposition(|h| *h == id) {
                    Some(p) if p + 1 == history.len() => "  (rollback default)",
                    Some(_) => "  (rollback history)",
                    None => "",
                };
                match snap {
                    Ok(snap) => s.push_str(&format!(
                        "{}  {:8}  {:10}  {} settings  {}{mark}\n",
                        snap.id,
                        snap.origin.as_str(),
                        snap.profile,
                        snap.settings.len(),
                        snap.created
                    )),
                    Err(e) => {
                        s.push_str(&format!("{id}  unreadable{mark}\n"));
                        tracing::warn!("{e}");
                    }
                }
            }
            out(&s)?;
        }
        SnapshotsAction::Show { id } => {
            let snap = ctx.store.load(&id)?;
            out(&(serde_json::to_string_pretty(&snap)? + "\n"))?;
        }
        SnapshotsAction::Delete { id } => {
            ctx.store.delete(&id)?;
            out(&format!("deleted snapshot {id}\n"))?;
        }
    }
    Ok(0)
}

/// `hosttune import`: reads every file first (one that cannot be read stops the command),
/// prints the profile on stdout and each line left out on stderr; exit 2 when nothing
/// could be imported.
pub(super) fn import(files: &[PathBuf], name: Option<&str>) -> Result<Code> {
    let mut texts = Vec::with_capacity(files.len());
    for f in files {
        let text = crate::userfile::read_text(f, crate::userfile::MAX_BYTES)?;
        texts.push((f.display().to_string(), text));
    }
    let imported = crate::sysctld::import::import(&texts, name);
    // What was left out is what the user asked to see: output, whatever the log level.
    for n in &imported.notes {
        say(n);
    }
    if imported.keys == 0 {
        bail!(
            "nothing to import from {}",
            texts
                .iter()
                .map(|(f, _)| f.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out(&imported.profile)?;
    Ok(0)
}
