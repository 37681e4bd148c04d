//! Regex → trigram planning cost (grove-ngram's planner).
//!
//! Needs in benches/Cargo.toml: dev-deps `criterion`, `grove-ngram`,
//! `regex-syntax`, and `[[bench]] name = "planner" harness = false`.
use criterion::{criterion_group, criterion_main, Criterion};
use grove_ngram::{plan, PlanLimits};
use std::hint::black_box;

const PATTERNS: &[(&str, &str)] = &[
    ("literal", "ensure_capacity"),
    ("ci_literal", "(?i)HashMap::with_capacity"),
    ("alternation", "(?i)(error|warning|info|debug|trace):"),
    ("cross_boundary", "(abc|def)ghi(jkl|mno)"),
    ("classes", r"fn\s+\w+<[A-Z]\w*>\("),
    ("repetition", r"(?-u)\d{4}-\d{2}-\d{2}"),
    ("dot_star", r"(?s)BEGIN.*END"),
];

fn parse(p: &str) -> regex_syntax::hir::Hir {
    regex_syntax::ParserBuilder::new().utf8(false).unicode(true).multi_line(true).build().parse(p).unwrap()
}

fn bench_plan(c: &mut Criterion) {
    let mut g = c.benchmark_group("plan");
    for (name, pattern) in PATTERNS {
        let hir = parse(pattern);
        g.bench_function(*name, |b| b.iter(|| plan(black_box(&hir), PlanLimits::default())));
    }
    let long: String = (0..2000).map(|i| (b'a' + (i * 7 % 26) as u8) as char).collect();
    let hir = parse(&format!("(?i){long}"));
    g.bench_function("ci_literal_2k", |b| b.iter(|| plan(black_box(&hir), PlanLimits::default())));
    g.finish();
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
