//! Property tests for the planner.
//!
//! * Soundness: for random regexes from a grammar that covers the known
//!   pitfalls (case folding with ſ/K, optional and empty parts, anchors, `.`
//!   and `\n`, short literals, classes, counted repetition, empty branches,
//!   invalid UTF-8 bytes, never-matching classes) and random haystacks biased
//!   to contain strings sampled from the regex, whenever `regex::bytes`
//!   matches, the plan must accept the haystack's trigram set.
//! * Selectivity: the plan of an escaped literal is exactly the AND of its
//!   (folded, distinct) trigrams.
use grove_ngram::{literal_trigrams, plan, trigrams_of, PlanLimits, Query, Trigram};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use regex_syntax::hir::{Class, Hir, HirKind};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Characters literals are made of: ASCII case pairs, Unicode fold partners
/// (ſ ~ s, K ~ k, ẞ ~ ß), a non-ASCII letter and the newline.
const CHARS: &[&str] = &["a", "b", "c", "A", "B", "s", "S", "k", "K", "ſ", "\u{212A}", "é", "ß", r"\n"];

const CLASSES: &[&str] = &[
    "[ab]",
    "[a-c]",
    "[^a]",
    "[Kk]",
    "[sſ]",
    "[^\\n]",
    r"\w",
    r"\W",
    r"\d",
    r"\s",
    r"\pL",
    ".",
    "[éſ]",
    "[a-zA-Z]",
    "[bcé]",
    r"[\x00-\x{10FFFF}]",
    r"[^\x00-\x{10FFFF}]",
    r"\xFF",
];

/// Byte-oriented pieces (valid because the parse is utf8(false)).
const BYTES: &[&str] = &[
    r"(?-u:\xFF)",
    r"(?-u:\xFE)",
    r"(?-u:\xC3)",
    r"(?-u:[\x80-\xFF])",
    r"(?-u:.)",
    r"(?-u:\w)",
    r"(?-u:[a\xFF])",
    r"(?-u:[^a])",
    r"(?i-u:k)",
    r"(?i-u:\xC9)",
    r"(?-u:\xFF\xFEab)",
];

const LOOKS: &[&str] = &["^", "$", r"\b", r"\B", "(?m:^)", "(?m:$)", r"\A", r"\z", "()", "(?:)"];

fn word() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(CHARS), 1..5).prop_map(|v| v.concat())
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => word(),
        3 => prop::sample::select(CLASSES).prop_map(|s| s.to_string()),
        1 => prop::sample::select(BYTES).prop_map(|s| s.to_string()),
        1 => prop::sample::select(LOOKS).prop_map(|s| s.to_string()),
    ]
}

const REPS: &[&str] = &["?", "*", "+", "{2}", "{3}", "{1,2}", "{0,2}", "{2,}", "{5}", "??", "+?", "{0}"];

fn regex_strategy() -> impl Strategy<Value = String> {
    let inner = leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            3 => prop::collection::vec(inner.clone(), 2..5).prop_map(|v| v.concat()),
            2 => prop::collection::vec(inner.clone(), 2..4).prop_map(|v| format!("(?:{})", v.join("|"))),
            1 => (inner.clone(), any::<bool>()).prop_map(|(x, e)| if e { format!("({x}|)") } else { format!("(|{x})") }),
            2 => (inner.clone(), prop::sample::select(REPS)).prop_map(|(x, r)| format!("(?:{x}){r}")),
            1 => inner.clone().prop_map(|x| format!("({x})")),
            1 => inner.clone().prop_map(|x| format!("(?i:{x})")),
            1 => inner.clone().prop_map(|x| format!("(?-i:{x})")),
            1 => inner.clone().prop_map(|x| format!("(?-u:{x})")),
            1 => inner.clone().prop_map(|x| format!("(?s:{x})")),
        ]
    });
    // Half the time, put the random part between literals, as in `foo\w+bar`.
    prop_oneof![
        1 => inner.clone(),
        1 => (word(), inner, word()).prop_map(|(a, x, b)| format!("{a}{x}{b}")),
    ]
}

#[derive(Clone, Copy, Debug)]
struct Flags {
    case_insensitive: bool,
    dot_nl: bool,
    multi_line: bool,
}

fn flags_strategy() -> impl Strategy<Value = Flags> {
    (any::<bool>(), any::<bool>(), prop::bool::weighted(0.8)).prop_map(|(ci, s, m)| Flags {
        case_insensitive: ci,
        dot_nl: s,
        multi_line: m,
    })
}

