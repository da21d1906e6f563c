//! The exit codes, one table that `--help` (the arguments' `after_help`), the manual page
//! and README "Exit codes" show.

/// The exit codes, as README "Exit codes" lists them.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (
        0,
        "in sync (audit), applied or nothing to do (apply), valid (validate), done",
    ),
    (
        1,
        "drift found (audit), changes pending (apply --dry-run); an apply or rollback that \
         failed, or was stopped by SIGTERM/SIGINT/SIGHUP, and whose every change was undone; a \
         rollback that a signal interrupted but that was finished",
    ),
    (
        2,
        "usage error, bad profile, plan-time error, lock held by another run, unsafe state \
         dir, failed write to stdout, nothing to roll back to, or a fault; also an apply whose \
         undo was incomplete (listed under `could not restore`)",
    ),
    (3, "status: no agent runs on this state dir"),
    (4, "status: the agent is paused (`hosttune pause`)"),
    (
        5,
        "status: the agent's profile has items in drift or failing",
    ),
    (
        6,
        "status: the agent's last cycle is older than 3 intervals, or it has not finished its \
         first",
    ),
];

/// The `after_help` of `hosttune --help`.
pub fn exit_codes_help() -> String {
    let mut s = String::from("Exit codes:\n");
    for (code, what) in EXIT_CODES {
        s.push_str(&format!("  {code}  {what}\n"));
    }
    s
}
