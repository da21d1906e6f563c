//! Loading profiles: strict TOML, `extends` resolved depth-first (later parents win, the file
//! itself wins last), built-ins compiled in, profile directories overriding them. Validation
//! is pure and reports every problem it can find with `file:line:column`.

mod builtin;
mod dotted;
mod extends;
mod sections;

use std::path::{Path, PathBuf};

use std::marker::PhantomData;

pub use crate::schema::{
    Loc, Locator, MAX_EXTENDS_DEPTH, MAX_EXTENDS_FILES, ProfileError, ProfileErrors,
};
/// Defined with the sections that read and write them (`crate::section`), so that they need
/// nothing of the loader; re-exported where they have always been.
pub use crate::section::{Extra, Profile};
pub use builtin::BUILTIN;

use crate::section::{All, List};
use extends::Frame;
#[cfg(test)]
pub(crate) use sections::unknown_field as unknown_field_message;
use sections::{RawProfile, Shown};

/// Default directory of site profiles.
pub const DEFAULT_DIR: &str = "/etc/hosttune/profiles";

/// Printing and merging, which walk the section list; the type is [`crate::section::Profile`].
impl Profile {
    /// The resolved profile as TOML, with a header naming its sources.
    pub fn to_toml(&self) -> String {
        self.to_toml_in::<All>()
    }

    /// [`Profile::to_toml`] over the sections of `L`.
    pub(crate) fn to_toml_in<L: List>(&self) -> String {
        let shown = Shown::<L> {
            p: self,
            list: PhantomData,
        };
        let body = toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot print: {e}\n"));
        format!(
            "# profile {} (resolved from {})\n{body}",
            self.name,
            self.sources.join(", ")
        )
    }

    /// `child` over this profile: its description if it has one, its sources after these,
    /// and each of its sections merged over this one's.
    fn merge(&mut self, child: Profile) {
        self.merge_in::<All>(child);
    }

    pub(crate) fn merge_in<L: List>(&mut self, mut child: Profile) {
        if !child.description.is_empty() {
            self.description = std::mem::take(&mut child.description);
        }
        self.sources.append(&mut child.sources);
        sections::merge::<L>(self, &mut child);
    }
}

/// Where profiles come from: site directories first, then the built-ins.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub dirs: Vec<PathBuf>,
}

/// A profile's text, the name it is shown by in messages, and what it is (its canonical path
/// or `builtin:NAME`): `./b.toml` and `../d/b.toml` may be one file, and only the canonical
/// path shows an `extends` cycle through them.
struct Source {
    file: String,
    id: String,
    text: String,
}

fn is_path(name: &str) -> bool {
    name.contains('/') || name.ends_with(".toml")
}

impl Catalog {
    /// A catalog over site directories (`--profile-dir`, default [`DEFAULT_DIR`]).
    pub fn new(dirs: Vec<PathBuf>) -> Self {
        Self { dirs }
    }

