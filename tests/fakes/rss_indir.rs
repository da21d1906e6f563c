//! `rss_indir` against `FakeNic`: a channel change re-plans the table in the same apply, the
//! audit is then in sync, a second apply writes nothing and rollback restores the table and
//! channels exactly; a table that would leave RX queues without flows stops the apply before
//! any write.

use crate::nic_rig::{Rig, item};

use hosttune::apply::ApplyError;
use hosttune::host::{NicCmd, NicValue, RssIndir};
use hosttune::plan::{Kind, Status};
use hosttune::testing::fake_nic::{Driver, FakeNic, SetRequest};

/// A 16-entry table pinned to queues 0-3 in blocks (`ethtool -X eth0 weight 1 1 1 1`).
fn blocks() -> Vec<u32> {
    (0..16).map(|i| i / 4).collect()
}

/// An mlx5 with 4 of its 16 combined channels and `table`.
fn rig(table: Vec<u32>) -> Rig {
    let nic = FakeNic::new()
        .with_iface(
            "eth0",
            Driver::Mlx5 {
                ring_max: 8192,
                queues: 16,
            },
        )
        .with_channels("eth0", 0, 0, 4)
        .with_value("eth0", NicValue::RssIndir(RssIndir(table)));
    Rig::new(nic, &["eth0"])
}

fn table(rig: &Rig) -> Vec<u32> {
    match rig.nic.value_of("eth0", NicCmd::RssIndir) {
        Some(NicValue::RssIndir(t)) => t.0,
        other => panic!("no table: {other:?}"),
    }
}

const EQUAL_8: &str = "[[nic]]\nchannels = { combined = 8 }\nrss_indir = \"equal\"\n";

#[test]
fn a_channel_change_re_plans_the_table_and_rollback_restores_it() {
    let rig = rig(blocks());
    let plan = rig.plan(EQUAL_8);
    let rss = item(&plan, Kind::RssIndir, "eth0");
    assert_eq!(
        (rss.desired.as_str(), rss.status),
        ("equal 4", Status::Drift)
    );
    assert_eq!(rss.live, "0*4 1*4 2*4 3*4");

    let o = rig.apply(&plan).unwrap();
    assert!(o.failure.is_none(), "{o:?}");
    assert_eq!(rig.nic.channels_of("eth0").unwrap().combined, 8);
    // Planned again after the channels: all 8 queues, written as a reset to the default.
    assert_eq!(table(&rig), RssIndir::equal(16, 8).0);
    let sets: Vec<SetRequest> = rig.nic.set_calls().into_iter().map(|c| c.request).collect();
    assert!(
        matches!(sets[0], SetRequest::Channels(c) if c.combined == 8),
        "{sets:?}"
    );
    assert_eq!(
        sets[1..],
        [SetRequest::Other(NicValue::RssIndir(RssIndir(vec![])))]
    );

    let audit = rig.plan(EQUAL_8);
    assert!(audit.items().all(|i| i.status == Status::Ok), "{audit:#?}");
    assert_eq!(item(&audit, Kind::RssIndir, "eth0").live, "equal 8");
    let writes = rig.nic.set_count();
    let o = rig.apply(&audit).unwrap();
    assert!(o.done.is_empty(), "{o:?}");
    assert_eq!(rig.nic.set_count(), writes, "a second apply wrote");

    let o = rig.rollback();
    assert!(o.failure.is_none(), "{o:?}");
    assert_eq!(rig.nic.channels_of("eth0").unwrap().combined, 4);
    assert_eq!(
        table(&rig),
        blocks(),
        "the pinned table is written back as it was"
    );
}

#[test]
fn a_table_leaving_queues_idle_is_refused_before_any_write() {
    // (profile, initial table, what the error names)
    let rows = [
        (
            "[[nic]]\nchannels = { combined = 8 }\nrss_indir = { equal = 4 }\n",
            RssIndir::equal(16, 4).0,
            "leaves RX queues 4-7 of eth0's 8",
        ),
        // An earlier `ethtool -X` pinned the table; the rule only raises channels.
        (
            "[[nic]]\nchannels = { combined = 8 }\n",
            blocks(),
            "covers queues 0-3",
        ),
    ];
    for (profile, start, why) in rows {
        let rig = rig(start.clone());
        let plan = rig.plan(profile);
        let rss = item(&plan, Kind::RssIndir, "eth0");
        assert_eq!(rss.status, Status::Error, "{profile}");
        let note = rss.note.as_deref().unwrap_or_default();
        assert!(note.contains(why) && note.contains("rss_indir"), "{note}");
        assert!(matches!(rig.apply(&plan), Err(ApplyError::Plan(_))));
        assert_eq!(rig.nic.set_count(), 0, "{profile}: wrote before refusing");
        assert_eq!(table(&rig), start);
    }
    // Opting out, per NIC: the same plans go through.
    for profile in [
        "[[nic]]\nchannels = { combined = 8 }\nrss_indir = { equal = 4, lint = false }\n",
        "[[nic]]\nchannels = { combined = 8 }\nrss_indir = \"keep\"\n",
    ] {
        let rig = rig(blocks());
        let plan = rig.plan(profile);
        assert!(plan.items().all(|i| i.status != Status::Error), "{plan:#?}");
        rig.apply(&plan).unwrap();
        assert_eq!(rig.nic.channels_of("eth0").unwrap().combined, 8);
    }
}

