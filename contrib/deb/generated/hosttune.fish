# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_hosttune_global_optspecs
    string join \n root= state-dir= profile-dir= v/verbose q/quiet allow-host-global h/help V/version
end

function __fish_hosttune_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_hosttune_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_hosttune_using_subcommand
    set -l cmd (__fish_hosttune_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c hosttune -n "__fish_hosttune_needs_command" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_needs_command" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_needs_command" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_needs_command" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_needs_command" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_needs_command" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_needs_command" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_needs_command" -s V -l version -d 'Print version'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "profiles" -d 'List profiles (built-in and from profile dirs) with descriptions'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "show" -d 'Print the fully resolved profile (extends merged) as TOML'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "validate" -d 'Check profiles without reading or touching the host'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "audit" -d 'Drift report: desired vs live, every item'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "apply" -d 'Snapshot what will change, change it, read it back'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "snapshot" -d 'Record the live values of everything PROFILE covers'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "snapshots" -d 'List, show or delete snapshots'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "rollback" -d 'Restore a snapshot (default: the state before the newest completed apply; run again to walk further back)'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "agent" -d 'Hold the profile: apply it, then re-apply an interface\'s settings when it appears or changes, and audit everything every interval'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "pause" -d 'Stop the agent\'s corrections (it keeps auditing and exporting metrics), until `hosttune resume` or for a while; works whether or not an agent runs, and holds across agent restarts'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "resume" -d 'End a pause: the agent corrects drift again (within a second when it runs)'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "status" -d 'Whether an agent runs on this state dir, holds its profile in sync and is not paused (exit 0), or not: for readiness probes and monitoring checks. Writes nothing'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "import" -d 'Print a profile made from sysctl.conf / sysctl.d files'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "completions" -d 'Print a shell completion script on stdout'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "man" -d 'Print the manual page (roff, section 8) on stdout'
complete -c hosttune -n "__fish_hosttune_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hosttune -n "__fish_hosttune_using_subcommand profiles" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand profiles" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand profiles" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand profiles" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand profiles" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand profiles" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand profiles" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand show" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand show" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand show" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand show" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand show" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand show" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand show" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand validate" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand validate" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand validate" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand validate" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand validate" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand validate" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand validate" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand audit" -l format -d 'Report format: aligned text, JSON, or a node_exporter textfile' -r -f -a "text\t''
json\t''
prometheus\t''"
complete -c hosttune -n "__fish_hosttune_using_subcommand audit" -l output -d 'Write the report here (atomically) instead of stdout' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand audit" -l evidence-interval -d 'Read the counters twice, SECS apart, and report their increase and rate too (implies --evidence)' -r
complete -c hosttune -n "__fish_hosttune_using_subcommand audit" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand audit" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand audit" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand audit" -l evidence -d 'Attach to each item the kernel counters that show whether its setting matters (listen queue overflows, softnet drops, NIC rx drops, IRQs outside irq_cpus, ...)'
complete -c hosttune -n "__fish_hosttune_using_subcommand audit" -l evidence-per-cpu -d 'With --format prometheus: also write the per-CPU parts of the counters (hosttune_evidence_per_cpu, one series per CPU and counter, at most 256, the largest); implies --evidence. Off by default: a large host has IRQs x CPUs of them'
complete -c hosttune -n "__fish_hosttune_using_subcommand audit" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand audit" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand audit" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand audit" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand apply" -l evidence-interval -d 'Read the counters twice, SECS apart, and report their increase and rate too (implies --evidence)' -r
complete -c hosttune -n "__fish_hosttune_using_subcommand apply" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand apply" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand apply" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand apply" -l dry-run -d 'Show what would change; exit 1 when changes are pending'
complete -c hosttune -n "__fish_hosttune_using_subcommand apply" -l evidence -d 'Attach to each item the kernel counters that show whether its setting matters (listen queue overflows, softnet drops, NIC rx drops, IRQs outside irq_cpus, ...)'
complete -c hosttune -n "__fish_hosttune_using_subcommand apply" -l evidence-per-cpu -d 'With --format prometheus: also write the per-CPU parts of the counters (hosttune_evidence_per_cpu, one series per CPU and counter, at most 256, the largest); implies --evidence. Off by default: a large host has IRQs x CPUs of them'
complete -c hosttune -n "__fish_hosttune_using_subcommand apply" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand apply" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand apply" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand apply" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshot" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshot" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshot" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshot" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshot" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshot" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshot" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and not __fish_seen_subcommand_from list show delete help" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and not __fish_seen_subcommand_from list show delete help" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and not __fish_seen_subcommand_from list show delete help" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and not __fish_seen_subcommand_from list show delete help" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and not __fish_seen_subcommand_from list show delete help" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and not __fish_seen_subcommand_from list show delete help" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and not __fish_seen_subcommand_from list show delete help" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and not __fish_seen_subcommand_from list show delete help" -f -a "list" -d 'List snapshots, newest last, marking the rollback default and history (the default)'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and not __fish_seen_subcommand_from list show delete help" -f -a "show" -d 'Print one snapshot as JSON'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and not __fish_seen_subcommand_from list show delete help" -f -a "delete" -d 'Delete one snapshot'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and not __fish_seen_subcommand_from list show delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from list" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from list" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from list" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from list" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from show" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from show" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from show" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from show" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from delete" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from delete" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from delete" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from delete" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from help" -f -a "list" -d 'List snapshots, newest last, marking the rollback default and history (the default)'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print one snapshot as JSON'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete one snapshot'
complete -c hosttune -n "__fish_hosttune_using_subcommand snapshots; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hosttune -n "__fish_hosttune_using_subcommand rollback" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand rollback" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand rollback" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand rollback" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand rollback" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand rollback" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand rollback" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand agent" -l interval -d 'Seconds between full audits (1 to 86400)' -r
complete -c hosttune -n "__fish_hosttune_using_subcommand agent" -l mode -d 'What the agent does with drift: re-apply it (enforce); only report it, still applying at start and to interfaces that appear (report); or never write anything, not even at start (observe)' -r -f -a "enforce\t'Re-apply it'
report\t'Only report it (metrics and log); the start and interfaces that appear are still given the profile'
observe\t'Never write anything to the host, not even at start: report drift only'"
complete -c hosttune -n "__fish_hosttune_using_subcommand agent" -l textfile -d 'node_exporter textfile written after every cycle (mode 0644)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand agent" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand agent" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand agent" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand agent" -l evidence-per-cpu -d 'Also write the per-CPU parts of the evidence counters to the textfile (hosttune_evidence_per_cpu, at most 256 series, the largest). Off by default: a large host has IRQs x CPUs of them'
complete -c hosttune -n "__fish_hosttune_using_subcommand agent" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand agent" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand agent" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand agent" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hosttune -n "__fish_hosttune_using_subcommand pause" -l for -d 'End the pause by itself after this long: whole numbers with a unit s, m, h or d (90s, 30m, 2h, 1d, 1h30m), at most 30d' -r
complete -c hosttune -n "__fish_hosttune_using_subcommand pause" -l reason -d 'Why, for the agent\'s log and status (one line, at most 200 bytes)' -r
complete -c hosttune -n "__fish_hosttune_using_subcommand pause" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand pause" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand pause" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand pause" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand pause" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand pause" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand pause" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand resume" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand resume" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand resume" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand resume" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand resume" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand resume" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand resume" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand status" -l format -d 'Aligned text or JSON' -r -f -a "text\t''
json\t''"
complete -c hosttune -n "__fish_hosttune_using_subcommand status" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand status" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand status" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand status" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand status" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand status" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand status" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand import" -l name -d 'The profile\'s name, for its description' -r
complete -c hosttune -n "__fish_hosttune_using_subcommand import" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand import" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand import" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand import" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand import" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand import" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand import" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand completions" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand completions" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand completions" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand completions" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand completions" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand completions" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand completions" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand man" -l root -d 'Where /proc and /sys are read and written (a captured tree for offline audits)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand man" -l state-dir -d 'Snapshots and the lock' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand man" -l profile-dir -d 'Site profile directory, searched before the built-ins (repeatable)' -r -F
complete -c hosttune -n "__fish_hosttune_using_subcommand man" -s v -l verbose -d 'More log output (-v info, -vv debug)'
complete -c hosttune -n "__fish_hosttune_using_subcommand man" -s q -l quiet -d 'Only problems: leave `ok` items out of reports'
complete -c hosttune -n "__fish_hosttune_using_subcommand man" -l allow-host-global -d 'Inside a non-initial network namespace, write host-global settings too (kernel.*, vm.*, fs.*, /proc/irq, services), which change the whole host. Off by default: they are skipped there'
complete -c hosttune -n "__fish_hosttune_using_subcommand man" -s h -l help -d 'Print help'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "profiles" -d 'List profiles (built-in and from profile dirs) with descriptions'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "show" -d 'Print the fully resolved profile (extends merged) as TOML'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "validate" -d 'Check profiles without reading or touching the host'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "audit" -d 'Drift report: desired vs live, every item'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "apply" -d 'Snapshot what will change, change it, read it back'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "snapshot" -d 'Record the live values of everything PROFILE covers'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "snapshots" -d 'List, show or delete snapshots'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "rollback" -d 'Restore a snapshot (default: the state before the newest completed apply; run again to walk further back)'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "agent" -d 'Hold the profile: apply it, then re-apply an interface\'s settings when it appears or changes, and audit everything every interval'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "pause" -d 'Stop the agent\'s corrections (it keeps auditing and exporting metrics), until `hosttune resume` or for a while; works whether or not an agent runs, and holds across agent restarts'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "resume" -d 'End a pause: the agent corrects drift again (within a second when it runs)'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "status" -d 'Whether an agent runs on this state dir, holds its profile in sync and is not paused (exit 0), or not: for readiness probes and monitoring checks. Writes nothing'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "import" -d 'Print a profile made from sysctl.conf / sysctl.d files'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "completions" -d 'Print a shell completion script on stdout'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "man" -d 'Print the manual page (roff, section 8) on stdout'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and not __fish_seen_subcommand_from profiles show validate audit apply snapshot snapshots rollback agent pause resume status import completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and __fish_seen_subcommand_from snapshots" -f -a "list" -d 'List snapshots, newest last, marking the rollback default and history (the default)'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and __fish_seen_subcommand_from snapshots" -f -a "show" -d 'Print one snapshot as JSON'
complete -c hosttune -n "__fish_hosttune_using_subcommand help; and __fish_seen_subcommand_from snapshots" -f -a "delete" -d 'Delete one snapshot'
