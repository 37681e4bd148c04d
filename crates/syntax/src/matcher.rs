//! Ranking symbol names against a `grove symbols QUERY`.

/// How a symbol name matched a query.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchKind {
    Exact,
    Prefix,
    Fuzzy,
}

const EXACT_CASE: u32 = 3_000_000;
const EXACT_FOLDED: u32 = 2_900_000;
const PREFIX_BASE: u32 = 2_000_000;
const PREFIX_CASE_BONUS: u32 = 500_000;
const FUZZY_BASE: i64 = 500_000;
/// Fuzzy matching is quadratic; longer names only match exactly or by prefix.
const FUZZY_MAX_NAME_CHARS: usize = 512;

/// Scores `name` against `query`; `None` when it does not match.
///
/// Scores are comparable across kinds, higher is better, and every exact match
/// outranks every prefix match, which outranks every fuzzy match:
///
/// 1. exact, case-sensitive; then exact ignoring case;
/// 2. prefix (case-sensitive before case-insensitive; shorter names first);
/// 3. fuzzy: the query's characters appear in order in the name (ignoring
///    case). The query (of four or more characters) as a contiguous
///    substring ranks first; then the best
///    alignment is chosen by dynamic programming: characters that start a
///    word (start of the name, after `_ - . : /` or a space, a camel hump, a
///    letter after a digit) and runs of consecutive characters score more,
///    skipped characters cost, and shorter names win ties.
///
/// An empty query matches nothing (list everything instead).
pub fn symbol_match_score(query: &str, name: &str) -> Option<(MatchKind, u32)> {
    if query.is_empty() || name.is_empty() {
        return None;
    }
    if query == name {
        return Some((MatchKind::Exact, EXACT_CASE));
    }
    // Every kind of match has the query's characters in order in the name
    // (ignoring case): a check without allocating turns most names away.
    let mut wanted = query.chars().map(fold).peekable();
    for c in name.chars() {
        match wanted.peek() {
            Some(&q) if q == fold(c) => {
                wanted.next();
            }
            Some(_) => {}
            None => break,
        }
    }
    if wanted.peek().is_some() {
        return None;
    }
    let query_chars: Vec<char> = query.chars().collect();
    let name_chars: Vec<char> = name.chars().collect();
    if query_chars.len() > name_chars.len() {
        return None;
    }
    let folded_eq = |a: char, b: char| a == b || fold(a) == fold(b);
    if query_chars.len() == name_chars.len() {
        if query_chars.iter().zip(&name_chars).all(|(&a, &b)| folded_eq(a, b)) {
            return Some((MatchKind::Exact, EXACT_FOLDED));
        }
    } else if name.starts_with(query) || name_chars.iter().zip(&query_chars).all(|(&a, &b)| folded_eq(a, b)) {
        let extra = (name_chars.len() - query_chars.len()).min(10_000) as u32;
        let case_bonus = if name.starts_with(query) { PREFIX_CASE_BONUS } else { 0 };
        return Some((MatchKind::Prefix, PREFIX_BASE + case_bonus - extra * 10));
    }
    if name_chars.len() > FUZZY_MAX_NAME_CHARS {
        return None;
    }
    let best = fuzzy_alignment(&query_chars, &name_chars)?;
    let folded_query: String = query_chars.iter().map(|&c| fold(c)).collect();
    let folded_name: String = name_chars.iter().map(|&c| fold(c)).collect();
    let word_like = query_chars.len() >= SUBSTRING_MIN_CHARS;
    let substring = if word_like && folded_name.contains(&folded_query) { SUBSTRING } else { 0 };
    let length_penalty = (name_chars.len() - query_chars.len()) as i64;
    let score = (FUZZY_BASE + (best + substring) * 100 - length_penalty).clamp(1, 999_999);
    Some((MatchKind::Fuzzy, score as u32))
}

const CONSECUTIVE: i64 = 6;
/// The query appearing whole inside the name (`reparse` for `parse`) beats
/// any scattered alignment of the same letters.
/// Short queries are abbreviations (`fb` for `fooBar`), not words: finding
/// them inside `offbeat` means nothing.
const SUBSTRING: i64 = 100;
const SUBSTRING_MIN_CHARS: usize = 4;
const GAP: i64 = 1;
const CASE_EXACT: i64 = 1;

/// Best total bonus of matching all of `query` as a subsequence of `name`.
fn fuzzy_alignment(query: &[char], name: &[char]) -> Option<i64> {
    const NONE: i64 = i64::MIN / 4;
    let n = name.len();
    let bonuses: Vec<i64> = (0..n).map(|j| boundary_bonus(name, j)).collect();
    let mut prev = vec![NONE; n];
    let mut cur = vec![NONE; n];
    for (i, &q) in query.iter().enumerate() {
        // best[k] + GAP * k over k < j - 1, so that the gap cost is linear.
        let mut run = NONE;
        for j in 0..n {
            if i > 0 && j >= 2 && prev[j - 2] > NONE {
                run = run.max(prev[j - 2] + GAP * (j as i64 - 2));
            }
            cur[j] = NONE;
            if !(q == name[j] || fold(q) == fold(name[j])) {
                continue;
            }
            let here = bonuses[j] + if q == name[j] { CASE_EXACT } else { 0 };
            if i == 0 {
                // A late start costs a little, capped so that a strong word
                // start anywhere still wins.
                cur[j] = here - (j as i64).min(3);
                continue;
            }
            let consecutive = if j >= 1 && prev[j - 1] > NONE { prev[j - 1] + CONSECUTIVE } else { NONE };
            let after_gap = if run > NONE { run - GAP * (j as i64 - 1) } else { NONE };
            let best = consecutive.max(after_gap);
            if best > NONE {
                cur[j] = best + here;
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.into_iter().filter(|&s| s > NONE).max()
}

fn boundary_bonus(name: &[char], j: usize) -> i64 {
    if j == 0 {
        return 10;
    }
    let (prev, cur) = (name[j - 1], name[j]);
    let after_separator = matches!(prev, '_' | '-' | '.' | ':' | '/' | ' ' | '$' | '#');
    if after_separator || (prev.is_lowercase() && cur.is_uppercase()) {
        8
    } else if prev.is_numeric() && cur.is_alphabetic() {
        4
    } else {
        0
    }
}

fn fold(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}
