//! Time stamps of the state dir: snapshot ids and RFC 3339 UTC times, without a calendar
//! dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// UTC date and time of a Unix timestamp (proleptic Gregorian calendar).
pub(super) fn civil(secs: u64) -> (String, String) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days-from-civil inverse (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        format!("{y:04}{m:02}{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// The current time as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    rfc3339(now_unix())
}

/// A Unix timestamp as RFC 3339 UTC (`2026-11-21T02:04:05Z`).
pub fn rfc3339(secs: u64) -> String {
    let (d, t) = civil(secs);
    format!("{}-{}-{}T{t}Z", &d[..4], &d[4..6], &d[6..])
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil(0), ("19700101".into(), "00:00:00".into()));
        assert_eq!(civil(951_782_400), ("20000229".into(), "00:00:00".into()));
        assert_eq!(civil(1_795_226_645), ("20261121".into(), "02:04:05".into()));
    }

    #[test]
    fn rfc3339_is_dashed_and_zoned() {
        assert_eq!(rfc3339(1_795_226_645), "2026-11-21T02:04:05Z");
    }
}
