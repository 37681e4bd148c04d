//! Trigrams and the regex → trigram query planner.
//!
//! The index stores, per document, the set of *folded* trigrams of its bytes:
//! every byte is ASCII-lowercased (`fold_byte`) before trigrams are taken.
//! Folding makes one index serve case-sensitive and case-insensitive queries;
//! it is sound because `fold(content)` contains `fold(s)` whenever `content`
//! contains `s`. Non-ASCII case folding (`ſ`/`s`, `K`/`k`) is *not* done here:
//! the planner receives those alternatives explicitly from the regex HIR
//! (regex-syntax expands `(?i)` into classes), so it never assumes a fold the
//! verifier does not make.
//!
//! Architecture invariant: pure. No I/O, no knowledge of segments or git.

mod planner;
mod query;

pub use planner::{plan, PlanLimits};
pub use query::Query;

/// Three folded bytes packed big-endian into the low 24 bits.
pub type Trigram = u32;

/// The byte fold applied to both indexed content and planned literals.
#[inline]
pub fn fold_byte(b: u8) -> u8 {
    b.to_ascii_lowercase()
}

#[inline]
pub fn pack(a: u8, b: u8, c: u8) -> Trigram {
    (fold_byte(a) as u32) << 16 | (fold_byte(b) as u32) << 8 | fold_byte(c) as u32
}

pub fn unpack(t: Trigram) -> [u8; 3] {
    [(t >> 16) as u8, (t >> 8) as u8, t as u8]
}

/// Appends the distinct folded trigrams of `content` to `out`, sorted.
/// `out` is cleared first. Used by the segment writer and by tests.
pub fn trigrams_of(content: &[u8], out: &mut Vec<Trigram>) {
    out.clear();
    if content.len() < 3 {
        return;
    }
    let mut t: u32 = (fold_byte(content[0]) as u32) << 8 | fold_byte(content[1]) as u32;
    for &b in &content[2..] {
        t = (t << 8 | fold_byte(b) as u32) & 0x00ff_ffff;
        out.push(t);
    }
    out.sort_unstable();
    out.dedup();
}

/// Folded trigrams of a literal string (not deduplicated, in order).
pub fn literal_trigrams(lit: &[u8]) -> impl Iterator<Item = Trigram> + '_ {
    lit.windows(3).map(|w| pack(w[0], w[1], w[2]))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn trigrams_are_folded_sorted_distinct() {
        let mut v = Vec::new();
        trigrams_of(b"AbcABC", &mut v);
        assert_eq!(v, vec![pack(b'a', b'b', b'c'), pack(b'b', b'c', b'a'), pack(b'c', b'a', b'b')]);
        trigrams_of(b"ab", &mut v);
        assert!(v.is_empty());
    }
}
