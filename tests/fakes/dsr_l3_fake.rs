//! L3 DSR (`[dsr] encap`) through the library with the fake link and address seams and a
//! temp-dir tree: plan order and statuses, apply, a second plan in sync, rollback, an
//! injected failure at each new kind of step undone, and a kernel without the module.

use hosttune::host::{FouFamily, FouKind, FouPort, LinkOps};
use hosttune::plan::Status;
use hosttune::snapshot::Origin;
use hosttune::testing::fake_links::{FakeLinks, LinkOp};
use nix::errno::Errno;

use super::dsr_rig::{Case, r, rows};

const IPIP: &str = "description = \"rs\"\n[dsr]\nvips = [\"10.77.0.100\"]\nencap = \"ipip\"\n";

const GUE: &str = "description = \"rs\"\n[dsr]\nvips = [\"10.77.0.100\"]\nencap = \"gue\"\n\
                   gue_port = 6080\ndecap_device = \"ipip0\"\nvips_on = \"tunnel\"\n";

#[test]
fn ipip_on_the_fallback_device_applies_holds_and_rolls_back() {
    let c = Case::new(FakeLinks::new(), "1");
    let before = c.files();
    let plan = c.plan(IPIP);
    assert_eq!(
        rows(&plan),
        [
            r("tunl0 (ipip fallback)", Status::Drift),
            r("rp_filter default", Status::Drift),
            r("rp_filter lo", Status::Drift),
            r("rp_filter eth0", Status::Drift),
            r("rp_filter all", Status::Drift),
            r("rp_filter tunl0", Status::Drift),
            r("10.77.0.100/32 on lo", Status::Drift),
        ]
    );
    assert!(c.links.loaded().is_empty(), "planning loaded a module");
    let o = c.run(&plan, Origin::Apply);
    assert!(o.failure.is_none(), "{:?}", o.failure);
    assert!(c.links.link("tunl0").unwrap().up);
    assert_eq!(c.links.loaded(), ["ipip"]);
    // conf/all off, every other interface kept at its effective strict value, tunl0 off.
    let rp = |conf: &str| {
        let p = c
            .root()
            .join("proc/sys/net/ipv4/conf")
            .join(conf)
            .join("rp_filter");
        std::fs::read_to_string(p).unwrap()
    };
    let now: Vec<String> = ["all", "default", "lo", "eth0", "tunl0"].map(rp).to_vec();
    assert_eq!(now, ["0\n", "1\n", "1\n", "1\n", "0\n"]);
    assert_eq!(
        c.addrs.addrs("lo"),
        ["127.0.0.1/8", "::1/128", "10.77.0.100/32"]
    );
    assert!(
        c.plan(IPIP).changes().next().is_none(),
        "second plan has changes"
    );

    let o = c.rollback();
    assert!(o.failure.is_none(), "{:?}", o.failure);
    assert_eq!(c.files(), before);
    assert_eq!(c.addrs.addrs("lo"), ["127.0.0.1/8", "::1/128"]);
    // The module stays loaded and its fallback device with it, down as it came.
    assert!(!c.links.link("tunl0").unwrap().up);
}

#[test]
fn gue_on_an_external_device_with_the_vips_on_it() {
    let c = Case::new(FakeLinks::new(), "1");
    let before = c.files();
    let plan = c.plan(GUE);
    assert_eq!(
        rows(&plan),
        [
            r("ipip0 (ipip external)", Status::Drift),
            r("port 6080 gue", Status::Drift),
            r("rp_filter ipip0", Status::Drift),
            r("10.77.0.100/32 on ipip0", Status::Drift),
        ]
    );
    let o = c.run(&plan, Origin::Apply);
    assert!(o.failure.is_none(), "{:?}", o.failure);
    let gue = FouPort {
        port: 6080,
        family: FouFamily::V4,
        kind: FouKind::Gue,
    };
    assert_eq!(c.links.fou_list().unwrap(), [gue]);
    assert!(c.links.link("ipip0").unwrap().tunnel.unwrap().external);
    assert_eq!(c.addrs.addrs("ipip0"), ["10.77.0.100/32"]);
    assert!(c.plan(GUE).changes().next().is_none());
    let o = c.rollback();
    assert!(o.failure.is_none(), "{:?}", o.failure);
    assert!(
        c.links.link("ipip0").is_none(),
        "the device hosttune made is deleted"
    );
    assert!(c.links.fou_list().unwrap().is_empty());
    assert_eq!(c.files(), before);
}

#[test]
fn a_failure_at_each_new_step_undoes_the_steps_before_it() {
    for (op, object) in [
        (LinkOp::Create, "ipip0 (ipip external)"),
        (LinkOp::Set, "ipip0 (ipip external)"),
        (LinkOp::FouAdd, "port 6080 gue"),
    ] {
        let c = Case::new(FakeLinks::new(), "1");
        let before = c.files();
        let plan = c.plan(GUE);
        c.links.fail_next(op, Errno::EPERM);
        let o = c.run(&plan, Origin::Apply);
        let f = o.failure.expect("the step must fail");
        assert_eq!(f.item().unwrap().object, object, "{op:?}");
        assert!(f.undo_errors().is_empty(), "{op:?}: {:?}", f.undo_errors());
        assert_eq!(c.files(), before, "{op:?}");
        assert!(c.links.link("ipip0").is_none(), "{op:?}: ipip0 left behind");
        assert!(
            c.links.fou_list().unwrap().is_empty(),
            "{op:?}: port left open"
        );
        assert!(c.addrs.addrs("ipip0").is_empty());
    }
    // A failed VIP add after the device, port and rp_filter: all three undone.
    let c = Case::new(FakeLinks::new(), "1");
    let before = c.files();
    let plan = c.plan(GUE);
    c.addrs
        .fail_next(hosttune::testing::fake_addrs::AddrOp::Add, Errno::EPERM);
    let o = c.run(&plan, Origin::Apply);
    assert_eq!(
        o.failure.unwrap().item().unwrap().object,
        "10.77.0.100/32 on ipip0"
    );
    assert_eq!(c.files(), before);
    assert!(c.links.link("ipip0").is_none());
    assert!(c.links.fou_list().unwrap().is_empty());
}

#[test]
fn a_kernel_without_the_module_is_a_plan_error_and_nothing_is_written() {
    let c = Case::new(FakeLinks::new().without_module("ipip"), "1");
    let plan = c.plan(IPIP);
    let errors: Vec<&str> = plan.errors().map(|i| i.object.as_str()).collect();
    assert_eq!(errors, ["tunl0 (ipip fallback)"]);
    let note = plan.errors().next().unwrap().note.clone().unwrap();
    assert!(
        note.starts_with("module ipip is not available for kernel"),
        "{note}"
    );
    let before = c.files();
    assert!(hosttune::apply::run(&c.host(), &c.store, &plan, Origin::Apply, "t").is_err());
    assert_eq!(c.files(), before);
    let c = Case::new(FakeLinks::new().without_module("fou"), "1");
    let plan = c.plan(GUE);
    let errors: Vec<&str> = plan.errors().map(|i| i.object.as_str()).collect();
    assert_eq!(errors, ["port 6080 gue"]);
}
