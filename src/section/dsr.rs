//! `[dsr]` as a section: field by field the child wins, per-interface ARP keys in `[sysctl]`
//! are checked against it once parents are merged, and it applies after `[sysctl]`, whose
//! values (`disable_ipv6`) it judges its VIPs by.

use serde::{Serialize, Serializer};
use toml::Spanned;

use super::{Profile, Run, Section};
use crate::knobs::Entry;
use crate::knobs::cx::PlanCx;
use crate::types::IfName;
use crate::knobs::dsr::{self, DsrSection, iface_conflicts};
use crate::schema::{Locator, ProfileError};

/// The `[dsr]` section.
pub struct Dsr;

impl Section for Dsr {
    const TABLE: &'static str = "dsr";
    const AFTER: &'static [&'static str] = &["sysctl"];
    const IFACES: bool = true;
    type Raw = Spanned<DsrSection>;
    type Value = DsrSection;

    fn validate(raw: Self::Raw, loc: &Locator, errs: &mut Vec<ProfileError>) -> DsrSection {
        DsrSection::validate(raw, loc, errs)
    }

    fn merge(parent: DsrSection, child: DsrSection) -> DsrSection {
        parent.merge(child)
    }

    /// A per-interface ARP key in `[sysctl]`, which may come from another file.
    fn check(v: &DsrSection, p: &Profile, errs: &mut Vec<ProfileError>) {
        errs.extend(iface_conflicts(v, &p.sysctl));
        errs.extend(v.check_encap());
        errs.extend(dsr::decap_rp_conflicts(v, &p.sysctl));
    }

    fn show<S: Serializer>(v: &DsrSection, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    /// The decapsulation device, which L3 DSR creates (or its module brings) in this apply.
    fn creates(v: &DsrSection, _: &PlanCx) -> Vec<IfName> {
        v.decap().map(|d| d.iface).into_iter().collect()
    }

    fn plan(v: &DsrSection, run: &mut Run) -> Vec<Entry> {
        let entries = dsr::plan(v, &run.profile.sysctl, &run.cx.host);
        run.raw.arp(&run.cx);
        entries
    }

    fn get(p: &Profile) -> Option<&DsrSection> {
        p.dsr.as_ref()
    }

    fn put(p: &mut Profile, v: Option<DsrSection>) {
        p.dsr = v;
    }

    fn take(p: &mut Profile) -> Option<DsrSection> {
        p.dsr.take()
    }
}

#[cfg(test)]
mod encap_tests {
    /// Every L3 DSR mistake is a load error naming the file, line and field.
    #[test]
    fn encap_fields_are_checked_together_with_their_lines() {
        let err = |body: &str| {
            let text = format!("description = \"x\"\n[dsr]\n{body}");
            crate::profile::parse_str("rs.toml", &text)
                .unwrap_err()
                .to_string()
        };
        for (body, want) in [
            (
                "gue_port = 6080\n",
                "rs.toml:3:12: [dsr] gue_port is for L3 DSR",
            ),
            ("mss = 1400\n", "rs.toml:3:7: [dsr] mss is for L3 DSR"),
            (
                "encap = \"gue\"\n",
                "rs.toml:3:9: encap = \"gue\" needs gue_port",
            ),
            (
                "encap = \"ipip\"\ngue_port = 1\n",
                "rs.toml:4:12: gue_port is for encap = \"gue\", not \"ipip\"",
            ),
            (
                "encap = \"gue\"\ngue_port = 0\n",
                "rs.toml:4:12: gue_port must be 1 to 65535",
            ),
            (
                "encap = \"ipip\"\nvips = [\"10.0.0.1\", \"2001:db8::1\"]\n",
                "rs.toml:4:21: VIP 2001:db8::1/128: encap = \"ipip\" carries IPv4 VIPs only",
            ),
            (
                "encap = \"ip6ip6\"\ndecap_device = \"ip6tnl1\"\nrp_filter = 2\n",
                "rs.toml:5:13: rp_filter is IPv4's",
            ),
            (
                "encap = \"ipip\"\ndecap_device = \"ip6tnl0\"\n",
                "rs.toml:4:16: decap_device \"ip6tnl0\" cannot decapsulate ipip",
            ),
            (
                "encap = \"ipip\"\nrp_filter = 1\n",
                "rp_filter = 1 (strict) drops",
            ),
            ("encap = \"gre\"\n", "unknown variant `gre`"),
            (
                "encap = \"ipip\"\nmss = 20\n",
                "mss must be between 536 and 65495",
            ),
            ("encap = \"ipip\"\ndecap_device = \"a/b\"\n", "rs.toml:4"),
        ] {
            let e = err(body);
            assert!(e.contains(want), "{body:?}: {e}");
        }
        // A [sysctl] key for the device's rp_filter that [dsr] would overwrite.
        let e = err("encap = \"ipip\"\n[sysctl]\n\"net.ipv4.conf.tunl0.rp_filter\" = 2\n");
        assert!(
            e.contains("rs.toml:5:1: [sysctl] net.ipv4.conf.tunl0.rp_filter = 2 conflicts with [dsr] encap, which sets 0"),
            "{e}"
        );
        let fine = "description = \"x\"\n[dsr]\nencap = \"ipip\"\n[sysctl]\n\"net.ipv4.conf.tunl0.rp_filter\" = 0\n";
        assert!(crate::profile::parse_str("rs.toml", fine).is_ok());
        let ok = "description = \"x\"\n[dsr]\nencap = \"gue\"\ngue_port = 6080\nvips = [\"10.0.0.1\"]\nmss = \"auto\"\nvips_on = \"tunnel\"\n";
        let p = crate::profile::parse_str("rs.toml", ok).unwrap();
        assert_eq!(p.dsr.unwrap().decap().unwrap().iface.as_str(), "tunl0");
    }
}
