//! The documentation generated from the command line: every argument and command has help
//! text, `--help` lists the exit codes, and `completions` and `man` cover every command.

use std::path::PathBuf;

use assert_cmd::Command;
use assert_cmd::cargo::cargo_bin;
use clap::CommandFactory;
use hosttune::cli::Args;

fn hosttune(args: &[&str]) -> String {
    let out = Command::new(cargo_bin("hosttune"))
        .args(args)
        .env_remove("HOSTTUNE_STATE_DIR")
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        out.stderr.is_empty(),
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
    // The README's table is the reference: the same three codes.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|l| *l != "### Exit codes")
        .skip(1)
        .take_while(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with("| ") && l.as_bytes()[2].is_ascii_digit())
        .collect();
    assert_eq!(table.len(), 3, "README exit code table: {table:?}");
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
    let bad = Command::new(cargo_bin("hosttune"))
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .get_output()
        .clone();
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
