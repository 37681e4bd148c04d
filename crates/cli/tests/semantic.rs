//! `grove symbols`, `grove find` and `grove index --semantic` end to end on a
//! small multi-language repository with history. Tests that need the
//! embedding model use ../shared/models/all-MiniLM-L6-v2 (or
//! $GROVE_TEST_MODEL_DIR) and say loudly when they skip.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const LEXER_RS: &str = r#"//! A tiny lexer.

/// Splits source text into tokens.
pub struct Lexer {
    pos: usize,
}

impl Lexer {
    /// Creates a lexer at the start of the input.
    pub fn new() -> Lexer {
        Lexer { pos: 0 }
    }

    /// Parses an arithmetic expression and returns its value.
    pub fn parse_expression(&mut self, input: &str) -> i64 {
        input.split('+').map(|t| t.trim().parse::<i64>().unwrap_or(0)).sum()
    }
}
"#;

const CLIENT_PY: &str = r#"import time


class HttpClient:
    """Sends HTTP requests to a server."""

    def __init__(self, base_url):
        self.base_url = base_url

    def retry_request(self, request, attempts=3):
        """Retry a failed connection with exponential backoff."""
        for attempt in range(attempts):
            try:
                return self.send(request)
            except ConnectionError:
                time.sleep(2 ** attempt)
        raise ConnectionError("server unreachable")
"#;

const SHAPES_TS: &str = r#"export interface Shape {
  area(): number;
}

export class Circle implements Shape {
  constructor(private radius: number) {}
  area(): number {
    return Math.PI * this.radius * this.radius;
  }
}

export function totalArea(shapes: Shape[]): number {
  return shapes.reduce((sum, s) => sum + s.area(), 0);
}
"#;

const README: &str = "# demo\n\nA demo project with a lexer, an HTTP client and shapes.\n";

use common::{commit_all as commit, write_file as write};

/// Two commits: the second adds `tokenize_line` to the lexer and a Go file.
fn demo_repo() -> (tempfile::TempDir, PathBuf) {
    let t = tempdir();
    let repo = t.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git_ok(&repo, ["init", "-q", "-b", "main"]);
    write(&repo, "src/lexer.rs", LEXER_RS);
    write(&repo, "net/client.py", CLIENT_PY);
    write(&repo, "web/shapes.ts", SHAPES_TS);
    write(&repo, "README.md", README);
    commit(&repo, "first");
    let lexer2 = LEXER_RS.replace(
        "    /// Parses an arithmetic",
        "    /// Splits one line into words.\n    pub fn tokenize_line(&self, line: &str) -> Vec<String> {\n        line.split_whitespace().map(String::from).collect()\n    }\n\n    /// Parses an arithmetic",
    );
    write(&repo, "src/lexer.rs", &lexer2);
    write(&repo, "cmd/main.go", "package main\n\nimport \"fmt\"\n\n// Greet prints a greeting.\nfunc Greet(name string) {\n\tfmt.Println(\"hello\", name)\n}\n\nfunc main() {\n\tGreet(\"world\")\n}\n");
    commit(&repo, "second");
    (t, repo)
}

fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("GROVE_TEST_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models/all-MiniLM-L6-v2"));
    if dir.join("model.safetensors").is_file() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: no embedding model at {} (set GROVE_TEST_MODEL_DIR)", dir.display());
        None
    }
}

fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(out).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect()
}

