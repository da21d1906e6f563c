//! The order sections plan and apply in: the list's order, except that a section moves just
//! early enough to follow every section it must come after (its `AFTER`, and those naming it
//! in `BEFORE`). A section that declares nothing stays where the list puts it, so adding one
//! leaves the order of the others alone.

/// What the order needs of one section: its table name and the sections it names. The
/// planner's [`super::Decl`] carries more; this module knows only these, so that it stays
/// pure and below the planner.
pub trait Deps {
    fn table(&self) -> &'static str;
    /// Sections whose items apply before this one's (its `Section::AFTER`).
    fn after(&self) -> &'static [&'static str];
    /// Sections whose items apply after this one's (its `Section::BEFORE`).
    fn before(&self) -> &'static [&'static str];
}

/// Indices into `decls` in apply order; an error names a section that names an unknown one,
/// or one on a cycle.
pub fn order<D: Deps>(decls: &[D]) -> Result<Vec<usize>, String> {
    let find = |from: &str, name: &str| {
        decls
            .iter()
            .position(|d| d.table() == name)
            .ok_or_else(|| format!("section [{from}] names an unknown section [{name}]"))
    };
    // preds[i]: the sections i comes after, in list order.
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); decls.len()];
    for (i, d) in decls.iter().enumerate() {
        for a in d.after() {
            preds[i].push(find(d.table(), a)?);
        }
        for b in d.before() {
            preds[find(d.table(), b)?].push(i);
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
                decls[at].table()
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

    /// A section's declarations: table, `AFTER`, `BEFORE`.
    type D = (
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    );

    impl Deps for D {
        fn table(&self) -> &'static str {
            self.0
        }
        fn after(&self) -> &'static [&'static str] {
            self.1
        }
        fn before(&self) -> &'static [&'static str] {
            self.2
        }
    }

    fn d(
        table: &'static str,
        after: &'static [&'static str],
        before: &'static [&'static str],
    ) -> D {
        (table, after, before)
    }

    fn names(decls: &[D]) -> Result<Vec<&str>, String> {
        Ok(order(decls)?
            .into_iter()
            .map(|i| decls[i].table())
            .collect())
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
}
