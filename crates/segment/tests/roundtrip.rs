//! Round trips, edge cases and version handling of the segment format.

use std::collections::BTreeMap;
use std::sync::Arc;

use grove_base::{ContentId, GitOid};
use grove_ngram::{trigrams_of, Trigram};
use grove_segment::*;

/// Small deterministic PRNG (xorshift64*), so tests need no extra crates.
pub struct Rng(u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Source-like text mixed with random bytes, upper case, and tiny docs.
fn random_docs(n: usize, seed: u64) -> Vec<Vec<u8>> {
    const WORDS: &[&str] = &[
        "fn",
        "let",
        "mut",
        "impl",
        "struct",
        "Segment",
        "postings",
        "trigram",
        "return",
        "match",
        "self",
        "u32",
        "Vec<u8>",
        "{",
        "}",
        "(",
        ")",
        ";",
        "\n",
        "    ",
        "QUERY",
        "Ünïcödé",
        "🦀",
    ];
    let mut rng = Rng(seed | 1);
    (0..n)
        .map(|_| {
            let len = match rng.below(10) {
                0 => rng.below(4) as usize,
                1..=7 => rng.below(2_000) as usize,
                _ => rng.below(20_000) as usize,
            };
            let mut d = Vec::with_capacity(len);
            let binary = rng.below(8) == 0;
            while d.len() < len {
                if binary {
                    d.push(rng.next_u64() as u8);
                } else {
                    d.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
                    if rng.below(4) == 0 {
                        d.push(b' ');
                    }
                }
            }
            d.truncate(len);
            d
        })
        .collect()
}

fn oid(i: usize) -> GitOid {
    let mut o = [0u8; 20];
    o[..8].copy_from_slice(&(i as u64 * 0x9e37_79b9).to_le_bytes());
    GitOid(o)
}

fn build(docs: &[Vec<u8>], level: i32) -> Vec<u8> {
    let mut w = SegmentWriter::new();
    let mut raw = 0;
    for (i, d) in docs.iter().enumerate() {
        let p = PreparedDoc::new(DocInput { content_id: ContentId::of(d), git_oid: oid(i), content: d }, level);
        assert_eq!(p.raw_len(), d.len() as u64);
        assert!(p.compressed_len() > 0);
        assert_eq!(w.add(p), i as u32);
        raw += d.len() as u64;
        assert_eq!(w.raw_bytes(), raw);
    }
    assert_eq!(w.len() as usize, docs.len());
    w.finish()
}

fn open(bytes: Vec<u8>) -> Result<Segment, SegmentError> {
    Segment::open(Arc::new(bytes))
}

/// trigram → sorted doc ids, by brute force.
/// Opens `bytes`, verifies the segment and checks that doc `i` holds `want[i]`.
fn assert_verified_contents(bytes: Vec<u8>, want: &[Vec<u8>]) {
    let seg = open(bytes).unwrap();
    seg.verify().unwrap();
    let mut buf = Vec::new();
    for (i, d) in want.iter().enumerate() {
        seg.content_into(i as u32, &mut buf).unwrap();
        assert_eq!(&buf, d);
    }
}

fn brute_postings(docs: &[Vec<u8>]) -> BTreeMap<Trigram, Vec<u32>> {
    let mut m: BTreeMap<Trigram, Vec<u32>> = BTreeMap::new();
    let mut t = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        trigrams_of(d, &mut t);
        for &x in &t {
            m.entry(x).or_default().push(i as u32);
        }
    }
    m
}

