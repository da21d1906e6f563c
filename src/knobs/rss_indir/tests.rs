//! Table tests of the `rss_indir` diff and its check against the channels.

use super::*;

fn eth0() -> IfName {
    "eth0".parse().unwrap()
}

fn spec(form: Form, lint: bool) -> RssIndirSpec {
    RssIndirSpec { form, lint }
}

fn eq(size: usize, n: u32) -> Vec<u32> {
    RssIndir::equal(size, n).0
}

#[test]
fn diff_table() {
    let blocks = vec![0, 0, 1, 1, 2, 2, 3, 3];
    // (spec, live table, rings, desired, live, status)
    type Row<'a> = (Form, Vec<u32>, u32, &'a str, &'a str, Status);
    let rows: [Row; 7] = [
        (Form::Equal, eq(8, 4), 4, "equal 4", "equal 4", Status::Ok),
        (
            Form::Equal,
            blocks.clone(),
            4,
            "equal 4",
            "0*2 1*2 2*2 3*2",
            Status::Drift,
        ),
        (
            Form::Default,
            eq(8, 2),
            4,
            "equal 4",
            "equal 2",
            Status::Drift,
        ),
        (
            Form::EqualN(2),
            eq(8, 4),
            4,
            "equal 2",
            "equal 4",
            Status::Drift,
        ),
        (
            Form::Weights(vec![1, 1, 2, 0]),
            eq(8, 4),
            4,
            "0*2 1*2 2*4",
            "equal 4",
            Status::Drift,
        ),
        (
            Form::Weights(vec![3, 7]),
            eq(8, 4),
            4,
            "weight 3 7",
            "-",
            Status::Error,
        ),
        (Form::Keep, blocks, 4, "keep", "0*2 1*2 2*2 3*2", Status::Ok),
    ];
    for (form, live, rings, desired, shown, status) in rows {
        let o = Observed {
            table: Ok(RssIndir(live)),
            rings: Ok(rings),
        };
        let e = diff(&spec(form.clone(), true), &eth0(), o);
        let got = (e.item.desired.as_str(), e.item.live.as_str(), e.item.status);
        assert_eq!(got, (desired, shown, status), "{form:?}");
        assert_eq!(e.item.object, "eth0");
        // Only drift carries both settings, so only drift writes.
        assert_eq!(e.change().is_some(), status == Status::Drift, "{form:?}");
    }
    let unsupported = Observed {
        table: Err(NicError::unsupported(
            "ETHTOOL_GRXFHINDIR",
            &eth0(),
            "e1000e",
        )),
        rings: Ok(1),
    };
    let e = diff(&spec(Form::Equal, true), &eth0(), unsupported);
    assert_eq!(e.item.status, Status::Unsupported);
}

#[test]
fn check_table() {
    let blocks4 = vec![0, 0, 1, 1, 2, 2, 3, 3];
    let blocks8: Vec<u32> = (0..16).map(|i| i / 2).collect();
    let equal = Some(spec(Form::Equal, true));
    let equal4 = Some(spec(Form::EqualN(4), true));
    let equal4_off = Some(spec(Form::EqualN(4), false));
    let keep = Some(spec(Form::Keep, true));
    let zeros = Some(spec(Form::Weights(vec![1, 1, 1, 1, 0, 0, 0, 0]), true));
    let eq16 = eq(16, 4);
    let zeros_table = fill_weights(16, &[1, 1, 1, 1, 0, 0, 0, 0]).unwrap();
    // (spec, live, rings, channels leave, planned, error mentions, note mentions)
    type Row<'a> = (
        &'a Option<RssIndirSpec>,
        Vec<u32>,
        u32,
        Option<u32>,
        Option<&'a [u32]>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let rows: [Row; 14] = [
        // An equal spread the driver did not spread again after a cut: noted, never refused.
        (
            &None,
            eq(16, 4),
            2,
            None,
            None,
            None,
            Some("queues 2-3, which eth0"),
        ),
        (&None, eq(16, 4), 4, Some(2), None, None, None),
        // A default spread and more channels: the driver spreads it again; "equal" follows.
        (&None, eq(16, 4), 4, Some(8), None, None, None),
        (&equal, eq(16, 4), 4, Some(8), Some(&eq16), None, None),
        // A pinned table and more channels: queues 4-7 get nothing.
        (
            &None,
            blocks4.clone(),
            4,
            Some(8),
            None,
            Some("RX queues 4-7 of 8"),
            None,
        ),
        (&keep, blocks4.clone(), 4, Some(8), None, None, None),
        (
            &equal,
            blocks4.clone(),
            4,
            Some(8),
            Some(&eq(8, 4)),
            None,
            None,
        ),
        // equal 4 with 8 channels, unless lint = false; weights of 0 are on purpose.
        (
            &equal4,
            eq(16, 4),
            4,
            Some(8),
            Some(&eq16),
            Some("queues 4-7 of eth0's 8"),
            None,
        ),
        (&equal4_off, eq(16, 4), 4, Some(8), Some(&eq16), None, None),
        (
            &zeros,
            eq(16, 4),
            4,
            Some(8),
            Some(&zeros_table),
            None,
            None,
        ),
        // A pinned table under a channel cut: the kernel refuses the cut.
        (
            &equal,
            blocks8.clone(),
            8,
            Some(4),
            None,
            Some("ethtool -X eth0 default"),
            None,
        ),
        // Entries past the RX queues the plan leaves.
        (
            &equal4,
            eq(16, 8),
            8,
            Some(2),
            Some(&eq16),
            Some("uses queues 2-3"),
            None,
        ),
        // A live table past the rings (no channel change): noted, not refused.
        (
            &None,
            blocks8,
            4,
            None,
            None,
            None,
            Some("queues 4-7, which eth0 does not have"),
        ),
        // A table smaller than the queues cannot cover them.
        (
            &equal,
            eq(4, 4),
            4,
            Some(8),
            None,
            Some("4 entries, fewer than its 8"),
            None,
        ),
    ];
    for (i, (s, live, rings, leave, planned, error, note)) in rows.into_iter().enumerate() {
        let f = check(s.as_ref(), &eth0(), &live, rings, leave, planned);
        match (error, &f.error) {
            (None, None) => {}
            (Some(want), Some(got)) => assert!(got.contains(want), "row {i}: {got}"),
            _ => panic!("row {i}: error {:?}, expected {error:?}", f.error),
        }
        match (note, &f.note) {
            (None, None) => {}
            (Some(want), Some(got)) => assert!(got.contains(want), "row {i}: {got}"),
            _ => panic!("row {i}: note {:?}, expected {note:?}", f.note),
        }
    }
}

#[test]
fn snapshot_values_name_the_interface() {
    let s = Setting::RssIndir {
        iface: eth0(),
        table: eq(8, 2),
    };
    assert_eq!(s.address(), "rss_indir eth0");
    assert_eq!(
        s.describe(),
        (Kind::RssIndir, "eth0".into(), "equal 2".into())
    );
    assert!(s.validate().is_ok() && s.restores_late());
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["kind"], "rss_indir");
    let empty = Setting::RssIndir {
        iface: eth0(),
        table: vec![],
    };
    assert!(empty.validate().unwrap_err().contains("eth0"));
}
