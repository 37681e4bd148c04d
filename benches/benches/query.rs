//! The query path end to end, without git: pattern compilation, candidate
//! selection over posting lists, parallel verification (rayon, all cores)
//! and attribution, through `grove_search::search` on one in-memory segment
//! and a snapshot whose entries point at every doc.
//!
//! Corpus as in `common/mod.rs` (`GROVE_BENCH_CORPUS`,
//! `GROVE_BENCH_CORPUS_MB`).
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use grove_base::{EntryMode, GitOid};
use grove_manifest::{DocRef, Entry, Snapshot};
use grove_search::{search, CaseMode, CompiledPattern, OutputMode, PatternOptions, SearchOptions, Target};
use grove_store::ObjectId;

mod common;

struct Case {
    name: &'static str,
    pattern: &'static str,
    case: CaseMode,
    mode: OutputMode,
}

const CASES: &[Case] = &[
    // A few files in the default corpus.
    Case { name: "selective_literal", pattern: "reserve_exact", case: CaseMode::Sensitive, mode: OutputMode::Lines },
    // The planner keeps `fn` and `_new`.
    Case { name: "regex_literal", pattern: r"fn\s+\w+_new", case: CaseMode::Sensitive, mode: OutputMode::Lines },
    Case {
        name: "ci_literal",
        pattern: "HashMap::with_capacity",
        case: CaseMode::Insensitive,
        mode: OutputMode::Lines,
    },
    // No trigram: every live doc is a candidate.
    Case { name: "no_literal", pattern: r"\w+\s*=\s*\d{3,}", case: CaseMode::Sensitive, mode: OutputMode::Lines },
    // In most files, counted (-c).
    Case { name: "common_word_count", pattern: "self", case: CaseMode::Sensitive, mode: OutputMode::Count },
    // In no file and no candidate: the fixed cost of a search (walking the
    // snapshot, posting lookups, the verification pool, attribution).
    Case { name: "absent_literal", pattern: "qqxq_absent_zzjz", case: CaseMode::Sensitive, mode: OutputMode::Lines },
];

fn benches(c: &mut Criterion) {
    let (corpus, built) = common::setup();
    let seg_id = ObjectId::of(&built.bytes);
    let entries = corpus
        .files
        .iter()
        .zip(&built.doc_of_file)
        .map(|(f, &doc)| Entry {
            path: f.path.clone(),
            mode: EntryMode::File,
            git_oid: f.git_oid(),
            doc: DocRef::Indexed { segment: 0, doc },
        })
        .collect();
    let snapshot = Snapshot { commit: GitOid::NULL, tree: GitOid::NULL, segments: vec![seg_id], entries };
    let targets = [Target { label: "HEAD".to_string(), snapshot: Arc::new(snapshot) }];
    let segments: HashMap<ObjectId, Arc<grove_segment::Segment>> = HashMap::from([(seg_id, built.segment.clone())]);

    // Each doc's trigram set, to report how many bytes a query verifies.
    let doc_trigrams: Vec<Vec<u32>> = built
        .file_of_doc
        .iter()
        .map(|&i| {
            let mut v = Vec::new();
            grove_segment::doc_trigrams(&corpus.files[i].content, &mut v);
            v
        })
        .collect();
    let candidate_bytes = |p: &CompiledPattern| -> u64 {
        doc_trigrams
            .iter()
            .zip(&built.file_of_doc)
            .filter(|(ts, _)| p.query.matches(&|t| ts.binary_search(&t).is_ok()))
            .map(|(_, &i)| corpus.files[i].content.len() as u64)
            .sum()
    };

    let opts = |case: &Case| PatternOptions { case: case.case, ..Default::default() };

    let mut g = c.benchmark_group("search");
    g.sample_size(20);
    for case in CASES {
        let pattern = CompiledPattern::new(case.pattern, &opts(case)).unwrap();
        let sopts = SearchOptions { mode: case.mode, ..Default::default() };
        let out = search(&pattern, &targets, None, &segments, &sopts).unwrap();
        let lines: u64 = out.files.iter().map(|f| f.matches.count).sum();
        eprintln!(
            "search/{}: {:?} -> {} live, {} candidates ({:.2} MiB), {} matching docs, {} files, {} lines",
            case.name,
            case.pattern,
            out.stats.live_docs,
            out.stats.candidates,
            candidate_bytes(&pattern) as f64 / (1 << 20) as f64,
            out.stats.matching_docs,
            out.files.len(),
            lines
        );
        g.bench_function(case.name, |b| {
            b.iter(|| search(black_box(&pattern), &targets, None, &segments, &sopts).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("compile");
    for case in CASES {
        let o = opts(case);
        g.bench_function(case.name, |b| b.iter(|| CompiledPattern::new(black_box(case.pattern), &o).unwrap()));
    }
    g.finish();
}

criterion_group!(query, benches);
criterion_main!(query);
