//! The resolved values of sections that have no field of their own in [`super::Profile`]:
//! every section added after the first five keeps its value here, keyed by its section type,
//! so that adding one does not touch `Profile`. [`super::Section`]'s default
//! `get`/`put`/`take` read and write it.

use std::any::{Any, TypeId};
use std::fmt;

use super::Section;

/// One stored value, cloneable and comparable without knowing its type.
trait Slot: Any + fmt::Debug {
    fn clone_box(&self) -> Box<dyn Slot>;
    fn eq_slot(&self, other: &dyn Slot) -> bool;
    fn as_any(&self) -> &dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<T: Any + fmt::Debug + Clone + PartialEq> Slot for T {
    fn clone_box(&self) -> Box<dyn Slot> {
        Box::new(self.clone())
    }
    fn eq_slot(&self, other: &dyn Slot) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Section values by section type, in the order they were first stored.
#[derive(Default)]
pub struct Extra(Vec<(TypeId, &'static str, Box<dyn Slot>)>);

impl Extra {
    /// The value of section `S`, if the profile has it.
    pub fn get<S: Section>(&self) -> Option<&S::Value> {
        let id = TypeId::of::<S>();
        self.0
            .iter()
            .find(|(t, ..)| *t == id)
            .and_then(|(.., v)| v.as_any().downcast_ref())
    }

    /// Sets (or with `None` removes) the value of section `S`.
    pub fn put<S: Section>(&mut self, v: Option<S::Value>) {
        let id = TypeId::of::<S>();
        match (self.0.iter_mut().find(|(t, ..)| *t == id), v) {
            (Some(slot), Some(v)) => slot.2 = Box::new(v),
            (None, Some(v)) => self.0.push((id, S::TABLE, Box::new(v))),
            (_, None) => self.0.retain(|(t, ..)| *t != id),
        }
    }

    /// Removes and returns the value of section `S`.
    pub fn take<S: Section>(&mut self) -> Option<S::Value> {
        let id = TypeId::of::<S>();
        let i = self.0.iter().position(|(t, ..)| *t == id)?;
        let (.., v) = self.0.remove(i);
        v.into_any().downcast().ok().map(|b| *b)
    }
}

impl Clone for Extra {
    fn clone(&self) -> Self {
        Extra(
            self.0
                .iter()
                .map(|(t, n, v)| (*t, *n, v.clone_box()))
                .collect(),
        )
    }
}

/// Equal when they hold the same sections with equal values, in any order.
impl PartialEq for Extra {
    fn eq(&self, o: &Self) -> bool {
        self.0.len() == o.0.len()
            && self.0.iter().all(|(t, _, v)| {
                o.0.iter()
                    .any(|(ot, _, ov)| ot == t && v.eq_slot(ov.as_ref()))
            })
    }
}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(_, n, v)| (n, v)))
            .finish()
    }
}