#[test]
fn a_default_table_under_a_channel_change_is_audited_not_refused() {
    let rig = rig(RssIndir::equal(16, 4).0);
    let plan = rig.plan("[[nic]]\nchannels = { combined = 2 }\n");
    let rss = item(&plan, Kind::RssIndir, "eth0");
    assert_eq!((rss.desired.as_str(), rss.live.as_str()), ("-", "equal 4"));
    assert_eq!(rss.status, Status::Ok);
    // The fake, like virtio-net on 6.1, keeps the table across the cut: the audit after it
    // names the stale queues and stays in sync.
    rig.apply(&plan).unwrap();
    let audit = rig.plan("[[nic]]\nchannels = { combined = 2 }\n");
    let rss = item(&audit, Kind::RssIndir, "eth0");
    assert_eq!(rss.status, Status::Ok, "{rss:?}");
    assert!(
        rss.note
            .as_deref()
            .unwrap()
            .contains("queues 2-3, which eth0 does not have")
    );
    // Pinned past the new count: the kernel would refuse the channel cut.
    let rig = rig_pinned_over(8);
    let plan = rig.plan("[[nic]]\nchannels = { combined = 4 }\nrss_indir = \"equal\"\n");
    let rss = item(&plan, Kind::RssIndir, "eth0");
    assert_eq!(rss.status, Status::Error);
    assert!(
        rss.note
            .as_deref()
            .unwrap()
            .contains("ethtool -X eth0 default")
    );
    assert!(rig.apply(&plan).is_err());
    assert_eq!(rig.nic.set_count(), 0);
}

/// 8 channels and a table pinned over them in blocks.
fn rig_pinned_over(n: u32) -> Rig {
    let nic = FakeNic::new()
        .with_iface(
            "eth0",
            Driver::Mlx5 {
                ring_max: 8192,
                queues: 16,
            },
        )
        .with_channels("eth0", 0, 0, n)
        .with_value(
            "eth0",
            NicValue::RssIndir(RssIndir((0..16).map(|i| i * n / 16).collect())),
        );
    Rig::new(nic, &["eth0"])
}

/// Found in review: channels raised and a non-default table written over the new queues;
/// rollback restores the channels first, and the kernel refuses to cut queues a configured
/// table still uses. The channel restore resets the table to the default spread first, and
/// the recorded table comes back after the channels.
#[test]
fn rollback_cuts_channels_under_a_table_the_apply_pinned() {
    let before = RssIndir::equal(16, 4).0;
    let rig = rig(before.clone());
    let prof = "[[nic]]\nchannels = { combined = 8 }\n\
                rss_indir = { weights = [1, 1, 1, 1, 1, 1, 1, 9] }\n";
    let plan = rig.plan(prof);
    let o = rig.apply(&plan).unwrap();
    assert!(o.failure.is_none(), "{o:?}");
    assert_eq!(rig.nic.channels_of("eth0").unwrap().combined, 8);
    let pinned = table(&rig);
    assert!(
        pinned.contains(&7) && pinned != RssIndir::equal(16, 8).0,
        "{pinned:?}"
    );

    // The kernel (and the fake) refuse the cut under that table.
    let mut cut = rig.nic.channels_of("eth0").unwrap();
    cut.combined = 4;
    assert!(
        hosttune::host::NicOps::set(&rig.nic, &"eth0".parse().unwrap(), &NicValue::Channels(cut))
            .is_err()
    );

    let o = rig.rollback();
    assert!(o.failure.is_none(), "{o:?}");
    assert_eq!(rig.nic.channels_of("eth0").unwrap().combined, 4);
    assert_eq!(table(&rig), before);
}