fn check_all(seg: &Segment, docs: &[Vec<u8>]) {
    assert_eq!(seg.num_docs() as usize, docs.len());
    let mut buf = vec![1, 2, 3];
    for (i, d) in docs.iter().enumerate() {
        let e = seg.doc(i as u32);
        assert_eq!(e.content_id, ContentId::of(d));
        assert_eq!(e.git_oid, oid(i));
        assert_eq!(e.size, d.len() as u64);
        seg.content_into(i as u32, &mut buf).unwrap();
        assert_eq!(&buf, d, "content of doc {i}");
    }
    let expected = brute_postings(docs);
    for (&t, ids) in &expected {
        let got: Vec<u32> = seg.postings(t).unwrap().iter().collect();
        assert_eq!(&got, ids, "postings of {t:06x}");
    }
    // Absent trigrams (and values outside the 24-bit space) give empty lists.
    let mut rng = Rng(77);
    let mut absent = 0;
    while absent < 200 {
        let t = rng.next_u64() as u32 & 0x00ff_ffff;
        if !expected.contains_key(&t) {
            assert!(seg.postings(t).unwrap().is_empty());
            absent += 1;
        }
    }
    assert!(seg.postings(0x0100_0000).unwrap().is_empty());
    assert!(seg.postings(u32::MAX).unwrap().is_empty());

    let stats = seg.verify().unwrap();
    assert_eq!(stats, seg.stats());
    assert_eq!(stats.num_docs as usize, docs.len());
    assert_eq!(stats.raw_bytes, docs.iter().map(|d| d.len() as u64).sum::<u64>());
    assert_eq!(stats.num_trigrams as usize, expected.len());
    assert_eq!(stats.docs_bytes, 80 * docs.len() as u64);
    assert_eq!(
        stats.file_bytes,
        16 + 112 + stats.docs_bytes + stats.dict_bytes + stats.postings_bytes + stats.content_bytes
    );
}

#[test]
fn round_trip_random_docs() {
    let docs = random_docs(300, 1);
    let seg = open(build(&docs, 3)).unwrap();
    check_all(&seg, &docs);
}

#[test]
fn round_trip_other_zstd_levels() {
    let docs = random_docs(40, 2);
    for level in [-5, 1, 19] {
        check_all(&open(build(&docs, level)).unwrap(), &docs);
    }
}

#[test]
fn round_trip_dense_postings_use_runs_and_many_containers() {
    // 70k docs sharing trigrams: long runs and more than one roaring container,
    // plus lists of every length 1, 2, 3 (inline and roaring encodings).
    let mut docs: Vec<Vec<u8>> = (0..70_000).map(|i| format!("abc{}", i % 97).into_bytes()).collect();
    docs[5] = b"zzq".to_vec();
    docs[6] = b"yyq yyq".to_vec();
    docs[69_999] = b"yyq".to_vec();
    let bytes = build(&docs, 1);
    let seg = open(bytes).unwrap();
    let expected = brute_postings(&docs);
    for (&t, ids) in &expected {
        let got: Vec<u32> = seg.postings(t).unwrap().iter().collect();
        assert_eq!(&got, ids);
    }
    assert_eq!(seg.postings(grove_ngram::pack(b'a', b'b', b'c')).unwrap().len(), 69_997);
    assert_eq!(seg.postings(grove_ngram::pack(b'z', b'z', b'q')).unwrap().iter().collect::<Vec<_>>(), vec![5]);
    assert_eq!(seg.postings(grove_ngram::pack(b'y', b'y', b'q')).unwrap().iter().collect::<Vec<_>>(), vec![6, 69_999]);
    seg.verify().unwrap();
}

#[test]
fn empty_segment() {
    let bytes = SegmentWriter::new().finish();
    let seg = open(bytes).unwrap();
    assert_eq!(seg.num_docs(), 0);
    assert!(seg.postings(grove_ngram::pack(b'a', b'b', b'c')).unwrap().is_empty());
    let mut buf = Vec::new();
    assert!(matches!(seg.content_into(0, &mut buf), Err(SegmentError::NoSuchDoc { doc: 0, num_docs: 0 })));
    let stats = seg.verify().unwrap();
    assert_eq!(stats.num_docs, 0);
    assert_eq!(stats.raw_bytes, 0);
    assert_eq!(stats.num_trigrams, 0);
}

#[test]
fn tiny_docs() {
    let docs: Vec<Vec<u8>> =
        vec![b"".to_vec(), b"a".to_vec(), b"ab".to_vec(), b"abc".to_vec(), b"".to_vec(), b"AbC".to_vec()];
    let seg = open(build(&docs, 3)).unwrap();
    check_all(&seg, &docs);
    assert_eq!(seg.postings(grove_ngram::pack(b'a', b'b', b'c')).unwrap().iter().collect::<Vec<_>>(), vec![3, 5]);
    let mut buf = vec![9; 10];
    seg.content_into(0, &mut buf).unwrap();
    assert!(buf.is_empty());
}

#[test]
fn output_is_deterministic() {
    let docs = random_docs(50, 3);
    assert_eq!(build(&docs, 3), build(&docs, 3));
}

