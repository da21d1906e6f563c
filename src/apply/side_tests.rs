//! Side effects in the engine, with a simulated devinet on a fixture tree: writing
//! `ip_forward` rewrites `accept_redirects` and every interface's `forwarding`, as
//! `inet_forward_change` does; one interface's key can be made unrestorable, and one write can
//! change a key that no table row names.

use std::path::Path;

use super::*;
use crate::host::{Offline, RootFs};
use crate::knobs;
use crate::plan::{Entry, Item, Kind, Status};
use crate::sysctl::SysctlKey;
use crate::testing::fake_services::FakeServices;

/// The kernel, as far as these tests need it.
struct Devinet<'a> {
    root: &'a Path,
    /// Writes to this key fail with EPERM (a restore that cannot happen).
    refuse: Option<&'a str>,
    /// Writing the first key also sets the second to "7" (a side effect no row names).
    surprise: Option<(&'a str, &'a str)>,
    /// Writes to this key fail with EINVAL (the failing step of an apply).
    fail: Option<&'a str>,
}

fn file(root: &Path, key: &str) -> std::path::PathBuf {
    let k: SysctlKey = key.parse().unwrap();
    let mut p = root.join("proc/sys");
    p.extend(k.segments());
    p
}

impl SettingIo for Devinet<'_> {
    fn write(&self, host: &Host, s: &Setting) -> Result<(), KnobError> {
        let Setting::Sysctl { key, value } = s else {
            return knobs::write(host, s);
        };
        let name = key.to_string();
        let err = |errno: i32| KnobError::Sysctl {
            key: key.clone(),
            op: "write",
            source: std::io::Error::from_raw_os_error(errno),
        };
        if Some(name.as_str()) == self.refuse || Some(name.as_str()) == self.fail {
            return Err(err(if Some(name.as_str()) == self.fail {
                22
            } else {
                1
            }));
        }
        knobs::write(host, s)?;
        let v = value.trim();
        if name == "net.ipv4.ip_forward" {
            let on = v != "0";
            std::fs::write(
                file(self.root, "net.ipv4.conf.all.forwarding"),
                format!("{v}\n"),
            )
            .unwrap();
            std::fs::write(
                file(self.root, "net.ipv4.conf.all.accept_redirects"),
                if on { "0\n" } else { "1\n" },
            )
            .unwrap();
            // The kernel rewrites even a key whose own writes are refused.
            for i in ["default", "eth0", "eth1"] {
                let f = file(self.root, &format!("net.ipv4.conf.{i}.forwarding"));
                std::fs::write(f, format!("{v}\n")).unwrap();
            }
        }
        if let Some((k, other)) = self.surprise {
            if name == k {
                std::fs::write(file(self.root, other), "7\n").unwrap();
            }
        }
        Ok(())
    }
    fn read(&self, host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        knobs::read(host, at)
    }
}

/// A tree with conf/{all,default,eth0,eth1} and a hardened host: accept_redirects 0 on all,
/// forwarding 1 on eth1 by hand.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    std::fs::create_dir_all(r.join("proc/sys/net/ipv4/conf")).unwrap();
    std::fs::write(r.join("proc/sys/net/ipv4/ip_forward"), "0\n").unwrap();
    for i in ["all", "default", "eth0", "eth1"] {
        let d = r.join("proc/sys/net/ipv4/conf").join(i);
        std::fs::create_dir_all(&d).unwrap();
        let fwd = if i == "eth1" { "1" } else { "0" };
        std::fs::write(d.join("forwarding"), format!("{fwd}\n")).unwrap();
        let redirects = if i == "all" { "0" } else { "1" };
        std::fs::write(d.join("accept_redirects"), format!("{redirects}\n")).unwrap();
        std::fs::write(d.join("rp_filter"), "0\n").unwrap();
    }
    dir
}

fn change(key: &str, from: &str, to: &str) -> Entry {
    let k: SysctlKey = key.parse().unwrap();
    let s = |v: &str| Setting::Sysctl {
        key: k.clone(),
        value: format!("{v}\n"),
    };
    Entry::new(
        Item::new(Kind::Sysctl, key, to, from, Status::Drift),
        Some(s(to)),
        Some(s(from)),
    )
}

fn read(root: &Path, key: &str) -> String {
    std::fs::read_to_string(file(root, key))
        .unwrap()
        .trim()
        .to_string()
}

