//! The command line: arguments (clap), then one function per command that loads, plans,
//! reports and maps the result to an exit code (0 in sync / done, 1 drift or rolled back,
//! 2 usage, bad profile or a fault).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use crate::apply::{self, ApplyError};
use crate::host::ethtool::Ethtool;
use crate::host::netlink::Netlink;
use crate::host::systemd::Systemctl;
use crate::host::{AddrOps, Host, NicOps, Offline, RootFs, Services};
use crate::knobs;
use crate::plan::{Plan, Status};
use crate::profile::{self, Catalog};
use crate::report::{self, Format};
use crate::snapshot::{self, Origin, Snapshot, Store};

/// Host tuning for Linux load-balancing fleets: apply role profiles, audit drift, roll back.
#[derive(Debug, Parser)]
#[command(name = "hosttune", version, about)]
pub struct Args {
    /// Where /proc and /sys are read and written (a captured tree for offline audits).
    #[arg(long, global = true, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
    /// Snapshots and the lock.
    #[arg(long, global = true, env = "HOSTTUNE_STATE_DIR", default_value = snapshot::DEFAULT_DIR, value_name = "DIR")]
    pub state_dir: PathBuf,
    /// Site profile directory, searched before the built-ins (repeatable).
    #[arg(long = "profile-dir", global = true, value_name = "DIR")]
    pub profile_dirs: Vec<PathBuf>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only problems: leave `ok` items out of reports.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List profiles (built-in and from profile dirs) with descriptions.
    Profiles,
    /// Print the fully resolved profile (extends merged) as TOML.
    Show { profile: String },
    /// Check profiles without reading or touching the host.
    Validate {
        #[arg(required = true)]
        profiles: Vec<String>,
    },
    /// Drift report: desired vs live, every item.
    Audit {
        profile: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Write the report here (atomically) instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Snapshot what will change, change it, read it back.
    Apply {
        profile: String,
        /// Show what would change; exit 1 when changes are pending.
        #[arg(long)]
        dry_run: bool,
    },
    /// Record the live values of everything PROFILE covers.
    Snapshot { profile: String },
    /// List, show or delete snapshots.
    Snapshots {
        #[command(subcommand)]
        action: Option<SnapshotsAction>,
    },
    /// Restore a snapshot (default: the one the last apply took).
    Rollback { id: Option<String> },
}

#[derive(Debug, Subcommand)]
pub enum SnapshotsAction {
    List,
    Show { id: String },
    Delete { id: String },
}

/// How long a second apply or rollback waits for the lock.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// A run's result: the exit code, with anything already printed.
pub type Code = u8;

/// Writes to stdout; a closed pipe (`| head`) ends output quietly instead of panicking.
fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes()).and_then(|_| o.flush());
}

struct Ctx {
    fs: RootFs,
    /// The live kernel's seams on root `/`; `Offline` on a captured tree.
    nic: Box<dyn NicOps>,
    addrs: Box<dyn AddrOps>,
    services: Box<dyn Services>,
    catalog: Catalog,
    store: Store,
    quiet: bool,
}

impl Ctx {
    fn host(&self) -> Host<'_> {
        Host {
            fs: &self.fs,
            nic: &*self.nic,
            addrs: &*self.addrs,
            services: &*self.services,
        }
    }

    fn host_name(&self) -> String {
        knobs::sysctl::read(&self.fs, &"kernel.hostname".parse().expect("valid key"))
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "unknown".into())
    }

    fn load(&self, name: &str) -> Result<profile::Profile> {
        Ok(self.catalog.load(name)?)
    }

    fn plan(&self, name: &str) -> Result<Plan> {
        let p = self.load(name)?;
        let kept = self.store.kept()?;
        Ok(knobs::plan(&p, &self.host(), &kept))
    }
}