#[test]
fn version_mismatch_is_refused() {
    for v in [0, FORMAT_VERSION + 1] {
        let mut bytes = build(&random_docs(5, 4), 3);
        bytes[8..12].copy_from_slice(&v.to_le_bytes());
        match open(bytes) {
            Err(SegmentError::UnsupportedVersion { found, supported }) => {
                assert_eq!((found, supported), (v, FORMAT_VERSION))
            }
            other => panic!("expected UnsupportedVersion, got {other:?}"),
        }
    }
}

#[test]
fn bad_magic_and_truncation() {
    let bytes = build(&random_docs(5, 5), 3);
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(matches!(open(b), Err(SegmentError::BadMagic)));
    assert!(matches!(open(b"not a segment at all".to_vec()), Err(SegmentError::BadMagic)));
    assert!(matches!(open(Vec::new()), Err(SegmentError::Truncated)));
    assert!(matches!(open(bytes[..bytes.len() - 1].to_vec()), Err(SegmentError::Truncated)));
    assert!(matches!(open(bytes[..20].to_vec()), Err(SegmentError::Truncated)));
}

#[test]
fn verify_catches_wrong_content_id() {
    let docs = random_docs(3, 6);
    let mut w = SegmentWriter::new();
    for (i, d) in docs.iter().enumerate() {
        let id = if i == 1 { ContentId([7; 32]) } else { ContentId::of(d) };
        w.add(PreparedDoc::new(DocInput { content_id: id, git_oid: oid(i), content: d }, 3));
    }
    let seg = open(w.finish()).unwrap();
    assert!(matches!(seg.verify(), Err(SegmentError::BadContent { doc: 1, .. })));
}

#[test]
fn content_section_corruption_is_caught_per_doc() {
    let docs: Vec<Vec<u8>> =
        (0..4).map(|i| format!("fn main() {{ println!(\"{i}\"); }}\n").repeat(50).into_bytes()).collect();
    let mut bytes = build(&docs, 3);
    let seg = open(bytes.clone()).unwrap();
    let content_len = seg.stats().content_bytes as usize;
    // Flip a byte in the middle of doc 2's frame (frames are laid out in order).
    let per = content_len / 4;
    bytes[16 + 2 * per + per / 2] ^= 0x40;
    let seg = open(bytes).unwrap(); // content is not checked by open
    let mut buf = Vec::new();
    assert!(matches!(seg.content_into(2, &mut buf), Err(SegmentError::BadContent { doc: 2, .. })));
    assert!(buf.is_empty());
    seg.content_into(1, &mut buf).unwrap();
    assert_eq!(buf, docs[1]);
    assert!(seg.verify().is_err());
}

#[test]
fn segments_share_across_threads() {
    let docs = random_docs(20, 8);
    let seg = Arc::new(open(build(&docs, 3)).unwrap());
    std::thread::scope(|s| {
        for k in 0..2 {
            let seg = seg.clone();
            let docs = &docs;
            s.spawn(move || {
                let mut buf = Vec::new();
                for i in (k..docs.len()).step_by(2) {
                    seg.content_into(i as u32, &mut buf).unwrap();
                    assert_eq!(&buf, &docs[i]);
                }
            });
        }
    });
}

#[test]
fn reused_docs_make_the_same_segment_as_fresh_ones() {
    let docs = random_docs(300, 11);
    let seg = open(build(&docs, 1)).unwrap();
    // Every third doc, as compaction would keep the live ones.
    let keep: Vec<u32> = (0..docs.len() as u32).filter(|d| d % 3 != 1).collect();
    let mut merged = SegmentWriter::new();
    for p in seg.reuse_docs(&keep).unwrap() {
        merged.add(p);
    }
    let kept: Vec<Vec<u8>> = keep.iter().map(|&d| docs[d as usize].clone()).collect();
    // Byte for byte what indexing the kept contents afresh writes.
    let mut fresh = SegmentWriter::new();
    for &d in &keep {
        let content = &docs[d as usize];
        let input = DocInput { content_id: ContentId::of(content), git_oid: oid(d as usize), content };
        fresh.add(PreparedDoc::new(input, 1));
    }
    let merged = merged.finish();
    assert!(merged == fresh.finish(), "reused docs differ from freshly prepared ones");
    assert_verified_contents(merged, &kept);
    assert!(seg.reuse_docs(&[]).unwrap().is_empty());
    assert!(seg.reuse_docs(&[docs.len() as u32]).is_err());
    assert!(seg.reuse_docs(&[2, 2]).is_err());
}

