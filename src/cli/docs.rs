//! Documentation generated from the command line itself ([`super::args`]): the exit codes
//! of `--help`, shell completions (clap_complete) and the manual page (clap_mangen), so that
//! none of them can drift from the arguments the binary accepts. It lives under `cli` so that
//! the arguments and their documentation depend one way only (`hosttune::docs` still names it).

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use super::Args;

pub use super::exits::{EXIT_CODES, exit_codes_help};

/// A completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Args::command(), "hosttune", &mut buf);
    String::from_utf8(buf).expect("clap_complete writes UTF-8")
}

/// The manual page, hosttune(8), as roff: the global options, then every command with its
/// own synopsis and arguments, the exit status, the environment and the files.
pub fn man() -> String {
    let cmd = Args::command();
    let page = Man::new(cmd.clone())
        .title("HOSTTUNE")
        .section("8")
        .manual("System Administration");
    const MEM: &str = "rendering into memory cannot fail";
    let mut w = Vec::new();
    page.render_title(&mut w).expect(MEM);
    page.render_name_section(&mut w).expect(MEM);
    page.render_synopsis_section(&mut w).expect(MEM);

    let mut r = Roff::new();
    r.control("SH", ["DESCRIPTION"]).text([roman(
        "hosttune tunes Linux hosts in L4 load-balancing fleets (Direct Server Return \
         balancers, the web servers behind them and the clients that load them) from role \
         profiles. It compares a profile with the live kernel and NICs, applies only what \
         differs, snapshots every value it replaces so that it can be put back, and reports \
         drift as text, JSON or a Prometheus textfile.",
    )]);
    r.control("PP", []).text([
        italic("PROFILE"),
        roman(
            " is a built-in name, a name found in a profile dir (/etc/hosttune/profiles/NAME.toml \
             by default; it overrides a built-in of the same name), or a path to a .toml file.",
        ),
    ]);
    w.extend(r.render().into_bytes());
    page.render_options_section(&mut w).expect(MEM);

    let mut r = Roff::new();
    r.control("SH", ["COMMANDS"]);
    w.extend(r.render().into_bytes());
    for sub in cmd.get_subcommands() {
        command_section(&mut w, "hosttune", sub);
    }

    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    for (code, what) in EXIT_CODES {
        r.control("TP", [])
            .text([bold(code.to_string())])
            .text([roman(*what)]);
    }
    r.control("PP", []).text([roman(
        "Every non-zero exit prints lines starting \"hosttune: \" on stderr naming what and where.",
    )]);
    r.control("SH", ["ENVIRONMENT"]);
    r.control("TP", [])
        .text([bold("HOSTTUNE_STATE_DIR")])
        .text([roman("The state directory when --state-dir is not given.")]);
    r.control("TP", [])
        .text([bold("HOSTTUNE_PROFILE")])
        .text([roman(
            "Read by the systemd units only: the profile they hold (default \
             /etc/hosttune/profile.toml); set it in a drop-in.",
        )]);
    r.control("TP", [])
        .text([bold(super::logging::ENV)])
        .text([roman(
            "The log filter: a tracing_subscriber EnvFilter directive (debug, \
             warn,hosttune::agent=debug, off) that replaces the level -v and -q set. A \
             directive that does not parse is reported and the flags' level used instead.",
        )]);
    r.control("SH", ["FILES"]);
    for (path, what) in [
        (
            "/etc/hosttune/profiles/",
            "Site profiles, searched before the built-ins; the package installs \
             site-example.toml there.",
        ),
        (
            "/etc/hosttune/profile.toml",
            "The profile both systemd units hold unless a drop-in sets HOSTTUNE_PROFILE.",
        ),
        (
            "/var/lib/hosttune/",
            "The state dir: snapshots/ID.json, the lock, history, journal.json and kept.json; \
             the agent's agent.lock and agent-status.json; pause.json while paused; mode 0600.",
        ),
        (
            "/usr/lib/systemd/system/hosttune.service",
            "Applies the profile at boot (installed disabled).",
        ),
        (
            "/usr/lib/systemd/system/hosttune-agent.service",
            "Holds the profile: re-applies on link events and audits every interval (installed \
             disabled).",
        ),
        (
            "/usr/share/doc/hosttune/README.md",
            "The full documentation: profile format, knobs, snapshots and rollback.",
        ),
    ] {
        r.control("TP", []).text([bold(path)]).text([roman(what)]);
    }
    r.control("SH", ["SEE ALSO"]).text([
        bold("sysctl.d"),
        roman("(5), "),
        bold("sysctl"),
        roman("(8), "),
        bold("ethtool"),
        roman("(8), "),
        bold("systemd.service"),
        roman("(5)"),
    ]);
    w.extend(r.render().into_bytes());
    page.render_version_section(&mut w).expect(MEM);
    tidy(&String::from_utf8(w).expect("roff is UTF-8"))
}

/// Every piece rendered above starts with roff's apostrophe preamble (it defines the `Aq`
/// string that apostrophes are written as); a page needs it once, right after `.TH`.
fn tidy(raw: &str) -> String {
    const PREAMBLE: [&str; 2] = [".ie \\n(.g .ds Aq \\(aq", ".el .ds Aq '"];
    let mut page = String::with_capacity(raw.len());
    for line in raw.lines().filter(|l| !PREAMBLE.contains(l)) {
        page.push_str(line);
        page.push('\n');
        if line.starts_with(".TH ") {
            for p in PREAMBLE {
                page.push_str(p);
                page.push('\n');
            }
        }
    }
    page
}

/// One `.SS` per command (nested ones too: `hosttune snapshots show`): what it does, its
/// synopsis and its own arguments. The global options are listed once, under OPTIONS.
fn command_section(w: &mut Vec<u8>, parent: &str, sub: &clap::Command) {
    let name = format!("{parent} {}", sub.get_name());
    let cmd = sub
        .clone()
        .bin_name(&name)
        .disable_help_flag(true)
        .disable_help_subcommand(true);
    let mut r = Roff::new();
    r.control("SS", [name.as_str()]);
    if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
        r.text([roman(about.to_string())]);
    }
    r.control("PP", []);
    w.extend(r.render().into_bytes());
    let page = Man::new(cmd);
    let mut body = Vec::new();
    const MEM: &str = "rendering into memory cannot fail";
    page.render_synopsis_section(&mut body).expect(MEM);
    if sub.get_arguments().next().is_some() {
        page.render_options_section(&mut body).expect(MEM);
    }
    // Section headings of the command's own page would end COMMANDS: leave them out.
    for line in String::from_utf8(body).expect("roff is UTF-8").lines() {
        if !line.starts_with(".SH ") {
            w.extend(line.trim_end().as_bytes());
            w.push(b'\n');
        }
    }
    for nested in sub.get_subcommands() {
        command_section(w, &name, nested);
    }
}
