//! The nftables seam: whole tables named `hosttune_*`, loaded, read and deleted by running
//! the `nft` binary (package `nftables`) with an argument vector, never a shell.
//!
//! A table hosttune writes is rendered from a [`TableDef`]; every rule carries a `comment`
//! that is a short digest of the rule's own text ([`rule_comment`]). What identifies a
//! table's content is its [`Shape`]: the chain declarations and, per chain in order, the
//! rules' comments (or, for a rule without one, a digest of its expression as `nft -j`
//! prints it), plus any set, map or other object in it. A live table whose shape equals the
//! rendered one holds exactly hosttune's rules; anything else is drift, and the snapshot
//! keeps its `nft list table` text so that a rollback loads it back as it was.

use std::io::{ErrorKind, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// An nftables address family hosttune writes tables in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NftFamily {
    Inet,
    Ip,
    Ip6,
}

impl NftFamily {
    pub fn as_str(self) -> &'static str {
        match self {
            NftFamily::Inet => "inet",
            NftFamily::Ip => "ip",
            NftFamily::Ip6 => "ip6",
        }
    }
}

impl std::fmt::Display for NftFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The prefix of every table hosttune owns.
pub const PREFIX: &str = "hosttune_";

/// The priority of the `raw` hook slot (`NF_IP_PRI_RAW`), where `notrack` must run: before
/// conntrack (-200) looks at the packet.
pub const PRIORITY_RAW: i32 = -300;

/// The priority of the `mangle` hook slot (`NF_IP_PRI_MANGLE`), where packets are rewritten
/// (the MSS option of `[dsr] mss`).
pub const PRIORITY_MANGLE: i32 = -150;

/// A base chain's declaration: `type filter hook prerouting priority -300; policy accept;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub kind: String,
    pub hook: String,
    pub priority: i32,
    pub policy: String,
}

/// One chain and its rules, each rule as nft's text without a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainDef {
    pub name: String,
    pub hook: Option<Hook>,
    pub rules: Vec<String>,
}

/// A table as hosttune writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub family: NftFamily,
    pub name: String,
    pub chains: Vec<ChainDef>,
}

/// What identifies a table's content, one line per chain declaration, rule and other
/// object, in the order `nft -j list table` gives them.
pub type Shape = Vec<String>;

/// A table's text (what `nft -f` loads and `nft list table` prints) and its [`Shape`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftTable {
    pub text: String,
    pub shape: Shape,
}

/// The comment hosttune puts on a rule: `ht:` and 12 hex digits of the SHA-256 of its text.
pub fn rule_comment(rule: &str) -> String {
    let hex = crate::sha256::hex(rule.as_bytes());
    format!("ht:{}", &hex[..12])
}

fn chain_line(name: &str, hook: Option<&Hook>) -> String {
    match hook {
        Some(h) => format!(
            "chain {name}: type {} hook {} priority {} policy {}",
            h.kind, h.hook, h.priority, h.policy
        ),
        None => format!("chain {name}"),
    }
}

fn rule_line(chain: &str, id: &str) -> String {
    format!("rule {chain}: {id}")
}

impl TableDef {
    /// `family name` (`inet hosttune_notrack`).
    pub fn object(&self) -> String {
        format!("{} {}", self.family, self.name)
    }

    /// The definition `nft -f` loads: every rule with its comment.
    pub fn render(&self) -> String {
        let mut out = format!("table {} {} {{\n", self.family, self.name);
        for (i, c) in self.chains.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!("\tchain {} {{\n", c.name));
            if let Some(h) = &c.hook {
                out.push_str(&format!(
                    "\t\ttype {} hook {} priority {}; policy {};\n",
                    h.kind, h.hook, h.priority, h.policy
                ));
            }
            for r in &c.rules {
                out.push_str(&format!("\t\t{r} comment \"{}\"\n", rule_comment(r)));
            }
            out.push_str("\t}\n");
        }
        out.push_str("}\n");
        out
    }

    /// The shape a live table holding exactly these rules reads back with.
    pub fn shape(&self) -> Shape {
        let mut out: Shape = self
            .chains
            .iter()
            .map(|c| chain_line(&c.name, c.hook.as_ref()))
            .collect();
        for c in &self.chains {
            out.extend(c.rules.iter().map(|r| rule_line(&c.name, &rule_comment(r))));
        }
        out
    }

    pub fn table(&self) -> NftTable {
        NftTable {
            text: self.render(),
            shape: self.shape(),
        }
    }
}

