//! The boot-time sysctl sources under `--root`, in the order they are applied, and the value
//! each key ends up with.
//!
//! The order, from sysctl.d(5) and the standard-conf section its man page includes (systemd
//! man/sysctl.d.xml, man/standard-conf.xml) and from procps `sysctl --system` (sysctl(8);
//! procps commit 10095927 "sysctl: add --system switch"):
//!
//! - `*.conf` files in `/etc/sysctl.d`, `/run/sysctl.d`, `/usr/local/lib/sysctl.d`,
//!   `/usr/lib/sysctl.d` and `/lib/sysctl.d` (systemd reads `/lib` only when built for a
//!   split `/usr`; procps always does). A file name in an earlier directory masks the same
//!   name in later ones; a symlink to `/dev/null` masks and is itself empty.
//! - All files are applied in lexicographic order of their file name, whatever their
//!   directory; when several set a key, the lexicographically latest file wins, and within a
//!   file the later line (systemd-sysctl: "Overwriting earlier assignment").
//! - `/etc/sysctl.conf` last, so it wins: procps `sysctl --system` always applies it last.
//!   systemd-sysctl does not read it itself (systemd issue #8360; a pull request to read it,
//!   #26604, was closed); distributions link `/etc/sysctl.d/99-sysctl.conf` to it, which puts
//!   it at that name in the order at boot. That link is read as `/etc/sysctl.conf`, once, last.
//! - An explicit key takes precedence over any glob that matches it, whichever comes first
//!   ("Keys for which an explicit pattern exists will be excluded from any glob matching"),
//!   and `-key` alone excludes the key from globs.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Component, Path, PathBuf};

use super::{Line, LineError, Target, parse};
use crate::host::{Files, paths};
use crate::sysctl::SysctlKey;

/// Every boot-time assignment, in the order applied. Unreadable files and bad lines are
/// logged (`-v`) and left out, as systemd-sysctl skips them.
pub fn sources(fs: &dyn Files) -> Vec<Line> {
    let (lines, problems) = read(fs);
    for p in problems {
        tracing::info!("boot-time sysctl source: {p}");
    }
    lines
}

/// The assignments, in the order applied, and what could not be read.
pub fn read(fs: &dyn Files) -> (Vec<Line>, Vec<String>) {
    let conf = paths::sysctl_conf();
    // File name -> the first directory's file of that name (the one that masks the others).
    // Names are bytes, compared as systemd-sysctl compares them (strcmp).
    let mut files: BTreeMap<std::ffi::OsString, PathBuf> = BTreeMap::new();
    let mut problems = Vec::new();
    for dir in paths::sysctl_d() {
        let names = match fs.read_dir(&dir) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                problems.push(problem(&dir, &e));
                continue;
            }
        };
        for name in names
            .into_iter()
            .filter(|n| n.as_encoded_bytes().ends_with(b".conf"))
        {
            let path = dir.join(&name);
            files.entry(name).or_insert(path);
        }
    }
    let mut order: Vec<PathBuf> = Vec::new();
    for path in files.into_values() {
        match resolve(fs, &path) {
            Ok(real) if real == paths::dev_null() => {}
            Ok(real) if real == conf => {}
            Ok(_) => order.push(path),
            Err(e) => problems.push(problem(&path, &e)),
        }
    }
    if fs.exists(&conf) {
        order.push(conf);
    }
    let mut lines = Vec::new();
    for path in order {
        // Read through the resolved path: a link's absolute target is a host path, so it
        // must be prefixed with the root like any other.
        let text = resolve(fs, &path).and_then(|real| fs.read(&real));
        match text {
            Ok(text) => {
                let (l, errs) = parse(&path.display().to_string(), &text);
                lines.extend(l);
                problems.extend(errs.iter().map(LineError::to_string));
            }
            Err(e) => problems.push(problem(&path, &e)),
        }
    }
    (lines, problems)
}

fn problem(path: &Path, e: &io::Error) -> String {
    format!("{}: cannot read: {e}", path.display())
}

/// Follows symlinks (at most 16 deep) to the host path they lead to, lexically: a relative
/// target is taken from the link's directory, an absolute one is a host path under the root.
fn resolve(fs: &dyn Files, path: &Path) -> io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..16 {
        let Ok(target) = fs.read_link(&at) else {
            return Ok(at);
        };
        let joined = match at.parent() {
            Some(dir) if target.is_relative() => dir.join(&target),
            _ => target,
        };
        at = normalize(&joined);
    }
    Err(io::Error::other(format!(
        "too many levels of symbolic links at {}",
        path.display()
    )))
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// The value each key ends up with after the boot-time sources, by the rules above.
#[derive(Debug, Default)]
pub struct Boot {
    lines: Vec<Line>,
    /// The last explicit assignment (or exclusion) of each key.
    explicit: HashMap<SysctlKey, usize>,
    /// Glob assignments, in order.
    globs: Vec<usize>,
}