fn plan(entries: Vec<Entry>) -> Plan {
    Plan {
        profile: "t".into(),
        entries,
        replan: Vec::new(),
    }
}

#[test]
fn an_undo_puts_back_what_the_kernel_rewrote_and_says_what_it_could_not() {
    let dir = tree();
    let root = dir.path();
    let fs = RootFs::new(root);
    let services = FakeServices::default();
    let host = Host {
        fs: &fs,
        nic: &Offline,
        addrs: &Offline,
        links: &Offline,
        services: &services,
        nft: &Offline,
    };
    let state = tempfile::tempdir().unwrap();
    let store = Store::new(state.path().join("s"));
    let p = plan(vec![
        change("net.ipv4.ip_forward", "0", "1"),
        change("net.ipv4.conf.eth0.rp_filter", "0", "2"),
    ]);

    // The second write fails: ip_forward, accept_redirects and every forwarding come back.
    let io = Devinet {
        root,
        refuse: None,
        surprise: None,
        fail: Some("net.ipv4.conf.eth0.rp_filter"),
    };
    let out = run_io(&host, &store, &p, &Opts::new(Origin::Apply, "h"), &io).unwrap();
    let f = out.failure.as_ref().expect("the apply failed");
    assert!(!f.incomplete(), "{:?}", f.undo);
    assert_eq!(read(root, "net.ipv4.ip_forward"), "0");
    assert_eq!(read(root, "net.ipv4.conf.all.accept_redirects"), "0");
    assert_eq!(read(root, "net.ipv4.conf.eth1.forwarding"), "1");
    assert_eq!(read(root, "net.ipv4.conf.eth0.forwarding"), "0");

    // Now eth1's forwarding cannot be written back: the undo is incomplete and names it.
    let io = Devinet {
        root,
        refuse: Some("net.ipv4.conf.eth1.forwarding"),
        surprise: None,
        fail: Some("net.ipv4.conf.eth0.rp_filter"),
    };
    let out = run_io(&host, &store, &p, &Opts::new(Origin::Apply, "h"), &io).unwrap();
    let f = out.failure.as_ref().expect("the apply failed");
    assert!(f.incomplete(), "{:?}", f.undo);
    assert!(
        f.undo
            .iter()
            .any(|(i, u)| i.object == "net.ipv4.conf.eth1.forwarding"
                && matches!(u, Undone::Failed(_))),
        "{:?}",
        f.undo
    );
}

#[test]
fn a_change_no_row_names_is_recorded_reported_and_rolled_back() {
    let dir = tree();
    let root = dir.path();
    let fs = RootFs::new(root);
    let services = FakeServices::default();
    let host = Host {
        fs: &fs,
        nic: &Offline,
        addrs: &Offline,
        links: &Offline,
        services: &services,
        nft: &Offline,
    };
    let state = tempfile::tempdir().unwrap();
    let store = Store::new(state.path().join("s"));
    let p = plan(vec![change("net.ipv4.conf.all.rp_filter", "0", "2")]);
    let io = Devinet {
        root,
        refuse: None,
        surprise: Some((
            "net.ipv4.conf.all.rp_filter",
            "net.ipv4.conf.eth1.accept_redirects",
        )),
        fail: None,
    };
    let out = run_io(&host, &store, &p, &Opts::new(Origin::Apply, "h"), &io).unwrap();
    assert!(out.failure.is_none());
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("net.ipv4.conf.eth1.accept_redirects: 1 -> 7")),
        "{:?}",
        out.warnings
    );
    let snap = store.load(out.snapshot.as_ref().unwrap()).unwrap();
    assert!(snap.side.iter().any(|s| matches!(s,
        Setting::Sysctl { key, value } if key.to_string() == "net.ipv4.conf.eth1.accept_redirects" && value == "1\n")));
    // The rollback puts it back with the key.
    let rb = rollback_plan(&host, &snap);
    let opts = Opts::new(Origin::Rollback, "h");
    let out = run_opts(&host, &store, &rb, &opts).unwrap();
    assert!(out.failure.is_none());
    assert_eq!(read(root, "net.ipv4.conf.all.rp_filter"), "0");
    assert_eq!(read(root, "net.ipv4.conf.eth1.accept_redirects"), "1");
}

/// LRO per device, as `ETHTOOL_GFLAGS`/`SFLAGS` show it; the rest of the NIC is not there.
#[derive(Default)]
struct LroNic(std::sync::Mutex<std::collections::BTreeMap<String, bool>>);

