//! A profile file's sections, walked through a section list ([`crate::section::All`]): the
//! file as written ([`RawProfile`]: `description`, `extends`, then each section's own raw
//! type), validating it into a [`Profile`], merging a child over its parent, the checks that
//! need the merged profile, and the TOML that `show` prints. Errors and output are what a
//! `#[derive]` over one field per section gives, so that a section added to the list changes
//! nothing for profiles without it.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::Profile;
use super::extends::Extends;
use crate::schema::{Locator, ProfileError};
use crate::section::{List, Section, Visit, tables};

/// A profile file as written: each section present, as its own raw type.
pub(super) struct RawProfile<L> {
    pub description: Option<String>,
    pub extends: Option<Spanned<Extends>>,
    sections: Vec<(&'static str, AnyRaw)>,
    list: PhantomData<L>,
}

/// A top-level key of a profile file.
enum Key {
    Description,
    Extends,
    Section(&'static str),
}

/// serde's message for an unknown field of a struct with these fields, as a `#[derive]` with
/// `deny_unknown_fields` gives it (there are always three or more).
pub(crate) fn unknown_field(field: &str, expected: &[&str]) -> String {
    let names: Vec<String> = expected.iter().map(|n| format!("`{n}`")).collect();
    format!(
        "unknown field `{field}`, expected one of {}",
        names.join(", ")
    )
}

struct KeySeed<L>(PhantomData<L>);

impl<'de, L: List> DeserializeSeed<'de> for KeySeed<L> {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        struct V<L>(PhantomData<L>);
        impl<L: List> de::Visitor<'_> for V<L> {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("field identifier")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                let sections = tables::<L>();
                match v {
                    "description" => Ok(Key::Description),
                    "extends" => Ok(Key::Extends),
                    _ => match sections.iter().find(|t| **t == v) {
                        Some(t) => Ok(Key::Section(t)),
                        None => {
                            let mut all = vec!["description", "extends"];
                            all.extend(sections);
                            Err(E::custom(unknown_field(v, &all)))
                        }
                    },
                }
            }
        }
        d.deserialize_identifier(V::<L>(PhantomData))
    }
}

/// One section's value as written, of that section's `Raw` type.
type AnyRaw = Box<dyn Any>;

/// Reads the value of the section named `table` as that section's raw type.
struct ReadRaw<'m, 'de, A: MapAccess<'de>> {
    table: &'static str,
    map: &'m mut A,
    /// The section's value (`None` for a TOML `None`, which TOML cannot write), once read.
    out: Option<Result<Option<AnyRaw>, A::Error>>,
    de: PhantomData<&'de ()>,
}

impl<'de, A: MapAccess<'de>> Visit for ReadRaw<'_, 'de, A> {
    fn visit<S: Section>(&mut self) {
        if self.out.is_none() && S::TABLE == self.table {
            let v = self.map.next_value::<Option<S::Raw>>();
            self.out = Some(v.map(|v| v.map(|v| Box::new(v) as AnyRaw)));
        }
    }
}

impl<'de, L: List> Deserialize<'de> for RawProfile<L> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<L>(PhantomData<L>);
        impl<'de, L: List> de::Visitor<'de> for V<L> {
            type Value = RawProfile<L>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("struct RawProfile")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawProfile<L>, A::Error> {
                let mut raw = RawProfile {
                    description: None,
                    extends: None,
                    sections: Vec::new(),
                    list: PhantomData,
                };
                let mut seen: Vec<&'static str> = Vec::new();
                while let Some(key) = map.next_key_seed(KeySeed::<L>(PhantomData))? {
                    let name = match key {
                        Key::Description => "description",
                        Key::Extends => "extends",
                        Key::Section(t) => t,
                    };
                    if seen.contains(&name) {
                        return Err(de::Error::duplicate_field(name));
                    }
                    seen.push(name);
                    match key {
                        Key::Description => raw.description = map.next_value()?,
                        Key::Extends => raw.extends = map.next_value()?,
                        Key::Section(table) => {
                            let mut read = ReadRaw {
                                table,
                                map: &mut map,
                                out: None,
                                de: PhantomData,
                            };
                            L::each(&mut read);
                            if let Some(v) = read.out.transpose()?.flatten() {
                                raw.sections.push((table, v));
                            }
                        }
                    }
                }
                Ok(raw)
            }
        }
        // The field list only feeds serde's own checks, which the key seed makes here.
        d.deserialize_struct("RawProfile", &[], V::<L>(PhantomData))
    }
}

