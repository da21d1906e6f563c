//! Copies of the fixture hosts in `tests/fixtures/hosts/` in temp dirs (symlinks kept, as
//! sysfs has them), and byte maps of a tree to prove what changed and what did not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A throw-away copy of fixture host `name` at `DIR/root`, with `DIR/state` and
/// `DIR/profiles` next to it.
pub struct FixtureHost {
    pub dir: tempfile::TempDir,
}

impl FixtureHost {
    pub fn new(name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hosts")
            .join(name);
        copy_tree(&from, &dir.path().join("root"));
        Self { dir }
    }
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }
    /// Writes a site profile and returns the path to give on the command line.
    pub fn profile(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join("profiles");
        std::fs::create_dir_all(&p).unwrap();
        let file = p.join(format!("{name}.toml"));
        std::fs::write(&file, text).unwrap();
        file.display().to_string()
    }
    /// Every regular file under the root, by path relative to it.
    pub fn bytes(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut m = BTreeMap::new();
        walk(&self.root(), &self.root(), &mut m);
        m
    }
    /// `/proc/irq/N/smp_affinity_list`, trimmed.
    pub fn affinity(&self, irq: u32) -> String {
        std::fs::read_to_string(
            self.root()
                .join(format!("proc/irq/{irq}/smp_affinity_list")),
        )
        .unwrap()
        .trim()
        .to_string()
    }
}

/// Paths whose bytes differ between two maps (or exist in one only).
pub fn changed(a: &BTreeMap<PathBuf, Vec<u8>>, b: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    out.extend(b.keys().filter(|k| !a.contains_key(*k)).cloned());
    out.sort();
    out
}

/// Copies a tree, symlinks kept as links (sysfs links are relative, so they stay inside).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), t).unwrap();
        } else if ft.is_dir() {
            copy_tree(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

/// Every regular file under `root`, by path relative to it, byte for byte.
pub fn tree_bytes(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut m = BTreeMap::new();
    walk(root, root, &mut m);
    m
}

fn walk(root: &Path, dir: &Path, m: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            walk(root, &e.path(), m);
        } else if ft.is_file() {
            let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
            m.insert(rel, std::fs::read(e.path()).unwrap());
        }
    }
}

/// Rewrites `ROOT/proc/interrupts` with `add` more interrupts of each IRQ in `irqs`, counted
/// on CPU `cpu_of(irq)` (the header's CPUs must be 0..N without gaps): what the kernel shows
/// after traffic, for the evidence of IRQ affinity.
pub fn grow_interrupts(
    root: &Path,
    irqs: std::ops::RangeInclusive<u32>,
    cpu_of: impl Fn(u32) -> u32,
    add: u64,
) {
    let path = root.join("proc/interrupts");
    let text = std::fs::read_to_string(&path).unwrap();
    let ncpu = text.lines().next().unwrap().split_whitespace().count();
    let mut out = String::new();
    for line in text.lines() {
        let irq = line
            .trim_start()
            .split(':')
            .next()
            .and_then(|l| l.parse::<u32>().ok());
        match irq {
            Some(irq) if irqs.contains(&irq) => {
                let (label, rest) = line.split_once(':').unwrap();
                let mut cols: Vec<String> = rest.split_whitespace().map(String::from).collect();
                let c = cpu_of(irq) as usize;
                cols[c] = (cols[c].parse::<u64>().unwrap() + add).to_string();
                let (counts, tail) = cols.split_at(ncpu);
                let counts: Vec<String> = counts.iter().map(|c| format!("{c:>10}")).collect();
                out.push_str(&format!(
                    "{label}:{}  {}\n",
                    counts.join(" "),
                    tail.join(" ")
                ));
            }
            _ => out.push_str(&format!("{line}\n")),
        }
    }
    std::fs::write(path, out).unwrap();
}
