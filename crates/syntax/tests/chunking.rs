//! Chunking behaviours: doc comments, merging, splitting, fallbacks.

mod common;

use grove_syntax::{analyze, chunk_text, ChunkLimits, FileSyntax, Lang, ParseOutcome, SymbolKind};

fn no_merge() -> ChunkLimits {
    ChunkLimits { min_tokens: 0, ..ChunkLimits::default() }
}

fn run(path: &str, src: &str, limits: &ChunkLimits) -> FileSyntax {
    let syntax = analyze(path.as_bytes(), src.as_bytes(), limits);
    common::check_invariants(path.as_bytes(), src.as_bytes(), limits, &syntax);
    syntax
}

/// The text of the chunk named `symbol` (used by the multi-language tests).
#[cfg_attr(not(feature = "lang-python"), allow(dead_code))]
fn chunk_named<'a>(syntax: &FileSyntax, src: &'a str, symbol: &str) -> &'a str {
    let chunk = syntax
        .chunks
        .iter()
        .find(|c| c.symbol.as_deref() == Some(symbol))
        .unwrap_or_else(|| panic!("no chunk {symbol}: {:#?}", syntax.chunks));
    &src[chunk.start_byte as usize..chunk.end_byte as usize]
}

#[cfg(all(
    feature = "lang-rust",
    feature = "lang-python",
    feature = "lang-javascript",
    feature = "lang-typescript",
    feature = "lang-go",
    feature = "lang-java",
    feature = "lang-c",
    feature = "lang-cpp"
))]
#[test]
fn doc_comments_and_attributes_stay_with_their_definition() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("a.rs", "use x;\n\n/// Doc.\n#[inline]\nfn f() {}\n", "f", "/// Doc.\n#[inline]\nfn f() {}\n"),
        (
            "a.py",
            "import x\n\n# Why.\n@cache\n@other(1)\ndef f():\n    pass\n",
            "f",
            "# Why.\n@cache\n@other(1)\ndef f():\n    pass\n",
        ),
        (
            "a.js",
            "let a = 1;\n/**\n * JSDoc.\n */\nexport function f() {}\n",
            "f",
            "/**\n * JSDoc.\n */\nexport function f() {}\n",
        ),
        ("a.ts", "let a = 1;\n/** Doc. */\nexport class C {}\n", "C", "/** Doc. */\nexport class C {}\n"),
        ("a.go", "package p\n\n// F does.\n// More.\nfunc F() {}\n", "F", "// F does.\n// More.\nfunc F() {}\n"),
        (
            "A.java",
            "class A {\n    int x;\n    /** Doc. */\n    @Override\n    void m() {}\n}\n",
            "A::m",
            "    /** Doc. */\n    @Override\n    void m() {}\n",
        ),
        (
            "a.c",
            "int x;\n/* Doc. */\nstatic int f(void) { return 0; }\n",
            "f",
            "/* Doc. */\nstatic int f(void) { return 0; }\n",
        ),
        (
            "a.cpp",
            "int x;\n// Doc.\ntemplate <class T>\nT f(T t) { return t; }\n",
            "f",
            "// Doc.\ntemplate <class T>\nT f(T t) { return t; }\n",
        ),
    ];
    for &(path, src, symbol, expected) in cases {
        let syntax = run(path, src, &no_merge());
        assert!(matches!(syntax.outcome, ParseOutcome::Parsed(_)), "{path}");
        // Java methods are split out of their class only when the class is too large.
        let syntax = if path.ends_with(".java") {
            run(path, src, &ChunkLimits { max_tokens: 26, min_tokens: 0, ..ChunkLimits::default() })
        } else {
            syntax
        };
        assert_eq!(chunk_named(&syntax, src, symbol), expected, "{path}");
    }
}

#[cfg(all(feature = "lang-rust", feature = "lang-python"))]
#[test]
fn comment_separated_by_a_blank_line_is_not_attached() {
    let src = "// Licence header.\n\nfn f() {}\n";
    let syntax = run("a.rs", src, &no_merge());
    assert_eq!(chunk_named(&syntax, src, "f"), "fn f() {}\n");
    assert_eq!(syntax.chunks[0].symbol, None);
    let src = "x = 1 # trailing\n# Doc of f.\ndef f():\n    pass\n";
    let syntax = run("a.py", src, &no_merge());
    assert_eq!(chunk_named(&syntax, src, "f"), "# Doc of f.\ndef f():\n    pass\n");
}

