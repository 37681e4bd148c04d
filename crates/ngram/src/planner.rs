//! Regex HIR → trigram query (Russ Cox, "Regular Expression Matching with a
//! Trigram Index", 2012).
//!
//! # Why the plan is sound (never misses a match)
//!
//! For every sub-expression `r` the planner computes an [`Info`] whose fields
//! are independent *claims* about every byte string `s` that `r` can match,
//! stated on `f = fold(s)` (ASCII-lowercased, exactly as the index folds):
//! `exact` (if known) contains `f`; some member of `prefix` is a prefix of `f`
//! and some member of `suffix` is a suffix of `f`; and `matchq` is true of the
//! trigrams of `f`. Each rule below (concat, alternation, repetition, class)
//! derives claims that follow from its children's claims, and every
//! "simplification" only *weakens* a claim (shortening a prefix/suffix,
//! replacing a set by `{""}`, dropping an `And` conjunct, replacing an `Or`
//! by `All`), never strengthens it. Alternatives are taken from the HIR
//! literally (regex-syntax already expanded `(?i)` into classes), so the
//! planner never assumes a fold the verifier does not make. A match of the
//! regex in `h` is a substring `s` of `h`, and `fold(h)` contains `fold(s)`,
//! so the trigrams of `f` are a subset of `trigrams_of(h)`; queries are
//! monotone, hence the final query is true for `h`.
use crate::{fold_byte, literal_trigrams, Query};
use regex_syntax::hir::{Class, Hir, HirKind, Repetition};
use std::collections::{BTreeSet, HashSet};

/// Bounds that keep planning cheap; past them the planner gives up to `All`
/// for that sub-expression (sound, slower).
#[derive(Clone, Copy, Debug)]
pub struct PlanLimits {
    /// Largest exact/prefix/suffix set kept before collapsing.
    pub max_set: usize,
    /// Largest class expanded into alternatives.
    pub max_class: usize,
}

impl Default for PlanLimits {
    fn default() -> Self {
        PlanLimits { max_set: 64, max_class: 16 }
    }
}

/// Plans a superset filter: every document with a match satisfies the query.
pub fn plan(hir: &Hir, limits: PlanLimits) -> Query {
    let p = Planner { max_set: limits.max_set.max(1), max_class: limits.max_class };
    let info = p.analyze(hir);
    let q = match &info.exact {
        Some(ex) => and2(info.matchq.clone(), set_query(ex)),
        None => and(vec![info.matchq.clone(), set_query(&info.prefix), set_query(&info.suffix)]),
    };
    let mut budget = MAX_QUERY_NODES;
    prune(q, &mut budget)
}

/// An `Or` with more alternatives than this becomes `All`.
const MAX_OR: usize = 256;
/// Exact strings longer than this are moved into the match query (cost guard).
const MAX_EXACT_LEN: usize = 64;
/// `x{n,..}` is planned as at most this many copies of `x`.
const REP_CAP: u32 = 4;
/// A class with at most `max_class * CLASS_SCAN` members is enumerated and
/// folded before deciding whether it is small enough.
const CLASS_SCAN: usize = 4;
/// Upper bound on the nodes of the final query; conjuncts past it are dropped.
const MAX_QUERY_NODES: usize = 1 << 14;

type Set = BTreeSet<Vec<u8>>;

/// What is known about every string a sub-expression matches (see module doc).
#[derive(Clone, Debug)]
struct Info {
    /// Whether the empty string may match (informational, like Cox's `canEmpty`).
    emptyable: bool,
    /// All folded strings the sub-expression can match, if known and small.
    exact: Option<Set>,
    /// When `exact` is `None`: every match starts with one of these.
    prefix: Set,
    /// When `exact` is `None`: every match ends with one of these.
    suffix: Set,
    /// Holds for the trigrams of every match.
    matchq: Query,
}

fn set_of(s: &[u8]) -> Set {
    let mut set = Set::new();
    set.insert(s.to_vec());
    set
}

