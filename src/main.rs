//! The `hosttune` binary: parse, run, print the error chain once, map it to an exit code.

#![deny(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match hosttune::cli::Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let level = match (args.quiet, args.verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, _) => tracing::Level::DEBUG,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        // journald shows escape codes literally: colour only on a terminal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match hosttune::cli::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Each error is printed once: a cause whose text its context already carries
            // (thiserror messages that embed their source) is not repeated.
            let mut msg = String::new();
            for c in e.chain().map(|c| c.to_string()) {
                if !msg.contains(&c) {
                    if !msg.is_empty() {
                        msg.push_str(": ");
                    }
                    msg.push_str(&c);
                }
            }
            for line in msg.lines() {
                eprintln!("hosttune: {line}");
            }
            ExitCode::from(2)
        }
    }
}