#[test]
fn symbols_match_exactly_then_by_prefix_then_fuzzily_at_any_revision() {
    let (_t, repo) = demo_repo();
    let ix = Indexed::new(&repo);
    let out = ix.run("symbols", ["parse_expression"]);
    assert_code(&out, 0);
    let first = stdout(&out).lines().next().unwrap().to_string();
    assert!(first.starts_with("src/lexer.rs:") && first.contains("parse_expression"), "{}", describe(&out));
    assert!(first.contains("(in "), "a method names its container: {first}");

    // Prefix: both lexer methods; fuzzy: letters in order.
    let out = ix.run("symbols", ["--json", "tokenize"]);
    assert_code(&out, 0);
    let v = json_lines(&out);
    assert_eq!(v[0]["name"], "tokenize_line");
    assert_eq!(v[0]["match"], "prefix");
    assert_eq!(v[0]["path"], "src/lexer.rs");
    assert!(v[0]["start_line"].as_u64().unwrap() > 1);
    let out = ix.run("symbols", ["--json", "rtryreq"]);
    assert_code(&out, 0);
    assert_eq!(json_lines(&out)[0]["name"], "retry_request");
    assert_eq!(json_lines(&out)[0]["match"], "fuzzy");

    // Kinds filter, and a class in TypeScript and Python.
    let out = ix.run("symbols", ["--json", "--kind", "class", "c"]);
    assert_code(&out, 0);
    let names: Vec<String> = json_lines(&out).iter().map(|v| v["name"].as_str().unwrap().to_string()).collect();
    assert!(names.contains(&"Circle".to_string()) && names.contains(&"HttpClient".to_string()), "{names:?}");
    assert!(json_lines(&out).iter().all(|v| v["kind"] == "class"));

    // The first commit has no tokenize_line and no Go file.
    let out = ix.run("symbols", ["--rev", "HEAD~1", "tokenize_line"]);
    assert_code(&out, 1);
    let out = ix.run("symbols", ["Greet"]);
    assert_code(&out, 0);
    assert!(stdout(&out).starts_with("cmd/main.go:6:"), "{}", describe(&out));

    let out = ix.run("symbols", ["--kind", "gadget", "x"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("unknown symbol kind"), "{}", describe(&out));
    assert_code(&ix.check(), 0);
}

#[test]
fn lexical_find_needs_no_model_and_splits_identifiers() {
    let (_t, repo) = demo_repo();
    let ix = Indexed::new(&repo);
    let nowhere = repo.join("no-model-here");
    let out =
        ix.run("find", ["--model-dir", nowhere.to_str().unwrap(), "--mode", "lexical", "--json", "retry request"]);
    assert_code(&out, 0);
    let v = json_lines(&out);
    assert_eq!(v[0]["path"], "net/client.py", "{}", describe(&out));
    assert!(v[0]["text"].as_str().unwrap().contains("def retry_request"));
    assert_eq!(v.last().unwrap()["type"], "summary");
    // camelCase in the query matches snake_case in code, and vice versa.
    let out = ix.run("find", ["--model-dir", nowhere.to_str().unwrap(), "--mode", "lexical", "--files", "totalArea"]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out).lines().next(), Some("web/shapes.ts"));
    let out = ix.run("find", ["--mode", "lexical", "--files", "zzyzx_not_here"]);
    assert_code(&out, 1);
}

#[test]
fn dense_find_without_a_model_says_how_to_get_one() {
    let (_t, repo) = demo_repo();
    let ix = Indexed::new(&repo);
    let nowhere = repo.join("no-model-here");
    let out = grove_cmd()
        .args(["find", "--repo"])
        .arg(&repo)
        .arg("--index-dir")
        .arg(&ix.index)
        .arg("--model-dir")
        .arg(&nowhere)
        .arg("where do we retry")
        .env_remove("GROVE_MODEL_DIR")
        .output()
        .unwrap();
    assert_code(&out, 2);
    let e = stderr(&out);
    assert!(e.contains("--model-dir") && e.contains("GROVE_MODEL_DIR"), "{}", describe(&out));
    // Everything else keeps working.
    assert_code(&ix.search(["-c", "retry_request"]), 0);
}

