//! The link seam from the command line, in `ip link` / `ip fou` words, for trying it on a
//! kernel that has the tunnel modules: tests/vm/checks.sh (`tunnel_links_ipip_fou`) drives it
//! inside the test VM and checks every step with iproute2. Not part of the hosttune binary.
//!
//! ```text
//! linkops list                              NAME KIND up|down mtu N [external] [local A] [remote A]
//! linkops create NAME KIND [external] [mtu N]
//! linkops set NAME [up|down] [mtu N]
//! linkops delete NAME
//! linkops fou-list                          port N gue|ipproto P [-6]
//! linkops fou-add|fou-del PORT gue|ipproto P [-6]
//! ```
//! Exit 0 on success, 1 with the seam's error on stderr, 2 on bad usage.

use std::process::ExitCode;

use hosttune::host::netlink::Netlink;
use hosttune::host::{
    FouFamily, FouKind, FouPort, LinkChange, LinkError, LinkKind, LinkOps, LinkSpec,
};

fn usage(why: &str) -> ExitCode {
    eprintln!("linkops: {why} (see the head of examples/linkops.rs)");
    ExitCode::from(2)
}

fn number<T: std::str::FromStr>(word: Option<&String>) -> Option<T> {
    word?.parse().ok()
}

/// `PORT gue|ipproto P [-6]`.
fn fou_port(words: &[String]) -> Option<FouPort> {
    let port = number(words.first())?;
    let (kind, rest) = match words.get(1)?.as_str() {
        "gue" => (FouKind::Gue, &words[2..]),
        "ipproto" => (FouKind::Direct(number(words.get(2))?), &words[3..]),
        _ => return None,
    };
    let family = match rest {
        [] => FouFamily::V4,
        [six] if six == "-6" => FouFamily::V6,
        _ => return None,
    };
    Some(FouPort { port, family, kind })
}

/// `[up|down] [mtu N]` and, for create, `[external]`.
fn options(words: &[String]) -> Option<(LinkChange, bool)> {
    let (mut change, mut external) = (LinkChange::default(), false);
    let mut it = words.iter();
    while let Some(w) = it.next() {
        match w.as_str() {
            "up" => change.up = Some(true),
            "down" => change.up = Some(false),
            "external" => external = true,
            "mtu" => change.mtu = Some(number(it.next())?),
            _ => return None,
        }
    }
    Some((change, external))
}

fn run(nl: &Netlink, args: &[String]) -> Option<Result<(), LinkError>> {
    let name = |i: usize| args.get(i)?.parse().ok();
    Some(match args.first()?.as_str() {
        "list" => nl.list().map(|links| {
            for l in links {
                let kind = l.kind.as_ref().map_or("-", LinkKind::as_str);
                let state = if l.up { "up" } else { "down" };
                let mut line = format!("{} {kind} {state} mtu {}", l.name, l.mtu);
                if let Some(t) = l.tunnel {
                    if t.external {
                        line.push_str(" external");
                    }
                    t.local.inspect(|a| line.push_str(&format!(" local {a}")));
                    t.remote.inspect(|a| line.push_str(&format!(" remote {a}")));
                }
                println!("{line}");
            }
        }),
        "create" => {
            let (change, external) = options(args.get(3..)?)?;
            let spec = LinkSpec {
                name: name(1)?,
                kind: LinkKind::from(args.get(2)?.clone()),
                external,
                mtu: change.mtu,
            };
            nl.create(&spec)
        }
        "set" => nl.set(&name(1)?, &options(args.get(2..)?)?.0),
        "delete" => nl.delete(&name(1)?),
        "fou-list" => nl
            .fou_list()
            .map(|ports| ports.iter().for_each(|p| println!("{p}"))),
        "fou-add" => nl.fou_add(&fou_port(&args[1..])?),
        "fou-del" => nl.fou_del(&fou_port(&args[1..])?),
        _ => return None,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&Netlink::new(), &args) {
        None => usage(&format!("cannot read {:?}", args.join(" "))),
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(e)) => {
            eprintln!("linkops: {e}");
            ExitCode::FAILURE
        }
    }
}
