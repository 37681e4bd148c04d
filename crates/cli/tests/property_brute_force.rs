//! Property test: for random small corpora committed to a fresh git repo and
//! random regexes, `grove search` finds exactly the lines a brute-force scan
//! finds: for every file without a NUL byte, every line (split on `\n`, the
//! terminator removed) that `regex::bytes` (same syntax and Unicode
//! semantics as ripgrep's matcher) matches.
//!
//! The alphabet is rich in planner pitfalls: letters whose case folds across
//! scripts (`ſ`/s, Kelvin sign/k), `ß`, `é` precomposed and decomposed, `\r`,
//! invalid UTF-8 (0xff), and, for some files, a NUL byte (binary: skipped).
//! A second commit modifies, deletes and adds files; searching both commits
//! at once checks the per-revision attribution of shared blobs.
//!
//! PROPTEST_CASES overrides the number of cases (default 64).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Tokens lines are made of.
#[rustfmt::skip]
const TOKENS: &[&[u8]] = &[
    b"a", b"b", b"c", b"A", b"B", b"C", b"k", b"K", b"s", b"S",
    "ſ".as_bytes(),        // U+017F, folds to s
    "\u{212A}".as_bytes(), // Kelvin sign, folds to k
    "\u{2126}".as_bytes(), // Ohm sign, folds to ω
    "é".as_bytes(), "e\u{301}".as_bytes(), "ß".as_bytes(), "ẞ".as_bytes(), "ω".as_bytes(),
    "İ".as_bytes(), "ı".as_bytes(), "ǅ".as_bytes(),
    b"\r", b" ", b" ", b"\t", b"0", b"7", b"_", b".", b"(", b")", b"-", b"*",
    b"\xff", // invalid UTF-8
    b"ab", b"abc", b"foo", b"Foo", b"bar", b"foo_bar",
];

/// Literal atoms of the regex grammar (escaped when used).
const LITERALS: &[&str] = &[
    "a", "b", "c", "A", "k", "K", "s", "S", "ab", "abc", "foo", "Foo", "bar", "ſ", "\u{212A}", "é", "ß", "ẞ", "_", "0",
    "7", " ", ".", "(", "*", "e\u{301}", "\r", "\u{2126}", "Ω", "ω", "İ", "ı", "ǅ", "ǆ", "Ǆ",
];

/// Non-literal atoms.
const ATOMS: &[&str] = &[
    ".",
    "[abc]",
    "[a-c]",
    "[^a]",
    "[A-Z]",
    "[0-9]",
    "\\w",
    "\\W",
    "\\d",
    "\\s",
    "[ſs]",
    "\\p{L}",
    "[[:alpha:]]",
    "[^\\x00-\\x7f]",
    "\\x{212A}",
    "\\b",
    "\\B",
    "^",
    "$",
    "\\r",
    // Raw bytes (Unicode off): these can match invalid UTF-8.
    "(?-u:\\xff)",
    "(?-u:[\\x80-\\xff])",
    "(?-u:.)",
    "(?-u:\\xc5\\xbf)",
];

fn regex_strategy() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        5 => prop::sample::select(LITERALS).prop_map(regex::escape),
        3 => prop::sample::select(ATOMS).prop_map(String::from),
    ];
    leaf.prop_recursive(3, 10, 3, |inner| {
        prop_oneof![
            3 => prop::collection::vec(inner.clone(), 2..4).prop_map(|v| v.concat()),
            2 => prop::collection::vec(inner.clone(), 2..4).prop_map(|v| format!("(?:{})", v.join("|"))),
            1 => inner.clone().prop_map(|s| format!("({s})")),
            3 => (inner, prop::sample::select(&["?", "*", "+", "{1,2}", "{0,3}", "{2}", "??", "+?"][..]))
                .prop_map(|(s, q)| format!("(?:{s}){q}")),
        ]
    })
}

fn line_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..12).prop_map(|t| t.concat())
}

/// File content: lines joined by `\n`, maybe without the final newline,
/// sometimes with a NUL byte somewhere (a binary file).
fn content_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(line_strategy(), 0..14),
        any::<bool>(),
        prop::bool::weighted(0.08),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(lines, final_newline, binary, at)| {
            let mut c = lines.join(&b"\n"[..]);
            if final_newline && !c.is_empty() {
                c.push(b'\n');
            }
            if binary {
                let i = at.index(c.len() + 1);
                c.insert(i, 0);
            }
            c
        })
}