fn limits_strategy() -> impl Strategy<Value = PlanLimits> {
    prop_oneof![
        4 => Just(PlanLimits::default()),
        1 => Just(PlanLimits { max_set: 4, max_class: 3 }),
        1 => Just(PlanLimits { max_set: 2, max_class: 2 }),
        1 => Just(PlanLimits { max_set: 1, max_class: 0 }),
    ]
}

/// Pieces random haystack filler is made of, including fold partners and
/// bytes that are not valid UTF-8 on their own.
const HAY: &[&[u8]] = &[
    b"a",
    b"b",
    b"c",
    b"A",
    b"B",
    b"C",
    b"s",
    b"S",
    b"k",
    b"K",
    "ſ".as_bytes(),
    "\u{212A}".as_bytes(),
    "é".as_bytes(),
    "É".as_bytes(),
    "ß".as_bytes(),
    "ẞ".as_bytes(),
    "ÿ".as_bytes(),
    b"\n",
    b" ",
    b"_",
    b"1",
    b"\xFF",
    b"\xFE",
    b"\x80",
    b"\xC3",
    b"\xC9",
    b"abc",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Appends a string the HIR can match (modulo look-around conditions).
fn sample(h: &Hir, rng: &mut Rng, out: &mut Vec<u8>) {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(l) => out.extend_from_slice(&l.0),
        HirKind::Class(Class::Unicode(c)) => {
            let rs = c.ranges();
            if rs.is_empty() {
                return;
            }
            let r = rs[rng.below(rs.len() as u64) as usize];
            let span = r.end() as u64 - r.start() as u64 + 1;
            // Mostly stay near the start of big ranges (ASCII-ish characters).
            let off = if rng.below(2) == 0 { rng.below(span.min(8)) } else { rng.below(span) };
            let ch = char::from_u32(r.start() as u32 + off as u32).unwrap_or(r.start());
            let mut buf = [0; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        }
        HirKind::Class(Class::Bytes(c)) => {
            let rs = c.ranges();
            if rs.is_empty() {
                return;
            }
            let r = rs[rng.below(rs.len() as u64) as usize];
            let span = r.end() as u64 - r.start() as u64 + 1;
            out.push(r.start() + rng.below(span) as u8);
        }
        HirKind::Repetition(r) => {
            let hi = r.max.unwrap_or(r.min + 3).min(r.min + 3);
            let n = r.min as u64 + rng.below((hi - r.min) as u64 + 1);
            for _ in 0..n {
                sample(&r.sub, rng, out);
            }
        }
        HirKind::Capture(c) => sample(&c.sub, rng, out),
        HirKind::Concat(v) => v.iter().for_each(|s| sample(s, rng, out)),
        HirKind::Alternation(v) => sample(&v[rng.below(v.len() as u64) as usize], rng, out),
    }
}

fn filler(rng: &mut Rng, out: &mut Vec<u8>) {
    for _ in 0..rng.below(5) {
        out.extend_from_slice(HAY[rng.below(HAY.len() as u64) as usize]);
    }
}

fn haystack(h: &Hir, rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    filler(rng, &mut out);
    if rng.below(4) != 0 {
        sample(h, rng, &mut out);
        if rng.below(6) == 0 {
            // Occasionally glue on a second sample or flip a byte's ASCII case.
            sample(h, rng, &mut out);
        }
        if rng.below(5) == 0 && !out.is_empty() {
            let i = rng.below(out.len() as u64) as usize;
            if out[i].is_ascii_alphabetic() {
                out[i] ^= 0x20;
            }
        }
    }
    filler(rng, &mut out);
    out
}

fn has(ts: &[Trigram]) -> impl Fn(Trigram) -> bool + '_ {
    |t| ts.binary_search(&t).is_ok()
}

const HAYSTACKS_PER_REGEX: usize = 8;