impl Info {
    fn exact(set: Set) -> Info {
        Info {
            emptyable: set.contains(&[][..]),
            exact: Some(set),
            prefix: Set::new(),
            suffix: Set::new(),
            matchq: Query::All,
        }
    }
    fn empty() -> Info {
        Info::exact(set_of(b""))
    }
    /// Matches nothing at all (an empty class).
    fn fail() -> Info {
        Info { matchq: Query::None, ..Info::exact(Set::new()) }
    }
    /// Any non-empty string we know nothing about (a large class).
    fn any_char() -> Info {
        Info { emptyable: false, exact: None, prefix: set_of(b""), suffix: set_of(b""), matchq: Query::All }
    }
    /// Any string at all, including the empty one.
    fn any_match() -> Info {
        Info { emptyable: true, ..Info::any_char() }
    }
    fn prefix_set(&self) -> &Set {
        self.exact.as_ref().unwrap_or(&self.prefix)
    }
    fn suffix_set(&self) -> &Set {
        self.exact.as_ref().unwrap_or(&self.suffix)
    }
    /// Moves the exact set into the match query and the prefix/suffix sets.
    fn demote(&mut self) {
        if let Some(ex) = self.exact.take() {
            self.matchq = and2(std::mem::replace(&mut self.matchq, Query::All), set_query(&ex));
            self.prefix = ex.clone();
            self.suffix = ex;
        }
    }
}

struct Planner {
    max_set: usize,
    max_class: usize,
}

impl Planner {
    fn analyze(&self, hir: &Hir) -> Info {
        match hir.kind() {
            HirKind::Empty => Info::empty(),
            // Anchors, word boundaries and other look-arounds consume nothing.
            HirKind::Look(_) => Info::empty(),
            HirKind::Literal(lit) => Info::exact(set_of(&fold(&lit.0))),
            HirKind::Class(class) => self.class(class),
            HirKind::Capture(cap) => self.analyze(&cap.sub),
            HirKind::Repetition(rep) => self.repetition(rep),
            HirKind::Concat(subs) => {
                // Left fold of `concat`, but the match queries are collected
                // and AND-ed once at the end (AND-ing them at every step is
                // quadratic for long literals).
                let mut conj = Vec::with_capacity(subs.len() * 2);
                let mut info = Info::empty();
                for sub in subs {
                    let mut y = self.analyze(sub);
                    conj.push(std::mem::replace(&mut y.matchq, Query::All));
                    info = self.concat(info, y);
                    conj.push(std::mem::replace(&mut info.matchq, Query::All));
                }
                info.matchq = and(conj);
                info
            }
            HirKind::Alternation(subs) => self.alternate(subs.iter().map(|s| self.analyze(s)).collect()),
        }
    }

    fn class(&self, class: &Class) -> Info {
        let scan = self.max_class.saturating_mul(CLASS_SCAN);
        let mut set = Set::new();
        match class {
            Class::Unicode(c) => {
                let count: usize = c.ranges().iter().map(|r| (r.end() as usize) - (r.start() as usize) + 1).sum();
                if count == 0 {
                    return Info::fail();
                }
                if count > scan {
                    return Info::any_char();
                }
                let mut buf = [0u8; 4];
                for r in c.ranges() {
                    // `RangeInclusive<char>` skips surrogates, which cannot match.
                    for ch in r.start()..=r.end() {
                        set.insert(fold(ch.encode_utf8(&mut buf).as_bytes()));
                    }
                }
            }
            Class::Bytes(c) => {
                let count: usize = c.ranges().iter().map(|r| (r.end() as usize) - (r.start() as usize) + 1).sum();
                if count == 0 {
                    return Info::fail();
                }
                if count > scan {
                    return Info::any_char();
                }
                for r in c.ranges() {
                    for b in r.start()..=r.end() {
                        set.insert(vec![fold_byte(b)]);
                    }
                }
            }
        }
        if set.is_empty() {
            // Only surrogates: unreachable in practice, but an empty set is the truth.
            return Info::fail();
        }
        if set.len() > self.max_class {
            return Info::any_char();
        }
        Info::exact(set)
    }

    fn repetition(&self, rep: &Repetition) -> Info {
        if rep.max == Some(0) {
            return Info::empty();
        }
        if rep.min == 0 {
            return if rep.max == Some(1) {
                self.alternate(vec![self.analyze(&rep.sub), Info::empty()])
            } else {
                // Could be empty, could be anything built from x: no claim.
                Info::any_match()
            };
        }
        // x{n,m}, n >= 1: x^k · (rest), k = min(n, REP_CAP).
        let x = self.analyze(&rep.sub);
        let k = rep.min.min(REP_CAP);
        let mut info = x.clone();
        for _ in 1..k {
            info = self.concat(info, x.clone());
        }
        if rep.max == Some(rep.min) && rep.min <= REP_CAP {
            return info;
        }
        info = self.concat(info, Info::any_match());
        if info.exact.is_none() {
            // Every match also ends with a whole match of x. The trigrams of x
            // are already implied by the prefix part, so only the (shrunk)
            // suffix set is taken over.
            info.suffix = self.shrink(x.suffix_set().clone(), true);
        }
        info
    }

