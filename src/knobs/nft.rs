//! hosttune's nftables tables as settings: one `hosttune_*` table, whole, read through the
//! [`crate::host::nft`] seam. A live table is hosttune's when its shape (chain declarations
//! and rule comments) is the rendered one; a snapshot keeps any other table's text, so that a
//! rollback loads it back exactly.

use crate::host::Host;
use crate::host::nft::{self, NftFamily, NftTable, TableDef};
use crate::knobs::{Entry, Item, Kind, KnobError, Setting, Status};

/// The setting of table `family name` holding `t`, or absent.
pub fn setting(family: NftFamily, name: &str, t: Option<NftTable>) -> Setting {
    let (contents, shape) = match t {
        Some(t) => (Some(t.text), t.shape),
        None => (None, Vec::new()),
    };
    Setting::NftTable {
        family,
        name: name.to_string(),
        contents,
        shape,
    }
}

/// Plans table `def` (or, with `want` false, its absence) against the live table.
pub fn plan(host: &Host, def: &TableDef, want: bool) -> Entry {
    let object = def.object();
    let desired = setting(def.family, &def.name, want.then(|| def.table()));
    let shown = describe_value(&desired);
    match host.nft.get(def.family, &def.name) {
        Err(e) => {
            let status = if KnobError::from(e.clone()).is_unsupported() {
                Status::Unsupported
            } else {
                Status::Error
            };
            Entry::new(
                Item::new(Kind::Nft, object, shown, "-", status).note(e.to_string()),
                None,
                None,
            )
        }
        Ok(live) => {
            let drift = live.as_ref().is_some_and(|l| l.shape != def.shape());
            let live = setting(def.family, &def.name, live);
            let status = Status::of(desired.same_value(&live));
            let mut item = Item::new(Kind::Nft, object, shown, describe_value(&live), status);
            if want && drift {
                item = item.note("the table holds other rules than hosttune's; replaced whole");
            }
            Entry::new(item, Some(desired), Some(live))
        }
    }
}

/// `absent`, or the number of chains and rules and a short digest of the shape, so that two
/// tables with as many rules still show apart.
fn describe_value(s: &Setting) -> String {
    let Setting::NftTable {
        contents, shape, ..
    } = s
    else {
        unreachable!()
    };
    if contents.is_none() {
        return "absent".into();
    }
    let count = |p: &str| shape.iter().filter(|l| l.starts_with(p)).count();
    let digest = crate::sha256::hex(shape.join("\n").as_bytes());
    format!(
        "{} chains, {} rules ({})",
        count("chain "),
        count("rule "),
        &digest[..8]
    )
}

/// Loads or deletes a table. Equivalent to `nft -f FILE` or `nft delete table F N`.
pub fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
    let Setting::NftTable {
        family,
        name,
        contents,
        shape,
    } = s
    else {
        unreachable!("nft::write of {s:?}")
    };
    match contents {
        Some(text) => host.nft.load(
            *family,
            name,
            &NftTable {
                text: text.clone(),
                shape: shape.clone(),
            },
        )?,
        None => host.nft.delete(*family, name)?,
    }
    Ok(())
}

/// Reads the live table. Equivalent to `nft -j list table F N`.
pub fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
    let Setting::NftTable { family, name, .. } = at else {
        unreachable!("nft::read of {at:?}")
    };
    Ok(setting(*family, name, host.nft.get(*family, name)?))
}

/// hosttune's nftables tables in snapshots.
pub struct NftTableOps;