/// Checks one file's sections (pure) and turns them into the resolved form, in list order.
pub(super) fn validate<L: List>(
    raw: RawProfile<L>,
    loc: &Locator,
    errs: &mut Vec<ProfileError>,
) -> Profile {
    struct Validate<'a, 'l> {
        raw: Vec<(&'static str, AnyRaw)>,
        loc: &'a Locator<'l>,
        errs: &'a mut Vec<ProfileError>,
        p: Profile,
    }
    impl Visit for Validate<'_, '_> {
        fn visit<S: Section>(&mut self) {
            let Some(i) = self.raw.iter().position(|(t, _)| *t == S::TABLE) else {
                return;
            };
            // Read by this section's `Raw` type (`ReadRaw`), so the downcast holds.
            if let Ok(r) = self.raw.remove(i).1.downcast::<S::Raw>() {
                let v = S::validate(*r, self.loc, self.errs);
                S::put(&mut self.p, Some(v));
            }
        }
    }
    let mut v = Validate {
        raw: raw.sections,
        loc,
        errs,
        p: Profile {
            description: raw.description.unwrap_or_default(),
            sources: vec![loc.file.to_string()],
            ..Profile::default()
        },
    };
    L::each(&mut v);
    v.p
}

/// Each section of `child` over the same section of `parent`; a section only one of them
/// has is taken as it is.
pub(super) fn merge<L: List>(parent: &mut Profile, child: &mut Profile) {
    struct Merge<'a> {
        parent: &'a mut Profile,
        child: &'a mut Profile,
    }
    impl Visit for Merge<'_> {
        fn visit<S: Section>(&mut self) {
            let Some(c) = S::take(self.child) else {
                return;
            };
            let v = match S::take(self.parent) {
                Some(p) => S::merge(p, c),
                None => c,
            };
            S::put(self.parent, Some(v));
        }
    }
    L::each(&mut Merge { parent, child });
}

/// The checks that need the whole resolved profile, parents merged.
pub(super) fn check<L: List>(p: &Profile, errs: &mut Vec<ProfileError>) {
    struct Check<'a> {
        p: &'a Profile,
        errs: &'a mut Vec<ProfileError>,
    }
    impl Visit for Check<'_> {
        fn visit<S: Section>(&mut self) {
            if let Some(v) = S::get(self.p) {
                S::check(v, self.p, self.errs);
            }
        }
    }
    L::each(&mut Check { p, errs });
}

/// The TOML form `hosttune show` prints: the description, then each section the profile has.
pub(super) struct Shown<'a, L> {
    pub p: &'a Profile,
    pub list: PhantomData<L>,
}

/// One section's value, printed by the section.
struct ShowOne<'a, S: Section>(&'a S::Value);

impl<S: Section> Serialize for ShowOne<'_, S> {
    fn serialize<Ser: Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        S::show(self.0, s)
    }
}

impl<L: List> Serialize for Shown<'_, L> {
    fn serialize<Ser: Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        struct Count<'a>(&'a Profile, usize);
        impl Visit for Count<'_> {
            fn visit<S: Section>(&mut self) {
                self.1 += usize::from(S::get(self.0).is_some());
            }
        }
        struct Fields<'a, M: SerializeStruct> {
            p: &'a Profile,
            st: M,
            err: Option<M::Error>,
        }
        impl<M: SerializeStruct> Visit for Fields<'_, M> {
            fn visit<S: Section>(&mut self) {
                if self.err.is_some() {
                    return;
                }
                if let Some(v) = S::get(self.p) {
                    if let Err(e) = self.st.serialize_field(S::TABLE, &ShowOne::<S>(v)) {
                        self.err = Some(e);
                    }
                }
            }
        }
        let mut n = Count(self.p, 1);
        L::each(&mut n);
        let mut st = s.serialize_struct("Shown", n.1)?;
        st.serialize_field("description", &self.p.description)?;
        let mut f = Fields {
            p: self.p,
            st,
            err: None,
        };
        L::each(&mut f);
        match f.err {
            Some(e) => Err(e),
            None => f.st.end(),
        }
    }
}