impl Boot {
    /// Indexes assignments given in the order applied.
    pub fn new(lines: Vec<Line>) -> Self {
        let mut explicit = HashMap::new();
        let mut globs = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            match &l.target {
                Target::Key(k) => {
                    explicit.insert(k.clone(), i);
                }
                Target::Glob(_) if l.value.is_some() => globs.push(i),
                Target::Glob(_) => {}
            }
        }
        Self {
            lines,
            explicit,
            globs,
        }
    }

    /// Whether no source sets anything.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The assignment that decides `key`'s value at boot; `None` when no source sets it, or
    /// the last explicit line for it is an exclusion.
    pub fn effective(&self, key: &SysctlKey) -> Option<&Line> {
        if let Some(&i) = self.explicit.get(key) {
            let l = &self.lines[i];
            return l.value.is_some().then_some(l);
        }
        self.globs
            .iter()
            .rev()
            .map(|&i| &self.lines[i])
            .find(|l| l.target.matches(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RootFs;

    fn tree(files: &[(&str, &str)], links: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let p = dir.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        for (p, to) in links {
            let p = dir.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(to, p).unwrap();
        }
        dir
    }

    fn at(boot: &Boot, key: &str) -> Option<(String, usize, String)> {
        boot.effective(&key.parse().unwrap())
            .map(|l| (l.file.clone(), l.line, l.value.clone().unwrap()))
    }

    #[test]
    fn file_names_order_across_directories_and_mask_later_ones() {
        let dir = tree(
            &[
                ("/usr/lib/sysctl.d/10-vendor.conf", "vm.a = 1\nvm.b = 1\n"),
                ("/etc/sysctl.d/20-site.conf", "vm.a = 2\n"),
                ("/run/sysctl.d/30-run.conf", "vm.c = 3\n"),
                ("/usr/lib/sysctl.d/30-run.conf", "vm.c = 99\nvm.d = 99\n"),
                ("/usr/lib/sysctl.d/40-masked.conf", "vm.b = 40\n"),
                ("/etc/sysctl.d/notes.txt", "vm.a = 9\n"),
            ],
            &[("/etc/sysctl.d/40-masked.conf", "/dev/null")],
        );
        let boot = Boot::new(sources(&RootFs::new(dir.path())));
        assert_eq!(
            at(&boot, "vm.a"),
            Some(("/etc/sysctl.d/20-site.conf".into(), 1, "2".into()))
        );
        assert_eq!(
            at(&boot, "vm.b"),
            Some(("/usr/lib/sysctl.d/10-vendor.conf".into(), 2, "1".into()))
        );
        assert_eq!(
            at(&boot, "vm.c"),
            Some(("/run/sysctl.d/30-run.conf".into(), 1, "3".into()))
        );
        assert_eq!(at(&boot, "vm.d"), None);
    }

    #[test]
    fn sysctl_conf_is_last_and_its_99_link_is_read_once() {
        let dir = tree(
            &[
                ("/etc/sysctl.conf", "# local\nvm.a = 5\n"),
                ("/etc/sysctl.d/99-zzz.conf", "vm.a = 7\nvm.b = 7\n"),
            ],
            &[("/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")],
        );
        let lines = sources(&RootFs::new(dir.path()));
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.file == "/etc/sysctl.conf")
                .count(),
            1
        );
        let boot = Boot::new(lines);
        assert_eq!(
            at(&boot, "vm.a"),
            Some(("/etc/sysctl.conf".into(), 2, "5".into()))
        );
        assert_eq!(at(&boot, "vm.b").unwrap().2, "7");
    }

    #[test]
    fn an_explicit_key_wins_over_any_glob_and_exclusions_hold() {
        let dir = tree(
            &[
                (
                    "/etc/sysctl.d/10-rp.conf",
                    "net.ipv4.conf.eth0.rp_filter = 1\n-net.ipv4.conf.all.rp_filter\n",
                ),
                (
                    "/etc/sysctl.d/90-glob.conf",
                    "net.ipv4.conf.*.rp_filter = 2\n",
                ),
            ],
            &[],
        );
        let boot = Boot::new(sources(&RootFs::new(dir.path())));
        assert_eq!(at(&boot, "net.ipv4.conf.eth0.rp_filter").unwrap().2, "1");
        assert_eq!(at(&boot, "net.ipv4.conf.all.rp_filter"), None);
        assert_eq!(
            at(&boot, "net.ipv4.conf.eth1/100.rp_filter"),
            Some(("/etc/sysctl.d/90-glob.conf".into(), 1, "2".into()))
        );
    }

    #[test]
    fn absolute_links_stay_inside_the_root_and_bad_lines_are_left_out() {
        let dir = tree(
            &[
                ("/opt/site/tuning.conf", "vm.a = 3\n"),
                ("/etc/sysctl.d/50-bad.conf", "vm.b\nvm.c = 4\n"),
            ],
            &[("/etc/sysctl.d/60-site.conf", "/opt/site/tuning.conf")],
        );
        let (lines, problems) = read(&RootFs::new(dir.path()));
        let boot = Boot::new(lines);
        assert_eq!(
            at(&boot, "vm.a"),
            Some(("/etc/sysctl.d/60-site.conf".into(), 1, "3".into()))
        );
        assert_eq!(at(&boot, "vm.c").unwrap().2, "4");
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("/etc/sysctl.d/50-bad.conf:1: not an assignment"),
            "{problems:?}"
        );
    }

    #[test]
    fn no_sources_is_empty() {
        let dir = tree(&[], &[]);
        assert!(Boot::new(sources(&RootFs::new(dir.path()))).is_empty());
    }
}
