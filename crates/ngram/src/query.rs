use crate::Trigram;

/// A boolean query over trigrams. `All` matches every document (no filter),
/// `None` matches none (the regex can never match, e.g. `[^\x00-\x{10FFFF}]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Query {
    All,
    None,
    Trigram(Trigram),
    And(Vec<Query>),
    Or(Vec<Query>),
}

impl Query {
    /// Evaluates the query against a document's trigram set.
    /// `has(t)` answers whether the document contains folded trigram `t`.
    pub fn matches(&self, has: &impl Fn(Trigram) -> bool) -> bool {
        match self {
            Query::All => true,
            Query::None => false,
            Query::Trigram(t) => has(*t),
            Query::And(qs) => qs.iter().all(|q| q.matches(has)),
            Query::Or(qs) => qs.iter().any(|q| q.matches(has)),
        }
    }
}