#[test]
fn semantic_index_embeds_each_chunk_once_and_finds_by_meaning() {
    let Some(model) = model_dir() else { return };
    let (_t, repo) = demo_repo();
    let ix = Indexed::new(&repo);
    let m = model.to_str().unwrap();
    let embedded = |out: &std::process::Output| -> u64 {
        let s = stdout(out);
        let at = s.find("embedded ").unwrap_or_else(|| panic!("no summary: {}", describe(out)));
        s[at + 9..].split_whitespace().next().unwrap().parse().unwrap()
    };
    let out = ix.run("index", ["--semantic", "--model-dir", m, "--rev", "HEAD~1"]);
    assert_code(&out, 0);
    let first = embedded(&out);
    assert!(first >= 4, "{}", describe(&out));
    // The second commit changes one Rust file and adds a Go file: only their
    // chunks are new.
    let out = ix.run("index", ["--semantic", "--model-dir", m]);
    assert_code(&out, 0);
    let second = embedded(&out);
    assert!(second >= 1 && second < first, "re-embedded unchanged chunks: {} then {}", first, second);
    let out = ix.run("index", ["--semantic", "--model-dir", m]);
    assert_code(&out, 0);
    assert_eq!(embedded(&out), 0, "{}", describe(&out));

    let out = ix.run(
        "find",
        ["--model-dir", m, "--mode", "dense", "--json", "-k", "3", "reconnect after a network failure with backoff"],
    );
    assert_code(&out, 0);
    let v = json_lines(&out);
    assert_eq!(v[0]["path"], "net/client.py", "{}", describe(&out));
    assert_eq!(v.last().unwrap()["unembedded"], 0);
    let out = ix.run("find", ["--model-dir", m, "--json", "-k", "2", "compute the area of a circle"]);
    assert_code(&out, 0);
    assert_eq!(json_lines(&out)[0]["path"], "web/shapes.ts", "{}", describe(&out));

    // A budget caps the text and says so.
    let out = ix.run("find", ["--model-dir", m, "--json", "--budget", "12", "lexer"]);
    assert_code(&out, 0);
    let v = json_lines(&out);
    let summary = v.last().unwrap();
    assert!(summary["tokens"].as_u64().unwrap() <= 12, "{}", describe(&out));
    assert_eq!(summary["budget_exhausted"], true);

    // The working tree: a new uncommitted file is embedded on the fly.
    write(&repo, "db/pool.py", "def checkout_connection(pool):\n    \"\"\"Borrow a database connection from the pool.\"\"\"\n    return pool.pop()\n");
    let out =
        ix.run("find", ["--model-dir", m, "--worktree", "--mode", "dense", "--files", "borrow a database connection"]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out).lines().next(), Some("db/pool.py"), "{}", describe(&out));
    assert_code(&ix.check(), 0);
}

#[test]
fn an_interrupted_semantic_index_resumes_without_redoing_finished_chunks() {
    let Some(model) = model_dir() else { return };
    let (_t, repo) = demo_repo();
    let m = model.to_str().unwrap();
    let embedded = |out: &std::process::Output| -> u64 {
        let s = stdout(out);
        let at = s.find("embedded ").unwrap_or_else(|| panic!("no summary: {}", describe(out)));
        s[at + 9..].split_whitespace().next().unwrap().parse().unwrap()
    };
    // How many chunks HEAD has, from a run that is not interrupted.
    let full = Indexed::new(&repo);
    let out = full.run("index", ["--semantic", "--model-dir", m]);
    assert_code(&out, 0);
    let total = embedded(&out);
    assert!(total > 2, "{}", describe(&out));

    // Killed right after the first vector file (2 chunks) is durable.
    let ix = Indexed::new(&repo);
    let out = grove_cmd()
        .args(["index", "--semantic", "--model-dir", m, "--repo"])
        .arg(&repo)
        .arg("--index-dir")
        .arg(&ix.index)
        .env("GROVE_EMBED_FLUSH", "2")
        .env("GROVE_FAILPOINT", "after-vectors")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the failpoint did not fire: {}", describe(&out));
    assert_code(&ix.check(), 0);
    let out = ix.run("index", ["--semantic", "--model-dir", m]);
    assert_code(&out, 0);
    assert_eq!(embedded(&out), total - 2, "{}", describe(&out));
    let out = ix.run("find", ["--model-dir", m, "--mode", "dense", "--json", "-k", "1", "retry a failed connection"]);
    assert_code(&out, 0);
    assert_eq!(json_lines(&out).last().unwrap()["unembedded"], 0);
}

