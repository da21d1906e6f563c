//! The module graph of `src/` runs one way (STYLE.md, "no circles, no arrows back up"): this
//! test reads every source file, collects each `crate::a::b` path and each `use`/`super::`
//! import, and fails on any cycle between modules, printing it.
//!
//! Nodes are top-level modules and their direct submodules (`snapshot`, `snapshot::history`);
//! deeper files count as their depth-2 ancestor. A module and its own direct submodules are
//! one unit (the parent declares and re-exports them, they use its items), so edges between
//! them are not counted; but a name a parent only re-exports (`pub use b::Name`) is followed
//! to the submodule that defines it, so a loop through a façade is still found.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Cycles that remain outside the model/snapshot/apply/irq work, each owned by someone
/// removing it; delete an entry when its cycle is gone (the test fails on stale entries too).
/// Each is listed as its sorted set of modules.
const ALLOWED: &[&[&str]] = &[];

type Node = String;

fn module_path(rel: &Path) -> Option<Vec<String>> {
    let mut segs: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let last = segs.pop()?;
    let stem = last.strip_suffix(".rs")?;
    if segs.is_empty() && (stem == "lib" || stem == "main") {
        return None;
    }
    if stem != "mod" {
        segs.push(stem.to_string());
    }
    Some(segs)
}

fn node(path: &[String]) -> Node {
    path.iter().take(2).cloned().collect::<Vec<_>>().join("::")
}