/// Runs a parsed command line.
pub fn run(args: Args) -> Result<Code> {
    let dirs = if args.profile_dirs.is_empty() {
        vec![PathBuf::from(profile::DEFAULT_DIR)]
    } else {
        args.profile_dirs
    };
    let fs = RootFs::new(&args.root);
    let live = fs.is_live();
    let ctx = Ctx {
        nic: if live {
            Box::new(Ethtool)
        } else {
            Box::new(Offline)
        },
        addrs: if live {
            Box::new(Netlink::new())
        } else {
            Box::new(Offline)
        },
        services: if live {
            Box::new(Systemctl::host())
        } else {
            Box::new(Offline)
        },
        fs,
        catalog: Catalog::new(dirs),
        store: Store::new(&args.state_dir),
        quiet: args.quiet,
    };
    match args.command {
        Command::Profiles => {
            let mut s = String::new();
            for (name, origin, desc) in ctx.catalog.list() {
                s.push_str(&format!("{name:12} {desc} [{origin}]\n"));
            }
            out(&s);
            Ok(0)
        }
        Command::Show { profile } => {
            out(&ctx.load(&profile)?.to_toml());
            Ok(0)
        }
        Command::Validate { profiles } => {
            let mut failed = Vec::new();
            for p in &profiles {
                match ctx.catalog.load(p) {
                    Ok(_) => out(&format!("{p}: valid\n")),
                    Err(e) => failed.push(e.to_string()),
                }
            }
            if failed.is_empty() {
                Ok(0)
            } else {
                bail!("{}", failed.join("\n"))
            }
        }
        Command::Audit {
            profile,
            format,
            output,
        } => audit(&ctx, &profile, format, output),
        Command::Apply {
            profile,
            dry_run: true,
        } => {
            let plan = ctx.plan(&profile)?;
            out(&report::text(&plan, true));
            Ok(verdict(&plan))
        }
        Command::Apply {
            profile,
            dry_run: false,
        } => {
            let _lock = ctx.store.lock(LOCK_WAIT)?;
            let plan = ctx.plan(&profile)?;
            finish(
                "apply",
                &plan,
                apply::run(
                    &ctx.host(),
                    &ctx.store,
                    &plan,
                    Origin::Apply,
                    &ctx.host_name(),
                ),
            )
        }
        Command::Snapshot { profile } => {
            let plan = ctx.plan(&profile)?;
            let snap = Snapshot {
                id: Store::new_id(),
                profile: profile.clone(),
                origin: Origin::Manual,
                created: snapshot::now_rfc3339(),
                host: ctx.host_name(),
                settings: plan.entries.iter().filter_map(|e| e.live.clone()).collect(),
            };
            ctx.store.save(&snap)?;
            out(&format!(
                "snapshot {}: {} settings of profile {profile}\n",
                snap.id,
                snap.settings.len()
            ));
            Ok(0)
        }
        Command::Snapshots { action } => snapshots(&ctx, action.unwrap_or(SnapshotsAction::List)),
        Command::Rollback { id } => {
            let _lock = ctx.store.lock(LOCK_WAIT)?;
            let id = match id {
                Some(id) => id,
                None => ctx.store.last_apply()?,
            };
            let snap = ctx.store.load(&id)?;
            let plan = apply::rollback_plan(&ctx.host(), &snap);
            finish(
                "rollback",
                &plan,
                apply::run(
                    &ctx.host(),
                    &ctx.store,
                    &plan,
                    Origin::Rollback,
                    &ctx.host_name(),
                ),
            )
        }
    }
}

fn verdict(plan: &Plan) -> Code {
    if plan.items().any(|i| i.status == Status::Error) {
        for i in plan.errors() {
            eprintln!(
                "hosttune: {} {}: {}",
                i.kind,
                i.object,
                i.note.as_deref().unwrap_or("error")
            );
        }
        2
    } else if plan.items().any(|i| i.status == Status::Drift) {
        1
    } else {
        0
    }
}

fn audit(ctx: &Ctx, profile: &str, format: Format, output: Option<PathBuf>) -> Result<Code> {
    let plan = ctx.plan(profile)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let body = match format {
        Format::Text => report::text(&plan, ctx.quiet),
        Format::Json => report::json(&plan, &ctx.host_name()),
        Format::Prometheus => report::prometheus(&plan, now),
    };
    match output {
        Some(path) => snapshot::write_atomic(&path, body.as_bytes())
            .with_context(|| format!("cannot write report to {}", path.display()))?,
        None => out(&body),
    }
    Ok(verdict(&plan))
}

fn finish(verb: &str, plan: &Plan, res: Result<apply::Outcome, ApplyError>) -> Result<Code> {
    let o = match res {
        Ok(o) => o,
        Err(ApplyError::Plan(items)) => {
            for i in &items {
                eprintln!(
                    "hosttune: {} {}: {}",
                    i.kind,
                    i.object,
                    i.note.as_deref().unwrap_or("error")
                );
            }
            bail!(
                "{verb} {}: {} problem(s) found while planning; nothing was changed",
                plan.profile,
                items.len()
            );
        }
        Err(e) => return Err(e.into()),
    };
    out(&report::outcome(verb, plan, &o));
    match &o.failure {
        None => Ok(0),
        Some(f) if f.undo_errors.is_empty() => {
            eprintln!(
                "hosttune: {verb} failed at {} {}: {}; every change was rolled back",
                f.item.kind, f.item.object, f.error
            );
            Ok(1)
        }
        Some(f) => {
            eprintln!(
                "hosttune: {verb} failed at {} {}: {}; rollback incomplete, run `hosttune rollback {}`",
                f.item.kind,
                f.item.object,
                f.error,
                o.snapshot.as_deref().unwrap_or("")
            );
            Ok(2)
        }
    }
}

fn snapshots(ctx: &Ctx, action: SnapshotsAction) -> Result<Code> {
    match action {
        SnapshotsAction::List => {
            let last = ctx.store.last_apply().ok();
            let mut s = String::new();
            for snap in ctx.store.list()? {
                let mark = if last.as_deref() == Some(snap.id.as_str()) {
                    "  (last apply)"
                } else {
                    ""
                };
                s.push_str(&format!(
                    "{}  {:8}  {:10}  {} settings  {}{mark}\n",
                    snap.id,
                    format!("{:?}", snap.origin).to_lowercase(),
                    snap.profile,
                    snap.settings.len(),
                    snap.created
                ));
            }
            out(&s);
        }
        SnapshotsAction::Show { id } => {
            let snap = ctx.store.load(&id)?;
            out(&(serde_json::to_string_pretty(&snap)? + "\n"));
        }
        SnapshotsAction::Delete { id } => {
            ctx.store.delete(&id)?;
            out(&format!("deleted snapshot {id}\n"));
        }
    }
    Ok(0)
}