#[test]
fn plan_is_sound_for_random_regexes() {
    let cases: u32 = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(5000);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let parsed = AtomicUsize::new(0);
    let rejected = AtomicUsize::new(0);
    let pairs = AtomicUsize::new(0);
    let matching = AtomicUsize::new(0);
    // Matching pairs whose plan actually filters (is not `All`).
    let filtered = AtomicUsize::new(0);
    let strategy = (regex_strategy(), flags_strategy(), limits_strategy(), any::<u64>());
    runner
        .run(&strategy, |(pattern, flags, limits, seed)| {
            let hir = regex_syntax::ParserBuilder::new()
                .utf8(false)
                .unicode(true)
                .case_insensitive(flags.case_insensitive)
                .dot_matches_new_line(flags.dot_nl)
                .multi_line(flags.multi_line)
                .build()
                .parse(&pattern);
            let re = regex::bytes::RegexBuilder::new(&pattern)
                .unicode(true)
                .case_insensitive(flags.case_insensitive)
                .dot_matches_new_line(flags.dot_nl)
                .multi_line(flags.multi_line)
                .size_limit(1 << 24)
                .build();
            let (hir, re) = match (hir, re) {
                (Ok(h), Ok(r)) => (h, r),
                (Err(_), Err(_)) => {
                    rejected.fetch_add(1, Relaxed);
                    return Ok(());
                }
                (h, r) => {
                    // Both sides must agree on what a valid pattern is.
                    return Err(TestCaseError::fail(format!(
                        "parser/regex disagree on {pattern:?}: {:?} vs {:?}",
                        h.err(),
                        r.err()
                    )));
                }
            };
            parsed.fetch_add(1, Relaxed);
            let query = plan(&hir, limits);
            let mut rng = Rng(seed | 1);
            let mut ts = Vec::new();
            for _ in 0..HAYSTACKS_PER_REGEX {
                let hay = haystack(&hir, &mut rng);
                pairs.fetch_add(1, Relaxed);
                if re.is_match(&hay) {
                    matching.fetch_add(1, Relaxed);
                    if query != Query::All {
                        filtered.fetch_add(1, Relaxed);
                    }
                    trigrams_of(&hay, &mut ts);
                    prop_assert!(
                        query.matches(&has(&ts)),
                        "MISSED MATCH\n pattern {pattern:?} {flags:?} {limits:?}\n haystack {:?}\n plan {query:?}",
                        bstr_debug(&hay)
                    );
                }
            }
            Ok(())
        })
        .unwrap();
    let (p, r) = (parsed.load(Relaxed), rejected.load(Relaxed));
    let (n, m) = (pairs.load(Relaxed), matching.load(Relaxed));
    let f = filtered.load(Relaxed);
    let rate = m as f64 / n.max(1) as f64;
    let frate = f as f64 / n.max(1) as f64;
    eprintln!(
        "soundness: {p} regexes planned ({r} rejected by both parsers), {n} haystacks, \
         {m} matching ({:.1}%), {f} matching with a non-trivial plan ({:.1}%)",
        rate * 100.0,
        frate * 100.0
    );
    assert!(rate >= 0.2, "property barely exercised: only {:.1}% of pairs match", rate * 100.0);
    assert!(frate >= 0.1, "plans are mostly `All`: only {:.1}% of pairs test a filter", frate * 100.0);
    assert!(r * 10 < p + r, "too many rejected patterns: {p} parsed, {r} rejected");
}

fn bstr_debug(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

fn expected_literal_plan(lit: &[u8]) -> HashSet<Trigram> {
    literal_trigrams(lit).collect()
}

fn conjuncts(q: &Query) -> Option<HashSet<Trigram>> {
    match q {
        Query::All => Some(HashSet::new()),
        Query::Trigram(t) => Some([*t].into()),
        Query::And(v) => {
            let mut s = HashSet::new();
            for c in v {
                match c {
                    Query::Trigram(t) => {
                        if !s.insert(*t) {
                            return None; // duplicate conjunct: not simplified
                        }
                    }
                    _ => return None,
                }
            }
            (s.len() >= 2).then_some(s)
        }
        _ => None,
    }
}

fn parse(pattern: &str) -> Hir {
    regex_syntax::ParserBuilder::new().utf8(false).unicode(true).multi_line(true).build().parse(pattern).unwrap()
}

proptest! {
    #![proptest_config(Config { cases: 500, failure_persistence: None, ..Config::default() })]

    /// An escaped literal plans to exactly the AND of its distinct trigrams.
    #[test]
    fn literal_plan_is_and_of_its_trigrams(lit in "[a-zA-Z0-9 _.*+?()é€\\n-]{0,90}") {
        let q = plan(&parse(&regex_syntax::escape(&lit)), PlanLimits::default());
        prop_assert_eq!(conjuncts(&q), Some(expected_literal_plan(lit.as_bytes())), "{:?}", q);
    }

    /// Same under (?i) for ASCII text without letters that have non-ASCII
    /// fold partners (k → K, s → ſ), which become alternatives.
    #[test]
    fn case_insensitive_literal_plan_is_and_of_its_trigrams(lit in "[a-jl-rt-zA-JL-RT-Z0-9 _.-]{0,90}") {
        let q = plan(&parse(&format!("(?i){}", regex_syntax::escape(&lit))), PlanLimits::default());
        prop_assert_eq!(conjuncts(&q), Some(expected_literal_plan(lit.as_bytes())), "{:?}", q);
    }
}
