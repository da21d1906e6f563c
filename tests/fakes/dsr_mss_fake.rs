//! `[dsr] mss` through the library with the fake link, address and nft seams and a temp-dir
//! tree: the table planned before the VIPs with the computation in its note, apply, a second
//! plan in sync, rollback removing the table, a failed load undoing the steps before it, and
//! no table touched when `mss` is not set.

use hosttune::plan::Status;
use hosttune::snapshot::Origin;
use hosttune::testing::fake_links::FakeLinks;

use super::dsr_rig::{Case, r, rows};

const AUTO: &str = "description = \"rs\"\n[dsr]\nvips = [\"10.77.0.100\"]\nencap = \"ipip\"\n\
                    mss = \"auto\"\n";

#[test]
fn auto_applies_holds_and_rolls_back() {
    let c = Case::new(FakeLinks::new(), "0");
    let before = c.files();
    let plan = c.plan(AUTO);
    assert_eq!(
        rows(&plan),
        [
            r("tunl0 (ipip fallback)", Status::Drift),
            // conf/all is 0 here: nothing to raise or lower; the device made in this apply
            // is written explicitly.
            r("rp_filter default", Status::Ok),
            r("rp_filter lo", Status::Ok),
            r("rp_filter eth0", Status::Ok),
            r("rp_filter all", Status::Ok),
            r("rp_filter tunl0", Status::Drift),
            r("inet hosttune_mss", Status::Drift),
            r("10.77.0.100/32 on lo", Status::Drift),
        ]
    );
    let item = plan
        .items()
        .find(|i| i.object == "inet hosttune_mss")
        .unwrap();
    assert_eq!(
        item.note.as_deref(),
        Some("mss auto: 1500 (eth0) - 20 (ipip) - 40 = 1440")
    );
    let o = c.run(&plan, Origin::Apply);
    assert!(o.failure.is_none(), "{:?}", o.failure);
    let text = c.table().expect("the table is loaded");
    assert!(
        text.contains(
            "ip saddr 10.77.0.100 tcp flags & (syn | ack) == syn | ack tcp option maxseg size \
             > 1440 tcp option maxseg size set 1440"
        ),
        "{text}"
    );
    assert!(
        c.plan(AUTO).changes().next().is_none(),
        "second plan has changes"
    );

    let o = c.rollback();
    assert!(o.failure.is_none(), "{:?}", o.failure);
    assert_eq!(c.table(), None, "rollback removes the table");
    assert_eq!(c.files(), before);
    assert_eq!(c.addrs.addrs("lo"), ["127.0.0.1/8", "::1/128"]);
}

#[test]
fn a_failed_load_undoes_the_device_and_rp_filter_and_adds_no_vip() {
    let c = Case::new(FakeLinks::new(), "0");
    let before = c.files();
    let plan = c.plan(AUTO);
    c.nft.fail_next_write("Error: Could not process rule");
    let o = c.run(&plan, Origin::Apply);
    let f = o.failure.expect("the load must fail");
    assert_eq!(f.item().unwrap().object, "inet hosttune_mss");
    assert!(f.undo_errors().is_empty(), "{:?}", f.undo_errors());
    assert_eq!(c.files(), before);
    assert!(!c.links.link("tunl0").unwrap().up, "tunl0 left up");
    assert_eq!(c.addrs.addrs("lo"), ["127.0.0.1/8", "::1/128"]);
    assert_eq!(c.table(), None);
}

#[test]
fn without_mss_no_table_is_touched_and_without_a_route_auto_names_a_number() {
    let c = Case::new(FakeLinks::new(), "0");
    let plan = c.plan("description = \"rs\"\n[dsr]\nvips = [\"10.77.0.100\"]\nencap = \"ipip\"\n");
    assert!(plan.items().all(|i| i.object != "inet hosttune_mss"));
    assert!(c.run(&plan, Origin::Apply).failure.is_none());
    assert!(c.nft.calls().is_empty(), "{:?}", c.nft.calls());

    let c = Case::new(FakeLinks::new(), "0");
    let text = AUTO
        .replace("encap = \"ipip\"", "encap = \"ip6ip6\"")
        .replace("10.77.0.100", "2001:db8::10");
    let plan = c.plan(&text);
    // (The tree has no IPv6 conf, so the VIP is an error too.)
    let mss = plan
        .errors()
        .find(|i| i.object == "inet hosttune_mss")
        .expect("auto without an IPv6 default route is an error");
    let note = mss.note.as_deref().unwrap();
    assert!(note.contains("set the MSS (mss = 1400"), "{note}");
}
