//! The kept-values store (`kept.json`): what the kernel or a driver kept in place of the
//! value asked (a rounded ring size), so that later audits compare against it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Store, StoreError};
use crate::fault::{Stage, When};
use crate::knobs::Setting;

const KEPT: &str = "kept.json";

/// A value the kernel kept in place of the one asked (a rounded ring size, a normalised sysctl).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptValue {
    #[serde(deserialize_with = "crate::knobs::setting::checked_one")]
    pub asked: Setting,
    #[serde(deserialize_with = "crate::knobs::setting::checked_one")]
    pub kept: Setting,
}

/// Kept values by setting address.
pub type Kept = BTreeMap<String, KeptValue>;
impl Store {
    /// Values the kernel kept in place of what was asked.
    pub fn kept(&self) -> Result<Kept, StoreError> {
        let path = self.dir.join(KEPT);
        match self.read_file(&path)? {
            None => Ok(Kept::new()),
            Some(t) => serde_json::from_slice(&t).map_err(|source| StoreError::Corrupt {
                path,
                what: "kept-values file",
                error: source,
            }),
        }
    }

    /// Saves kept values.
    pub fn save_kept(&self, kept: &Kept) -> Result<(), StoreError> {
        self.tap(Stage::Kept, When::Before)?;
        let path = self.dir.join(KEPT);
        let body = serde_json::to_vec_pretty(kept).map_err(|source| StoreError::Corrupt {
            path: path.clone(),
            what: "kept-values file",
            error: source,
        })?;
        self.write_file(&path, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_values_round_trip_by_address() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(store.kept().unwrap().is_empty());
        let ring = |rx| Setting::Rings {
            iface: "eth0".parse().unwrap(),
            rx,
            tx: 512,
        };
        let mut k = Kept::new();
        k.insert(
            ring(4000).address(),
            KeptValue {
                asked: ring(4000),
                kept: ring(4096),
            },
        );
        store.save_kept(&k).unwrap();
        assert_eq!(store.kept().unwrap(), k);
    }
}