const DIRS: &[&str] = &["", "src/", "src/deep/", "docs/", "a b/"];

/// A corpus: path → content. Paths are distinct by construction.
fn corpus_strategy(files: std::ops::Range<usize>) -> impl Strategy<Value = BTreeMap<Vec<u8>, Vec<u8>>> {
    prop::collection::vec((prop::sample::select(DIRS), content_strategy()), files).prop_map(|v| {
        v.into_iter().enumerate().map(|(i, (d, c))| (format!("{d}f{i:02}.txt").into_bytes(), c)).collect()
    })
}

/// What the second commit does to the first corpus.
#[derive(Clone, Debug)]
enum Edit {
    Keep,
    Delete,
    Replace(Vec<u8>),
    AppendLine(Vec<u8>),
}

fn edits_strategy() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        prop_oneof![
            4 => Just(Edit::Keep),
            1 => Just(Edit::Delete),
            2 => content_strategy().prop_map(Edit::Replace),
            2 => line_strategy().prop_map(Edit::AppendLine),
        ],
        30,
    )
}

/// How grove is asked to interpret a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Regex,
    /// -F
    Fixed,
    /// -w
    Word,
}

/// A pattern, whether it is searched case-insensitively (-i), and how.
#[derive(Clone, Debug)]
struct Pattern {
    text: String,
    ci: bool,
    kind: Kind,
}

impl Pattern {
    fn new(text: &str, ci: bool, kind: Kind) -> Pattern {
        Pattern { text: text.to_string(), ci, kind }
    }

    fn flags(&self) -> Vec<&'static str> {
        let mut f = vec![];
        if self.ci {
            f.push("-i");
        }
        match self.kind {
            Kind::Regex => {}
            Kind::Fixed => f.push("-F"),
            Kind::Word => f.push("-w"),
        }
        f
    }

    /// The equivalent `regex::bytes` pattern. -w is grep-regex's definition:
    /// the pattern between half word boundaries (not preceded / not followed
    /// by a word character).
    fn brute_force_regex(&self) -> Result<regex::bytes::Regex, regex::Error> {
        let p = match self.kind {
            Kind::Regex => self.text.clone(),
            Kind::Fixed => regex::escape(&self.text),
            Kind::Word => format!(r"\b{{start-half}}(?:{})\b{{end-half}}", self.text),
        };
        regex::bytes::RegexBuilder::new(&p).case_insensitive(self.ci).multi_line(true).build()
    }
}

fn pattern_strategy() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        6 => (regex_strategy(), any::<bool>()).prop_map(|(text, ci)| Pattern { text, ci, kind: Kind::Regex }),
        2 => (regex_strategy(), any::<bool>()).prop_map(|(text, ci)| Pattern { text, ci, kind: Kind::Word }),
        2 => (prop::collection::vec(prop::sample::select(LITERALS), 1..4), any::<bool>())
            .prop_map(|(l, ci)| Pattern { text: l.concat(), ci, kind: Kind::Fixed }),
    ]
}

#[derive(Clone, Debug)]
struct Case {
    v1: BTreeMap<Vec<u8>, Vec<u8>>,
    edits: Vec<Edit>,
    added: BTreeMap<Vec<u8>, Vec<u8>>,
    patterns: Vec<Pattern>,
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (corpus_strategy(5..30), edits_strategy(), corpus_strategy(0..4), prop::collection::vec(pattern_strategy(), 4..8))
        .prop_map(|(v1, edits, added, patterns)| {
            let added = added.into_iter().map(|(mut p, c)| {
                p.splice(0..0, b"new-".iter().copied());
                (p, c)
            });
            Case { v1, edits, added: added.collect(), patterns }
        })
}

fn v2_of(case: &Case) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut v2 = BTreeMap::new();
    for ((path, content), edit) in case.v1.iter().zip(case.edits.iter().cycle()) {
        match edit {
            Edit::Keep => {
                v2.insert(path.clone(), content.clone());
            }
            Edit::Delete => {}
            Edit::Replace(c) => {
                v2.insert(path.clone(), c.clone());
            }
            Edit::AppendLine(l) => {
                let mut c = content.clone();
                if !c.is_empty() && !c.ends_with(b"\n") {
                    c.push(b'\n');
                }
                c.extend_from_slice(l);
                c.push(b'\n');
                v2.insert(path.clone(), c);
            }
        }
    }
    v2.extend(case.added.clone());
    v2
}

