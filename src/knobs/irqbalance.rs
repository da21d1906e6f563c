//! The `[irqbalance]` knob: keep irqbalance from moving the IRQs hosttune pins, by stopping
//! and disabling it (`disabled`) or by banning the IRQ CPUs in its environment file
//! (`banned`). Prior state (running, enabled, the file's bytes) goes into the snapshot.

use serde::{Deserialize, Serialize};

use crate::cpulist::CpuList;
use crate::host::{Host, ServiceError, ServiceState, paths};
use crate::knobs::KnobError;
use crate::knobs::cx::PlanCx;
use crate::knobs::{Entry, Item, Kind, Setting, Status};
use std::path::PathBuf;

/// What to do with irqbalance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IrqbalanceMode {
    /// Stop and disable the service.
    Disabled,
    /// Ban the IRQ CPUs (`IRQBALANCE_BANNED_CPULIST`) and keep it running.
    Banned,
    /// Leave it alone.
    Unmanaged,
}

/// The `[irqbalance]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IrqbalanceSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<IrqbalanceMode>,
}

impl IrqbalanceSection {
    /// Field by field, the child wins.
    pub fn merge(self, child: IrqbalanceSection) -> IrqbalanceSection {
        IrqbalanceSection {
            mode: child.mode.or(self.mode),
        }
    }
}

/// The unit `disabled` stops and `banned` restarts.
pub const UNIT: &str = "irqbalance.service";

/// The variable irqbalance (1.8 and later) reads its banned CPUs from.
const VAR: &str = "IRQBALANCE_BANNED_CPULIST";

/// What `plan` reads: the service's state, or for `banned` the CPUs to ban, the environment
/// file and its text.
#[derive(Debug)]
pub enum Observed {
    Disabled(Result<Option<ServiceState>, ServiceError>),
    Banned {
        cpus: Result<CpuList, String>,
        /// The file, or why there is none; its text (`None`: it does not exist yet).
        file: Result<(PathBuf, Option<String>), String>,
    },
}

/// Plans this knob. `banned` bans the CPUs that the `[[nic]] irq_cpus` rules resolve to.
/// `irq_cpus` is what the `[[nic]]` rules' `irq_cpus` resolve to on this host (asked only
/// in `banned` mode; see `nic::irq_cpus_in_use`).
pub fn plan(
    section: &IrqbalanceSection,
    irq_cpus: &dyn Fn(&PlanCx) -> Result<CpuList, String>,
    cx: &PlanCx,
) -> Vec<Entry> {
    match section.mode {
        None | Some(IrqbalanceMode::Unmanaged) => Vec::new(),
        Some(IrqbalanceMode::Disabled) => {
            vec![diff(Observed::Disabled(cx.host.services.state(UNIT)))]
        }
        Some(IrqbalanceMode::Banned) => {
            let host = &cx.host;
            let file = match env_file(host) {
                None => Err("neither /etc/default nor /etc/sysconfig exists to hold \
                             irqbalance's settings"
                    .to_string()),
                Some(path) => match host.fs.read(&path) {
                    Ok(t) => Ok((path, Some(t))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((path, None)),
                    Err(e) => Err(format!("{}: {e}", host.fs.display(&path).display())),
                },
            };
            vec![diff(Observed::Banned {
                cpus: irq_cpus(cx),
                file,
            })]
        }
    }
}

/// The wanted state against what was observed (pure).
pub fn diff(o: Observed) -> Entry {
    match o {
        Observed::Disabled(state) => diff_disabled(state),
        Observed::Banned { cpus, file } => diff_banned(cpus, file),
    }
}

fn diff_disabled(state: Result<Option<ServiceState>, ServiceError>) -> Entry {
    let item =
        |live: &str, status| Item::new(Kind::Irqbalance, UNIT, "inactive disabled", live, status);
    match state {
        Err(e @ ServiceError::Unsupported(_)) => Entry::new(
            item("-", Status::Unsupported).note(e.to_string()),
            None,
            None,
        ),
        Err(e) => Entry::new(item("-", Status::Error).note(e.to_string()), None, None),
        Ok(None) => Entry::new(item("absent", Status::Ok).note("not installed"), None, None),
        Ok(Some(st)) => {
            let desired = Setting::IrqbalanceService {
                unit: UNIT.into(),
                active: false,
                enabled: false,
            };
            let live = Setting::IrqbalanceService {
                unit: UNIT.into(),
                active: st.active,
                enabled: st.enabled,
            };
            let status = Status::of(live == desired);
            Entry::new(item(&live.describe().2, status), Some(desired), Some(live))
        }
    }
}

fn diff_banned(
    cpus: Result<CpuList, String>,
    file: Result<(PathBuf, Option<String>), String>,
) -> Entry {
    let object = format!("{VAR} ({})", UNIT);
    let error = |why: String| {
        Entry::new(
            Item::new(Kind::Irqbalance, object.clone(), "-", "-", Status::Error).note(why),
            None,
            None,
        )
    };
    let cpus = match cpus {
        Ok(c) => c,
        Err(why) => return error(why),
    };
    let (path, old) = match file {
        Ok(f) => f,
        Err(why) => return error(why),
    };
    let object = format!("{VAR} in {}", path.display());
    let current = old.as_deref().and_then(banned_value);
    let live = current.clone().unwrap_or_else(|| "unset".into());
    let ok = current.as_deref().and_then(|v| v.parse::<CpuList>().ok()) == Some(cpus.clone());
    let item = Item::new(
        Kind::Irqbalance,
        object,
        cpus.to_string(),
        live,
        Status::of(ok),
    );
    let item = if ok {
        item
    } else {
        item.note("restarts irqbalance if it runs")
    };
    let desired = Setting::IrqbalanceFile {
        path: path.clone(),
        contents: Some(with_banned(old.as_deref().unwrap_or(""), &cpus)),
    };
    let live = Setting::IrqbalanceFile {
        path,
        contents: old,
    };
    Entry::new(item, Some(desired), Some(live))
}

/// The existing file, Debian's place first; where neither exists, a new one where its
/// directory exists.
fn env_file(host: &Host) -> Option<std::path::PathBuf> {
    let candidates = paths::irqbalance_env();
    candidates
        .iter()
        .find(|p| host.fs.exists(p))
        .or_else(|| {
            candidates
                .iter()
                .find(|p| p.parent().is_some_and(|d| host.fs.exists(d)))
        })
        .cloned()
}

/// The value of the last uncommented `IRQBALANCE_BANNED_CPULIST=` line (the shell's rule),
/// quotes removed.
fn banned_value(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| assignment(l))
        .next_back()
        .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
}