    /// Alternation of any number of branches: the union of their exact sets
    /// if all are exact, else the union of prefixes/suffixes (exact branches
    /// are first demoted, which AND-s their strings into their match query)
    /// and the OR of the match queries.
    fn alternate(&self, mut branches: Vec<Info>) -> Info {
        let emptyable = branches.iter().any(|b| b.emptyable);
        if branches.iter().all(|b| b.exact.is_some()) {
            let mut exact = Set::new();
            let mut qs = Vec::with_capacity(branches.len());
            for b in branches {
                exact.extend(b.exact.unwrap());
                qs.push(b.matchq);
            }
            let matchq = or(qs);
            return self.simplify(Info {
                emptyable,
                exact: Some(exact),
                prefix: Set::new(),
                suffix: Set::new(),
                matchq,
            });
        }
        let (mut prefix, mut suffix) = (Set::new(), Set::new());
        let mut qs = Vec::with_capacity(branches.len());
        for b in &mut branches {
            b.demote();
            prefix.extend(std::mem::take(&mut b.prefix));
            suffix.extend(std::mem::take(&mut b.suffix));
            qs.push(std::mem::replace(&mut b.matchq, Query::All));
        }
        let matchq = or(qs);
        self.simplify(Info { emptyable, exact: None, prefix, suffix, matchq })
    }

    fn concat(&self, mut x: Info, mut y: Info) -> Info {
        let emptyable = x.emptyable && y.emptyable;
        if let (Some(ex), Some(ey)) = (&x.exact, &y.exact) {
            if ex.len().saturating_mul(ey.len()) <= self.max_set {
                let exact = cross(ex, ey);
                let matchq = and2(x.matchq, y.matchq);
                return self.simplify(Info {
                    emptyable,
                    exact: Some(exact),
                    prefix: Set::new(),
                    suffix: Set::new(),
                    matchq,
                });
            }
            // Too many combinations: give up exactness on the larger side.
            if ex.len() >= ey.len() {
                x.demote();
            } else {
                y.demote();
            }
        }
        let mut matchq =
            and2(std::mem::replace(&mut x.matchq, Query::All), std::mem::replace(&mut y.matchq, Query::All));
        let mut need_boundary = x.exact.is_none() && y.exact.is_none();

        let prefix = match &x.exact {
            Some(ex) => {
                // y is inexact here; its prefixes are at most 2 bytes after simplify.
                let (p, trimmed) = self.cross_bounded(ex, &y.prefix, false);
                need_boundary |= trimmed;
                p
            }
            None if x.emptyable => x.prefix.union(y.prefix_set()).cloned().collect(),
            None => x.prefix.clone(),
        };
        let suffix = match &y.exact {
            Some(ey) => {
                let (s, trimmed) = self.cross_bounded(&x.suffix, ey, true);
                need_boundary |= trimmed;
                s
            }
            None if y.emptyable => y.suffix.union(x.suffix_set()).cloned().collect(),
            None => y.suffix.clone(),
        };
        if need_boundary {
            // A suffix of x followed by a prefix of y occurs in every match.
            let xs = trim(x.suffix_set(), 2, true);
            let yp = trim(y.prefix_set(), 2, false);
            if xs.len().saturating_mul(yp.len()) <= MAX_OR {
                matchq = and2(matchq, set_query(&cross(&xs, &yp)));
            }
        }
        self.simplify(Info { emptyable, exact: None, prefix, suffix, matchq })
    }

    /// `left × right`, trimming the side that is not kept whole (`right` for
    /// a prefix set, `left` for a suffix set) until the product fits.
    /// Returns whether any trimming happened.
    fn cross_bounded(&self, left: &Set, right: &Set, is_suffix: bool) -> (Set, bool) {
        if left.len().saturating_mul(right.len()) <= self.max_set {
            return (cross(left, right), false);
        }
        for n in (0..=2).rev() {
            let (l, r) =
                if is_suffix { (trim(left, n, true), right.clone()) } else { (left.clone(), trim(right, n, false)) };
            if l.len().saturating_mul(r.len()) <= self.max_set || n == 0 {
                return (cross(&l, &r), true);
            }
        }
        unreachable!()
    }

