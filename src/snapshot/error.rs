//! [`StoreError`]: every failure of the state directory, naming the file, and the way a
//! JSON error is printed (place first, as for a profile).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Errors of the state directory, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state dir {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    /// `FILE:LINE:COLUMN: not a valid snapshot: settings[3] (file /etc/x): ...`.
    #[error("{}", corrupt(path, what, error))]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        error: serde_json::Error,
    },
    /// The state dir or a file in it could be changed by someone else, or is a symlink:
    /// snapshots decide what rollback writes as root, so they are refused (as sshd's
    /// StrictModes refuses such key files).
    #[error("state dir: refusing {path}: {why}")]
    Unsafe { path: PathBuf, why: String },
    #[error("snapshot {0:?} not found (see `hosttune snapshots list`)")]
    NotFound(String),
    #[error("snapshot id {0:?} is not valid (letters, digits, '.', '-' and '_' only)")]
    BadId(String),
    #[error(
        "another hosttune apply or rollback holds {0} (waited {1:?}); try again when it is done"
    )]
    Locked(PathBuf, Duration),
    #[error(
        "no snapshot to roll back to: no apply has completed since the last rollback (see \
         `hosttune snapshots list`)"
    )]
    NoLastApply,
    #[error(
        "a hosttune agent holds {path} ({who}): it enforces its profile, so an apply, a \
         rollback or a second agent beside it would fight it; stop the agent first (systemctl \
         stop hosttune-agent)"
    )]
    AgentRunning { path: PathBuf, who: String },
}

/// A JSON error as `FILE:LINE:COLUMN: not a valid WHAT: MESSAGE`, the place first as for a
/// profile (serde_json puts it after the message).
fn corrupt(path: &Path, what: &str, e: &serde_json::Error) -> String {
    let text = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&at) {
        Some(msg) if e.line() > 0 => format!(
            "{}:{}:{}: not a valid {what}: {msg}",
            path.display(),
            e.line(),
            e.column()
        ),
        _ => format!("{}: not a valid {what}: {text}", path.display()),
    }
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_error_names_the_file_line_and_column_first() {
        let e = serde_json::from_str::<serde_json::Value>("{\n  \"a\": ,").unwrap_err();
        let err = StoreError::Corrupt {
            path: "/var/lib/hosttune/journal.json".into(),
            what: "transaction journal",
            error: e,
        };
        let text = err.to_string();
        assert!(
            text.starts_with(
                "/var/lib/hosttune/journal.json:2:8: not a valid transaction journal: "
            ),
            "{text}"
        );
        assert!(!text.contains(" at line "), "{text}");
    }
}