/// The source without comments, string and char literals.
fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                out.push(' ');
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let mut j = i + 1;
                while b.get(j) == Some(&b'#') {
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                let hashes = j - i - 1;
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                i = j + 1;
                while i < b.len() && !b[i..].starts_with(&close) {
                    i += 1;
                }
                i += close.len();
                out.push_str("\"\"");
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            // A char literal ('a', '\n', '\u{1F}'), not a lifetime ('a).
            b'\'' if b.get(i + 2) == Some(&b'\'') || b.get(i + 1) == Some(&b'\\') => {
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("' '");
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

fn tokens(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphanumeric() || c == b'_' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(src[s..i].to_string());
        } else if b[i..].starts_with(b"::") {
            out.push("::".into());
            i += 2;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else {
            out.push((c as char).to_string());
            i += 1;
        }
    }
    out
}

/// The paths of a `use` tree starting at `toks[*i]`, up to its `;`.
fn use_tree(toks: &[String], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    while *i < toks.len() {
        let t = toks[*i].as_str();
        match t {
            "::" => *i += 1,
            "{" => {
                *i += 1;
                loop {
                    use_tree(toks, i, path.clone(), out);
                    match toks.get(*i).map(String::as_str) {
                        Some(",") => *i += 1,
                        Some("}") => {
                            *i += 1;
                            break;
                        }
                        _ => break,
                    }
                    if toks.get(*i).map(String::as_str) == Some("}") {
                        *i += 1;
                        break;
                    }
                }
                return;
            }
            "as" => *i += 2,
            "," | "}" | ";" => {
                if !path.is_empty() {
                    out.push(path);
                }
                return;
            }
            "*" => *i += 1,
            _ => {
                path.push(t.to_string());
                *i += 1;
            }
        }
    }
}

struct File {
    module: Vec<String>,
    /// (absolute or relative path as written, the module it was written in, whether it is
    /// the first segment of a `use`, whether it is a `pub use`).
    refs: Vec<(Vec<String>, Vec<String>, bool, bool)>,
}

fn read(root: &Path, dir: &Path, files: &mut Vec<File>) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            read(root, &p, files);
            continue;
        }
        let Some(module) = module_path(p.strip_prefix(root).unwrap()) else {
            continue;
        };
        let toks = tokens(&strip(&fs::read_to_string(&p).unwrap()));
        let mut refs = Vec::new();
        // Inline modules (`mod tests { .. }`): (name, brace depth they close at).
        let mut inline: Vec<(String, usize)> = Vec::new();
        let mut depth = 0;
        let mut i = 0;
        while i < toks.len() {
            let here: Vec<String> = module
                .iter()
                .cloned()
                .chain(inline.iter().map(|(n, _)| n.clone()))
                .collect();
            match toks[i].as_str() {
                "{" => depth += 1,
                "}" => {
                    depth -= 1;
                    if inline.last().is_some_and(|(_, d)| *d == depth) {
                        inline.pop();
                    }
                }
                "mod" if toks.get(i + 2).map(String::as_str) == Some("{") => {
                    inline.push((toks[i + 1].clone(), depth));
                }
                "use" => {
                    let public = i > 0 && toks[i - 1] == "pub"
                        || i > 3 && toks[i - 1] == ")" && toks[i - 4] == "pub";
                    i += 1;
                    let mut paths = Vec::new();
                    use_tree(&toks, &mut i, Vec::new(), &mut paths);
                    for p in paths {
                        refs.push((p, here.clone(), true, public));
                    }
                    continue;
                }
                "crate" | "super" | "self" if toks.get(i + 1).map(String::as_str) == Some("::") => {
                    let mut p = vec![toks[i].clone()];
                    let mut j = i + 1;
                    while toks.get(j).map(String::as_str) == Some("::")
                        && toks
                            .get(j + 1)
                            .is_some_and(|t| t.chars().all(|c| c.is_alphanumeric() || c == '_'))
                    {
                        p.push(toks[j + 1].clone());
                        j += 2;
                    }
                    // `crate::a::{..}` outside `use` (a macro's paths) ends at the group.
                    refs.push((p, here, false, false));
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        files.push(File { module, refs });
    }
}

/// The absolute path a reference names, or `None` for another crate.
fn resolve(
    p: &[String],
    here: &[String],
    is_use: bool,
    modules: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let mut base: Vec<String> = here.to_vec();
    let mut rest = p;
    match p.first()?.as_str() {
        "crate" => {
            base.clear();
            rest = &p[1..];
        }
        "self" => rest = &p[1..],
        "super" => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        first if is_use => {
            // A 2018 relative `use child::X`: only when `child` is a module here.
            let mut c = here.to_vec();
            c.push(first.to_string());
            if !modules.contains(&c) {
                return None;
            }
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The node a path names: its longest module prefix, followed through a parent's
/// re-export of a child's item.
fn target(
    abs: &[String],
    modules: &BTreeSet<Vec<String>>,
    reexports: &BTreeMap<(Node, String), Node>,
) -> Option<Node> {
    let n = (1..=abs.len())
        .rev()
        .find(|&n| modules.contains(&abs[..n]))?;
    let at = node(&abs[..n]);
    if let Some(name) = abs.get(n) {
        if let Some(child) = reexports.get(&(at.clone(), name.clone())) {
            return Some(child.clone());
        }
    }
    Some(at)
}

fn parent(a: &str) -> Option<&str> {
    a.rsplit_once("::").map(|(p, _)| p)
}

fn graph() -> BTreeMap<Node, BTreeSet<Node>> {
    // MODULE_GRAPH_SRC: another tree to check (an older commit's `src/`, for comparison).
    let root = std::env::var_os("MODULE_GRAPH_SRC")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut files = Vec::new();
    read(&root, &root, &mut files);
    let mut modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    // Inline modules resolve like files (their own node is their file's).
    for f in &files {
        for (_, here, _, _) in &f.refs {
            modules.insert(here.clone());
        }
    }
    // A parent's `pub use child::Name`: the name belongs to the child.
    let mut reexports = BTreeMap::new();
    for f in &files {
        for (p, here, is_use, public) in &f.refs {
            if !(*is_use && *public) || here != &f.module {
                continue;
            }
            let Some(abs) = resolve(p, here, true, &modules) else {
                continue;
            };
            let from = node(&f.module);
            if let Some(to) = target(&abs, &modules, &BTreeMap::new()) {
                if parent(&to) == Some(from.as_str()) {
                    reexports.insert((from, abs.last().unwrap().clone()), to);
                }
            }
        }
    }
    let mut g: BTreeMap<Node, BTreeSet<Node>> = BTreeMap::new();
    for f in &files {
        let from = node(&f.module);
        g.entry(from.clone()).or_default();
        for (p, here, is_use, _) in &f.refs {
            let Some(abs) = resolve(p, here, *is_use, &modules) else {
                continue;
            };
            let Some(to) = target(&abs, &modules, &reexports) else {
                continue;
            };
            if to == from || parent(&to) == Some(&from) || parent(&from) == Some(&to) {
                continue;
            }
            g.entry(from.clone()).or_default().insert(to);
        }
    }
    g
}

/// Strongly connected components with more than one node (Tarjan), each sorted, with one
/// cycle through each for the message.
fn cycles(g: &BTreeMap<Node, BTreeSet<Node>>) -> Vec<Vec<Node>> {
    struct T<'a> {
        g: &'a BTreeMap<Node, BTreeSet<Node>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<Node>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let l = t.low[w].min(t.low[v]);
                t.low.insert(v, l);
            } else if t.on.contains(w) {
                let l = t.index[w].min(t.low[v]);
                t.low.insert(v, l);
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on.remove(w);
                scc.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// One loop through a component, for the message: `a -> b -> a`.
fn a_loop(g: &BTreeMap<Node, BTreeSet<Node>>, scc: &[Node]) -> String {
    let start = &scc[0];
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.as_str()]);
    while let Some(v) = queue.pop_front() {
        for w in g[v].iter().filter(|w| scc.contains(w)) {
            if w == start {
                let mut path = vec![start.as_str()];
                let mut at = v;
                while at != start {
                    path.push(at);
                    at = prev[at];
                }
                path.push(start);
                let end = path.len() - 1;
                path[1..end].reverse();
                return path.join(" -> ");
            }
            if !prev.contains_key(w.as_str()) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    scc.join(", ")
}

#[test]
fn the_module_graph_has_no_cycles_but_the_listed_ones() {
    let g = graph();
    assert!(
        g.len() > 20 && g.contains_key("knobs::registry"),
        "{:?}",
        g.keys()
    );
    let found = cycles(&g);
    let allowed: Vec<Vec<String>> = ALLOWED
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    let new: Vec<String> = found
        .iter()
        .filter(|c| !allowed.contains(c))
        .map(|c| format!("  {:?}\n    e.g. {}", c, a_loop(&g, c)))
        .collect();
    let gone: Vec<&Vec<String>> = allowed.iter().filter(|c| !found.contains(c)).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "module cycles not allowed:\n{}\nallowed cycles no longer found (delete them from ALLOWED): {gone:?}",
        new.join("\n")
    );
}

#[test]
fn the_graph_builder_sees_uses_paths_and_cycles() {
    let src =
        "use crate::a::{b::{X, Y as Z}, c};\nfn f() { super::d::g(); let s = \"crate::x::y\"; }";
    let toks = tokens(&strip(src));
    let mut i = 1;
    let mut paths = Vec::new();
    use_tree(&toks, &mut i, Vec::new(), &mut paths);
    let paths: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(paths, ["crate::a::b::X", "crate::a::b::Y", "crate::a::c"]);
    assert!(!strip(src).contains("crate::x"), "strings are not paths");
    let mut g: BTreeMap<Node, BTreeSet<Node>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b::c".into());
    g.entry("b::c".into()).or_default().insert("a".into());
    g.entry("d".into()).or_default().insert("a".into());
    assert_eq!(cycles(&g), vec![vec!["a".to_string(), "b::c".to_string()]]);
    assert_eq!(a_loop(&g, &cycles(&g)[0]), "a -> b::c -> a");
}
