//! The top-level sections of a profile (`[sysctl]`, `[dsr]`, `[[nic]]`, `[cpu]`,
//! `[irqbalance]`, `[conntrack]`), each described once by a [`Section`]: its table name, its types as written
//! and as validated, how a file's section merges over its parent's (`extends`), how `show`
//! prints it, how it plans, and which sections its items apply after or before. The one list
//! [`All`] drives profile parsing, merging, validation, `show` and the plan; adding a section
//! is one file in this directory and one line in the `sections!` list below.

mod extra;
mod order;
mod resolved;
mod run;
#[cfg(test)]
mod tests;

use serde::Serializer;
use serde::de::DeserializeOwned;

use crate::knobs::Entry;
use crate::knobs::cx::PlanCx;
use crate::schema::{Locator, ProfileError};
use crate::types::IfName;

pub use extra::Extra;
pub use order::{Deps, order};
pub use resolved::Profile;
pub use run::{Decl, Run, decls, plan};

/// One top-level table of a profile.
///
/// A section that keeps its value in a field of [`Profile`] overrides `get`, `put` and
/// `take`; a new one keeps the defaults, which store it in [`Profile::extra`].
pub trait Section: 'static {
    /// The table name as written: `sysctl` for `[sysctl]`, `nic` for `[[nic]]`.
    const TABLE: &'static str;
    /// Sections whose items apply before this one's (their table names).
    const AFTER: &'static [&'static str] = &[];
    /// Sections whose items apply after this one's: a section that creates interfaces names
    /// `sysctl`, so that the keys of those interfaces plan against them in the same apply.
    const BEFORE: &'static [&'static str] = &[];
    /// Whether it covers interfaces by name: the interfaces it covers whose names are not
    /// UTF-8 are reported (`knobs::raw_ifaces`) after the last section that does.
    const IFACES: bool = false;

    /// The section as one file writes it.
    type Raw: DeserializeOwned + 'static;
    /// The section validated, and merged over its parents'.
    type Value: Clone + std::fmt::Debug + PartialEq + 'static;

    /// Checks one file's section (pure), pushing every problem with its `file:line:column`.
    fn validate(raw: Self::Raw, loc: &Locator, errs: &mut Vec<ProfileError>) -> Self::Value;

    /// A child file's section over its parent's; by default the child's replaces it.
    fn merge(parent: Self::Value, child: Self::Value) -> Self::Value {
        let _ = parent;
        child
    }

    /// Checks that need the whole resolved profile (parents merged), such as a conflict with
    /// another section.
    fn check(v: &Self::Value, p: &Profile, errs: &mut Vec<ProfileError>) {
        let _ = (v, p, errs);
    }

    /// Writes the section as `hosttune show` prints it.
    fn show<S: Serializer>(v: &Self::Value, s: S) -> Result<S::Ok, S::Error>;

    /// The interfaces this section's changes create in the apply it plans for; sections
    /// planned after it (the sysctls of those interfaces) plan against them instead of
    /// reporting them `pending`.
    fn creates(v: &Self::Value, cx: &PlanCx) -> Vec<IfName> {
        let _ = (v, cx);
        Vec::new()
    }

    /// Resolves, observes and compares; the entries are in apply order.
    fn plan(v: &Self::Value, run: &mut Run) -> Vec<Entry>;

    /// The section's value in a resolved profile, if the profile has it.
    fn get(p: &Profile) -> Option<&Self::Value>
    where
        Self: Sized,
    {
        p.extra.get::<Self>()
    }

    /// Sets (or with `None` removes) the section's value.
    fn put(p: &mut Profile, v: Option<Self::Value>)
    where
        Self: Sized,
    {
        p.extra.put::<Self>(v);
    }

    /// Removes and returns the section's value.
    fn take(p: &mut Profile) -> Option<Self::Value>
    where
        Self: Sized,
    {
        p.extra.take::<Self>()
    }
}

/// Something done for each section of a [`List`], in list order.
pub trait Visit {
    fn visit<S: Section>(&mut self);
}

/// A list of sections as a type (`(A, (B, ()))`), so that what is done for each can be
/// generic over the section: serde needs the concrete types.
pub trait List: 'static {
    fn each<V: Visit>(v: &mut V);
}

impl List for () {
    fn each<V: Visit>(_: &mut V) {}
}

impl<H: Section, T: List> List for (H, T) {
    fn each<V: Visit>(v: &mut V) {
        v.visit::<H>();
        T::each(v);
    }
}

/// A [`List`] type from section types: `list![a::A, b::B]`.
macro_rules! list {
    () => { () };
    ($h:ty $(, $t:ty)* $(,)?) => { ($h, $crate::section::list!($($t),*)) };
}
pub(crate) use list;

/// Declares each section's module and lists it in [`All`].
macro_rules! sections {
    ($($m:ident :: $t:ident),* $(,)?) => {
        $(pub mod $m;)*
        /// Every section, in the order profiles are checked and shown and, but for what
        /// their `AFTER`/`BEFORE` say, the order apply works in.
        pub type All = list![$($m::$t),*];
    };
}

sections! {
    sysctl::Sysctl,
    dsr::Dsr,
    nic::Nic,
    cpu::Cpu,
    irqbalance::Irqbalance,
    conntrack::Conntrack,
}

/// The table names of a list, in list order.
pub fn tables<L: List>() -> Vec<&'static str> {
    struct Names(Vec<&'static str>);
    impl Visit for Names {
        fn visit<S: Section>(&mut self) {
            self.0.push(S::TABLE);
        }
    }
    let mut n = Names(Vec::new());
    L::each(&mut n);
    n.0
}
