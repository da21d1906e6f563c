//! `hashsize`: the size of conntrack's hash table, a parameter of the `nf_conntrack` module
//! that `net.netfilter.nf_conntrack_buckets` cannot change on most kernels (read-only there
//! but in the initial namespace of recent ones). Set live through
//! `/sys/module/nf_conntrack/parameters/hashsize`, and for the next boot or module load in
//! a modprobe.d file that hosttune owns whole (`options nf_conntrack hashsize=N`), as
//! bloomberg/chef-bcpc does (PR 994). Both are host-global.

use std::io;
use std::path::{Path, PathBuf};

use crate::host::{Files, Host, paths};
use crate::knobs::{Entry, Item, Kind, KnobError, Setting, Status};

const MODULE: &str = "nf_conntrack";

fn sysfs() -> PathBuf {
    paths::module_param(MODULE, "hashsize")
}

/// The modprobe.d file's text for `size`.
pub fn modprobe_text(size: u32) -> String {
    format!(
        "# Written by hosttune ([conntrack] hashsize); `hosttune rollback` restores or removes \
         it.\noptions {MODULE} hashsize={size}\n"
    )
}

fn read_file(fs: &dyn Files, path: &Path) -> Result<Option<String>, KnobError> {
    match fs.read(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(file_err(fs, path, "read", source)),
    }
}

fn file_err(fs: &dyn Files, path: &Path, op: &'static str, source: io::Error) -> KnobError {
    KnobError::File {
        path: fs.display(path).display().to_string(),
        op,
        source,
    }
}

/// The two items of `hashsize = size`: the live parameter (skipped with a note while
/// nf_conntrack is not loaded) and the modprobe.d file.
pub fn plan(host: &Host, size: u32) -> Vec<Entry> {
    let fs = host.fs;
    let want = size.to_string();
    let object = "nf_conntrack hashsize";
    let live = if !fs.exists(&paths::module(MODULE)) {
        Entry::new(
            Item::new(Kind::Conntrack, object, &want, "-", Status::Skipped).note(
                "nf_conntrack is not loaded; it takes the size from the modprobe.d file when \
                 it loads",
            ),
            None,
            None,
        )
    } else {
        match fs.read(&sysfs()) {
            Ok(raw) => {
                let desired = Setting::ConntrackHashsize {
                    value: want.clone(),
                };
                let live = Setting::ConntrackHashsize { value: raw };
                let status = Status::of(desired.same_value(&live));
                let shown = live.describe().2;
                Entry::new(
                    Item::new(Kind::Conntrack, object, &want, shown, status),
                    Some(desired),
                    Some(live),
                )
            }
            Err(e) => Entry::new(
                Item::new(Kind::Conntrack, object, &want, "-", Status::Error)
                    .note(format!("{}: {e}", fs.display(&sysfs()).display())),
                None,
                None,
            ),
        }
    };
    let path = paths::modprobe_conntrack();
    let file = match read_file(fs, &path) {
        Ok(old) => {
            let desired = Setting::ModprobeFile {
                path: path.clone(),
                contents: Some(modprobe_text(size)),
            };
            let live = Setting::ModprobeFile {
                path: path.clone(),
                contents: old,
            };
            let status = Status::of(desired == live);
            let item = Item::new(
                Kind::Conntrack,
                path.display().to_string(),
                format!("hashsize={size}"),
                live.describe().2,
                status,
            );
            Entry::new(item, Some(desired), Some(live))
        }
        Err(e) => Entry::new(
            Item::new(
                Kind::Conntrack,
                path.display().to_string(),
                format!("hashsize={size}"),
                "-",
                Status::Error,
            )
            .note(e.to_string()),
            None,
            None,
        ),
    };
    vec![live, file]
}

/// `hashsize=N` of the file's `options nf_conntrack` line, `present` for another text,
/// `absent`.
fn file_value(contents: &Option<String>) -> String {
    let Some(text) = contents else {
        return "absent".into();
    };
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("options nf_conntrack "))
        .flat_map(str::split_whitespace)
        .rfind(|w| w.starts_with("hashsize="))
        .map(String::from)
        .unwrap_or_else(|| "present".into())
}

/// The live hash size in snapshots. Equivalent to
/// `echo N > /sys/module/nf_conntrack/parameters/hashsize`.
pub struct HashsizeOps;