#[test]
fn tiny_siblings_merge_up_to_the_budget() {
    let src: String = (0..40).map(|i| format!("fn f{i}() {{ g({i}); }}\n")).collect();
    let limits = ChunkLimits { max_tokens: 100, min_tokens: 48, ..ChunkLimits::default() };
    let syntax = run("m.rs", &src, &limits);
    assert_eq!(syntax.symbols.len(), 40);
    assert!(syntax.chunks.len() < 20, "{} chunks", syntax.chunks.len());
    assert!(syntax.chunks.len() >= 4, "{} chunks", syntax.chunks.len());
    // A merge of several definitions at top level is named after none of them.
    assert!(syntax.chunks.iter().all(|c| c.symbol.is_none()));

    // Without merging, each function is its own chunk.
    let syntax = run("m.rs", &src, &ChunkLimits { min_tokens: 0, ..limits });
    assert_eq!(syntax.chunks.len(), 40);
    assert_eq!(syntax.chunks[7].symbol.as_deref(), Some("f7"));
}

#[test]
fn a_huge_function_is_split_into_line_windows_with_its_name() {
    let mut src = String::from("use std::io;\n\n/// Big.\npub fn huge(x: u64) -> u64 {\n    let mut acc = 0;\n");
    for i in 0..400 {
        src.push_str(&format!("    acc += compute_value_{i}(x, {i});\n"));
    }
    src.push_str("    acc\n}\n\nfn small() {}\n");
    let limits = ChunkLimits::default();
    let syntax = run("big.rs", &src, &limits);
    let huge: Vec<_> = syntax.chunks.iter().filter(|c| c.symbol.as_deref() == Some("huge")).collect();
    assert!(huge.len() >= 20, "{} windows", huge.len());
    assert_eq!(huge[0].start_line, 3, "the first window starts at the doc comment");
    assert_eq!(huge.last().map(|c| c.end_line), Some(407));
    for pair in huge.windows(2) {
        assert_eq!(pair[0].end_line + 1, pair[1].start_line, "windows tile the function");
    }
    let symbol = syntax.symbols.iter().find(|s| s.name == "huge").expect("symbol");
    assert_eq!((symbol.start_line, symbol.end_line, symbol.kind), (4, 407, SymbolKind::Function));
}

#[cfg(feature = "lang-python")]
#[test]
fn a_large_class_is_split_into_its_methods() {
    let mut src = String::from("class Big:\n    \"\"\"A big class.\"\"\"\n\n    LIMIT = 3\n\n");
    for i in 0..12 {
        src.push_str(&format!(
            "    def method_{i}(self, value):\n        total = value * {i} + self.offset\n        for item in self.items:\n            total += item.weight * {i}\n        return total\n\n"
        ));
    }
    let limits = ChunkLimits { max_tokens: 128, min_tokens: 0, ..ChunkLimits::default() };
    let syntax = run("big.py", &src, &limits);
    let symbols: Vec<_> = syntax.chunks.iter().map(|c| c.symbol.as_deref().unwrap_or("-")).collect();
    assert_eq!(symbols[0], "Big", "the class header and its attributes");
    assert_eq!(
        &src[syntax.chunks[0].start_byte as usize..syntax.chunks[0].end_byte as usize],
        "class Big:\n    \"\"\"A big class.\"\"\"\n\n    LIMIT = 3\n"
    );
    for i in 0..12 {
        assert_eq!(symbols[i + 1], format!("Big::method_{i}"));
    }
    let text = chunk_text(b"pkg/big.py", src.as_bytes(), &syntax.chunks[3]);
    assert!(text.starts_with("pkg/big.py :: Big::method_2\n    def method_2(self, value):\n"), "{text}");
}

