//! `arp_ignore` and `arp_announce` for DSR, judged the way the kernel uses them.
//!
//! For both keys the kernel acts on max(conf/all, conf/IFACE) of the interface an ARP packet
//! arrives on or leaves by (`IN_DEV_MAXCONF` in include/linux/inetdevice.h), and ARP traffic
//! never passes through `lo`. So the values are written to conf/all (and conf/default, for
//! interfaces created later), and every uplink is reported with all, its own value and the
//! effective one. A hand-made `net.ipv4.conf.lo.arp_ignore = 1` changes nothing on the wire.

use std::io;

use crate::host::{Files, paths};
use crate::knobs::sysctl;
use crate::knobs::{Entry, Item, Kind, Setting, Status};
use crate::sysctl::{SysctlKey, normalize};
use crate::types::IfName;

/// The two keys, in the order they are planned and written.
pub const KEYS: [&str; 2] = ["arp_ignore", "arp_announce"];

/// What one ARP key reads as on this host (read-only observation).
#[derive(Debug)]
pub struct Observed {
    pub name: &'static str,
    pub all: io::Result<String>,
    pub default: io::Result<String>,
    /// Each uplink's own value; an error when the interface list itself could not be read.
    pub uplinks: io::Result<Vec<(IfName, io::Result<String>)>>,
}

/// Interfaces ARP requests can arrive on: every interface under `/sys/class/net` except `lo`
/// that has IPv4 configuration (`/proc/sys/net/ipv4/conf/IFACE`). Entries that are not
/// interface names (`bonding_masters`) have no IPv4 configuration and drop out.
pub fn uplinks(fs: &dyn Files) -> io::Result<Vec<IfName>> {
    let mut out = Vec::new();
    for name in fs.read_dir(&paths::net_class())? {
        if name == "lo" {
            continue;
        }
        // A name that is not UTF-8 is left alone; the plan reports it once (knobs::raw_ifaces).
        let Some(Ok(iface)) = name.to_str().map(str::parse::<IfName>) else {
            continue;
        };
        let Ok(conf) = SysctlKey::from_segments(["net", "ipv4", "conf", iface.as_str()]) else {
            continue;
        };
        if fs.exists(&paths::sysctl(&conf)) {
            out.push(iface);
        }
    }
    Ok(out)
}

/// `net.ipv4.conf.IFACE.NAME`.
pub fn key(iface: &str, name: &str) -> SysctlKey {
    SysctlKey::conf("ipv4", iface, name)
}

/// Reads one key at conf/all, conf/default and on every uplink.
pub fn observe(fs: &dyn Files, name: &'static str, uplinks: &io::Result<Vec<IfName>>) -> Observed {
    let read = |iface: &str| sysctl::read(fs, &key(iface, name));
    let uplinks = match uplinks {
        Ok(list) => Ok(list.iter().map(|i| (i.clone(), read(i.as_str()))).collect()),
        Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
    };
    Observed {
        name,
        all: read("all"),
        default: read("default"),
        uplinks,
    }
}

/// A sysctl value as the small number these keys hold.
fn number(raw: &str) -> Option<u8> {
    normalize(raw).parse().ok()
}

fn why(err: &io::Error) -> String {
    if err.kind() == io::ErrorKind::NotFound {
        "no such key on this host (is IPv4 configured?)".into()
    } else {
        format!("cannot read: {err}")
    }
}

/// The conf/all or conf/default item: an ordinary sysctl comparison.
fn conf_item(name: &str, conf: &str, want: u8, live: &io::Result<String>) -> Entry {
    let object = format!("{name} {conf}");
    let k = key(conf, name);
    match live {
        Ok(raw) => {
            let status = Status::of(number(raw) == Some(want));
            let item = Item::new(Kind::Arp, object, want.to_string(), normalize(raw), status);
            Entry::new(
                item,
                Some(Setting::Sysctl {
                    key: k.clone(),
                    value: want.to_string(),
                }),
                Some(Setting::Sysctl {
                    key: k,
                    value: raw.clone(),
                }),
            )
        }
        Err(e) => Entry::new(
            Item::new(Kind::Arp, object, want.to_string(), "-", Status::Error).note(why(e)),
            None,
            None,
        ),
    }
}

/// One uplink's item. Its status is judged on the value the kernel will use once this plan
/// has run: conf/all is written to `want` in the same plan, so the effective value will be
/// max(want, own). Only an own value above `want` (which max() can never bring down) needs a
/// write to conf/IFACE; any other difference is fixed by conf/all alone.
fn uplink_item(name: &str, want: u8, all: Option<u8>, iface: &IfName, own: &str) -> Entry {
    // `all` is the live conf/all (None when unreadable: that item is an error of its own).
    let object = format!("{name} {iface}");
    let Some(own_n) = number(own) else {
        let item = Item::new(
            Kind::Arp,
            object,
            want.to_string(),
            normalize(own),
            Status::Error,
        )
        .note(format!("conf/{iface}/{name} is not a number"));
        return Entry::new(item, None, None);
    };
    let all_text = all.map_or("?".to_string(), |a| a.to_string());
    let live_eff = all.map_or("?".to_string(), |a| a.max(own_n).to_string());
    let live = format!("all={all_text} {iface}={own_n} effective={live_eff}");
    let k = key(iface.as_str(), name);
    let live_setting = Setting::Sysctl {
        key: k.clone(),
        value: own.to_string(),
    };
    if own_n > want {
        let item =
            Item::new(Kind::Arp, object, want.to_string(), live, Status::Drift).note(format!(
                "conf/{iface} is {own_n}, above {want}: the kernel uses the larger of conf/all \
                 and conf/{iface}, so conf/{iface} is written too"
            ));
        let desired = Setting::Sysctl {
            key: k,
            value: want.to_string(),
        };
        return Entry::new(item, Some(desired), Some(live_setting));
    }
    let mut item = Item::new(Kind::Arp, object, want.to_string(), live, Status::Ok);
    if all.map(|a| a.max(own_n)) != Some(want) {
        item = item.note(format!("effective {want} once conf/all is written"));
    }
    Entry::new(item, None, Some(live_setting))
}

