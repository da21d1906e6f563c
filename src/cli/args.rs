//! The command line's arguments (clap): the global options, every command and its own
//! arguments, with the help text that `--help`, the manual page and the completions are
//! generated from (see `cli::docs`). Only declarations: what each command does is in
//! the runners beside this file.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::report::Format;
use crate::snapshot;

/// Host tuning for Linux load-balancing fleets: apply role profiles, audit drift, roll back.
#[derive(Debug, Parser)]
#[command(name = "hosttune", version, about, after_help = super::exits::exit_codes_help())]
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