impl crate::host::NicOps for LroNic {
    fn get(
        &self,
        i: &crate::types::IfName,
        cmd: crate::host::NicCmd,
    ) -> Result<crate::host::NicValue, crate::host::NicError> {
        match cmd {
            crate::host::NicCmd::Lro => Ok(crate::host::NicValue::Lro(
                self.0
                    .lock()
                    .unwrap()
                    .get(i.as_str())
                    .copied()
                    .unwrap_or(false),
            )),
            cmd => Err(crate::host::NicError::unsupported(
                cmd.get_name(),
                i,
                "none",
            )),
        }
    }
    fn set(
        &self,
        i: &crate::types::IfName,
        v: &crate::host::NicValue,
    ) -> Result<(), crate::host::NicError> {
        match v {
            crate::host::NicValue::Lro(on) => {
                self.0.lock().unwrap().insert(i.as_str().to_string(), *on);
                Ok(())
            }
            v => Err(crate::host::NicError::unsupported(
                v.cmd().set_name(),
                i,
                "none",
            )),
        }
    }
}

/// Devinet, and `dev_disable_lro` on every device when forwarding is enabled.
struct LroKernel<'a> {
    devinet: Devinet<'a>,
    nic: &'a LroNic,
}

impl SettingIo for LroKernel<'_> {
    fn write(&self, host: &Host, s: &Setting) -> Result<(), KnobError> {
        self.devinet.write(host, s)?;
        if let Setting::Sysctl { key, value } = s {
            if key.to_string() == "net.ipv4.ip_forward" && value.trim() == "1" {
                for on in self.nic.0.lock().unwrap().values_mut() {
                    *on = false;
                }
            }
        }
        Ok(())
    }
    fn read(&self, host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        knobs::read(host, at)
    }
}

#[test]
fn lro_turned_off_by_forwarding_comes_back_on_undo_and_rollback() {
    let dir = tree();
    let root = dir.path();
    for i in ["eth0", "eth1"] {
        std::fs::create_dir_all(root.join("sys/class/net").join(i)).unwrap();
    }
    let fs = RootFs::new(root);
    let services = FakeServices::default();
    let nic = LroNic::default();
    nic.0.lock().unwrap().insert("eth0".into(), true);
    nic.0.lock().unwrap().insert("eth1".into(), false);
    let host = Host {
        fs: &fs,
        nic: &nic,
        addrs: &Offline,
        links: &Offline,
        services: &services,
        nft: &Offline,
    };
    let state = tempfile::tempdir().unwrap();
    let store = Store::new(state.path().join("s"));
    let lro = |i: &str| nic.0.lock().unwrap()[i];

    // Undo: the second write fails.
    let failing = plan(vec![
        change("net.ipv4.ip_forward", "0", "1"),
        change("net.ipv4.conf.eth0.rp_filter", "0", "2"),
    ]);
    let io = |fail| LroKernel {
        devinet: Devinet {
            root,
            refuse: None,
            surprise: None,
            fail,
        },
        nic: &nic,
    };
    let out = run_io(
        &host,
        &store,
        &failing,
        &Opts::new(Origin::Apply, "h"),
        &io(Some("net.ipv4.conf.eth0.rp_filter")),
    )
    .unwrap();
    assert!(!out.failure.as_ref().unwrap().incomplete());
    assert!(lro("eth0"), "LRO is back on eth0 after the undo");
    assert!(!lro("eth1"));

    // Apply, then rollback.
    let p = plan(vec![change("net.ipv4.ip_forward", "0", "1")]);
    let out = run_io(&host, &store, &p, &Opts::new(Origin::Apply, "h"), &io(None)).unwrap();
    assert!(out.failure.is_none());
    assert!(!lro("eth0"), "forwarding turned LRO off");
    let snap = store.load(out.snapshot.as_ref().unwrap()).unwrap();
    assert!(snap.side.contains(&Setting::Lro {
        iface: "eth0".parse().unwrap(),
        on: true
    }));
    let rb = rollback_plan(&host, &snap);
    let out = run_io(
        &host,
        &store,
        &rb,
        &Opts::new(Origin::Rollback, "h"),
        &io(None),
    )
    .unwrap();
    assert!(out.failure.is_none());
    assert!(lro("eth0"), "rollback turns LRO back on");
    assert_eq!(read(root, "net.ipv4.ip_forward"), "0");
}