/// The shape of table `family name` from `nft -j list table` output. Chains come before
/// rules in that output, which lists objects by kind.
pub fn parse_json(json: &str) -> Result<Shape, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let list = v
        .get("nftables")
        .and_then(|l| l.as_array())
        .ok_or("no \"nftables\" array")?;
    let mut out = Shape::new();
    for obj in list {
        let Some((kind, body)) = obj.as_object().and_then(|o| o.iter().next()) else {
            return Err(format!("not an object: {obj}"));
        };
        let text = |f: &str| body.get(f).and_then(|x| x.as_str()).unwrap_or("");
        match kind.as_str() {
            "metainfo" | "table" => {}
            "chain" => {
                let hook = body.get("hook").map(|_| Hook {
                    kind: text("type").into(),
                    hook: text("hook").into(),
                    priority: body.get("prio").and_then(|p| p.as_i64()).unwrap_or(0) as i32,
                    policy: text("policy").into(),
                });
                out.push(chain_line(text("name"), hook.as_ref()));
            }
            "rule" => {
                let id = match body.get("comment").and_then(|c| c.as_str()) {
                    Some(c) => c.to_string(),
                    None => {
                        let expr = body.get("expr").map(|e| e.to_string()).unwrap_or_default();
                        format!("expr:{}", &crate::sha256::hex(expr.as_bytes())[..12])
                    }
                };
                out.push(rule_line(text("chain"), &id));
            }
            other => out.push(format!("{other} {}", text("name"))),
        }
    }
    Ok(out)
}

/// Checks that `text` defines table `family name` and nothing else: one top-level
/// `table FAMILY NAME { ... }` block, no `include` or `define` anywhere. A snapshot's text
/// is loaded as root, so it must not reach another table or the whole ruleset.
pub fn check_text(family: NftFamily, name: &str, text: &str) -> Result<(), String> {
    let head = format!("table {family} {name} {{");
    let body = text
        .trim_start()
        .strip_prefix(&head)
        .ok_or_else(|| format!("the text does not start with `{head}`"))?;
    let (mut depth, mut quoted, mut comment) = (1u32, false, false);
    let mut rest_at = None;
    for (i, ch) in body.char_indices() {
        match ch {
            '\n' => comment = false,
            _ if comment => {}
            '"' => quoted = !quoted,
            _ if quoted => {}
            '#' => comment = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    rest_at = Some(i + 1);
                    break;
                }
            }
            _ => {}
        }
    }
    let rest = rest_at
        .map(|i| &body[i..])
        .ok_or("the table's block is not closed")?;
    if !rest.trim().is_empty() {
        return Err("there is text after the table's block".into());
    }
    let words = |l: &str| l.split_whitespace().next().map(str::to_string);
    if let Some(bad) = text
        .lines()
        .filter_map(words)
        .find(|w| w == "include" || w == "define" || w == "flush")
    {
        return Err(format!("`{bad}` is not allowed in a table's text"));
    }
    Ok(())
}

/// A failed nft operation, naming the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NftError {
    #[error("table {table}: the nft command is not installed (apt install nftables)")]
    Missing { table: String },
    #[error("table {table}: {why}")]
    Unsupported { table: String, why: String },
    #[error("table {table}: {op}: {detail}")]
    Failed {
        table: String,
        op: &'static str,
        detail: String,
    },
}

/// Whole nftables tables. Equivalent to `nft -f FILE`, `nft delete table F N` and
/// `nft -j list table F N`.
pub trait NftOps {
    /// (Re)creates the table from `t.text` in one transaction.
    fn load(&self, family: NftFamily, name: &str, t: &NftTable) -> Result<(), NftError>;
    /// Deletes the table; an absent one is done.
    fn delete(&self, family: NftFamily, name: &str) -> Result<(), NftError>;
    /// The live table, or `None` when there is none.
    fn get(&self, family: NftFamily, name: &str) -> Result<Option<NftTable>, NftError>;
}