#[test]
fn rust_impl_blocks_split_into_type_qualified_methods() {
    let mut src = String::from("impl fmt::Display for Wide {\n");
    for i in 0..6 {
        src.push_str(&format!("    fn m{i}(&self) -> u32 {{\n        self.values.iter().map(|v| v * {i}).sum::<u32>() + self.base\n    }}\n"));
    }
    src.push_str("}\n");
    let limits = ChunkLimits { max_tokens: 64, min_tokens: 0, ..ChunkLimits::default() };
    let syntax = run("w.rs", &src, &limits);
    let symbols: Vec<_> = syntax.chunks.iter().map(|c| c.symbol.clone().unwrap_or_default()).collect();
    assert_eq!(symbols.first().map(String::as_str), Some("impl fmt::Display for Wide"));
    assert_eq!(symbols.get(1).map(String::as_str), Some("Wide::m0"));
    assert_eq!(symbols.last().map(String::as_str), Some("impl fmt::Display for Wide"), "closing brace");
    let m3 = syntax.symbols.iter().find(|s| s.name == "m3").expect("m3");
    assert_eq!((m3.kind, m3.container.as_deref()), (SymbolKind::Method, Some("Wide")));
}

#[cfg(feature = "lang-python")]
#[test]
fn top_level_code_is_chunked_too() {
    let mut src = String::from("#!/usr/bin/env python3\nimport sys\n\n");
    for i in 0..200 {
        src.push_str(&format!("print(sys.argv[{i}] if len(sys.argv) > {i} else 'missing {i}')\n"));
    }
    let syntax = run("script.py", &src, &ChunkLimits::default());
    assert!(syntax.chunks.len() > 10);
    assert!(syntax.chunks.iter().all(|c| c.symbol.is_none()));
}

#[test]
fn unknown_files_get_overlapping_line_windows() {
    let src: String = (1..=100).map(|i| format!("line {i} of the notes\n")).collect();
    let limits = ChunkLimits { window_lines: 30, overlap_lines: 5, ..ChunkLimits::default() };
    let syntax = run("NOTES.txt", &src, &limits);
    assert_eq!(syntax.outcome, ParseOutcome::PlainText);
    assert!(syntax.symbols.is_empty());
    let ranges: Vec<_> = syntax.chunks.iter().map(|c| (c.start_line, c.end_line)).collect();
    assert_eq!(ranges, vec![(1, 30), (26, 55), (51, 80), (76, 100)]);
}

#[test]
fn unparseable_source_falls_back_to_line_windows() {
    let src = "fn (((( {{{{ ]]]] >>>> <<<< \n".repeat(50);
    let syntax = run("broken.rs", &src, &ChunkLimits::default());
    assert_eq!(syntax.outcome, ParseOutcome::Failed(Lang::Rust));
    assert!(!syntax.chunks.is_empty());
    assert!(syntax.symbols.is_empty());
}

#[test]
fn files_over_a_mebibyte_are_not_parsed() {
    let src = "fn f() { let x = 1; }\n".repeat(60_000);
    let syntax = run("gen.rs", &src, &ChunkLimits::default());
    assert_eq!(syntax.outcome, ParseOutcome::Failed(Lang::Rust));
    assert!(syntax.chunks.len() > 1000);
}

#[test]
fn a_very_long_line_is_cut_within_the_budget() {
    let src = format!("const DATA: &[u8] = &[{}];\n", (0..5000).map(|i| i.to_string()).collect::<Vec<_>>().join(", "));
    let syntax = run("data.rs", &src, &ChunkLimits::default());
    assert!(syntax.chunks.len() > 20);
    assert!(syntax.chunks.iter().all(|c| c.start_line == 1 && c.end_line == 1));
    assert!(syntax.chunks.iter().all(|c| c.symbol.as_deref() == Some("DATA")));
}

#[test]
fn non_utf8_content_is_parsed_and_reported_lossily() {
    let mut src = b"/// Caf\xe9 doc.\nfn caf\xe9() {}\nfn ok() { let s = \"\xff\xfe\"; }\n".to_vec();
    src.extend_from_slice(b"fn last() {}\n");
    let syntax = analyze(b"latin1.rs", &src, &no_merge());
    common::check_invariants(b"latin1.rs", &src, &no_merge(), &syntax);
    assert!(syntax.symbols.iter().any(|s| s.name == "ok"));
    assert!(syntax.symbols.iter().any(|s| s.name == "last"));
    let text = chunk_text(b"latin1.rs", &src, &syntax.chunks[0]);
    assert!(text.contains('\u{fffd}'), "{text}");
}

