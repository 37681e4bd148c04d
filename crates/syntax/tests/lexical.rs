//! Languages, kinds, token estimates, lexical tokens and symbol ranking.

use grove_syntax::{check_query, estimate_tokens, lexical_tokens, symbol_match_score, Lang, MatchKind, SymbolKind};

#[test]
fn queries_compile_against_their_grammars() {
    for lang in Lang::ALL.into_iter().filter(|l| l.compiled_in()) {
        check_query(lang).unwrap_or_else(|e| panic!("grammars/{lang}/tags.scm: {e}"));
    }
}

#[test]
fn languages_by_extension() {
    let cases: &[(&str, Option<Lang>)] = &[
        ("src/main.rs", Some(Lang::Rust)),
        ("a/b.py", Some(Lang::Python)),
        ("stubs.pyi", Some(Lang::Python)),
        ("x.mjs", Some(Lang::JavaScript)),
        ("x.cjs", Some(Lang::JavaScript)),
        ("App.jsx", Some(Lang::JavaScript)),
        ("x.ts", Some(Lang::TypeScript)),
        ("x.mts", Some(Lang::TypeScript)),
        ("App.tsx", Some(Lang::Tsx)),
        ("main.go", Some(Lang::Go)),
        ("A.java", Some(Lang::Java)),
        ("git.c", Some(Lang::C)),
        ("cache.h", Some(Lang::C)),
        ("X.CPP", Some(Lang::Cpp)),
        ("x.hpp", Some(Lang::Cpp)),
        ("x.cc", Some(Lang::Cpp)),
        ("Makefile", None),
        (".rs", None),
        ("dir.rs/README", None),
        ("x.rs.orig", None),
        ("", None),
    ];
    for &(path, lang) in cases {
        assert_eq!(Lang::from_path(path.as_bytes()), lang, "{path}");
    }
    assert_eq!(Lang::from_path(b"caf\xe9.py"), Some(Lang::Python));
}