/// Compares one key (pure): conf/all, conf/default, then each uplink.
pub fn diff(obs: &Observed, want: u8) -> Vec<Entry> {
    let mut out = vec![
        conf_item(obs.name, "all", want, &obs.all),
        conf_item(obs.name, "default", want, &obs.default),
    ];
    let all_live = obs.all.as_ref().ok().and_then(|raw| number(raw));
    match &obs.uplinks {
        Ok(list) => {
            for (iface, own) in list {
                out.push(match own {
                    Ok(own) => uplink_item(obs.name, want, all_live, iface, own),
                    Err(e) => Entry::new(
                        Item::new(
                            Kind::Arp,
                            format!("{} {iface}", obs.name),
                            want.to_string(),
                            "-",
                            Status::Error,
                        )
                        .note(why(e)),
                        None,
                        None,
                    ),
                });
            }
        }
        Err(e) => out.push(Entry::new(
            Item::new(
                Kind::Arp,
                format!("{} uplinks", obs.name),
                want.to_string(),
                "-",
                Status::Error,
            )
            .note(format!("cannot list interfaces in /sys/class/net: {e}")),
            None,
            None,
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(all: &str, default: &str, uplinks: &[(&str, &str)]) -> Observed {
        Observed {
            name: "arp_ignore",
            all: Ok(format!("{all}\n")),
            default: Ok(format!("{default}\n")),
            uplinks: Ok(uplinks
                .iter()
                .map(|(i, v)| (i.parse().unwrap(), Ok(format!("{v}\n"))))
                .collect()),
        }
    }

    use super::super::test_rows::{row, rows as table};

    #[test]
    fn effective_value_decides_uplink_status() {
        // all=0, eth0=1: conf/all drifts; eth0 is already effective 1 and stays so.
        assert_eq!(
            table(&diff(&obs("0", "0", &[("eth0", "1")]), 1)),
            [
                row("arp_ignore all", "0", Status::Drift, true),
                row("arp_ignore default", "0", Status::Drift, true),
                row(
                    "arp_ignore eth0",
                    "all=0 eth0=1 effective=1",
                    Status::Ok,
                    false
                ),
            ]
        );
        // all=2, eth0=0: writing conf/all brings eth0 to effective 1 without touching it.
        let d = diff(&obs("2", "1", &[("eth0", "0")]), 1);
        assert_eq!(
            table(&d),
            [
                row("arp_ignore all", "2", Status::Drift, true),
                row("arp_ignore default", "1", Status::Ok, false),
                row(
                    "arp_ignore eth0",
                    "all=2 eth0=0 effective=2",
                    Status::Ok,
                    false
                ),
            ]
        );
        assert_eq!(
            d[2].item.note.as_deref(),
            Some("effective 1 once conf/all is written")
        );
    }

    #[test]
    fn an_interface_above_the_desired_value_is_written() {
        let d = diff(&obs("1", "1", &[("eth0", "3"), ("eth0.100", "1")]), 1);
        assert_eq!(
            table(&d),
            [
                row("arp_ignore all", "1", Status::Ok, false),
                row("arp_ignore default", "1", Status::Ok, false),
                row(
                    "arp_ignore eth0",
                    "all=1 eth0=3 effective=3",
                    Status::Drift,
                    true
                ),
                row(
                    "arp_ignore eth0.100",
                    "all=1 eth0.100=1 effective=1",
                    Status::Ok,
                    false
                ),
            ]
        );
        let (to, from) = d[2].change().unwrap();
        assert_eq!(
            (to.address(), from.address()),
            (
                "sysctl net.ipv4.conf.eth0.arp_ignore".to_string(),
                "sysctl net.ipv4.conf.eth0.arp_ignore".to_string()
            )
        );
        // A VLAN interface's key keeps its dot inside one segment.
        let Some(Setting::Sysctl { key, .. }) = &d[3].live else {
            panic!("no live setting")
        };
        assert_eq!(key.segments()[3], "eth0.100");
    }

    #[test]
    fn unreadable_values_are_errors() {
        let mut o = obs("x", "1", &[("eth0", "zz")]);
        o.all = Err(io::ErrorKind::NotFound.into());
        let d = diff(&o, 1);
        let st: Vec<Status> = d.iter().map(|e| e.item.status).collect();
        assert_eq!(st, [Status::Error, Status::Ok, Status::Error]);
        o.uplinks = Err(io::ErrorKind::PermissionDenied.into());
        let d = diff(&o, 1);
        assert_eq!(d[2].item.object, "arp_ignore uplinks");
        assert_eq!(d[2].item.status, Status::Error);
    }
}
