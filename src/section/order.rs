//! The order sections plan and apply in: the list's order, except that a section moves just
//! early enough to follow every section it must come after (its `AFTER`, and those naming it
//! in `BEFORE`). A section that declares nothing stays where the list puts it, so adding one
//! leaves the order of the others alone.

use super::{List, Run, Section, Visit};
use crate::knobs::Entry;

/// What the planner needs of one section, without its types.
#[derive(Clone, Copy)]
pub struct Decl {
    pub table: &'static str,
    pub after: &'static [&'static str],
    pub before: &'static [&'static str],
    pub ifaces: bool,
    /// Plans the section if the profile has it (see [`super::run`]).
    pub plan: fn(&mut Run) -> Vec<Entry>,
}

/// The declarations of a list, in list order.
pub fn decls<L: List>() -> Vec<Decl> {
    struct Collect(Vec<Decl>);
    impl Visit for Collect {
        fn visit<S: Section>(&mut self) {
            self.0.push(Decl {
                table: S::TABLE,
                after: S::AFTER,
                before: S::BEFORE,
                ifaces: S::IFACES,
                plan: super::run::plan_one::<S>,
            });
        }
    }
    let mut c = Collect(Vec::new());
    L::each(&mut c);
    c.0
}

/// Indices into `decls` in apply order; an error names a section that names an unknown one,
/// or one on a cycle.
pub fn order(decls: &[Decl]) -> Result<Vec<usize>, String> {
    let find = |from: &str, name: &str| {
        decls
            .iter()
            .position(|d| d.table == name)
            .ok_or_else(|| format!("section [{from}] names an unknown section [{name}]"))
    };
    // preds[i]: the sections i comes after, in list order.
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); decls.len()];
    for (i, d) in decls.iter().enumerate() {
        for a in d.after {
            preds[i].push(find(d.table, a)?);
        }
        for b in d.before {
            preds[find(d.table, b)?].push(i);
        }
    }
    for p in &mut preds {
        p.sort_unstable();
        p.dedup();
    }
    let mut state = vec![Mark::New; decls.len()];
    let mut out = Vec::with_capacity(decls.len());
    for i in 0..decls.len() {
        place(i, &preds, &mut state, &mut out).map_err(|at| {
            format!(
                "sections order each other in a cycle through [{}]",
                decls[at].table
            )
        })?;
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq)]
enum Mark {
    New,
    Open,
    Done,
}

/// Places `i` after its predecessors, depth first; `Err` holds a section on a cycle.
fn place(
    i: usize,
    preds: &[Vec<usize>],
    state: &mut [Mark],
    out: &mut Vec<usize>,
) -> Result<(), usize> {
    match state[i] {
        Mark::Done => return Ok(()),
        Mark::Open => return Err(i),
        Mark::New => {}
    }
    state[i] = Mark::Open;
    for &p in &preds[i] {
        place(p, preds, state, out)?;
    }
    state[i] = Mark::Done;
    out.push(i);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(
        table: &'static str,
        after: &'static [&'static str],
        before: &'static [&'static str],
    ) -> Decl {
        Decl {
            table,
            after,
            before,
            ifaces: false,
            plan: |_| Vec::new(),
        }
    }

    fn names(decls: &[Decl]) -> Result<Vec<&str>, String> {
        Ok(order(decls)?.into_iter().map(|i| decls[i].table).collect())
    }

    #[test]
    fn list_order_but_for_declared_dependencies() {
        let plain = [d("a", &[], &[]), d("b", &[], &[]), d("c", &[], &[])];
        assert_eq!(names(&plain).unwrap(), ["a", "b", "c"]);
        // A late section that must come before `a` moves just ahead of it; the rest stay.
        let before = [
            d("a", &[], &[]),
            d("b", &["a"], &[]),
            d("c", &[], &[]),
            d("t", &[], &["a"]),
        ];
        assert_eq!(names(&before).unwrap(), ["t", "a", "b", "c"]);
        // An early section that must come after a later one waits for it.
        let after = [d("a", &["c"], &[]), d("b", &[], &[]), d("c", &[], &[])];
        assert_eq!(names(&after).unwrap(), ["c", "a", "b"]);
    }

    #[test]
    fn unknown_names_and_cycles_are_refused() {
        let unknown = [d("a", &["zz"], &[])];
        assert_eq!(
            names(&unknown).unwrap_err(),
            "section [a] names an unknown section [zz]"
        );
        let cycle = [d("a", &["b"], &[]), d("b", &[], &["a"]), d("c", &[], &[])];
        assert!(
            names(&cycle).is_ok(),
            "b before a is one constraint, said twice"
        );
        let cycle = [d("a", &["b"], &[]), d("b", &["a"], &[])];
        assert_eq!(
            names(&cycle).unwrap_err(),
            "sections order each other in a cycle through [a]"
        );
    }

    #[test]
    fn every_section_of_the_list_is_ordered_and_named_once() {
        let all = decls::<super::super::All>();
        assert_eq!(
            names(&all).unwrap(),
            ["sysctl", "dsr", "nic", "cpu", "irqbalance"]
        );
        let mut tables: Vec<&str> = all.iter().map(|d| d.table).collect();
        tables.sort_unstable();
        tables.dedup();
        assert_eq!(tables.len(), all.len());
    }
}