    /// Every profile name with its description: built-ins, then site profiles (a site profile
    /// with a built-in's name replaces it).
    pub fn list(&self) -> Vec<(String, String, String)> {
        let mut out: Vec<(String, String, String)> = Vec::new();
        let mut push = |name: String, origin: String, text: &str| {
            let desc = toml::from_str::<toml::Table>(text)
                .ok()
                .and_then(|t| {
                    t.get("description")
                        .and_then(|d| d.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_default();
            match out.iter_mut().find(|(n, ..)| *n == name) {
                Some(slot) => *slot = (name, origin, desc),
                None => out.push((name, origin, desc)),
            }
        };
        for (name, text) in BUILTIN {
            push(name.to_string(), "built-in".into(), text);
        }
        for dir in &self.dirs {
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for f in files {
                if f.extension().and_then(|e| e.to_str()) != Some("toml") {
                    continue;
                }
                let (Some(stem), Ok(text)) = (
                    f.file_stem().and_then(|s| s.to_str()),
                    crate::userfile::read_text(&f, crate::userfile::MAX_BYTES),
                ) else {
                    continue;
                };
                push(stem.to_string(), f.display().to_string(), &text);
            }
        }
        out
    }

    fn find(&self, name: &str, base: Option<&Path>) -> Result<Source, ProfileError> {
        if is_path(name) {
            let path = match base {
                // `components` drops the `.` of `./b.toml`, so messages show `dir/b.toml`.
                Some(b) if Path::new(name).is_relative() => b.join(name).components().collect(),
                _ => PathBuf::from(name),
            };
            return read_file(&path);
        }
        for dir in &self.dirs {
            let path = dir.join(format!("{name}.toml"));
            if path.exists() {
                return read_file(&path);
            }
        }
        if let Some((n, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
            return Ok(Source {
                file: format!("builtin:{n}"),
                id: format!("builtin:{n}"),
                text: text.to_string(),
            });
        }
        Err(ProfileError::NotFound {
            name: name.into(),
            dirs: self
                .dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            builtins: BUILTIN
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// Loads, resolves and validates a profile by name or path.
    pub fn load(&self, name: &str) -> Result<Profile, ProfileErrors> {
        let mut errs = Vec::new();
        let mut walk = Walk::default();
        let profile = self.load_inner(name, None, &mut walk, &mut errs, None);
        if let Some(p) = &profile {
            check_resolved(p, &mut errs);
        }
        match profile {
            Some(mut p) if errs.is_empty() => {
                p.name = name.to_string();
                Ok(p)
            }
            _ => Err(ProfileErrors(errs)),
        }
    }

    fn load_inner(
        &self,
        name: &str,
        base: Option<&Path>,
        walk: &mut Walk,
        errs: &mut Vec<ProfileError>,
        asked_at: Option<Loc>,
    ) -> Option<Profile> {
        walk.files += 1;
        if walk.files > MAX_EXTENDS_FILES {
            if !walk.too_many {
                walk.too_many = true;
                errs.push(ProfileError::TooMany {
                    at: asked_at.unwrap_or_default(),
                    max: MAX_EXTENDS_FILES,
                });
            }
            return None;
        }
        let src = match self.find(name, base) {
            Ok(s) => s,
            Err(e) => {
                errs.push(match asked_at {
                    Some(at) => at_extends(e, name, at),
                    None => e,
                });
                return None;
            }
        };
        if let Some(chain) = extends::cycle(&walk.stack, &src.id) {
            errs.push(ProfileError::Cycle {
                at: asked_at.unwrap_or_default(),
                chain,
            });
            return None;
        }
        let loc = Locator::new(&src.file, &src.text);
        let raw = match parse_raw::<All>(&loc) {
            Ok(r) => r,
            Err(mut e) => {
                errs.append(&mut e);
                return None;
            }
        };
        let dir = Path::new(&src.file).parent().map(Path::to_path_buf);
        let mut merged = Profile::default();
        if let Some(ext) = &raw.extends {
            let at = loc.at(ext.span());
            if walk.stack.len() + 1 >= MAX_EXTENDS_DEPTH {
                errs.push(ProfileError::TooDeep {
                    at,
                    max: MAX_EXTENDS_DEPTH,
                    chain: extends::chain(&walk.stack, &src.file),
                });
                return None;
            }
            walk.stack.push(Frame {
                id: src.id.clone(),
                file: src.file.clone(),
                at: at.clone(),
            });
            let base = if src.file.starts_with("builtin:") {
                None
            } else {
                dir.as_deref()
            };
            for parent in ext.get_ref().names() {
                if let Some(p) = self.load_inner(&parent, base, walk, errs, Some(at.clone())) {
                    merged.merge(p);
                }
            }
            walk.stack.pop();
        }
        let own = sections::validate(raw, &loc, errs);
        merged.merge(own);
        Some(merged)
    }
}

/// The `extends` being followed: the chain of files (for cycles and the depth limit) and how
/// many files were read (for the count limit, reported once).
#[derive(Default)]
struct Walk {
    stack: Vec<Frame>,
    files: usize,
    too_many: bool,
}

/// A parent that cannot be loaded, reported at the `extends` that names it.
fn at_extends(e: ProfileError, name: &str, at: Loc) -> ProfileError {
    let why = match e {
        ProfileError::NotFound { dirs, builtins, .. } => {
            format!("no such profile (looked in {dirs} and the built-ins: {builtins})")
        }
        ProfileError::Read { path, why } => format!(
            "cannot read {path}: {why}; a relative path is taken from the directory of the \
             file that extends it"
        ),
        ProfileError::IsDir { path } => format!("{path} is a directory; name a profile file"),
        ProfileError::NotRegular { path, why } => format!("{path}: {why}; name a profile file"),
        e => return e,
    };
    ProfileError::invalid(at, format!("extends {name:?}: {why}"))
}

/// The typed parse of one file. When it fails on `[sysctl]` keys written without quotes, those
/// keys are reported instead of serde's "invalid type: map".
fn parse_raw<L: List>(loc: &Locator) -> Result<RawProfile<L>, Vec<ProfileError>> {
    toml::from_str(loc.text).map_err(|e| {
        let unquoted = dotted::unquoted_keys(loc);
        if !unquoted.is_empty() {
            return unquoted;
        }
        let at = e.span().map_or_else(|| loc.file(), |s| loc.at(s));
        vec![ProfileError::invalid(at, e.message().trim().to_string())]
    })
}

/// Checks that need the whole resolved profile, parents merged: a per-interface ARP key in
/// `[sysctl]` against `[dsr]`, which may come from different files.
fn check_resolved(p: &Profile, errs: &mut Vec<ProfileError>) {
    sections::check::<All>(p, errs);
}

/// Reads a profile file: a regular file of at most [`crate::userfile::MAX_BYTES`], opened
/// without blocking (a FIFO or `/dev/zero` is refused before a byte is read).
fn read_file(path: &Path) -> Result<Source, ProfileError> {
    use crate::userfile::{self, UserFileError};
    let file = path.display().to_string();
    let bytes = match userfile::read(path, userfile::MAX_BYTES) {
        Ok(b) => b,
        Err(UserFileError::Dir { .. }) => return Err(ProfileError::IsDir { path: file }),
        Err(UserFileError::NotRegular { what, .. }) => {
            return Err(ProfileError::NotRegular {
                path: file,
                why: format!("it is {what}, not a regular file"),
            });
        }
        Err(UserFileError::TooBig { cap, .. }) => {
            return Err(ProfileError::NotRegular {
                path: file,
                why: format!("it is larger than {} MiB", cap >> 20),
            });
        }
        Err(UserFileError::Io { source, .. }) => {
            return Err(ProfileError::Read {
                path: file,
                why: source.to_string(),
            });
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source {
            id: std::fs::canonicalize(path)
                .map_or_else(|_| file.clone(), |p| p.display().to_string()),
            file,
            text,
        }),
        Err(_) => Err(ProfileError::Read {
            path: file,
            why: "not UTF-8 text".into(),
        }),
    }
}

/// Validates profile text without a catalog (for tests and `validate` of inline text).
pub fn parse_str(file: &str, text: &str) -> Result<Profile, ProfileErrors> {
    parse_str_in::<All>(file, text)
}

/// [`parse_str`] over the sections of `L`.
pub(crate) fn parse_str_in<L: List>(file: &str, text: &str) -> Result<Profile, ProfileErrors> {
    let loc = Locator::new(file, text);
    let mut errs = Vec::new();
    let raw = parse_raw::<L>(&loc).map_err(ProfileErrors)?;
    if raw.extends.is_some() {
        errs.push(ProfileError::invalid(
            loc.file(),
            "extends needs a catalog; use Catalog::load",
        ));
    }
    let p = sections::validate(raw, &loc, &mut errs);
    sections::check::<L>(&p, &mut errs);
    if errs.is_empty() {
        Ok(p)
    } else {
        Err(ProfileErrors(errs))
    }
}