/// The transaction that replaces table `family name` with `text` (or, with `None`, removes
/// it): declaring the table first makes the delete succeed whether or not it existed, and
/// `nft -f` applies the whole batch or none of it.
pub fn transaction(family: NftFamily, name: &str, text: Option<&str>) -> String {
    let mut out = format!("table {family} {name} {{}}\ndelete table {family} {name}\n");
    if let Some(t) = text {
        out.push_str(t);
        if !t.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The real [`NftOps`]: runs `nft` in this process's network namespace.
#[derive(Debug, Clone)]
pub struct Nft {
    program: PathBuf,
}

impl Nft {
    /// `nft` from `PATH`, else `/usr/sbin/nft` (a non-root `PATH` often lacks sbin).
    pub fn host() -> Self {
        let sbin = PathBuf::from("/usr/sbin/nft");
        let on_path = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join("nft").is_file()))
            .unwrap_or(false);
        Self::new(if on_path || !sbin.is_file() {
            PathBuf::from("nft")
        } else {
            sbin
        })
    }

    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
        }
    }

    /// Runs nft with `args` and `input` on stdin: (success, stdout, stderr).
    fn run(
        &self,
        table: &str,
        args: &[&str],
        input: Option<&str>,
    ) -> Result<(bool, String, String), NftError> {
        let missing = |e: std::io::Error| match e.kind() {
            ErrorKind::NotFound => NftError::Missing {
                table: table.into(),
            },
            _ => NftError::Failed {
                table: table.into(),
                op: "run nft",
                detail: e.to_string(),
            },
        };
        let mut child = Command::new(&self.program)
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(missing)?;
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin.write_all(text.as_bytes()).map_err(missing)?;
        }
        let out = child.wait_with_output().map_err(missing)?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    fn batch(&self, family: NftFamily, name: &str, text: Option<&str>) -> Result<(), NftError> {
        let table = format!("{family} {name}");
        let op = if text.is_some() {
            "nft -f"
        } else {
            "nft delete table"
        };
        let (ok, _, err) =
            self.run(&table, &["-f", "-"], Some(&transaction(family, name, text)))?;
        if ok {
            Ok(())
        } else {
            Err(failed(&table, op, &err))
        }
    }
}

fn failed(table: &str, op: &'static str, stderr: &str) -> NftError {
    let detail = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("failed")
        .to_string();
    NftError::Failed {
        table: table.into(),
        op,
        detail,
    }
}

impl NftOps for Nft {
    fn load(&self, family: NftFamily, name: &str, t: &NftTable) -> Result<(), NftError> {
        self.batch(family, name, Some(&t.text))
    }

    fn delete(&self, family: NftFamily, name: &str) -> Result<(), NftError> {
        self.batch(family, name, None)
    }