    fn simplify(&self, mut info: Info) -> Info {
        if let Some(ex) = &info.exact {
            let too_long = ex.iter().any(|s| s.len() > MAX_EXACT_LEN);
            if ex.len() <= self.max_set && !too_long {
                return info;
            }
            info.demote();
        }
        // Record what the prefix/suffix sets know, then keep only the bytes
        // that can still form trigrams across a boundary with a neighbour.
        info.matchq = and(vec![info.matchq, set_query(&info.prefix), set_query(&info.suffix)]);
        info.prefix = self.shrink(std::mem::take(&mut info.prefix), false);
        info.suffix = self.shrink(std::mem::take(&mut info.suffix), true);
        info
    }

    /// Trims a prefix (or suffix) set to 2 bytes per string, then shorter
    /// until it has at most `max_set` members. Only weakens the claim.
    fn shrink(&self, set: Set, is_suffix: bool) -> Set {
        let mut n = 2;
        let mut set = trim(&set, n, is_suffix);
        while set.len() > self.max_set && n > 0 {
            n -= 1;
            set = trim(&set, n, is_suffix);
        }
        set
    }
}

fn fold(s: &[u8]) -> Vec<u8> {
    s.iter().map(|&b| fold_byte(b)).collect()
}

fn cross(a: &Set, b: &Set) -> Set {
    let mut out = Set::new();
    for x in a {
        for y in b {
            let mut s = Vec::with_capacity(x.len() + y.len());
            s.extend_from_slice(x);
            s.extend_from_slice(y);
            out.insert(s);
        }
    }
    out
}

/// Keeps the first (or last, for suffixes) `n` bytes of each string, then
/// drops strings implied by a shorter member (if `ab` is a prefix of every
/// match in one branch, the branch with `abc` adds nothing).
fn trim(set: &Set, n: usize, is_suffix: bool) -> Set {
    let mut keys: Vec<Vec<u8>> = set
        .iter()
        .map(|s| {
            let t = if s.len() <= n {
                &s[..]
            } else if is_suffix {
                &s[s.len() - n..]
            } else {
                &s[..n]
            };
            // Suffix sets are cleaned on reversed strings.
            if is_suffix {
                t.iter().rev().copied().collect()
            } else {
                t.to_vec()
            }
        })
        .collect();
    keys.sort();
    keys.dedup();
    let mut out = Set::new();
    let mut last: Option<&Vec<u8>> = None;
    for k in &keys {
        if let Some(l) = last {
            if k.starts_with(l) {
                continue;
            }
        }
        last = Some(k);
        out.insert(if is_suffix { k.iter().rev().copied().collect() } else { k.clone() });
    }
    out
}

/// OR over the strings of AND over their trigrams. A string shorter than 3
/// bytes says nothing, so it makes the whole set `All`; the empty set is
/// `None` (nothing can match).
fn set_query(set: &Set) -> Query {
    if set.iter().any(|s| s.len() < 3) {
        return Query::All;
    }
    if set.len() > MAX_OR {
        return Query::All;
    }
    or(set.iter().map(|s| string_query(s)).collect())
}

fn string_query(s: &[u8]) -> Query {
    let mut seen = HashSet::new();
    let ts: Vec<Query> = literal_trigrams(s).filter(|t| seen.insert(*t)).map(Query::Trigram).collect();
    and(ts)
}

fn and2(a: Query, b: Query) -> Query {
    and(vec![a, b])
}

/// Simplifying AND: flattens, `None` absorbs, `All` is dropped, duplicates
/// and `Or`s already implied by a sibling conjunct are removed.
fn and(qs: Vec<Query>) -> Query {
    let mut flat = Vec::with_capacity(qs.len());
    for q in qs {
        match q {
            Query::All => {}
            Query::None => return Query::None,
            Query::And(v) => flat.extend(v),
            q => flat.push(q),
        }
    }
    dedup(&mut flat);
    // Absorption: a AND (a OR b) = a.
    let plain: HashSet<Query> = flat.iter().filter(|q| !matches!(q, Query::Or(_))).cloned().collect();
    if !plain.is_empty() {
        flat.retain(|q| match q {
            Query::Or(alts) => !alts.iter().any(|a| plain.contains(a)),
            _ => true,
        });
    }
    match flat.len() {
        0 => Query::All,
        1 => flat.pop().unwrap(),
        _ => Query::And(flat),
    }
}