fn assignment(line: &str) -> Option<&str> {
    let l = line.trim_start();
    let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
    l.strip_prefix(VAR)?.strip_prefix('=')
}

/// `text` with every uncommented assignment of the variable set to `cpus`, or one appended;
/// every other line (comments, other variables) kept as it is.
pub fn with_banned(text: &str, cpus: &CpuList) -> String {
    let line = format!("{VAR}={cpus}");
    let mut found = false;
    let mut out: String = text
        .split_inclusive('\n')
        .map(|l| {
            if assignment(l).is_some() {
                found = true;
                let nl = if l.ends_with('\n') { "\n" } else { "" };
                format!("{line}{nl}")
            } else {
                l.to_string()
            }
        })
        .collect();
    if !found {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Writes one setting. A service: equivalent to `systemctl stop|start` and
/// `systemctl disable|enable irqbalance.service`. A file: written atomically (removed when the
/// setting says it did not exist), then `systemctl restart irqbalance.service` if it runs, so
/// that it reads the new ban.
pub fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
    match s {
        Setting::IrqbalanceService {
            unit,
            active,
            enabled,
        } => {
            let now = host.services.state(unit)?;
            // Stop before disabling, and enable before starting, so that a failure halfway
            // leaves the unit no more running than asked.
            if now.is_some_and(|n| n.active != *active) && !*active {
                host.services.set_active(unit, false)?;
            }
            if now.is_some_and(|n| n.enabled != *enabled) {
                host.services.set_enabled(unit, *enabled)?;
            }
            if now.is_some_and(|n| n.active != *active) && *active {
                host.services.set_active(unit, true)?;
            }
            Ok(())
        }
        Setting::IrqbalanceFile { path, contents } => {
            let file_err = |op, source| KnobError::File {
                path: host.fs.display(path).display().to_string(),
                op,
                source,
            };
            match contents {
                Some(c) => host.fs.replace(path, c).map_err(|e| file_err("write", e))?,
                None => host.fs.remove(path).map_err(|e| file_err("remove", e))?,
            }
            match host.services.state(UNIT) {
                Ok(Some(st)) if st.active => Ok(host.services.restart(UNIT)?),
                // Not running, not installed, or no service manager: it reads the file when
                // it next starts.
                Ok(_) | Err(ServiceError::Unsupported(_)) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        other => unreachable!("irqbalance::write of {other:?}"),
    }
}

/// Reads the live value at a setting's address.
pub fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
    match at {
        Setting::IrqbalanceService { unit, .. } => {
            let st = host.services.state(unit)?;
            Ok(Setting::IrqbalanceService {
                unit: unit.clone(),
                active: st.is_some_and(|s| s.active),
                enabled: st.is_some_and(|s| s.enabled),
            })
        }
        Setting::IrqbalanceFile { path, .. } => {
            let contents = match host.fs.read(path) {
                Ok(t) => Some(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(source) => {
                    return Err(KnobError::File {
                        path: host.fs.display(path).display().to_string(),
                        op: "read",
                        source,
                    });
                }
            };
            Ok(Setting::IrqbalanceFile {
                path: path.clone(),
                contents,
            })
        }
        other => unreachable!("irqbalance::read of {other:?}"),
    }
}

/// irqbalance's service state in snapshots.
pub struct ServiceOps;

impl crate::knobs::SettingOps for ServiceOps {
    fn address(s: &Setting) -> String {
        let Setting::IrqbalanceService { unit, .. } = s else {
            unreachable!()
        };
        format!("service {unit}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::IrqbalanceService {
            unit,
            active,
            enabled,
        } = s
        else {
            unreachable!()
        };
        (
            Kind::Irqbalance,
            unit.clone(),
            format!(
                "{} {}",
                if *active { "active" } else { "inactive" },
                if *enabled { "enabled" } else { "disabled" }
            ),
        )
    }
    /// Only irqbalance's unit: a snapshot must not start, stop, enable or disable any other.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::IrqbalanceService { unit, .. } = s else {
            unreachable!()
        };
        if unit != UNIT {
            return Err(format!(
                "service {unit:?} is not {UNIT}, the only service hosttune manages"
            ));
        }
        Ok(())
    }
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        read(host, at)
    }
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        write(host, s)
    }
}

