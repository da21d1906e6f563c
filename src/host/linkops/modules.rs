//! Whether a kernel module is loaded, could be loaded, or is missing, read without loading
//! it: `/sys/module/NAME` for a loaded (or built-in) module, then the kernel's own lists in
//! `/lib/modules/RELEASE` (`modules.builtin`, `modules.dep`, as modprobe reads them). Asking
//! the kernel itself (a FOU family lookup, an ipip create) would load the module, which a
//! plan or an audit must never do.

use std::io;
use std::path::Path;

/// What a module is on this kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleState {
    /// Loaded, or built into the kernel.
    Loaded,
    /// Not loaded; the kernel can load it (its `.ko` is listed in `modules.dep`).
    Available,
    /// Neither loaded nor in this kernel's module lists: nothing can load it.
    Missing { release: String },
    /// The lists could not be read (no `/lib/modules/RELEASE` in a container): the kernel may
    /// still load it on use.
    Unknown { why: String },
}

/// A module's file name stem as `modules.dep` lists it: `kernel/net/ipv4/ipip.ko.xz:`
/// names `ipip`. Dashes and underscores are the same to modprobe.
fn listed(list: &str, module: &str) -> bool {
    let want = module.replace('-', "_");
    list.lines().any(|line| {
        let path = line.split(':').next().unwrap_or("");
        let file = path.rsplit('/').next().unwrap_or("");
        file.split(".ko").next().map(|s| s.replace('-', "_")) == Some(want.clone())
            && file.contains(".ko")
    })
}

/// The state of `module`, reading `sys_module` (`/sys/module`) and `lib_modules`
/// (`/lib/modules`) of kernel `release`.
pub fn state_in(sys_module: &Path, lib_modules: &Path, release: &str, module: &str) -> ModuleState {
    if sys_module.join(module.replace('-', "_")).exists() {
        return ModuleState::Loaded;
    }
    let dir = lib_modules.join(release);
    let read = |f: &str| -> io::Result<String> { std::fs::read_to_string(dir.join(f)) };
    if read("modules.builtin").is_ok_and(|l| listed(&l, module)) {
        return ModuleState::Loaded;
    }
    match read("modules.dep") {
        Ok(l) if listed(&l, module) => ModuleState::Available,
        Ok(_) => ModuleState::Missing {
            release: release.to_string(),
        },
        Err(e) => ModuleState::Unknown {
            why: format!("cannot read {}: {e}", dir.join("modules.dep").display()),
        },
    }
}

/// The state of `module` on the running kernel.
pub fn state(module: &str) -> ModuleState {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    state_in(
        Path::new("/sys/module"),
        Path::new("/lib/modules"),
        &release,
        module,
    )
}

/// Runs the kernel's modprobe (`/proc/sys/kernel/modprobe`, `/sbin/modprobe` when unset)
/// with `-q -- MODULE`, as request_module does.
pub fn load(module: &str) -> Result<(), super::LinkError> {
    let prog = std::fs::read_to_string("/proc/sys/kernel/modprobe")
        .map(|p| p.trim().to_string())
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/sbin/modprobe".into());
    let unsupported = || super::LinkError::Unsupported {
        op: "load",
        object: format!("module {module}"),
        module: module.to_string(),
    };
    let out = std::process::Command::new(&prog)
        .args(["-q", "--", module])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|_| unsupported())?;
    if out.status.success() {
        Ok(())
    } else {
        tracing::warn!(
            "{prog} {module}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Err(unsupported())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loaded_builtin_available_missing_and_unknown() {
        let d = tempfile::tempdir().unwrap();
        let sys = d.path().join("sys");
        let lib = d.path().join("lib");
        std::fs::create_dir_all(sys.join("ip6_tunnel")).unwrap();
        std::fs::create_dir_all(lib.join("6.1.0-28-amd64")).unwrap();
        let st = |m: &str| state_in(&sys, &lib, "6.1.0-28-amd64", m);
        assert_eq!(
            st("fou"),
            ModuleState::Unknown {
                why: format!(
                    "cannot read {}: No such file or directory (os error 2)",
                    lib.join("6.1.0-28-amd64/modules.dep").display()
                )
            }
        );
        std::fs::write(
            lib.join("6.1.0-28-amd64/modules.dep"),
            "kernel/net/ipv4/ipip.ko: kernel/net/ipv4/ip_tunnel.ko kernel/net/ipv4/tunnel4.ko\n\
             kernel/net/ipv4/fou.ko.xz: kernel/net/ipv4/udp_tunnel.ko\n\
             kernel/net/ipv4/ip_tunnel.ko:\n",
        )
        .unwrap();
        std::fs::write(
            lib.join("6.1.0-28-amd64/modules.builtin"),
            "kernel/drivers/net/dummy.ko\n",
        )
        .unwrap();
        assert_eq!(st("ip6_tunnel"), ModuleState::Loaded);
        assert_eq!(st("ip6-tunnel"), ModuleState::Loaded);
        assert_eq!(st("dummy"), ModuleState::Loaded);
        assert_eq!(st("ipip"), ModuleState::Available);
        assert_eq!(st("fou"), ModuleState::Available);
        // `ip_tunnel` is listed, `ip` and `tunnel4.ko` as a dependency only are not modules.
        assert_eq!(st("ip_tunnel"), ModuleState::Available);
        assert!(matches!(st("ip"), ModuleState::Missing { .. }));
        assert!(
            matches!(st("ip_vs"), ModuleState::Missing { release } if release == "6.1.0-28-amd64")
        );
    }
}