#[test]
fn disabled_or_unknown_languages_report_why() {
    let syntax = analyze(b"Makefile", b"all:\n\tcc main.c\n", &ChunkLimits::default());
    assert_eq!(syntax.outcome, ParseOutcome::PlainText);
    assert_eq!(syntax.chunks.len(), 1);
    let empty = analyze(b"empty.rs", b"", &ChunkLimits::default());
    assert_eq!(empty.outcome, ParseOutcome::Parsed(Lang::Rust));
    assert!(empty.chunks.is_empty() && empty.symbols.is_empty());
    let blank = analyze(b"blank.txt", b"\n\n   \n", &ChunkLimits::default());
    assert!(blank.chunks.is_empty());
}

#[test]
fn chunk_text_has_a_header_line() {
    let src = b"fn f() {}\n";
    let syntax = analyze(b"src/lib.rs", src, &ChunkLimits::default());
    assert_eq!(chunk_text(b"src/lib.rs", src, &syntax.chunks[0]), "src/lib.rs :: f\nfn f() {}\n");
    let mut anonymous = syntax.chunks[0].clone();
    anonymous.symbol = None;
    assert_eq!(chunk_text(b"src/lib.rs", src, &anonymous), "src/lib.rs\nfn f() {}\n");
    anonymous.end_byte = 1000;
    assert_eq!(chunk_text(b"src/lib.rs", src, &anonymous), "src/lib.rs\n", "out of range: header only");
}

#[test]
fn tiny_budgets_still_terminate_and_cover_everything() {
    let src =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/shapes.rs")).expect("fixture");
    for max_tokens in [1, 2, 5, 17] {
        let limits = ChunkLimits { max_tokens, min_tokens: 3, window_lines: 2, overlap_lines: 1 };
        let syntax = analyze(b"s.rs", src.as_bytes(), &limits);
        assert!(!syntax.chunks.is_empty());
        // The header alone exceeds these budgets, so only coverage is checked.
        let covered: usize = syntax.chunks.iter().map(|c| (c.end_byte - c.start_byte) as usize).sum();
        assert!(covered >= src.bytes().filter(|b| !b.is_ascii_whitespace()).count());
    }
}

#[test]
fn languages_whose_feature_is_off_fall_back_to_windows() {
    let src = "x = 1\n";
    for path in ["a.rs", "a.py", "a.js", "a.ts", "a.tsx", "a.go", "A.java", "a.c", "a.cpp"] {
        let lang = Lang::from_path(path.as_bytes()).expect("known extension");
        let syntax = run(path, src, &ChunkLimits::default());
        if lang.compiled_in() {
            assert!(matches!(syntax.outcome, ParseOutcome::Parsed(_) | ParseOutcome::Failed(_)), "{path}");
        } else {
            assert_eq!(syntax.outcome, ParseOutcome::NotCompiledIn(lang));
            assert_eq!(syntax.chunks.len(), 1);
        }
    }
}

/// A short file with one broken line (an editor buffer mid-edit) keeps the
/// definitions tree-sitter recovered around it.
#[test]
fn one_broken_line_in_a_short_file_keeps_its_definitions() {
    let src = "def greet(name):\n    hello there friend\n    return name\n\n\ndef other():\n    return 1\n";
    let s = analyze(b"a.py", src.as_bytes(), &ChunkLimits::default());
    assert!(matches!(s.outcome, ParseOutcome::Parsed(_)), "{:?}", s.outcome);
    let names: Vec<&str> = s.symbols.iter().map(|x| x.name.as_str()).collect();
    assert!(names.contains(&"other"), "{names:?}");
    // A file that is mostly errors is still not trusted.
    let junk: String = (0..40).map(|i| format!("def {i} ( ( ( :: ]] {{\n")).collect();
    let s = analyze(b"b.py", junk.as_bytes(), &ChunkLimits::default());
    assert!(!matches!(s.outcome, ParseOutcome::Parsed(_)), "{:?}", s.outcome);
}
