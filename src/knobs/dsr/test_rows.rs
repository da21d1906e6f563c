//! Test helpers shared by the ARP and VIP tests: entries as (object, live, status, writes?).

use crate::knobs::{Entry, Status};

pub type Row = (String, String, Status, bool);

pub fn rows(entries: &[Entry]) -> Vec<Row> {
    entries
        .iter()
        .map(|e| {
            (
                e.item.object.clone(),
                e.item.live.clone(),
                e.item.status,
                e.change().is_some(),
            )
        })
        .collect()
}

pub fn row(o: &str, l: &str, s: Status, w: bool) -> Row {
    (o.into(), l.into(), s, w)
}
