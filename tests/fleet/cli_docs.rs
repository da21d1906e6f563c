//! The documentation generated from the command line: every argument and command has help
//! text, `--help` lists the exit codes, `completions` and `man` cover every command, and the
//! copies the Debian package ships (contrib/deb/generated/) match what the binary prints.
//!
//! When the command line changes, refresh the shipped copies with
//! `HOSTTUNE_BLESS=1 cargo test --test fleet cli_docs::` and commit them.

use crate::common;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use hosttune::cli::Args;

fn hosttune(args: &[&str]) -> String {
    let out = common::hosttune()
        .command(args)
        .env_remove("HOSTTUNE_STATE_DIR")
        .output()
        .expect("run hosttune");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "hosttune {}: stderr: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Every command, nested ones too, as the words that name it: ["snapshots", "show"].
fn commands() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: &[String], all: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            let mut p = path.to_vec();
            p.push(sub.get_name().to_string());
            all.push(p.clone());
            walk(sub, &p, all);
        }
    }
    let mut all = Vec::new();
    walk(&Args::command(), &[], &mut all);
    all
}

#[test]
fn every_argument_and_command_has_help_text() {
    fn check(cmd: &clap::Command, name: &str, missing: &mut Vec<String>) {
        if cmd.get_about().is_none() {
            missing.push(format!("command `{name}`"));
        }
        for arg in cmd.get_arguments() {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("argument `{}` of `{name}`", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            check(sub, &format!("{name} {}", sub.get_name()), missing);
        }
    }
    let mut cmd = Args::command();
    cmd.build();
    let mut missing = Vec::new();
    check(&cmd, "hosttune", &mut missing);
    assert!(missing.is_empty(), "no help text: {missing:#?}");
    assert!(commands().len() >= 14, "{:?}", commands());

    // And `--help` of each command shows it, positional arguments included.
    for words in commands() {
        let mut args: Vec<&str> = words.iter().map(String::as_str).collect();
        args.push("--help");
        let help = hosttune(&args);
        assert!(help.contains("Usage: hosttune"), "{args:?}: {help}");
        // Each positional argument's help is shown (clap may put it on the next line).
        let mut cmd = Args::command();
        for w in &words {
            cmd = cmd.find_subcommand(w).unwrap().clone();
        }
        for arg in cmd.get_positionals() {
            let text = arg.get_help().unwrap().to_string();
            let start: String = text
                .split_whitespace()
                .take(4)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(help.contains(&start), "{args:?}: no {start:?} in\n{help}");
        }
    }
}

#[test]
fn help_lists_the_exit_codes() {
    let help = hosttune(&["--help"]);
    assert!(help.contains("Exit codes:"), "{help}");
    for (code, what) in [
        (0, "in sync (audit)"),
        (1, "drift found (audit)"),
        (2, "usage error"),
    ] {
        let line = format!("  {code}  {what}");
        assert!(help.contains(&line), "missing {line:?} in:\n{help}");
    }
    // The README's table is the reference: the same codes.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|l| *l != "### Exit codes")
        .skip(1)
        .take_while(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with("| ") && l.as_bytes()[2].is_ascii_digit())
        .collect();
    assert_eq!(
        table.len(),
        hosttune::docs::EXIT_CODES.len(),
        "README exit code table: {table:?}"
    );
}

#[test]
fn completions_cover_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let script = hosttune(&["completions", shell]);
        assert!(script.len() > 1000, "{shell}: {script}");
        for words in commands() {
            let name = words.last().unwrap();
            assert!(script.contains(name.as_str()), "{shell}: no {name}");
        }
        for opt in ["root", "state-dir", "profile-dir", "dry-run", "format"] {
            let spelled = if shell == "fish" {
                format!("-l {opt}")
            } else {
                format!("--{opt}")
            };
            assert!(script.contains(&spelled), "{shell}: no {spelled}");
        }
    }
    let bad = common::hosttune().output(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("tcsh"));
}

#[test]
fn man_page_covers_every_command() {
    let page = hosttune(&["man"]);
    assert!(page.starts_with(".TH HOSTTUNE 8 "), "{}", &page[..80]);
    for words in commands() {
        let heading = format!(".SS \"hosttune {}\"", words.join(" "));
        assert!(page.contains(&heading), "no {heading}");
    }
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS",
        "\"EXIT STATUS\"",
        "FILES",
    ] {
        assert!(
            page.contains(&format!("\n.SH {section}\n")),
            "no section {section}"
        );
    }
    // Every variable hosttune or its units read, in ENVIRONMENT (before FILES).
    let env = &page[page.find("\n.SH ENVIRONMENT\n").expect("no ENVIRONMENT")..];
    let env = &env[..env
        .find("\n.SH FILES\n")
        .expect("no FILES after ENVIRONMENT")];
    for var in ["HOSTTUNE_STATE_DIR", "HOSTTUNE_PROFILE", "HOSTTUNE_LOG"] {
        assert!(
            env.contains(&format!("\\fB{var}\\fR")),
            "no {var} in:\n{env}"
        );
    }
    // One apostrophe preamble, right after .TH; no other section heading from the
    // per-command pieces.
    assert_eq!(page.matches(".ds Aq").count(), 2);
    assert_eq!(page.matches("\n.SH OPTIONS\n").count(), 1);
    // Renders without warnings, when man(1) is here.
    if let Ok(out) = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(page.as_bytes())?;
            c.wait_with_output()
        })
    {
        assert!(
            out.stderr.is_empty(),
            "groff: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Debian package ships these files as they are checked in (cargo-deb cannot run the
/// binary it packages); they must be what this binary prints.
#[test]
fn packaged_man_page_and_completions_are_fresh() {
    let dir = root().join("contrib/deb/generated");
    let bless = std::env::var("HOSTTUNE_BLESS").as_deref() == Ok("1");
    let mut stale = Vec::new();
    for (file, args) in [
        ("hosttune.8", &["man"][..]),
        ("hosttune.bash", &["completions", "bash"][..]),
        ("_hosttune", &["completions", "zsh"][..]),
        ("hosttune.fish", &["completions", "fish"][..]),
    ] {
        let want = hosttune(args);
        let path = dir.join(file);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &want).unwrap();
                eprintln!("wrote {}", path.display());
            } else {
                stale.push(format!("{} (`hosttune {}`)", rel(&path), args.join(" ")));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files, which the Debian package ships: {stale:?}; refresh them with \
         `HOSTTUNE_BLESS=1 cargo test --test fleet cli_docs::` and commit them"
    );
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// The example site profile that the package installs in /etc/hosttune/profiles is valid,
/// and `extends = "web"` with a VIP.
#[test]
fn packaged_site_example_is_valid() {
    let dir = root().join("contrib/deb");
    let text = std::fs::read_to_string(dir.join("site-example.toml")).unwrap();
    assert!(text.contains("\nextends = \"web\"\n"));
    assert!(text.contains("\n[dsr]\n"));
    let out = hosttune(&[
        "--profile-dir",
        dir.to_str().unwrap(),
        "validate",
        "site-example",
    ]);
    assert_eq!(out, "site-example: valid\n");
    let shown = hosttune(&[
        "--profile-dir",
        dir.to_str().unwrap(),
        "show",
        "site-example",
    ]);
    assert!(shown.contains("192.0.2.10/32"), "{shown}");
    assert!(shown.contains("arp_ignore = 1"), "{shown}");
}
