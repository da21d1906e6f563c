//! The `hosttune` binary: parse, set up the log, run, print the error chain once, map it to
//! an exit code. The error is the command's last word, not a log message: it goes to stderr
//! whatever the log level or destination.

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
    hosttune::cli::logging::init(&args);
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