fn path_of(root: &Path, p: &[u8]) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt;
    root.join(std::ffi::OsStr::from_bytes(p))
}

/// Replaces the work tree with `files` and commits it.
fn commit(repo: &Path, files: &BTreeMap<Vec<u8>, Vec<u8>>, msg: &str) {
    for e in std::fs::read_dir(repo).unwrap() {
        let e = e.unwrap();
        if e.file_name() != ".git" {
            let p = e.path();
            if p.is_dir() {
                std::fs::remove_dir_all(p).unwrap();
            } else {
                std::fs::remove_file(p).unwrap();
            }
        }
    }
    for (p, c) in files {
        let full = path_of(repo, p);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, c).unwrap();
    }
    git_ok(repo, ["add", "-A"]);
    git_ok(
        repo,
        [
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t.invalid",
            "commit",
            "-q",
            "--allow-empty",
            "--no-verify",
            "-m",
            msg,
        ],
    );
}

/// Matching lines of one file: 1-based line number and the match ranges in it.
type LineMatches = Vec<(u64, Vec<(usize, usize)>)>;

/// 1-based numbers of the lines of `content` that match, with the non-empty
/// match ranges in each; `None` for a binary file.
fn brute_force(re: &regex::bytes::Regex, content: &[u8]) -> Option<LineMatches> {
    if content.contains(&0) {
        return None;
    }
    let mut lines: Vec<&[u8]> = content.split(|&b| b == b'\n').collect();
    if content.is_empty() || content.ends_with(b"\n") {
        lines.pop();
    }
    Some(
        lines
            .iter()
            .enumerate()
            .filter(|(_, l)| re.is_match(l))
            .map(|(i, l)| {
                // grove's JSON offsets index into the (lossy UTF-8) `text`.
                // Valid UTF-8 lines keep byte offsets.
                let valid = std::str::from_utf8(l).is_ok();
                let subs = re.find_iter(l).filter(|m| !m.is_empty() && valid).map(|m| (m.start(), m.end())).collect();
                (i as u64 + 1, subs)
            })
            .collect(),
    )
}

fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let dir = tempdir();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git_ok(&repo, ["-c", "init.defaultBranch=main", "init", "-q"]);
    git_ok(&repo, ["config", "core.autocrlf", "false"]);
    let v2 = v2_of(case);
    commit(&repo, &case.v1, "one");
    commit(&repo, &v2, "two");
    let ix = Indexed::new(&repo);

    for p in &case.patterns {
        let (pat, ci) = (&p.text, p.ci);
        let re = p.brute_force_regex();
        let Ok(re) = re else { continue }; // the grammar can build oversized repetitions
        let flags = p.flags();

        // 1. One revision, every matching line (JSON), against the scan.
        let mut args = vec!["--json", "--rev", "HEAD~1"];
        args.extend(&flags);
        args.extend(["--", pat.as_str()]);
        let out = ix.search(&args);
        prop_assert!(code(&out) <= 1 && !stderr(&out).contains("panicked"), "grove {args:?}:\n{}", describe(&out));
        let mut got: BTreeMap<String, LineMatches> = BTreeMap::new();
        let mut skipped: Vec<String> = Vec::new();
        for l in stdout(&out).lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            match v["type"].as_str().unwrap() {
                "match" => {
                    // On invalid UTF-8 lines `text` is lossy and a byte-level
                    // match inside a character has no offset in it: compare
                    // only that the line matched.
                    let lossy = v["text"].as_str().unwrap().contains('\u{FFFD}');
                    let subs = v["submatches"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| (s["start"].as_u64().unwrap() as usize, s["end"].as_u64().unwrap() as usize))
                        .filter(|(s, e)| s < e && !lossy)
                        .collect();
                    got.entry(v["path"].as_str().unwrap().to_string())
                        .or_default()
                        .push((v["line"].as_u64().unwrap(), subs));
                }
                "summary" => {
                    for s in v["skipped"].as_array().unwrap() {
                        prop_assert_eq!(s["reason"].as_str(), Some("binary"));
                        skipped.push(s["path"].as_str().unwrap().to_string());
                    }
                }
                t => prop_assert!(false, "unexpected object type {t}"),
            }
        }
        let mut want: BTreeMap<String, LineMatches> = BTreeMap::new();
        let mut want_skipped = Vec::new();
        for (p, c) in &case.v1 {
            let p = String::from_utf8(p.clone()).unwrap();
            match brute_force(&re, c) {
                None => want_skipped.push(p),
                Some(hits) if !hits.is_empty() => {
                    want.insert(p, hits);
                }
                Some(_) => {}
            }
        }
        prop_assert_eq!(&skipped, &want_skipped, "skipped files");
        prop_assert_eq!(code(&out), if want.is_empty() { 1 } else { 0 });
        if got != want {
            let mut diff = String::new();
            for (p, w) in &want {
                let g = got.get(p);
                if g != Some(w) {
                    let content = &case.v1[p.as_bytes()];
                    diff += &format!(
                        "{p}: grove {g:?}\n      scan  {w:?}\n      content {:?}\n",
                        String::from_utf8_lossy(content)
                    );
                }
            }
            for (p, g) in &got {
                if !want.contains_key(p) {
                    diff += &format!("{p}: grove {g:?}, scan: no match\n");
                }
            }
            prop_assert!(false, "pattern {pat:?} -i={ci}:\n{diff}");
        }

        // 2. Both revisions at once, counts: `REV:path:count`, by revision then path.
        let mut args = vec!["-c", "--rev", "HEAD~1", "--rev", "HEAD"];
        args.extend(&flags);
        args.extend(["--", pat.as_str()]);
        let out = ix.search(&args);
        prop_assert!(code(&out) <= 1 && !stderr(&out).contains("panicked"), "{}", describe(&out));
        let mut want = String::new();
        for (label, files) in [("HEAD~1", &case.v1), ("HEAD", &v2)] {
            for (p, c) in files.iter() {
                if let Some(hits) = brute_force(&re, c) {
                    if !hits.is_empty() {
                        want += &format!("{label}:{}:{}\n", String::from_utf8_lossy(p), hits.len());
                    }
                }
            }
        }
        prop_assert_eq!(stdout(&out), want, "multi-revision counts for {:?} -i={}", pat, ci);
    }
    Ok(())
}

#[test]
fn grove_matches_a_brute_force_scan() {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64);
    let config = Config { cases, max_shrink_iters: 300, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case_strategy(), |case| run_case(&case));
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A few fixed cases that once were (or easily could be) planner bugs.
#[test]
fn fixed_pitfall_cases() {
    let mut v1 = BTreeMap::new();
    v1.insert(b"f1.txt".to_vec(), "\u{017F}earch \u{212A}elvin\nSTRASSE stra\u{df}e\nx\r\n".as_bytes().to_vec());
    v1.insert(b"f2.txt".to_vec(), b"caf\xe9 \xff ab\nabce abde\n\nbar foobar\n".to_vec());
    v1.insert(b"f3.bin".to_vec(), b"search\x00kelvin\n".to_vec());
    use Kind::*;
    let pats = vec![
        Pattern::new("search", true, Regex),
        Pattern::new("KELVIN", true, Regex),
        Pattern::new("stra\u{df}e", true, Regex),
        Pattern::new("(foo)?bar", false, Regex),
        Pattern::new("ab[cd]e", false, Regex),
        Pattern::new("x*", false, Regex),
        Pattern::new("^$", false, Regex),
        Pattern::new("x$", false, Regex),
        Pattern::new("x\\r$", false, Regex),
        Pattern::new("caf.", false, Regex),
        Pattern::new("\\bab\\b", false, Regex),
        Pattern::new("[^\\x00-\\x7f]", false, Regex),
        Pattern::new("ab", false, Word),
        Pattern::new("\\w+", false, Word),
        Pattern::new("caf", false, Word),
        Pattern::new("(foo)?bar", false, Fixed),
        Pattern::new("SEARCH", true, Fixed),
    ];
    let case = Case {
        v1,
        edits: vec![Edit::AppendLine(b"search again".to_vec()), Edit::Delete],
        added: BTreeMap::new(),
        patterns: pats,
    };
    run_case(&case).unwrap();
}