#[test]
fn files_over_the_embedding_limit_rank_lexically_and_are_not_reported_missing() {
    let Some(model) = model_dir() else { return };
    let (_t, repo) = demo_repo();
    // ~900 KiB of generated data (over the 512 KiB embedding limit) with
    // one findable word near the end.
    let mut big = String::new();
    for i in 0..40_000 {
        big.push_str(&format!("row {i} value {}\n", i * 7));
    }
    big.push_str("zebra_marker_line\n");
    assert!(big.len() > 512 << 10);
    write(&repo, "data/table.txt", &big);
    commit(&repo, "data");
    let ix = Indexed::new(&repo);
    let m = model.to_str().unwrap();
    assert_code(&ix.run("index", ["--semantic", "--model-dir", m]), 0);
    let out = ix.run("find", ["--model-dir", m, "--json", "-k", "3", "retry a failed connection"]);
    assert_code(&out, 0);
    assert_eq!(json_lines(&out).last().unwrap()["unembedded"], 0, "{}", describe(&out));
    let out = ix.run("find", ["--model-dir", m, "--json", "--files", "zebra_marker_line"]);
    assert_code(&out, 0);
    assert_eq!(json_lines(&out)[0]["path"], "data/table.txt", "{}", describe(&out));
}

#[test]
fn gc_drops_side_index_entries_no_snapshot_uses_and_keeps_the_rest() {
    let (_t, repo) = demo_repo();
    let ix = Indexed::new(&repo);
    let model = model_dir();
    let m = model.as_ref().map(|m| m.to_str().unwrap().to_string());
    for rev in ["HEAD~1", "HEAD"] {
        match &m {
            Some(m) => assert_code(&ix.run("index", ["--semantic", "--model-dir", m, "--rev", rev]), 0),
            None => assert_code(&ix.run("symbols", ["--rev", rev, "Lexer"]), 0),
        }
    }
    let files = |kind: &str| std::fs::read_dir(ix.index.join(kind)).map_or(0, |d| d.count());
    assert!(files("syntax") >= 2);
    // Nothing is dead yet: gc leaves the side index alone.
    let out = ix.run("gc", ["--now"]);
    assert_code(&out, 0);
    assert!(!stdout(&out).contains("side index"), "{}", describe(&out));
    // Forget the first commit: its lexer.rs blob (and that file's chunks) are dead.
    let first = String::from_utf8(git_ok(&repo, ["rev-parse", "HEAD~1"])).unwrap();
    assert_code(&ix.run("drop", [first.trim()]), 0);
    let out = ix.run("gc", ["--now"]);
    assert_code(&out, 0);
    let s = stdout(&out);
    let dropped = |what: &str| -> u64 {
        let at = s.find("dropped ").unwrap_or_else(|| panic!("no side-index line: {}", describe(&out)));
        let words: Vec<&str> = s[at..].split_whitespace().collect();
        let i = words.iter().position(|w| *w == what).unwrap();
        words[i - 1].parse().unwrap()
    };
    assert_eq!(dropped("syntax"), 1, "only the old lexer.rs: {}", describe(&out));
    assert_eq!(files("syntax"), 1);
    assert_code(&ix.check(), 0);
    // What HEAD needs is still there: nothing is analysed or embedded again.
    let out = ix.run("symbols", ["--json", "tokenize_line"]);
    assert_code(&out, 0);
    assert_eq!(json_lines(&out)[0]["path"], "src/lexer.rs");
    assert!(!stderr(&out).contains("analysing"), "{}", describe(&out));
    if let Some(m) = &m {
        assert!(dropped("vectors") >= 1, "{}", describe(&out));
        let out = ix.run("index", ["--semantic", "--model-dir", m]);
        assert_code(&out, 0);
        assert!(stdout(&out).contains("embedded 0 "), "vectors of HEAD were lost: {}", describe(&out));
    }
}
