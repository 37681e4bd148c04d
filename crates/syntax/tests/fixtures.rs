//! One realistic source file per language under `tests/fixtures/`, with the
//! expected symbols and chunks in `<file>.expected` (default limits).
//! `GROVE_BLESS=1 cargo test -p grove-syntax --test fixtures` rewrites the
//! expectations; review the diff before committing.

mod common;

use std::fmt::Write;
use std::path::Path;

use grove_syntax::{analyze, ChunkLimits, Lang, ParseOutcome};

fn render(syntax: &grove_syntax::FileSyntax) -> String {
    let mut out = format!("outcome {:?}\n", syntax.outcome);
    for s in &syntax.symbols {
        let _ = writeln!(
            out,
            "symbol {} {} container={} lines {}-{}",
            s.kind.as_str(),
            s.name,
            s.container.as_deref().unwrap_or("-"),
            s.start_line,
            s.end_line
        );
    }
    for c in &syntax.chunks {
        let _ = writeln!(out, "chunk lines {}-{} {}", c.start_line, c.end_line, c.symbol.as_deref().unwrap_or("-"));
    }
    out
}

fn check(file: &str, lang: Lang) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(file);
    let content = std::fs::read(&path).expect("fixture exists");
    let limits = ChunkLimits::default();
    let syntax = analyze(file.as_bytes(), &content, &limits);
    assert_eq!(syntax.outcome, ParseOutcome::Parsed(lang), "{file}");
    common::check_invariants(file.as_bytes(), &content, &limits, &syntax);
    let actual = render(&syntax);
    let expected_path = path.with_file_name(format!("{file}.expected"));
    if std::env::var_os("GROVE_BLESS").is_some() {
        std::fs::write(&expected_path, &actual).expect("write expectation");
        return;
    }
    let expected = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with GROVE_BLESS=1 to create it)", expected_path.display()));
    assert_eq!(actual, expected, "{file}: symbols or chunks changed");
}

#[cfg(feature = "lang-rust")]
#[test]
fn rust_fixture() {
    check("shapes.rs", Lang::Rust);
}

#[cfg(feature = "lang-python")]
#[test]
fn python_fixture() {
    check("inventory.py", Lang::Python);
}

#[cfg(feature = "lang-javascript")]
#[test]
fn javascript_fixture() {
    check("router.js", Lang::JavaScript);
}

#[cfg(feature = "lang-typescript")]
#[test]
fn typescript_fixture() {
    check("store.ts", Lang::TypeScript);
}

#[cfg(feature = "lang-typescript")]
#[test]
fn tsx_fixture() {
    check("panel.tsx", Lang::Tsx);
}

#[cfg(feature = "lang-go")]
#[test]
fn go_fixture() {
    check("cache.go", Lang::Go);
}

#[cfg(feature = "lang-java")]
#[test]
fn java_fixture() {
    check("Account.java", Lang::Java);
}

#[cfg(feature = "lang-c")]
#[test]
fn c_fixture() {
    check("buffer.c", Lang::C);
}

#[cfg(feature = "lang-cpp")]
#[test]
fn cpp_fixture() {
    check("matrix.cpp", Lang::Cpp);
}
