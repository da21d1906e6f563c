//! An in-memory [`NftOps`]: tables by family and name with their text and shape, a log of
//! calls, a one-shot injected failure, and a hand edit that makes a table drift the way
//! `nft add rule` does.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::host::nft::{NftError, NftFamily, NftOps, NftTable};

/// One call made on a [`FakeNft`], in order, failed ones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NftCall {
    Load(NftFamily, String),
    Delete(NftFamily, String),
    Get(NftFamily, String),
}

#[derive(Debug, Default)]
struct State {
    tables: BTreeMap<(NftFamily, String), NftTable>,
    calls: Vec<NftCall>,
    fail_next_write: Option<String>,
    missing: bool,
}

/// nftables tables, in memory.
#[derive(Debug, Default)]
pub struct FakeNft {
    state: Mutex<State>,
}

impl FakeNft {
    /// No tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// A host without the `nft` command: every call fails as the real seam does.
    pub fn missing() -> Self {
        let f = Self::new();
        f.lock().missing = true;
        f
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A table as if loaded by someone else.
    pub fn with(self, family: NftFamily, name: &str, t: NftTable) -> Self {
        self.lock().tables.insert((family, name.into()), t);
        self
    }

    /// Appends a rule without hosttune's comment, as `nft add rule` by hand would.
    pub fn add_rule(&self, family: NftFamily, name: &str, chain: &str, rule: &str) {
        let mut st = self.lock();
        let t = st
            .tables
            .get_mut(&(family, name.to_string()))
            .expect("table exists");
        t.shape.push(format!("rule {chain}: expr:{rule}"));
        t.text.push_str(&format!("# {chain}: {rule}\n"));
    }

    /// The next load or delete fails with `why`.
    pub fn fail_next_write(&self, why: &str) {
        self.lock().fail_next_write = Some(why.into());
    }

    /// The table now, if any.
    pub fn table(&self, family: NftFamily, name: &str) -> Option<NftTable> {
        self.lock().tables.get(&(family, name.to_string())).cloned()
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<NftCall> {
        self.lock().calls.clone()
    }

    fn check(st: &mut State, family: NftFamily, name: &str, write: bool) -> Result<(), NftError> {
        let table = format!("{family} {name}");
        if st.missing {
            return Err(NftError::Missing { table });
        }
        if write {
            if let Some(why) = st.fail_next_write.take() {
                return Err(NftError::Failed {
                    table,
                    op: "nft -f",
                    detail: why,
                });
            }
        }
        Ok(())
    }
}

impl NftOps for FakeNft {
    fn load(&self, family: NftFamily, name: &str, t: &NftTable) -> Result<(), NftError> {
        let mut st = self.lock();
        st.calls.push(NftCall::Load(family, name.into()));
        Self::check(&mut st, family, name, true)?;
        st.tables.insert((family, name.into()), t.clone());
        Ok(())
    }

    fn delete(&self, family: NftFamily, name: &str) -> Result<(), NftError> {
        let mut st = self.lock();
        st.calls.push(NftCall::Delete(family, name.into()));
        Self::check(&mut st, family, name, true)?;
        st.tables.remove(&(family, name.to_string()));
        Ok(())
    }

    fn get(&self, family: NftFamily, name: &str) -> Result<Option<NftTable>, NftError> {
        let mut st = self.lock();
        st.calls.push(NftCall::Get(family, name.into()));
        Self::check(&mut st, family, name, false)?;
        Ok(st.tables.get(&(family, name.to_string())).cloned())
    }
}
