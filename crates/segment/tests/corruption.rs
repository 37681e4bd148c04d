//! Corrupted or truncated segments must give errors, never panics and never
//! wrong answers.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use grove_base::{ContentId, GitOid};
use grove_ngram::{trigrams_of, Trigram};
use grove_segment::*;
use proptest::prelude::*;

struct Base {
    bytes: Vec<u8>,
    docs: Vec<Vec<u8>>,
    entries: Vec<DocEntry>,
    postings: BTreeMap<Trigram, Vec<u32>>,
    /// Start offsets of header, content, docs, dict, postings, footer.
    regions: Vec<(usize, usize)>,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut docs: Vec<Vec<u8>> = Vec::new();
        for i in 0..24u32 {
            let d = match i % 6 {
                0 => Vec::new(),
                1 => b"ab".to_vec(),
                2 => format!("fn f{i}() -> u32 {{ {i} }}\n").repeat(i as usize % 5 + 1).into_bytes(),
                3 => format!("struct S{i} {{ field: Vec<u8> }} // common text\n").into_bytes(),
                4 => (0..200u32).map(|k| (k.wrapping_mul(2_654_435_761) >> (i % 7)) as u8).collect(),
                _ => b"common text common text COMMON".to_vec(),
            };
            docs.push(d);
        }
        let mut w = SegmentWriter::new();
        for (i, d) in docs.iter().enumerate() {
            let git_oid = GitOid([i as u8; 20]);
            w.add(PreparedDoc::new(DocInput { content_id: ContentId::of(d), git_oid, content: d }, 3));
        }
        let bytes = w.finish();
        let seg = Segment::open(Arc::new(bytes.clone())).unwrap();
        let entries = (0..seg.num_docs()).map(|i| seg.doc(i)).collect();
        let mut postings: BTreeMap<Trigram, Vec<u32>> = BTreeMap::new();
        let mut t = Vec::new();
        for (i, d) in docs.iter().enumerate() {
            trigrams_of(d, &mut t);
            for &x in &t {
                postings.entry(x).or_default().push(i as u32);
            }
        }
        let s = seg.stats();
        let mut at = 0usize;
        let mut regions = Vec::new();
        for len in [16, s.content_bytes, s.docs_bytes, s.dict_bytes, s.postings_bytes, 112] {
            regions.push((at, len as usize));
            at += len as usize;
        }
        assert_eq!(at, bytes.len());
        Base { bytes, docs, entries, postings, regions }
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    /// (region, relative position, xor mask)
    Flip(Vec<(usize, usize, u8)>),
    Truncate(usize),
    /// (region, relative start, length)
    Zero(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = (0usize..6, any::<usize>(), 1u8..=255);
    prop_oneof![
        3 => prop::collection::vec(pos, 1..4).prop_map(Mutation::Flip),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (0usize..6, any::<usize>(), 1usize..64).prop_map(|(r, s, l)| Mutation::Zero(r, s, l)),
    ]
}

fn apply(b: &Base, m: &Mutation) -> Vec<u8> {
    let mut bytes = b.bytes.clone();
    let total = bytes.len();
    let abs = |region: usize, rel: usize| {
        let (start, len) = b.regions[region];
        if len == 0 {
            start.min(total - 1)
        } else {
            start + rel % len
        }
    };
    match m {
        Mutation::Flip(flips) => {
            for &(r, p, x) in flips {
                let at = abs(r, p);
                bytes[at] ^= x;
            }
        }
        Mutation::Truncate(n) => bytes.truncate(n % bytes.len()),
        Mutation::Zero(r, s, l) => {
            let at = abs(*r, *s);
            let end = (at + l).min(bytes.len());
            bytes[at..end].fill(0);
        }
    }
    bytes
}

/// Everything a reader can do with the corrupted bytes; every success must
/// be exactly the original answer.
fn exercise(bytes: Vec<u8>) {
    let b = base();
    let unchanged = bytes == b.bytes;
    let seg = match Segment::open(Arc::new(bytes)) {
        Ok(s) => s,
        Err(_) => {
            assert!(!unchanged);
            return;
        }
    };
    assert_eq!(seg.num_docs() as usize, b.docs.len());
    for (i, e) in b.entries.iter().enumerate() {
        assert_eq!(seg.doc(i as u32), *e);
    }
    let mut buf = Vec::new();
    for (i, d) in b.docs.iter().enumerate() {
        match seg.content_into(i as u32, &mut buf) {
            Ok(()) => assert_eq!(&buf, d, "doc {i} decoded to different content"),
            Err(_) => assert!(!unchanged),
        }
    }
    for (&t, ids) in &b.postings {
        match seg.postings(t) {
            Ok(bm) => assert_eq!(&bm.iter().collect::<Vec<_>>(), ids),
            Err(_) => assert!(!unchanged),
        }
    }
    for t in [0u32, 0x61_6161, 0x00ff_ffff, 0x7a_7a_71] {
        if !b.postings.contains_key(&t) {
            if let Ok(bm) = seg.postings(t) {
                assert!(bm.is_empty());
            }
        }
    }
    match seg.verify() {
        Ok(_) => {}
        Err(e) => assert!(!unchanged, "verify failed on an intact segment: {e}"),
    }
}

#[test]
fn intact_base_passes() {
    exercise(base().bytes.clone());
    Segment::open(Arc::new(base().bytes.clone())).unwrap().verify().unwrap();
}

#[test]
fn every_truncation_is_an_error() {
    let b = base();
    for n in 0..b.bytes.len() {
        assert!(Segment::open(Arc::new(b.bytes[..n].to_vec())).is_err(), "truncated to {n}");
    }
}

#[test]
fn every_single_byte_flip_is_detected_or_harmless() {
    // Exhaustive over positions with one mask: cheap, and catches any field
    // the checks forget.
    let b = base();
    for at in 0..b.bytes.len() {
        let mut bytes = b.bytes.clone();
        bytes[at] ^= 0x5a;
        exercise(bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn corruption_is_detected_or_harmless(m in mutation()) {
        exercise(apply(base(), &m));
    }
}

/// Rewrites the section and footer crcs so a corruption passes the checksums
/// (an adversarial file rather than bit rot).
fn fix_crcs(bytes: &mut [u8]) {
    let n = bytes.len();
    let f = n - 112;
    for i in 0..4 {
        let d = f + i * 24;
        let off = u64::from_le_bytes(bytes[d..d + 8].try_into().unwrap()) as usize;
        let len = u64::from_le_bytes(bytes[d + 8..d + 16].try_into().unwrap()) as usize;
        if off.checked_add(len).is_some_and(|e| e <= f) {
            let crc = crc32fast::hash(&bytes[off..off + len]);
            bytes[d + 16..d + 20].copy_from_slice(&crc.to_le_bytes());
        }
    }
    let crc = crc32fast::hash(&bytes[f..f + 100]);
    bytes[f + 100..f + 104].copy_from_slice(&crc.to_le_bytes());
}

/// With valid checksums a crafted file may give wrong answers, but it must
/// still never panic.
fn exercise_no_panic(bytes: Vec<u8>) {
    let Ok(seg) = Segment::open(Arc::new(bytes)) else {
        return;
    };
    let mut buf = Vec::new();
    for i in 0..seg.num_docs() {
        let _ = seg.doc(i);
        let _ = seg.content_into(i, &mut buf);
    }
    for &t in base().postings.keys() {
        let _ = seg.postings(t);
    }
    let _ = seg.verify();
}

#[test]
fn every_single_byte_flip_with_fixed_crcs_does_not_panic() {
    let b = base();
    let (docs_at, _) = b.regions[2];
    for at in docs_at..b.bytes.len() - 112 {
        let mut bytes = b.bytes.clone();
        bytes[at] ^= [0x01, 0x80, 0xff][at % 3];
        fix_crcs(&mut bytes);
        exercise_no_panic(bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn crafted_corruption_does_not_panic(m in mutation()) {
        let mut bytes = apply(base(), &m);
        if bytes.len() > 16 + 112 {
            fix_crcs(&mut bytes);
        }
        exercise_no_panic(bytes);
    }
}