/// irqbalance's environment file in snapshots.
pub struct FileOps;

impl crate::knobs::SettingOps for FileOps {
    fn address(s: &Setting) -> String {
        let Setting::IrqbalanceFile { path, .. } = s else {
            unreachable!()
        };
        format!("file {}", path.display())
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::IrqbalanceFile { path, contents } = s else {
            unreachable!()
        };
        let state = if contents.is_some() {
            "present"
        } else {
            "absent"
        };
        (Kind::Irqbalance, path.display().to_string(), state.into())
    }
    /// Only irqbalance's environment files (`/etc/default/irqbalance`,
    /// `/etc/sysconfig/irqbalance`): a snapshot must not create, replace or remove any other.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::IrqbalanceFile { path, .. } = s else {
            unreachable!()
        };
        let known = paths::irqbalance_env();
        if !known.iter().any(|k| k == path) {
            let names: Vec<String> = known.iter().map(|k| k.display().to_string()).collect();
            return Err(format!(
                "file {} is not irqbalance's environment file ({}), the only files hosttune \
                 writes outside /proc and /sys",
                path.display(),
                names.join(" or ")
            ));
        }
        Ok(())
    }
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        read(host, at)
    }
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        write(host, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ban_replaces_assignments_and_keeps_every_other_line() {
        let cpus: CpuList = "2-3,10-11".parse().unwrap();
        let debian = "#IRQBALANCE_ONESHOT=\n#IRQBALANCE_BANNED_CPULIST=\nOPTIONS=\"--pid=x\"\n";
        assert_eq!(
            with_banned(debian, &cpus),
            format!("{debian}IRQBALANCE_BANNED_CPULIST=2-3,10-11\n")
        );
        let rhel = "IRQBALANCE_BANNED_CPULIST=\"0\"\nIRQBALANCE_ARGS=\n";
        assert_eq!(
            with_banned(rhel, &cpus),
            "IRQBALANCE_BANNED_CPULIST=2-3,10-11\nIRQBALANCE_ARGS=\n"
        );
        assert_eq!(
            with_banned("A=1", &cpus),
            "A=1\nIRQBALANCE_BANNED_CPULIST=2-3,10-11\n"
        );
        assert_eq!(
            with_banned("", &cpus),
            "IRQBALANCE_BANNED_CPULIST=2-3,10-11\n"
        );
    }

    #[test]
    fn the_live_ban_is_the_last_uncommented_one() {
        assert_eq!(banned_value("#IRQBALANCE_BANNED_CPULIST=1\n"), None);
        assert_eq!(
            banned_value("IRQBALANCE_BANNED_CPULIST=1\nexport IRQBALANCE_BANNED_CPULIST='2-3'\n"),
            Some("2-3".into())
        );
    }
}