impl crate::knobs::SettingOps for HashsizeOps {
    fn address(_: &Setting) -> String {
        "module nf_conntrack hashsize".into()
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::ConntrackHashsize { value } = s else {
            unreachable!()
        };
        (
            Kind::Conntrack,
            "nf_conntrack hashsize".into(),
            value.trim().to_string(),
        )
    }
    fn same(a: &Setting, b: &Setting) -> bool {
        match (a, b) {
            (Setting::ConntrackHashsize { value: x }, Setting::ConntrackHashsize { value: y }) => {
                x.trim() == y.trim()
            }
            _ => false,
        }
    }
    /// A whole number, nothing else (it is written to a sysfs file as root).
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::ConntrackHashsize { value } = s else {
            unreachable!()
        };
        value
            .trim()
            .parse::<u32>()
            .map(|_| ())
            .map_err(|_| format!("nf_conntrack hashsize {value:?} is not a whole number"))
    }
    fn read(host: &Host, _: &Setting) -> Result<Setting, KnobError> {
        host.fs
            .read(&sysfs())
            .map(|value| Setting::ConntrackHashsize { value })
            .map_err(|e| file_err(host.fs, &sysfs(), "read", e))
    }
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        let Setting::ConntrackHashsize { value } = s else {
            unreachable!()
        };
        // Newline-terminated as the kernel prints it, so that a restored fixture file is byte
        // for byte what it was.
        let text = if value.ends_with('\n') {
            value.clone()
        } else {
            format!("{value}\n")
        };
        host.fs
            .write(&sysfs(), &text)
            .map_err(|e| file_err(host.fs, &sysfs(), "write", e))
    }
}

/// hosttune's modprobe.d file in snapshots: written atomically, removed when the snapshot
/// says it did not exist.
pub struct ModprobeOps;

impl crate::knobs::SettingOps for ModprobeOps {
    fn address(s: &Setting) -> String {
        let Setting::ModprobeFile { path, .. } = s else {
            unreachable!()
        };
        format!("file {}", path.display())
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::ModprobeFile { path, contents } = s else {
            unreachable!()
        };
        (
            Kind::Conntrack,
            path.display().to_string(),
            file_value(contents),
        )
    }
    /// Only `/etc/modprobe.d/hosttune-conntrack.conf`: a snapshot must not create, replace
    /// or remove any other module configuration.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::ModprobeFile { path, .. } = s else {
            unreachable!()
        };
        let own = paths::modprobe_conntrack();
        if *path != own {
            return Err(format!(
                "file {} is not {}, the only modprobe.d file hosttune writes",
                path.display(),
                own.display()
            ));
        }
        Ok(())
    }
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        let Setting::ModprobeFile { path, .. } = at else {
            unreachable!()
        };
        Ok(Setting::ModprobeFile {
            path: path.clone(),
            contents: read_file(host.fs, path)?,
        })
    }
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        let Setting::ModprobeFile { path, contents } = s else {
            unreachable!()
        };
        match contents {
            Some(c) => host
                .fs
                .replace(path, c)
                .map_err(|e| file_err(host.fs, path, "write", e)),
            None => host
                .fs
                .remove(path)
                .map_err(|e| file_err(host.fs, path, "remove", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RootFs;

    fn tree(loaded: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/modprobe.d")).unwrap();
        if loaded {
            let p = dir.path().join("sys/module/nf_conntrack/parameters");
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join("hashsize"), "65536\n").unwrap();
        }
        dir
    }

    #[test]
    fn both_items_drift_then_read_back_ok_after_the_writes() {
        let dir = tree(true);
        let fs = RootFs::new(dir.path());
        let host = Host::offline(&fs);
        let entries = plan(&host, 262144);
        let lines: Vec<_> = entries
            .iter()
            .map(|e| (e.item.status, e.item.desired.as_str(), e.item.live.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (Status::Drift, "262144", "65536"),
                (Status::Drift, "hashsize=262144", "absent"),
            ]
        );
        for e in &entries {
            e.change().unwrap().0.write(&host).unwrap();
        }
        let text =
            std::fs::read_to_string(dir.path().join("etc/modprobe.d/hosttune-conntrack.conf"));
        assert!(
            text.unwrap()
                .ends_with("options nf_conntrack hashsize=262144\n")
        );
        assert!(
            plan(&host, 262144)
                .iter()
                .all(|e| e.item.status == Status::Ok)
        );
    }

    #[test]
    fn without_the_module_the_live_part_is_skipped_and_the_file_still_planned() {
        let dir = tree(false);
        let fs = RootFs::new(dir.path());
        let entries = plan(&Host::offline(&fs), 1024);
        assert_eq!(entries[0].item.status, Status::Skipped);
        assert!(
            entries[0]
                .item
                .note
                .as_deref()
                .unwrap()
                .contains("not loaded")
        );
        assert_eq!(entries[1].item.status, Status::Drift);
    }

    #[test]
    fn only_hosttune_s_modprobe_file_and_a_number_pass_validation() {
        let other = Setting::ModprobeFile {
            path: "/etc/modprobe.d/blacklist.conf".into(),
            contents: None,
        };
        assert!(other.validate().is_err());
        let own = Setting::ModprobeFile {
            path: paths::modprobe_conntrack(),
            contents: Some(modprobe_text(1)),
        };
        own.validate().unwrap();
        assert_eq!(serde_json::to_value(&own).unwrap()["kind"], "modprobe_file");
        let bad = Setting::ConntrackHashsize {
            value: "1; reboot".into(),
        };
        assert!(bad.validate().is_err());
    }
}
