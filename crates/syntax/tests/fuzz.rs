//! No input panics, and every analysis keeps its invariants: random bytes
//! under every language's extension, and random truncations and byte edits
//! of the real fixtures.

mod common;

use grove_syntax::{analyze, lexical_tokens, symbol_match_score, ChunkLimits};
use proptest::prelude::*;

const PATHS: [&str; 10] = ["a.rs", "a.py", "a.js", "a.ts", "a.tsx", "a.go", "A.java", "a.c", "a.cpp", "a.txt"];

const FIXTURES: [&str; 9] = [
    "shapes.rs",
    "inventory.py",
    "router.js",
    "store.ts",
    "panel.tsx",
    "cache.go",
    "Account.java",
    "buffer.c",
    "matrix.cpp",
];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn limits() -> impl Strategy<Value = ChunkLimits> {
    (8usize..400, 0usize..100, 0usize..50, 0usize..10).prop_map(
        |(max_tokens, min_tokens, window_lines, overlap_lines)| ChunkLimits {
            max_tokens,
            min_tokens,
            window_lines,
            overlap_lines,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(path in prop::sample::select(PATHS.as_slice()), content in prop::collection::vec(any::<u8>(), 0..2000), limits in limits()) {
        let syntax = analyze(path.as_bytes(), &content, &limits);
        common::check_invariants(path.as_bytes(), &content, &limits, &syntax);
    }

    #[test]
    fn source_like_text(path in prop::sample::select(PATHS.as_slice()), content in "[a-z_(){}\\[\\];:,.=<>#/*\"' \n\t]{0,1500}", limits in limits()) {
        let syntax = analyze(path.as_bytes(), content.as_bytes(), &limits);
        common::check_invariants(path.as_bytes(), content.as_bytes(), &limits, &syntax);
    }

    #[test]
    fn truncated_and_edited_fixtures(
        which in 0..FIXTURES.len(),
        cut in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        limits in limits(),
    ) {
        let name = FIXTURES[which];
        let mut content = fixture(name);
        content.truncate(cut.index(content.len() + 1));
        for (at, byte) in edits {
            if !content.is_empty() {
                let i = at.index(content.len());
                content[i] = byte;
            }
        }
        let syntax = analyze(name.as_bytes(), &content, &limits);
        common::check_invariants(name.as_bytes(), &content, &limits, &syntax);
    }

    #[test]
    fn lexical_tokens_and_matching_never_panic(text in prop::collection::vec(any::<u8>(), 0..300), query in "\\PC{0,12}", name in "\\PC{0,40}") {
        let mut out = Vec::new();
        lexical_tokens(&text, &mut out);
        prop_assert!(out.iter().all(|t| t.chars().count() >= 2));
        if let Some((_, score)) = symbol_match_score(&query, &name) {
            prop_assert!(score > 0);
        }
    }
}