    fn get(&self, family: NftFamily, name: &str) -> Result<Option<NftTable>, NftError> {
        let table = format!("{family} {name}");
        let (f, n) = (family.as_str(), name);
        let (ok, json, err) = self.run(&table, &["-j", "list", "table", f, n], None)?;
        if !ok {
            // nft prints the kernel's ENOENT for a table that does not exist.
            if err.contains("No such file or directory") {
                return Ok(None);
            }
            return Err(failed(&table, "nft -j list table", &err));
        }
        let shape = parse_json(&json).map_err(|why| NftError::Failed {
            table: table.clone(),
            op: "nft -j list table",
            detail: why,
        })?;
        let (ok, text, err) = self.run(&table, &["list", "table", f, n], None)?;
        if !ok {
            return Err(failed(&table, "nft list table", &err));
        }
        Ok(Some(NftTable { text, shape }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notrack() -> TableDef {
        let hook = |h: &str| Hook {
            kind: "filter".into(),
            hook: h.into(),
            priority: PRIORITY_RAW,
            policy: "accept".into(),
        };
        TableDef {
            family: NftFamily::Inet,
            name: "hosttune_notrack".into(),
            chains: vec![
                ChainDef {
                    name: "prerouting".into(),
                    hook: Some(hook("prerouting")),
                    rules: vec!["ip daddr 10.0.0.100 notrack".into()],
                },
                ChainDef {
                    name: "output".into(),
                    hook: Some(hook("output")),
                    rules: vec!["ip saddr 10.0.0.100 notrack".into()],
                },
            ],
        }
    }

    const CAPTURED: &str = include_str!("../../tests/fixtures/nft/notrack.json");
    const ALTERED: &str = include_str!("../../tests/fixtures/nft/notrack-altered.json");

    #[test]
    fn a_table_renders_with_a_digest_comment_on_every_rule() {
        let t = notrack();
        let text = t.render();
        let c = rule_comment("ip daddr 10.0.0.100 notrack");
        assert_eq!(c.len(), 15);
        assert!(c.starts_with("ht:"));
        assert!(text.starts_with("table inet hosttune_notrack {\n\tchain prerouting {\n"));
        assert!(text.contains("\t\ttype filter hook prerouting priority -300; policy accept;\n"));
        assert!(text.contains(&format!(
            "\t\tip daddr 10.0.0.100 notrack comment \"{c}\"\n"
        )));
        assert!(text.ends_with("\t}\n}\n"));
        check_text(NftFamily::Inet, "hosttune_notrack", &text).unwrap();
        assert_eq!(
            t.shape(),
            [
                "chain prerouting: type filter hook prerouting priority -300 policy accept",
                "chain output: type filter hook output priority -300 policy accept",
                &format!("rule prerouting: {c}"),
                &format!(
                    "rule output: {}",
                    rule_comment("ip saddr 10.0.0.100 notrack")
                ),
            ]
        );
    }

    #[test]
    fn the_shape_of_captured_nft_json_is_its_chains_and_comments() {
        let shape = parse_json(CAPTURED).unwrap();
        assert_eq!(
            shape,
            [
                "chain prerouting: type filter hook prerouting priority -300 policy accept",
                "chain output: type filter hook output priority -300 policy accept",
                "rule prerouting: ht:0123456789ab",
                "rule prerouting: ht:aaaaaaaaaaaa",
                "rule prerouting: ht:bbbbbbbbbbbb",
                "rule output: ht:cccccccccccc",
            ]
        );
        let altered = parse_json(ALTERED).unwrap();
        assert_eq!(altered.len(), shape.len() + 2, "{altered:?}");
        assert!(altered.contains(&"set vips".to_string()));
        assert!(altered.iter().any(|l| l.starts_with("rule output: expr:")));
        assert!(parse_json("{}").is_err());
        assert!(parse_json("no").is_err());
    }

    #[test]
    fn only_one_table_s_text_passes_the_check() {
        let ok = include_str!("../../tests/fixtures/nft/notrack-altered.nft");
        check_text(NftFamily::Inet, "hosttune_notrack", ok).unwrap();
        for bad in [
            "table inet other { }",
            "table inet hosttune_notrack { }\nflush ruleset\n",
            "table inet hosttune_notrack { }\ntable ip x { }",
            "table inet hosttune_notrack { chain c { } ",
            "table inet hosttune_notrack {\ninclude \"/etc/x\"\n}",
            "table ip hosttune_notrack { }",
        ] {
            assert!(
                check_text(NftFamily::Inet, "hosttune_notrack", bad).is_err(),
                "{bad}"
            );
        }
        // Braces inside a comment string do not close the table.
        check_text(
            NftFamily::Inet,
            "hosttune_notrack",
            "table inet hosttune_notrack { chain c { comment \"}}\" } }\n",
        )
        .unwrap();
    }

    #[test]
    fn the_transaction_declares_the_table_before_deleting_it() {
        assert_eq!(
            transaction(NftFamily::Ip6, "hosttune_x", None),
            "table ip6 hosttune_x {}\ndelete table ip6 hosttune_x\n"
        );
        assert!(
            transaction(
                NftFamily::Inet,
                "hosttune_x",
                Some("table inet hosttune_x {}")
            )
            .ends_with("delete table inet hosttune_x\ntable inet hosttune_x {}\n")
        );
    }

    #[test]
    fn a_missing_nft_names_the_package() {
        let nft = Nft::new("/nonexistent/nft");
        let e = nft.get(NftFamily::Inet, "hosttune_x").unwrap_err();
        assert!(e.to_string().contains("apt install nftables"), "{e}");
    }
}
