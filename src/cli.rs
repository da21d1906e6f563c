//! The command line: arguments (clap), then one function per command that loads, plans,
//! reports and maps the result to an exit code (0 in sync / done, 1 drift or rolled back,
//! 2 usage, bad profile or a fault).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use crate::apply::{self, ApplyError, Commit, Interrupted};
use crate::atomic;
use crate::host::ethtool::Ethtool;
use crate::host::netlink::Netlink;
use crate::host::systemd::Systemctl;
use crate::host::{AddrOps, Files, ForeignServices, Host, NicOps, Offline, RootFs, Services};
use crate::knobs;
use crate::plan::{Plan, Status};
use crate::profile::{self, Catalog};
use crate::report::{self, Format};
use crate::signals;
use crate::snapshot::{self, Origin, Snapshot, Store};

/// Host tuning for Linux load-balancing fleets: apply role profiles, audit drift, roll back.
#[derive(Debug, Parser)]
#[command(name = "hosttune", version, about, after_help = crate::docs::exit_codes_help())]
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
    /// Inside a non-initial network namespace, write host-global settings too (kernel.*,
    /// vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are
    /// skipped there.
    #[arg(long, global = true)]
    pub allow_host_global: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List profiles (built-in and from profile dirs) with descriptions.
    Profiles,
    /// Print the fully resolved profile (extends merged) as TOML.
    Show {
        /// A built-in name, a name in a profile dir, or a path to a .toml file.
        #[arg(value_name = "PROFILE")]
        profile: String,
    },
    /// Check profiles without reading or touching the host.
    Validate {
        /// Profiles to check: names or paths to .toml files.
        #[arg(required = true, value_name = "PROFILE")]
        profiles: Vec<String>,
    },
    /// Drift report: desired vs live, every item.
    Audit {
        /// The profile to audit against: a name or a path to a .toml file.
        #[arg(value_name = "PROFILE")]
        profile: String,
        /// Report format: aligned text, JSON, or a node_exporter textfile.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Write the report here (atomically) instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        evidence: crate::evidence::EvidenceArgs,
    },
    /// Snapshot what will change, change it, read it back.
    Apply {
        /// The profile to apply: a name or a path to a .toml file.
        #[arg(value_name = "PROFILE")]
        profile: String,
        /// Show what would change; exit 1 when changes are pending.
        #[arg(long)]
        dry_run: bool,
        /// With --dry-run: the counters that show whether each setting matters.
        #[command(flatten)]
        evidence: crate::evidence::EvidenceArgs,
    },
    /// Record the live values of everything PROFILE covers.
    Snapshot {
        /// The profile whose settings are recorded: a name or a path to a .toml file.
        #[arg(value_name = "PROFILE")]
        profile: String,
    },
    /// List, show or delete snapshots.
    Snapshots {
        #[command(subcommand)]
        action: Option<SnapshotsAction>,
    },
    /// Restore a snapshot (default: the state before the newest completed apply; run again
    /// to walk further back).
    Rollback {
        /// The snapshot to restore (see `hosttune snapshots`); default: the newest apply's.
        #[arg(value_name = "ID")]
        id: Option<String>,
    },
    /// Hold the profile: apply it, then re-apply an interface's settings when it appears or
    /// changes, and audit everything every interval.
    Agent {
        /// The profile to hold: a name or a path to a .toml file (re-read on SIGHUP).
        #[arg(value_name = "PROFILE")]
        profile: String,
        /// Seconds between full audits (1 to 86400).
        #[arg(long, default_value_t = 60, value_name = "SECS",
              value_parser = clap::value_parser!(u64).range(1..=MAX_INTERVAL_SECS))]
        interval: u64,
        /// What the agent does with drift: re-apply it (enforce); only report it, still
        /// applying at start and to interfaces that appear (report); or never write
        /// anything, not even at start (observe).
        #[arg(long, value_enum, default_value = "enforce")]
        mode: crate::agent::Mode,
        /// node_exporter textfile written after every cycle (mode 0644).
        #[arg(long, value_name = "FILE")]
        textfile: Option<PathBuf>,
        /// Also write the per-CPU parts of the evidence counters to the textfile
        /// (hosttune_evidence_per_cpu, at most 256 series, the largest). Off by default: a
        /// large host has IRQs x CPUs of them.
        #[arg(long)]
        evidence_per_cpu: bool,
    },
    /// Stop the agent's corrections (it keeps auditing and exporting metrics), until
    /// `hosttune resume` or for a while; works whether or not an agent runs, and holds
    /// across agent restarts.
    Pause {
        /// End the pause by itself after this long: whole numbers with a unit s, m, h or d
        /// (90s, 30m, 2h, 1d, 1h30m), at most 30d.
        #[arg(long = "for", value_name = "DURATION", value_parser = crate::agent::pause::parse_duration)]
        for_: Option<Duration>,
        /// Why, for the agent's log and status (one line, at most 200 bytes).
        #[arg(long, value_name = "TEXT", value_parser = crate::agent::pause::check_reason)]
        reason: Option<String>,
    },
    /// End a pause: the agent corrects drift again (within a second when it runs).
    Resume,
    /// Whether an agent runs on this state dir, holds its profile in sync and is not paused
    /// (exit 0), or not: for readiness probes and monitoring checks. Writes nothing.
    #[command(after_help = crate::agent::status::exit_codes_help())]
    Status {
        /// Aligned text or JSON.
        #[arg(long, value_enum, default_value = "text")]
        format: crate::agent::status::Format,
    },
    /// Print a profile made from sysctl.conf / sysctl.d files.
    Import {
        /// sysctl.conf / sysctl.d files, in the order they apply (a later one wins).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The profile's name, for its description.
        #[arg(long)]
        name: Option<String>,
    },
    /// Print a shell completion script on stdout.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff, section 8) on stdout.
    Man,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotsAction {
    /// List snapshots, newest last, marking the rollback default and history (the default).
    List,
    /// Print one snapshot as JSON.
    Show {
        /// The snapshot's ID, as `hosttune snapshots list` prints it.
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Delete one snapshot.
    Delete {
        /// The snapshot's ID, as `hosttune snapshots list` prints it.
        #[arg(value_name = "ID")]
        id: String,
    },
}

/// The longest `--interval`: a day. Longer ones are typos, and a huge one would overflow the
/// agent's clock arithmetic.
pub const MAX_INTERVAL_SECS: u64 = 86_400;

/// How long a second apply or rollback waits for the lock.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// [`LOCK_WAIT`], or in builds with the `test-hooks` feature the milliseconds in
/// `HOSTTUNE_TEST_LOCK_WAIT_MS`, so that the lock test waits a short, known time instead of 5 s.
fn lock_wait() -> Duration {
    #[cfg(feature = "test-hooks")]
    if let Some(ms) = std::env::var("HOSTTUNE_TEST_LOCK_WAIT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Duration::from_millis(ms);
    }
    LOCK_WAIT
}

/// A run's result: the exit code, with anything already printed.
pub type Code = u8;

/// Writes to stdout. A closed pipe (`| head`) ends output quietly; any other failure (a full
/// disk behind a redirection) is an error, so that truncated output never exits 0.
fn out(s: &str) -> Result<()> {
    let mut o = std::io::stdout().lock();
    match o.write_all(s.as_bytes()).and_then(|_| o.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}

struct Ctx {
    fs: RootFs,
    /// The live kernel's seams on a live tree; `Offline` on a captured tree.
    nic: Box<dyn NicOps>,
    addrs: Box<dyn AddrOps>,
    services: Box<dyn Services>,
    catalog: Catalog,
    store: Store,
    quiet: bool,
    allow_host_global: bool,
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

    /// Fails when `--root` is no host tree at all (a typo, an empty directory): every item
    /// would read as absent and the report would say "in sync".
    fn check_root(&self) -> Result<()> {
        let root = self.fs.root();
        if !root.join("proc").is_dir() {
            bail!(
                "--root {}: there is no proc/ under it; give / or a captured tree with proc/ \
                 (and sys/)",
                root.display()
            );
        }
        Ok(())
    }

    /// Where this run works: `--root`, and the network namespace of that tree.
    fn place(&self) -> snapshot::Place {
        snapshot::Place {
            root: self.fs.root().display().to_string(),
            netns: self
                .fs
                .read_link(&crate::host::paths::self_netns())
                .ok()
                .map(|l| l.display().to_string()),
            live: self.fs.is_live(),
        }
    }

    fn load(&self, name: &str) -> Result<profile::Profile> {
        Ok(self.catalog.load(name)?)
    }

    fn plan(&self, name: &str) -> Result<Plan> {
        self.plan_opts(name, true)
    }

    /// [`Ctx::plan`], with or without the boot-time conflicts (reports show them; an apply's
    /// report does not, so it does not read the sysctl.d files).
    fn plan_opts(&self, name: &str, boot_conflicts: bool) -> Result<Plan> {
        self.check_root()?;
        let p = self.load(name)?;
        // Kept values only turn a rounded ring size from drift into `clamped`: an unreadable
        // file costs a warning, never the run.
        let kept = match self.store.kept() {
            Ok(k) => k,
            Err(e @ snapshot::StoreError::Unsafe { .. }) => return Err(e.into()),
            Err(e) => {
                eprintln!("hosttune: warning: {e}; ignoring the kept values");
                Default::default()
            }
        };
        let build = crate::plan::Build {
            allow_host_global: self.allow_host_global,
            boot_conflicts,
        };
        let plan = crate::plan::build_opts(&p, &self.host(), &kept, build);
        tracing::info!(
            "planned {}: {} items from {}",
            plan.profile,
            plan.entries.len(),
            p.sources.join(", ")
        );
        for i in plan.items() {
            tracing::debug!(
                "{} {} {}: {} -> {}",
                i.status,
                i.kind,
                i.object,
                i.live,
                i.desired
            );
        }
        Ok(plan)
    }

    /// [`Ctx::plan`], then with `--evidence` the counters tied to each item.
    fn plan_evidence(&self, name: &str, ev: &crate::evidence::EvidenceArgs) -> Result<Plan> {
        ev.check().map_err(anyhow::Error::msg)?;
        let mut plan = self.plan(name)?;
        if let Some(interval) = ev.wanted() {
            crate::evidence::collect(&mut plan, &self.load(name)?, &self.host(), interval);
        }
        Ok(plan)
    }
}

/// The seams for `root`: the live kernel's on a live tree (`/`, or the host's `/proc` and
/// `/sys` mounted in a pod that shares the host's network namespace: see `RootFs::is_live`),
/// `Offline` on a captured tree (or, in builds for the tests, file-backed stand-ins when
/// `HOSTTUNE_TEST_SEAMS=files`). systemctl only on `/`: from a pod it cannot reach the host's
/// systemd, so service items are `unsupported` there.
fn seams(fs: &RootFs) -> (Box<dyn NicOps>, Box<dyn AddrOps>, Box<dyn Services>) {
    if !fs.is_slash() {
        match crate::host::fs::live_tree(fs.root()) {
            Ok(()) => tracing::info!(
                "--root {}: live (the kernel's procfs, in this process's network namespace): \
                 NIC and address items use the kernel; services are unsupported",
                fs.root().display()
            ),
            Err(why) => tracing::info!(
                "--root {}: a captured tree ({why}): NIC, address and service items are \
                 unsupported",
                fs.root().display()
            ),
        }
    }
    if fs.is_live() {
        let services: Box<dyn Services> = if fs.is_slash() {
            Box::new(Systemctl::host())
        } else {
            Box::new(ForeignServices)
        };
        return (Box::new(Ethtool), Box::new(Netlink::new()), services);
    }
    #[cfg(feature = "test-hooks")]
    if std::env::var("HOSTTUNE_TEST_SEAMS").as_deref() == Ok("files") {
        use crate::testing::file_seams::{FileNic, FileServices};
        return (
            Box::new(FileNic { fs: fs.clone() }),
            Box::new(Offline),
            Box::new(FileServices { fs: fs.clone() }),
        );
    }
    (Box::new(Offline), Box::new(Offline), Box::new(Offline))
}

/// Runs a parsed command line.
pub fn run(args: Args) -> Result<Code> {
    // Documentation needs no host, state dir or profile: it works in a build chroot too.
    match args.command {
        Command::Completions { shell } => {
            out(&crate::docs::completions(shell))?;
            return Ok(0);
        }
        Command::Man => {
            out(&crate::docs::man())?;
            return Ok(0);
        }
        // The state dir alone: no host tree, profile or lock.
        Command::Pause { for_, reason } => {
            return pause(&Store::new(&args.state_dir), for_, reason);
        }
        Command::Resume => return resume(&Store::new(&args.state_dir)),
        Command::Status { format } => return status(&Store::new(&args.state_dir), format),
        _ => {}
    }
    let dirs = if args.profile_dirs.is_empty() {
        vec![PathBuf::from(profile::DEFAULT_DIR)]
    } else {
        args.profile_dirs
    };
    let fs = RootFs::new(&args.root);
    let (nic, addrs, services) = seams(&fs);
    let ctx = Ctx {
        nic,
        addrs,
        services,
        fs,
        catalog: Catalog::new(dirs),
        store: Store::new(&args.state_dir),
        quiet: args.quiet,
        allow_host_global: args.allow_host_global,
    };
    match args.command {
        Command::Profiles => {
            let mut s = String::new();
            for (name, origin, desc) in ctx.catalog.list() {
                s.push_str(&format!("{name:12} {desc} [{origin}]\n"));
            }
            out(&s)?;
            Ok(0)
        }
        Command::Show { profile } => {
            out(&ctx.load(&profile)?.to_toml())?;
            Ok(0)
        }
        Command::Validate { profiles } => {
            let mut failed = Vec::new();
            for p in &profiles {
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
        Command::Audit {
            profile,
            format,
            output,
            evidence,
        } => audit(&ctx, &profile, format, output, &evidence),
        Command::Apply {
            profile,
            dry_run: true,
            evidence,
        } => {
            let plan = ctx.plan_evidence(&profile, &evidence)?;
            out(&report::text(&plan, true))?;
            Ok(verdict(&plan))
        }
        Command::Apply {
            profile,
            dry_run: false,
            evidence,
        } => {
            if evidence.wanted().is_some() {
                bail!("--evidence reports; give it to `audit` or `apply --dry-run`");
            }
            check_boot_profile(&profile, "hosttune.service")?;
            apply(&ctx, &profile)
        }
        Command::Snapshot { profile } => {
            let plan = ctx.plan(&profile)?;
            let snap = Snapshot {
                id: Store::new_id(),
                profile: profile.clone(),
                origin: Origin::Manual,
                created: snapshot::now_rfc3339(),
                host: ctx.host_name(),
                place: Some(ctx.place()),
                settings: plan.entries.iter().filter_map(|e| e.live.clone()).collect(),
                side: Vec::new(),
            };
            // What the profile's writes would change besides themselves, as it is now.
            let reach =
                crate::side::reach_all(plan.entries.iter().filter_map(|e| e.desired.as_ref()));
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
        Command::Snapshots { action } => snapshots(&ctx, action.unwrap_or(SnapshotsAction::List)),
        Command::Rollback { id } => rollback(&ctx, id),
        Command::Agent {
            profile,
            interval,
            mode,
            textfile,
            evidence_per_cpu,
        } => {
            let settings = crate::agent::Settings {
                profile,
                interval: Duration::from_secs(interval),
                mode,
                textfile,
                evidence_per_cpu,
            };
            ctx.check_root()?;
            check_boot_profile(&settings.profile, "hosttune-agent.service")?;
            crate::agent::run(&ctx, &settings)
        }
        Command::Import { files, name } => import(&files, name.as_deref()),
        // Answered above, before the host is looked at.
        Command::Completions { .. }
        | Command::Man
        | Command::Pause { .. }
        | Command::Resume
        | Command::Status { .. } => Ok(0),
    }
}

/// The profile both systemd units hold unless a drop-in names another (they ship without a
/// role: which one a host has is the site's choice).
pub const BOOT_PROFILE: &str = "/etc/hosttune/profile.toml";

/// A unit started without a profile: say which file is missing and which drop-in names
/// another, rather than the bare "not found" of any missing file.
fn check_boot_profile(profile: &str, unit: &str) -> Result<()> {
    if profile == BOOT_PROFILE && !std::path::Path::new(BOOT_PROFILE).exists() {
        bail!(
            "no profile: {BOOT_PROFILE} does not exist. Write the host's profile there (it may \
             be as short as `extends = \"web\"`), or name a profile in a drop-in: `systemctl \
             edit {unit}` -> [Service] Environment=HOSTTUNE_PROFILE=NAME (a built-in, a name \
             in /etc/hosttune/profiles, or a path)"
        );
    }
    Ok(())
}

/// `hosttune pause`: records the pause; says whether an agent runs to act on it.
fn pause(store: &Store, for_: Option<Duration>, reason: Option<String>) -> Result<Code> {
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
fn resume(store: &Store) -> Result<Code> {
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
fn status(store: &Store, format: crate::agent::status::Format) -> Result<Code> {
    use crate::agent::status::{self, AgentStatus, Format};
    let file: Option<AgentStatus> = match store.read_state(status::FILE)? {
        Some(b) => match serde_json::from_slice(&b) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!(
                    "hosttune: warning: {}: {e}",
                    store.dir().join(status::FILE).display()
                );
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

/// `hosttune import`: reads every file first (one that cannot be read stops the command),
/// prints the profile on stdout and each line left out on stderr; exit 2 when nothing
/// could be imported.
fn import(files: &[PathBuf], name: Option<&str>) -> Result<Code> {
    let mut texts = Vec::with_capacity(files.len());
    for f in files {
        let text = crate::userfile::read_text(f, crate::userfile::MAX_BYTES)?;
        texts.push((f.display().to_string(), text));
    }
    let imported = crate::sysctld::import::import(&texts, name);
    for n in &imported.notes {
        eprintln!("hosttune: {n}");
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

/// Takes the lock (with the signals blocked by the caller) and settles a transaction that a
/// killed run left behind, saying so.
fn begin(ctx: &Ctx, verb: &str) -> Result<(snapshot::Lock, Option<Interrupted>)> {
    ctx.store.check_no_agent()?;
    let lock = ctx.store.lock(lock_wait())?;
    let keep = match verb {
        "apply" => Origin::Apply,
        _ => Origin::Rollback,
    };
    let found = apply::recover(&ctx.store, Some(keep))?;
    if let Some(i) = &found {
        let j = &i.journal;
        let what = match (&i.snapshot, j.origin) {
            (Ok(_), Origin::Apply) => format!(
                "its snapshot {} is now the default rollback target{}",
                j.snapshot,
                if verb == "apply" {
                    ", and this apply records its values as the ones to return to"
                } else {
                    ""
                }
            ),
            (_, Origin::Rollback) => match (&j.target, verb) {
                (Some(t), "rollback") => {
                    format!("a rollback without an ID finishes restoring its target, snapshot {t}")
                }
                (Some(t), _) => format!("run `hosttune rollback {t}` to finish restoring it"),
                (None, _) => "run `hosttune rollback` to restore the host".to_string(),
            },
            (Ok(_), _) => format!(
                "run `hosttune rollback` again to finish restoring (snapshot {})",
                j.snapshot
            ),
            (Err(e), _) => format!("its snapshot cannot be read: {e}"),
        };
        eprintln!(
            "hosttune: warning: the {} of profile {} started {} (pid {}) was interrupted before \
             it finished; {what}",
            j.origin.as_str(),
            j.profile,
            j.started,
            j.pid
        );
    }
    Ok((lock, found))
}

/// `hosttune apply`. A host already in sync is the common case (the boot oneshot on every
/// boot): it is planned without the lock and nothing is written at all, not the lock file,
/// the state dir or the outcome record. Only when there is something to write (a change, an
/// interrupted transaction to settle, a recorded failure to clear) is the lock taken and the
/// plan made again under it, so that a change made meanwhile by another run is seen.
fn apply(ctx: &Ctx, profile: &str) -> Result<Code> {
    let guard = signals::Guard::block().context("cannot block SIGTERM/SIGINT/SIGHUP")?;
    ctx.store.check_no_agent()?;
    // Reading the journal is a read: an interrupted apply is still found and settled below.
    if matches!(ctx.store.journal(), Ok(None)) {
        let plan = ctx.plan_opts(profile, false)?;
        if plan.changes().next().is_none() && !ctx.store.failed_last(&plan.profile) {
            // With no change to make the transaction returns before it touches the store or
            // the host (problems found while planning come back as such); the host name is
            // only recorded in snapshots, so it is not read.
            let opts = apply::Opts {
                signals: Some(&guard),
                ..apply::Opts::new(Origin::Apply, "")
            };
            let res = apply::run_opts(&ctx.host(), &ctx.store, &plan, &opts);
            return finish("apply", &plan, late_signal(res, &guard));
        }
    }
    let (_lock, found) = begin(ctx, "apply")?;
    let (journal, inherit) = match found {
        Some(i) if i.journal.origin == Origin::Apply => (Some(i.journal), i.snapshot.ok()),
        _ => (None, None),
    };
    let plan = ctx.plan_opts(profile, false)?;
    let host_name = ctx.host_name();
    let opts = apply::Opts {
        signals: Some(&guard),
        inherit: inherit.as_ref(),
        interrupted: journal.as_ref(),
        place: Some(ctx.place()),
        commit: Commit::Push {
            replaces: inherit.as_ref().map(|s| s.id.clone()),
        },
        ..apply::Opts::new(Origin::Apply, &host_name)
    };
    let res = apply::run_opts(&ctx.host(), &ctx.store, &plan, &opts);
    if let Ok(o) = &res {
        if let Err(e) = ctx.store.record_apply(&plan.profile, o.failure.is_none()) {
            eprintln!("hosttune: warning: cannot record the apply's outcome for the metrics: {e}");
        }
    }
    // Nothing to write: the interrupted apply had finished its writes; it is settled.
    if matches!(&res, Ok(o) if o.snapshot.is_none() && o.failure.is_none()) && journal.is_some() {
        ctx.store.end()?;
    }
    finish("apply", &plan, late_signal(res, &guard))
}

fn rollback(ctx: &Ctx, id: Option<String>) -> Result<Code> {
    ctx.check_root()?;
    let guard = signals::Guard::block().context("cannot block SIGTERM/SIGINT/SIGHUP")?;
    let (_lock, found) = begin(ctx, "rollback")?;
    // An interrupted rollback is finished, not repeated one apply further back.
    let unfinished = found
        .as_ref()
        .filter(|i| i.journal.origin == Origin::Rollback)
        .and_then(|i| i.journal.target.clone());
    let (id, snap) = match id.or(unfinished) {
        Some(id) => {
            let snap = ctx.store.load(&id)?;
            (id, snap)
        }
        None => default_target(ctx)?,
    };
    let here = ctx.place();
    if let Some(there) = &snap.place {
        if !there.same_as(&here) {
            bail!(
                "snapshot {id} was taken on {there}, and this rollback runs on {here}: its values \
                 belong there; run the rollback with the same --root in the same network \
                 namespace; nothing was changed"
            );
        }
    }
    let plan = apply::rollback_plan(&ctx.host(), &snap);
    let host_name = ctx.host_name();
    let opts = apply::Opts {
        signals: Some(&guard),
        place: Some(here),
        commit: Commit::Pop { target: id.clone() },
        ..apply::Opts::new(Origin::Rollback, &host_name)
    };
    let res = apply::run_opts(&ctx.host(), &ctx.store, &plan, &opts);
    // Nothing to write (the host already reads as the snapshot, e.g. a killed rollback had
    // finished its writes): the target still leaves the history, and an interrupted
    // rollback's journal is settled.
    if matches!(&res, Ok(o) if o.snapshot.is_none() && o.failure.is_none()) {
        let mut h = ctx.store.history()?;
        if let Some(at) = h.iter().position(|x| *x == id) {
            h.truncate(at);
            ctx.store.set_history(&h)?;
        }
        if found.is_some() {
            ctx.store.end()?;
        }
    }
    finish("rollback", &plan, late_signal(res, &guard))
}

/// A signal that arrived after the transaction's last check (while it recorded its outcome)
/// is reported like one a rollback finished through: the run was completed first.
fn late_signal(
    res: Result<apply::Outcome, ApplyError>,
    guard: &signals::Guard,
) -> Result<apply::Outcome, ApplyError> {
    res.map(|mut o| {
        if o.failure.is_none() && o.signal.is_none() {
            o.signal = guard.caught().map(signals::name);
        }
        o
    })
}

/// The newest apply in the history whose snapshot still exists; entries whose file is gone are
/// dropped from the history with a warning, so that one deleted file does not block every
/// later rollback.
fn default_target(ctx: &Ctx) -> Result<(String, Snapshot)> {
    loop {
        let id = ctx.store.last_apply()?;
        match ctx.store.load(&id) {
            Ok(snap) => return Ok((id, snap)),
            Err(snapshot::StoreError::NotFound(_)) => {
                eprintln!(
                    "hosttune: warning: snapshot {id} of the rollback history no longer exists; \
                     skipping it"
                );
                let mut h = ctx.store.history()?;
                h.retain(|x| *x != id);
                ctx.store.set_history(&h)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn verdict(plan: &Plan) -> Code {
    if plan.items().any(|i| i.status == Status::Error) {
        for i in plan.errors() {
            eprintln!("hosttune: {}", i.problem());
        }
        2
    } else if plan.items().any(|i| i.status == Status::Drift) {
        1
    } else {
        0
    }
}

fn audit(
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

fn finish(verb: &str, plan: &Plan, res: Result<apply::Outcome, ApplyError>) -> Result<Code> {
    let o = match res {
        Ok(o) => o,
        Err(ApplyError::Plan(items)) => {
            for i in &items {
                eprintln!("hosttune: {}", i.problem());
            }
            bail!(
                "{verb} {}: {} problem(s) found while planning; nothing was changed",
                plan.profile,
                items.len()
            );
        }
        Err(ApplyError::Store(e)) => {
            return Err(anyhow::Error::new(e).context(format!(
                "{verb} {}: cannot record the snapshot; nothing was changed",
                plan.profile
            )));
        }
    };
    for w in &o.warnings {
        eprintln!("hosttune: warning: {w}");
    }
    // The report goes out even when stdout fails: the verdict below is on stderr.
    let printed = out(&report::outcome(verb, plan, &o));
    let snap = o.snapshot.as_deref().unwrap_or("-");
    let code = match (&o.failure, o.signal) {
        (None, None) => 0,
        (None, Some(sig)) => {
            eprintln!(
                "hosttune: {verb} {}: {sig} received; the {verb} was finished first (snapshot \
                 {snap})",
                plan.profile
            );
            1
        }
        (Some(f), _) if !f.incomplete() => {
            eprintln!(
                "hosttune: {verb} {} failed: {}; every change was undone and reads back as \
                 before",
                plan.profile,
                report::cause(&f.cause)
            );
            1
        }
        (Some(f), _) => {
            let hint = if verb == "apply" {
                format!("run `hosttune rollback {snap}` once the cause is fixed")
            } else {
                "the host is between the two states".to_string()
            };
            eprintln!(
                "hosttune: {verb} {} failed: {}; the undo was INCOMPLETE, see `could not \
                 restore` above; {hint}",
                plan.profile,
                report::cause(&f.cause)
            );
            2
        }
    };
    printed?;
    Ok(code)
}

fn snapshots(ctx: &Ctx, action: SnapshotsAction) -> Result<Code> {
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
                        eprintln!("hosttune: warning: {e}");
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

impl crate::agent::Host for Ctx {
    fn load(&self, name: &str) -> Result<profile::Profile> {
        Ctx::load(self, name)
    }
    fn plan(&self, p: &profile::Profile) -> Result<Plan> {
        let kept = self.store.kept().unwrap_or_default();
        Ok(crate::plan::build_with(
            p,
            &self.host(),
            &kept,
            self.allow_host_global,
        ))
    }
    fn run(&self, plan: &Plan, opts: &apply::Opts) -> Result<apply::Outcome, ApplyError> {
        apply::run_opts(&self.host(), &self.store, plan, opts)
    }
    fn store(&self) -> &Store {
        &self.store
    }
    fn host_name(&self) -> String {
        Ctx::host_name(self)
    }
    fn place(&self) -> snapshot::Place {
        Ctx::place(self)
    }
    fn live(&self) -> bool {
        self.fs.is_live()
    }
    fn ifaces(&self) -> Vec<String> {
        let names = self
            .fs
            .read_dir(&crate::host::paths::net_class())
            .unwrap_or_default();
        crate::types::RawIfName::split(names).0
    }
    fn evidence(&self, profile: &profile::Profile, plan: &mut Plan) {
        crate::evidence::collect(plan, profile, &self.host(), None);
    }
}