#[test]
fn merged_segments_are_the_same_as_fresh_ones() {
    // Three sources of different sizes (one with a single doc, so inline
    // postings meet records), keeping some docs of each.
    let sets = [random_docs(200, 21), random_docs(1, 22), random_docs(90, 23)];
    let mut base = 0usize;
    let mut segs = Vec::new();
    let mut all: Vec<(Vec<u8>, GitOid)> = Vec::new();
    for docs in &sets {
        let mut w = SegmentWriter::new();
        for (i, content) in docs.iter().enumerate() {
            let input = DocInput { content_id: ContentId::of(content), git_oid: oid(base + i), content };
            w.add(PreparedDoc::new(input, 1));
            all.push((content.clone(), oid(base + i)));
        }
        base += docs.len();
        segs.push(open(w.finish()).unwrap());
    }
    let keeps: [Vec<u32>; 3] =
        [(0..200).filter(|d| d % 4 != 1).collect(), vec![0], (0..90).filter(|d| d % 2 == 0).collect()];
    let parts: Vec<(&Segment, &[u32])> = segs.iter().zip(&keeps).map(|(s, k)| (s, k.as_slice())).collect();
    let merged = merge_segments(&parts).unwrap();
    // Byte for byte what indexing the kept contents afresh writes, and what
    // the reused docs give.
    let mut fresh = SegmentWriter::new();
    let mut reused = SegmentWriter::new();
    let mut kept = Vec::new();
    let mut base = 0usize;
    for ((seg, keep), docs) in segs.iter().zip(&keeps).zip(&sets) {
        for &d in keep {
            let (content, id) = &all[base + d as usize];
            let input = DocInput { content_id: ContentId::of(content), git_oid: *id, content };
            fresh.add(PreparedDoc::new(input, 1));
            kept.push(content.clone());
        }
        for p in seg.reuse_docs(keep).unwrap() {
            reused.add(p);
        }
        base += docs.len();
    }
    assert!(merged == fresh.finish(), "merged segment differs from a fresh one");
    assert!(merged == reused.finish(), "merged segment differs from reused docs");
    assert_verified_contents(merged, &kept);
    // Nothing kept: an empty segment; bad doc lists are refused with their part.
    assert!(merge_segments(&[(&segs[0], &[][..])]).unwrap() == SegmentWriter::new().finish());
    assert_eq!(merge_segments(&[(&segs[1], &[0][..]), (&segs[0], &[3, 3][..])]).unwrap_err().0, 1);
    assert_eq!(merge_segments(&[(&segs[1], &[1][..])]).unwrap_err().0, 0);
}

/// A version-1 segment (fst dictionary) from `fixtures/sample-index-v1`
/// still reads and verifies, and compaction turns it into a version-2
/// segment with the same documents and postings.
#[test]
fn version_1_segments_still_read_and_merge_into_version_2() {
    let v1 = include_bytes!(
        "../../../fixtures/sample-index-v1/segments/2e576e5e6c3e66b1a508ecda97ba9c875a562029716aa7c048c1d19d5cba0b1c.seg"
    );
    assert_eq!(&v1[8..12], &1u32.to_le_bytes());
    let seg = open(v1.to_vec()).unwrap();
    let stats = seg.verify().unwrap();
    let all: Vec<u32> = (0..seg.num_docs()).collect();
    let merged = merge_segments(&[(&seg, &all[..])]).unwrap();
    assert_eq!(&merged[8..12], &FORMAT_VERSION.to_le_bytes());
    // `verify` checks the postings against the trigrams of the contents.
    let v2 = open(merged).unwrap();
    assert_eq!(v2.verify().unwrap().num_trigrams, stats.num_trigrams);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for d in 0..seg.num_docs() {
        seg.content_into(d, &mut a).unwrap();
        v2.content_into(d, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(seg.doc(d), v2.doc(d));
    }
    let mut tris = Vec::new();
    grove_ngram::trigrams_of(&a, &mut tris);
    for &t in tris.iter().take(50) {
        assert_eq!(v2.postings(t).unwrap(), seg.postings(t).unwrap());
    }
}
