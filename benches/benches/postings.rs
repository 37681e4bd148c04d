//! Segment and posting-list operations (grove-segment, roaring).
//!
//! Builds one segment in memory from the corpus described in
//! `common/mod.rs` (`GROVE_BENCH_CORPUS`, `GROVE_BENCH_CORPUS_MB`), then
//! measures opening it, fetching posting lists of trigrams chosen by document
//! frequency, roaring intersections and unions, decompressing one document,
//! and writing a segment from scratch.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use grove_ngram::Trigram;
use grove_segment::{PreparedDoc, RoaringBitmap, Segment, SegmentWriter};

mod common;

/// Bytes of corpus written per iteration of the `write` benches.
const WRITE_BYTES: u64 = 5 << 20;

fn benches(c: &mut Criterion) {
    let (corpus, built) = common::setup();
    let seg = &built.segment;
    let n = seg.num_docs();
    let df = common::doc_frequencies(&corpus.files, &built);

    // --- Segment::open -------------------------------------------------
    c.bench_function("segment/open", |b| b.iter(|| Segment::open(black_box(built.bytes.clone())).unwrap()));

    // --- postings(t) -----------------------------------------------------
    // rare: ~0.5% of docs (at least 3, so it is a posting record rather
    // than an id inlined in the dictionary); medium: ~10%; common: the
    // trigram in the most docs.
    let (common_t, common_df) =
        df.iter().map(|(&t, &d)| (d, std::cmp::Reverse(t))).max().map(|(d, t)| (t.0, d)).unwrap();
    let (medium_t, medium_df) = common::trigram_near(&df, n / 10, &[]);
    let (rare_t, rare_df) = common::trigram_near(&df, (n / 200).max(3), &[]);
    let mut g = c.benchmark_group("postings");
    for (name, t, d) in [("rare", rare_t, rare_df), ("medium", medium_t, medium_df), ("common", common_t, common_df)] {
        eprintln!("postings/{name}: trigram {} in {d} of {n} docs", common::show(t));
        g.bench_function(name, |b| b.iter(|| seg.postings(black_box(t)).unwrap()));
    }
    g.finish();

    // --- roaring set operations on decoded lists -------------------------
    let lists = |targets: &[f64]| -> Vec<RoaringBitmap> {
        let mut chosen: Vec<Trigram> = Vec::new();
        for &f in targets {
            let (t, _) = common::trigram_near(&df, (n as f64 * f).round() as u32, &chosen);
            chosen.push(t);
        }
        chosen.iter().map(|&t| seg.postings(t).unwrap()).collect()
    };
    let sizes = |ls: &[RoaringBitmap]| ls.iter().map(|b| b.len().to_string()).collect::<Vec<_>>().join(", ");
    let and2 = lists(&[0.5, 0.25]);
    let and5 = lists(&[0.5, 0.25, 0.1, 0.05, 0.02]);
    let or10 = lists(&[0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10]);
    let mut g = c.benchmark_group("roaring");
    eprintln!("roaring/and2: lists of {} docs -> {}", sizes(&and2), (&and2[0] & &and2[1]).len());
    g.bench_function("and2", |b| b.iter(|| black_box(&and2[0]) & black_box(&and2[1])));
    let and_all = |ls: &[RoaringBitmap]| {
        // As the evaluator does: smallest first, then `&=` the others.
        let mut refs: Vec<&RoaringBitmap> = ls.iter().collect();
        refs.sort_by_key(|b| b.len());
        let mut acc = refs[0] & refs[1];
        for l in &refs[2..] {
            acc &= *l;
        }
        acc
    };
    eprintln!("roaring/and5: lists of {} docs -> {}", sizes(&and5), and_all(&and5).len());
    g.bench_function("and5", |b| b.iter(|| and_all(black_box(&and5))));
    let or_all = |ls: &[RoaringBitmap]| {
        let mut acc = RoaringBitmap::new();
        for l in ls {
            acc |= l;
        }
        acc
    };
    eprintln!("roaring/or10: lists of {} docs -> {}", sizes(&or10), or_all(&or10).len());
    g.bench_function("or10", |b| b.iter(|| or_all(black_box(&or10))));
    g.finish();

    // --- content_into ----------------------------------------------------
    // A typical doc: the one of median size.
    let mut by_size: Vec<(u64, u32)> = (0..n).map(|d| (seg.doc(d).size, d)).collect();
    by_size.sort_unstable();
    let (size, doc) = by_size[by_size.len() / 2];
    eprintln!("content/median_doc: doc {doc}, {size} bytes");
    let mut g = c.benchmark_group("content");
    g.throughput(Throughput::Bytes(size));
    let mut buf = Vec::new();
    g.bench_function("median_doc", |b| {
        b.iter(|| {
            seg.content_into(black_box(doc), &mut buf).unwrap();
            black_box(buf.len())
        })
    });
    g.finish();

    // --- writing a segment -----------------------------------------------
    let files = corpus.prefix(WRITE_BYTES);
    let bytes: u64 = files.iter().map(|f| f.content.len() as u64).sum();
    eprintln!("write/*: {} files, {bytes} bytes", files.len());
    let prepare =
        || -> Vec<PreparedDoc> { files.iter().map(|f| PreparedDoc::new(f.input(), common::ZSTD_LEVEL)).collect() };
    let mut g = c.benchmark_group("write");
    g.sample_size(10).throughput(Throughput::Bytes(bytes));
    // The whole thing, single-threaded for the per-doc work as written here
    // (the indexer prepares docs on a rayon pool; `finish` is parallel).
    g.bench_function("prepare_add_finish", |b| {
        b.iter(|| {
            let mut w = SegmentWriter::new();
            for f in files {
                w.add(PreparedDoc::new(f.input(), common::ZSTD_LEVEL));
            }
            w.finish()
        })
    });
    // Its two halves: trigram extraction + compression, then serialization.
    g.bench_function("prepare", |b| b.iter(prepare));
    g.bench_function("add_finish", |b| {
        b.iter_batched(
            prepare,
            |docs| {
                let mut w = SegmentWriter::new();
                for d in docs {
                    w.add(d);
                }
                w.finish()
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(postings, benches);
criterion_main!(postings);