/// Simplifying OR: flattens, `All` absorbs, `None` is dropped, duplicates
/// removed, conjuncts common to every alternative factored out
/// (`(a∧b) ∨ (a∧c) = a ∧ (b ∨ c)`, and `a ∨ (a∧b) = a`), too many
/// alternatives → `All`.
fn or(qs: Vec<Query>) -> Query {
    let mut flat = Vec::with_capacity(qs.len());
    for q in qs {
        match q {
            Query::All => return Query::All,
            Query::None => {}
            Query::Or(v) => flat.extend(v),
            q => flat.push(q),
        }
    }
    dedup(&mut flat);
    match flat.len() {
        0 => return Query::None,
        1 => return flat.pop().unwrap(),
        _ => {}
    }
    if flat.len() > MAX_OR {
        return Query::All;
    }
    let conj = |q: &Query| -> Vec<Query> {
        match q {
            Query::And(v) => v.clone(),
            q => vec![q.clone()],
        }
    };
    let mut common: Vec<Query> = conj(&flat[0]);
    for q in &flat[1..] {
        let c: HashSet<Query> = conj(q).into_iter().collect();
        common.retain(|x| c.contains(x));
        if common.is_empty() {
            break;
        }
    }
    if common.is_empty() {
        return Query::Or(flat);
    }
    let cset: HashSet<Query> = common.iter().cloned().collect();
    let mut rests = Vec::with_capacity(flat.len());
    for q in &flat {
        let rest: Vec<Query> = conj(q).into_iter().filter(|x| !cset.contains(x)).collect();
        if rest.is_empty() {
            // This alternative is exactly the common part: the OR is implied by it.
            return and(common);
        }
        rests.push(and(rest));
    }
    common.push(or(rests));
    and(common)
}

fn dedup(v: &mut Vec<Query>) {
    let mut seen = HashSet::with_capacity(v.len());
    v.retain(|q| seen.insert(q.clone()));
}

