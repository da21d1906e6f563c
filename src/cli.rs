//! The command line, in two stages as ripgrep does it: [`args`] declares what the binary
//! accepts (clap), and [`run`] resolves that into the context a command needs, then hands it
//! to the command's runner: [`commands`] for those that read, [`transact`] for `apply` and
//! `rollback`, [`agentctl`] for `pause`, `resume` and `status`, the agent in
//! [`crate::agent`]. [`output`] maps what they found to the output and the exit code (0 in
//! sync / done, 1 drift or rolled back, 2 usage, bad profile or a fault); [`docs`] generates
//! the manual page and completions from [`args`]; [`logging`] sets up the log.

mod agentctl;
mod args;
mod commands;
mod ctx;
pub mod docs;
mod exits;
pub mod logging;
mod output;
mod transact;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};

pub use args::{Args, Command, MAX_INTERVAL_SECS, SnapshotsAction};
pub use output::Code;

use crate::host::RootFs;
use crate::profile::{self, Catalog};
use crate::snapshot::Store;
use ctx::{Ctx, seams};
use output::out;

/// Runs a parsed command line.
pub fn run(args: Args) -> Result<Code> {
    // Documentation needs no host, state dir or profile: it works in a build chroot too.
    match args.command {
        Command::Completions { shell } => {
            out(&docs::completions(shell))?;
            return Ok(0);
        }
        Command::Man => {
            out(&docs::man())?;
            return Ok(0);
        }
        // The state dir alone: no host tree, profile or lock.
        Command::Pause { for_, reason } => {
            return agentctl::pause(&Store::new(&args.state_dir), for_, reason);
        }
        Command::Resume => return agentctl::resume(&Store::new(&args.state_dir)),
        Command::Status { format } => {
            return agentctl::status(&Store::new(&args.state_dir), format);
        }
        _ => {}
    }
    let dirs = if args.profile_dirs.is_empty() {
        vec![PathBuf::from(profile::DEFAULT_DIR)]
    } else {
        args.profile_dirs
    };
    let fs = RootFs::new(&args.root);
    let ctx::Seams {
        nic,
        addrs,
        links,
        services,
        nft,
    } = seams(&fs);
    let ctx = Ctx {
        nic,
        addrs,
        links,
        services,
        nft,
        fs,
        catalog: Catalog::new(dirs),
        store: Store::new(&args.state_dir),
        quiet: args.quiet,
        allow_host_global: args.allow_host_global,
    };
    match args.command {
        Command::Profiles => commands::profiles(&ctx),
        Command::Show { profile } => commands::show(&ctx, &profile),
        Command::Validate { profiles } => commands::validate(&ctx, &profiles),
        Command::Audit {
            profile,
            format,
            output,
            evidence,
        } => commands::audit(&ctx, &profile, format, output, &evidence),
        Command::Apply {
            profile,
            dry_run: true,
            evidence,
        } => {
            let plan = ctx.plan_evidence(&profile, &evidence)?;
            out(&crate::report::text(&plan, true))?;
            Ok(output::verdict(&plan))
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
            transact::apply(&ctx, &profile)
        }
        Command::Snapshot { profile } => commands::snapshot(&ctx, &profile),
        Command::Snapshots { action } => {
            commands::snapshots(&ctx, action.unwrap_or(SnapshotsAction::List))
        }
        Command::Rollback { id } => transact::rollback(&ctx, id),
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
        Command::Import { files, name } => commands::import(&files, name.as_deref()),
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