#[test]
fn codes_round_trip_and_are_stable() {
    for lang in Lang::ALL {
        assert_eq!(Lang::from_code(lang.code()), Some(lang));
        assert_eq!(Lang::from_name(lang.name()), Some(lang));
    }
    assert_eq!((Lang::Rust.code(), Lang::Cpp.code()), (1, 9));
    assert_eq!(Lang::from_code(0), None);
    for kind in SymbolKind::ALL {
        assert_eq!(SymbolKind::from_code(kind.code()), Some(kind));
        assert_eq!(SymbolKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!((SymbolKind::Function.code(), SymbolKind::Macro.code()), (1, 17));
    assert_eq!(SymbolKind::from_code(200), None);
}

#[test]
fn token_estimate_rule() {
    assert_eq!(estimate_tokens(b""), 0);
    assert_eq!(estimate_tokens(b"   \n\t"), 0);
    assert_eq!(estimate_tokens(b"fn"), 1);
    assert_eq!(estimate_tokens(b"return"), 2);
    assert_eq!(estimate_tokens(b"parse_expr"), 4, "parse(2) _(1) expr(1)");
    assert_eq!(estimate_tokens(b"a(b, c);"), 7);
    assert_eq!(estimate_tokens("café".as_bytes()), 2, "caf + é");
    assert_eq!(estimate_tokens("日本語".as_bytes()), 3);
    // Sub-additive: no split makes the parts cheaper than the whole.
    let text = b"let value = compute_something(alpha, beta) + 42;";
    for cut in 0..=text.len() {
        assert!(estimate_tokens(&text[..cut]) + estimate_tokens(&text[cut..]) >= estimate_tokens(text));
    }
}

fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    lexical_tokens(text.as_bytes(), &mut out);
    out
}

#[test]
fn lexical_tokens_split_identifiers() {
    assert_eq!(tokens("parseHTTPResponse_v2"), ["parsehttpresponse_v2", "parse", "http", "response", "v2"]);
    assert_eq!(tokens("snake_case_name"), ["snake_case_name", "snake", "case", "name"]);
    assert_eq!(tokens("PascalCase"), ["pascalcase", "pascal", "case"]);
    assert_eq!(tokens("kebab-case-name"), ["kebab", "case", "name"]);
    assert_eq!(tokens("getX"), ["getx", "get"]);
    assert_eq!(tokens("utf8Decode md5Hash"), ["utf8decode", "utf8", "decode", "md5hash", "md5", "hash"]);
    assert_eq!(tokens("IOError"), ["ioerror", "io", "error"]);
    assert_eq!(tokens("foo"), ["foo"]);
    assert_eq!(tokens("a b c = 1;"), Vec::<String>::new());
    assert_eq!(tokens("x.len() >= 42"), ["len", "42"]);
    assert_eq!(tokens("__init__"), ["__init__", "init"]);
    assert_eq!(tokens("ÜberGröße"), ["übergröße", "über", "größe"]);
    assert_eq!(tokens("日本語"), ["日本語"]);
    let mut out = Vec::new();
    lexical_tokens(b"bad\xffbytes\xc3", &mut out);
    assert_eq!(out, ["bad", "bytes"]);
}

fn score(query: &str, name: &str) -> Option<(MatchKind, u32)> {
    symbol_match_score(query, name)
}

#[test]
fn symbol_matching_kinds() {
    assert_eq!(score("parse", "parse").map(|s| s.0), Some(MatchKind::Exact));
    assert_eq!(score("Parse", "parse").map(|s| s.0), Some(MatchKind::Exact));
    assert_eq!(score("parse", "parse_expr").map(|s| s.0), Some(MatchKind::Prefix));
    assert_eq!(score("PARSE", "parse_expr").map(|s| s.0), Some(MatchKind::Prefix));
    assert_eq!(score("pe", "parse_expr").map(|s| s.0), Some(MatchKind::Fuzzy));
    assert_eq!(score("xyz", "parse_expr"), None);
    assert_eq!(score("parse_expression", "parse"), None);
    assert_eq!(score("", "parse"), None);
}

/// Names sorted best first for `query`.
fn ranked<'a>(query: &str, names: &[&'a str]) -> Vec<&'a str> {
    let mut scored: Vec<_> = names.iter().filter_map(|&n| score(query, n).map(|s| (s.1, n))).collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().map(|(_, n)| n).collect()
}

#[test]
fn symbol_matching_order() {
    assert_eq!(
        ranked("parse", &["parser_state", "Parse", "parse", "parse_expr", "reparse", "p_a_r_s_e"]),
        ["parse", "Parse", "parse_expr", "parser_state", "reparse", "p_a_r_s_e"]
    );
    // Case-sensitive prefix before case-insensitive, shorter first.
    assert_eq!(ranked("Parse", &["parser", "ParseError", "Parser"]), ["Parser", "ParseError", "parser"]);
    // Fuzzy: word starts and camel humps beat scattered letters.
    assert_eq!(ranked("fb", &["fooBar", "foo_bar", "fabric", "offbeat"]), ["fooBar", "foo_bar", "fabric", "offbeat"]);
    assert_eq!(
        ranked("hsr", &["handle_server_request", "HttpServerRequest", "hashset_remove_all", "shrink"]),
        ["HttpServerRequest", "handle_server_request", "hashset_remove_all"]
    );
    // A contiguous run beats the same letters spread out.
    assert_eq!(ranked("expr", &["parse_expr", "exp_report"]), ["parse_expr", "exp_report"]);
    // Every exact beats every prefix beats every fuzzy.
    let exact = score("ab", "AB").expect("exact").1;
    let prefix = score("ab", "abc").expect("prefix").1;
    let fuzzy = score("ab", "a_b").expect("fuzzy").1;
    assert!(exact > prefix && prefix > fuzzy);
}