impl crate::knobs::SettingOps for NftTableOps {
    fn address(s: &Setting) -> String {
        let Setting::NftTable { family, name, .. } = s else {
            unreachable!()
        };
        format!("nft table {family} {name}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::NftTable { family, name, .. } = s else {
            unreachable!()
        };
        (Kind::Nft, format!("{family} {name}"), describe_value(s))
    }
    /// Present or not, and when present the same shape: nft prints a table in its own
    /// layout, so the texts differ where the rules do not.
    fn same(a: &Setting, b: &Setting) -> bool {
        match (a, b) {
            (
                Setting::NftTable {
                    family: f1,
                    name: n1,
                    contents: c1,
                    shape: s1,
                },
                Setting::NftTable {
                    family: f2,
                    name: n2,
                    contents: c2,
                    shape: s2,
                },
            ) => f1 == f2 && n1 == n2 && c1.is_some() == c2.is_some() && s1 == s2,
            _ => false,
        }
    }
    /// Only tables named `hosttune_*`, and a text that defines that table and nothing else.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::NftTable {
            family,
            name,
            contents,
            ..
        } = s
        else {
            unreachable!()
        };
        let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name.starts_with(nft::PREFIX) || !plain || name.len() > 64 {
            return Err(format!(
                "nft table {family} {name:?} is not one of hosttune's (hosttune_ and letters, \
                 digits or _), the only tables hosttune writes"
            ));
        }
        if let Some(text) = contents {
            nft::check_text(*family, name, text)
                .map_err(|why| format!("nft table {family} {name}: {why}"))?;
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
    use crate::host::RootFs;
    use crate::host::nft::{ChainDef, Hook, PRIORITY_RAW};
    use crate::testing::fake_nft::FakeNft;

    fn def() -> TableDef {
        TableDef {
            family: NftFamily::Inet,
            name: "hosttune_t".into(),
            chains: vec![ChainDef {
                name: "prerouting".into(),
                hook: Some(Hook {
                    kind: "filter".into(),
                    hook: "prerouting".into(),
                    priority: PRIORITY_RAW,
                    policy: "accept".into(),
                }),
                rules: vec!["udp dport 6080 notrack".into()],
            }],
        }
    }

    #[test]
    fn a_table_plans_as_drift_until_loaded_then_ok_and_a_hand_edit_is_drift() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RootFs::new(dir.path());
        let fake = FakeNft::new();
        let host = Host {
            nft: &fake,
            ..Host::offline(&fs)
        };
        let e = plan(&host, &def(), true);
        assert_eq!(e.item.status, Status::Drift);
        assert_eq!(e.item.live, "absent");
        let (want, _) = e.change().unwrap();
        want.write(&host).unwrap();
        let e = plan(&host, &def(), true);
        assert_eq!(e.item.status, Status::Ok, "{:?}", e.item);
        assert_eq!(e.item.desired, e.item.live);
        fake.add_rule(NftFamily::Inet, "hosttune_t", "prerouting", "tcp dport 22");
        let e = plan(&host, &def(), true);
        assert_eq!(e.item.status, Status::Drift);
        assert!(e.item.note.as_deref().unwrap().contains("other rules"));
        let recorded = e.live.clone().unwrap();
        // The recorded table loads back as it was: same shape, and the same text.
        e.desired.as_ref().unwrap().write(&host).unwrap();
        recorded.write(&host).unwrap();
        assert!(recorded.same_value(&recorded.read(&host).unwrap()));
        assert!(plan(&host, &def(), false).change().is_some());
        setting(NftFamily::Inet, "hosttune_t", None)
            .write(&host)
            .unwrap();
        assert!(fake.table(NftFamily::Inet, "hosttune_t").is_none());
    }

    #[test]
    fn without_nft_the_item_is_an_error_naming_the_package_and_offline_is_unsupported() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RootFs::new(dir.path());
        let fake = FakeNft::missing();
        let host = Host {
            nft: &fake,
            ..Host::offline(&fs)
        };
        let e = plan(&host, &def(), true);
        assert_eq!(e.item.status, Status::Error);
        assert!(e.item.note.unwrap().contains("apt install nftables"));
        let e = plan(&Host::offline(&fs), &def(), true);
        assert_eq!(e.item.status, Status::Unsupported);
    }

    #[test]
    fn only_hosttune_tables_pass_validation() {
        let ok = setting(NftFamily::Inet, "hosttune_t", Some(def().table()));
        ok.validate().unwrap();
        setting(NftFamily::Ip6, "hosttune_x", None)
            .validate()
            .unwrap();
        let other = setting(NftFamily::Inet, "filter", None);
        assert!(other.validate().is_err());
        let sneaky = Setting::NftTable {
            family: NftFamily::Inet,
            name: "hosttune_t".into(),
            contents: Some("table inet hosttune_t { }\nflush ruleset\n".into()),
            shape: vec![],
        };
        assert!(sneaky.validate().is_err());
        let v = serde_json::to_value(&ok).unwrap();
        assert_eq!(v["kind"], "nft_table");
        assert_eq!(v["family"], "inet");
        assert_eq!(serde_json::from_value::<Setting>(v).unwrap(), ok);
    }
}
