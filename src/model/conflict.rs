//! [`Conflict`]: a boot-time source (a sysctl.d file, /etc/sysctl.conf) that sets an item's
//! key to another value. `sysctld::conflicts` finds them; the report prints them.

use serde::{Deserialize, Serialize};

/// Where a boot-time source sets an item's key, and to what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The host path of the file (`/etc/sysctl.d/99-other.conf`).
    pub file: String,
    pub line: usize,
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_the_report_fields() {
        let c = Conflict {
            file: "/etc/sysctl.d/99-x.conf".into(),
            line: 3,
            value: "1".into(),
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"file": "/etc/sysctl.d/99-x.conf", "line": 3, "value": "1"})
        );
        assert_eq!(serde_json::from_value::<Conflict>(v).unwrap(), c);
    }
}