/// Keeps the query within `budget` nodes: conjuncts that do not fit are
/// dropped, an `Or` that does not fit becomes `All` (both only weaken).
fn prune(q: Query, budget: &mut usize) -> Query {
    if *budget == 0 {
        return Query::All;
    }
    *budget -= 1;
    match q {
        Query::And(v) => {
            let mut kept = Vec::with_capacity(v.len());
            for c in v {
                if *budget == 0 {
                    break;
                }
                kept.push(prune(c, budget));
            }
            and(kept)
        }
        Query::Or(v) => {
            let mut kept = Vec::with_capacity(v.len());
            for c in v {
                let c = prune(c, budget);
                if c == Query::All {
                    return Query::All;
                }
                kept.push(c);
            }
            or(kept)
        }
        q => q,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{pack, trigrams_of};
    use regex_syntax::ParserBuilder;

    /// Parses like the search crate does: byte patterns allowed, Unicode on,
    /// multi-line on.
    fn hir(pattern: &str) -> Hir {
        ParserBuilder::new()
            .utf8(false)
            .unicode(true)
            .multi_line(true)
            .build()
            .parse(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }

    fn q(pattern: &str) -> Query {
        plan(&hir(pattern), PlanLimits::default())
    }

    fn t(s: &[u8]) -> Query {
        assert_eq!(s.len(), 3);
        Query::Trigram(pack(s[0], s[1], s[2]))
    }

    fn and_of(ts: &[&[u8]]) -> Query {
        Query::And(ts.iter().map(|s| t(s)).collect())
    }

    /// Whether a document with this content passes the planned filter.
    fn passes(pattern: &str, doc: &[u8]) -> bool {
        let mut ts = Vec::new();
        trigrams_of(doc, &mut ts);
        q(pattern).matches(&|x| ts.binary_search(&x).is_ok())
    }

    /// The verifier matches `doc`, so the filter must let it through.
    fn found(pattern: &str, doc: impl AsRef<[u8]>) {
        let doc = doc.as_ref();
        let re = regex::bytes::RegexBuilder::new(pattern).multi_line(true).build().unwrap();
        assert!(re.is_match(doc), "test bug: {pattern:?} does not match {doc:?}");
        assert!(passes(pattern, doc), "MISSED MATCH: {pattern:?} in {doc:?}, plan {:?}", q(pattern));
    }

    fn contains_trigram(q: &Query, x: &Query) -> bool {
        match q {
            Query::And(v) | Query::Or(v) => v.iter().any(|c| contains_trigram(c, x)),
            q => q == x,
        }
    }

    #[test]
    fn case_folding_long_s() {
        // (?i)s is [Ssſ]: ſ is two bytes, so a one-char pattern gives no trigram.
        assert_eq!(q("(?i)ſ"), Query::All);
        for doc in ["STOP", "stop", "ſtop", "ſTOP"] {
            found("(?i)ſtop", doc);
            found("(?i)stop", doc);
        }
        // Without (?i) ſ is just its bytes.
        assert!(!passes("ſtop", b"stop"));
    }

    #[test]
    fn case_folding_kelvin_sign() {
        for doc in ["kelvin", "KELVIN", "\u{212A}elvin", "\u{212A}ELVIN"] {
            found("(?i)kelvin", doc);
            found("(?i)\u{212A}elvin", doc);
        }
        // The planner must not fold K (U+212A) to k on its own.
        assert!(!passes("\u{212A}elvin", b"kelvin"));
    }

    #[test]
    fn case_folding_sharp_s() {
        // regex uses simple case folding: ß ~ ẞ, but not "ss".
        for doc in ["straße", "STRAẞE", "ſtraße", "xx Straße yy"] {
            found("(?i)straße", doc);
        }
        // ASCII case is folded by the index, so a case-sensitive plan also
        // accepts other cases (harmless false positive, checked by the verifier).
        assert_eq!(q("ABC"), t(b"abc"));
    }

    #[test]
    fn optional_and_empty_parts() {
        assert_eq!(q("a?"), Query::All);
        assert_eq!(q("x*"), Query::All);
        assert_eq!(q("(|abc)"), Query::All);
        assert_eq!(q("(foo)?bar"), t(b"bar"));
        found("(foo)?bar", "bar");
        found("(foo)?bar", "foobar");
        found("abc(def)*ghi", "abcghi");
        found("abc(def)*ghi", "abcdefdefghi");
        assert!(!passes("abc(def)*ghi", b"abc"));
        found("x*abc", "abc");
        found("(abc)?", "");
    }

    #[test]
    fn anchors_and_multiline() {
        assert_eq!(q("^foo$"), t(b"foo"));
        found("^abc", "zz\nabc");
        found("(?m)^abc$", "x\nabc\ny");
        found(r"\babc\b", "x abc y");
        found(r"\Aabc\z", "abc");
        found("(?-m)^abc", "abc\n");
    }

    #[test]
    fn dot_and_newline() {
        found("a.c", "abc");
        found("(?s)ab.cd", "ab\ncd");
        assert_eq!(q("ab.cd"), Query::All);
        assert_eq!(q("ab\ncd"), and_of(&[b"ab\n", b"b\nc", b"\ncd"]));
        found("ab\ncd", "ab\ncd");
        found(r"foo.*bar", "foo  bar");
        assert_eq!(q("foo.*bar"), and_of(&[b"foo", b"bar"]));
    }

    #[test]
    fn literals_shorter_than_three_bytes() {
        assert_eq!(q("ab"), Query::All);
        assert_eq!(q("ab|cd"), Query::All);
        assert_eq!(q("abc"), t(b"abc"));
        assert_eq!(q(""), Query::All);
        found("ab", "ab");
    }

    #[test]
    fn literals_split_by_class() {
        assert!(passes("ab[cd]e", b"abce"));
        assert!(passes("ab[cd]e", b"abde"));
        assert!(!passes("ab[cd]e", b"abc bde"));
        assert!(!passes("ab[cd]e", b"abxe"));
        found("ab[cd]e", "xxabdexx");
        found("(?i)ab[cd]e", "ABDE");
    }

    #[test]
    fn unicode_classes() {
        assert_eq!(q(r"\w+foo"), t(b"foo"));
        assert_eq!(q(r"foo\w+bar"), and_of(&[b"foo", b"bar"]));
        found(r"\pL{2}bar", "éébar");
        found(r"foo\w+bar", "fooébar");
        found("[éè]abc", "èabc");
        assert!(!passes("[éè]abc", b"eabc"));
        found(r"(?-u)\w+abc", "_abc");
    }

    #[test]
    fn repetition_counts() {
        assert_eq!(q("a{3}"), t(b"aaa"));
        assert_eq!(q("a{2}"), Query::All);
        assert_eq!(q("x{0}abc"), t(b"abc"));
        found("a{3}", "aaaa");
        found("a{5,}", "aaaaaa");
        found("(abc){2,}", "abcabcabc");
        assert!(!passes("(abc){2,}", b"abc"));
        assert!(contains_trigram(&q("(abc){2,}"), &t(b"cab")));
        found("(ab){2}", "abab");
        found("(a|bc){2,3}d", "bcad");
        found("(abc|d){1,}xyz", "dabcxyz");
    }

    #[test]
    fn alternation_with_empty_branch() {
        assert_eq!(q("abc|"), Query::All);
        assert_eq!(q("(abc|)def"), t(b"def"));
        found("(abc|)def", "def");
        found("(|abc)def", "abcdef");
    }

    #[test]
    fn cross_boundary_trigrams() {
        let plan = q("(abc|def)ghi");
        assert!(contains_trigram(&plan, &t(b"cgh")));
        assert!(contains_trigram(&plan, &t(b"fgh")));
        assert!(passes("(abc|def)ghi", b"xdefghi"));
        assert!(!passes("(abc|def)ghi", b"abc def ghi"));
    }

    #[test]
    fn invalid_utf8_byte_patterns() {
        let plan = q(r"(?-u)\xFF\xFEabc");
        assert_eq!(plan, and_of(&[b"\xff\xfea", b"\xfeab", b"abc"]));
        found(r"(?-u)\xFF\xFEabc", b"\x00\xFF\xFEabc\x80");
        found(r"(?-u)[\x80-\xFF]abc", b"\x99abc");
        found(r"(?-u:.)abc", b"\xC3abc");
        found(r"(?-u)(?i)\xC9abc", b"\xC9ABC");
    }

    #[test]
    fn never_matching_pattern() {
        assert_eq!(q(r"[^\x00-\x{10FFFF}]"), Query::None);
        assert_eq!(q(r"(?-u)[^\x00-\xFF]"), Query::None);
        assert_eq!(q(r"abc[^\x00-\x{10FFFF}]|defg"), and_of(&[b"def", b"efg"]));
        assert_eq!(q(r"[^\x00-\x{10FFFF}]*abc"), t(b"abc"));
    }

    #[test]
    fn small_limits_stay_sound() {
        let tiny = PlanLimits { max_set: 1, max_class: 1 };
        let p = hir("(abc|def)[gh]i{2,}(jk|lm)");
        let query = plan(&p, tiny);
        let mut ts = Vec::new();
        trigrams_of(b"defhiiilm", &mut ts);
        assert!(query.matches(&|x| ts.binary_search(&x).is_ok()), "{query:?}");
    }

    #[test]
    fn query_simplification() {
        let (a, b, c) = (t(b"aaa"), t(b"bbb"), t(b"ccc"));
        assert_eq!(and(vec![Query::All, a.clone(), a.clone()]), a);
        assert_eq!(and(vec![a.clone(), Query::None]), Query::None);
        assert_eq!(or(vec![a.clone(), Query::All]), Query::All);
        assert_eq!(or(vec![Query::None, a.clone()]), a);
        assert_eq!(or(vec![]), Query::None);
        assert_eq!(and(vec![]), Query::All);
        assert_eq!(
            and(vec![a.clone(), Query::And(vec![b.clone(), a.clone()])]),
            Query::And(vec![a.clone(), b.clone()])
        );
        // (a∧b) ∨ (a∧c) = a ∧ (b ∨ c); a ∨ (a∧b) = a; a ∧ (a ∨ b) = a.
        assert_eq!(
            or(vec![and(vec![a.clone(), b.clone()]), and(vec![a.clone(), c.clone()])]),
            Query::And(vec![a.clone(), Query::Or(vec![b.clone(), c.clone()])])
        );
        assert_eq!(or(vec![a.clone(), and(vec![a.clone(), b.clone()])]), a);
        assert_eq!(and(vec![a.clone(), or(vec![a.clone(), b.clone()])]), a);
        let many: Vec<Query> = (0..=MAX_OR as u32).map(Query::Trigram).collect();
        assert_eq!(or(many), Query::All);
    }
}
