//! The VM suite: real drivers (e1000e, multi-queue virtio-net), a second kernel (Debian's
//! packaged one) and two NUMA nodes with isolated CPUs, in one boot of the test VM
//! (`tests/vm/run -- tests/vm/checks.sh`). The checks run inside the VM, which is its own
//! kernel; this machine's settings are never touched. The link seam's tunnel half runs there
//! too (`examples/linkops`): the VM's kernel has the ipip, ip6_tunnel, fou and dummy modules.
//! Each check prints `CHECK NAME: ok` or `CHECK NAME: FAIL why`; this test asserts that every
//! one ran and passed.
//!
//! Needs root, QEMU, a kernel under /boot and virtme-ng (`.ci/run` installs them); skipped
//! loudly otherwise, unless `HOSTTUNE_REQUIRE_ROOT_TESTS=1`. Uses `target/release/hosttune`,
//! built here first when it is missing or older than the sources.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

/// The checks of `tests/vm/checks.sh`, in the order they run.
const CHECKS: &[&str] = &[
    "e1000e_apply_audit_rollback",
    "e1000e_kill9_mid_apply_then_rollback",
    "e1000e_features_apply_audit_rollback",
    "e1000e_coalesce_pause_apply_rollback",
    "virtio_channels_irq_rps_rollback",
    "rps_isolated_refused_at_plan_time",
    "virtio_rx_flow_hash_apply_rollback",
    "virtio_rss_indir_apply_rollback",
    "net_sysctls_live_values_in_sync",
    "builtin_roles_audit_read_only",
    "lvs_dr_end_to_end",
    "tunnel_links_ipip_fou",
    "l3dsr_ipvs_tunnel_ipip_gue",
    "l3dsr_ipvs_tunnel_ip6ip6",
    "l3dsr_fault_matrix",
];

fn newest(path: &Path) -> SystemTime {
    let meta = std::fs::symlink_metadata(path).unwrap();
    let mut t = meta.modified().unwrap();
    if meta.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            t = t.max(newest(&e.unwrap().path()));
        }
    }
    t
}

/// `target/release/hosttune`, built when it is missing or older than anything it is built from.
fn release_binary(root: &Path) -> PathBuf {
    let bin = root.join("target/release/hosttune");
    let sources = ["src", "profiles", "Cargo.toml", "Cargo.lock", "build.rs"]
        .iter()
        .map(|p| root.join(p))
        .filter(|p| p.exists())
        .map(|p| newest(&p))
        .max()
        .unwrap();
    let fresh = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= sources);
    if !fresh {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "--release", "--locked", "--bin", "hosttune"])
            .current_dir(root)
            .status()
            .expect("cargo build --release");
        assert!(st.success(), "cargo build --release failed");
    }
    bin
}

/// `target/debug/examples/linkops`, which the `tunnel_links_ipip_fou` check drives: the link
/// seam needs the tunnel modules that the VM's kernel has. Cargo rebuilds it only when stale.
fn linkops_example(root: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .args(["build", "--locked", "--example", "linkops"])
        .current_dir(root)
        .status()
        .expect("cargo build --example linkops");
    assert!(st.success(), "cargo build --example linkops failed");
}

fn kernel_present() -> bool {
    std::fs::read_dir("/boot").is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("vmlinuz-"))
    })
}

#[test]
fn vm_checks_on_real_drivers_and_numa() {
    const TEST: &str = "vm_checks_on_real_drivers_and_numa";
    if !common::root_tests_with(TEST, &["qemu-system-x86_64", "ethtool", "ipvsadm"]) {
        return;
    }
    // Where tests/vm/run looks for virtme-ng, as .ci/run makes it.
    let venv = std::env::var_os("HOSTTUNE_VENV").unwrap_or_else(|| "/var/tmp/hosttune-venv".into());
    if !Path::new(&venv).join("bin/vng").exists() {
        common::skip(
            TEST,
            &format!(
                "needs vng (PyPI package virtme-ng) in {}",
                Path::new(&venv).join("bin").display()
            ),
        );
        return;
    }
    if !kernel_present() {
        common::skip(
            TEST,
            "needs a kernel under /boot (apt package linux-image-amd64)",
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    release_binary(root);
    linkops_example(root);
    // The fault matrix's binary: the test-hooks build `cargo test` made (HOSTTUNE_FAULT).
    let hooks = root.join("target/vm-hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_hosttune"), hooks.join("hosttune"))
        .expect("copy the test-hooks hosttune for the VM");
    let started = Instant::now();
    let out = Command::new(root.join("tests/vm/run"))
        .args([
            "--no-install",
            "--timeout",
            "1200",
            "--",
            "tests/vm/checks.sh",
        ])
        .current_dir(root)
        .output()
        .expect("tests/vm/run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let took = started.elapsed().as_secs();
    // The whole log, shown when the test fails (and with --nocapture).
    println!("{stdout}\n{stderr}\ntests/vm/run took {took} s");
    assert!(
        out.status.success() && stdout.contains("CHECKS DONE"),
        "the VM run did not finish (exit {:?}):\n{stdout}\n{stderr}",
        out.status.code()
    );
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("CHECK ") && !l.ends_with(": ok"))
        .collect();
    assert!(failed.is_empty(), "failed checks:\n{}", failed.join("\n"));
    for check in CHECKS {
        let line = format!("CHECK {check}: ok");
        assert!(
            stdout.lines().any(|l| l == line),
            "{check} did not run:\n{stdout}"
        );
    }
}
