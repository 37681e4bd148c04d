//! `grove search --json`: every line is a JSON object with exactly the
//! documented keys and types; `line`, `column`, `text` and `submatches`
//! agree with the file at that revision (read back with `git show`) and with
//! the regex; the summary's counts agree with the objects before it; paths
//! and lines that are not UTF-8 are printed lossily without failure.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

use common::*;
use serde_json::Value;

static FIX: LazyLock<Indexed> = LazyLock::new(|| {
    let ix = Indexed::shared(basic(), "index");
    ix.index(["--rev", "main", "--rev", "v1.0", "--rev", "feature/x", "--rev", "v2.0"]);
    ix
});

const MATCH_KEYS: &[&str] = &["column", "commit", "line", "path", "rev", "submatches", "text", "type"];
const SUMMARY_KEYS: &[&str] = &["elapsed_ms", "files", "matches", "revisions", "skipped", "stats", "type"];
const COUNT_KEYS: &[&str] = &["commit", "count", "path", "rev", "type"];
const FILE_KEYS: &[&str] = &["commit", "path", "rev", "type"];

#[track_caller]
fn keys(v: &Value, want: &[&str]) {
    let got: BTreeSet<&str> = v.as_object().expect("an object").keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = want.iter().copied().collect();
    assert_eq!(got, want, "keys of {v}");
}

#[track_caller]
fn uint(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an unsigned integer: {v}"))
}

#[track_caller]
fn string(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// Runs a `--json` search and parses every line; checks the summary's shape.
fn run_json(args: &[&str]) -> (Vec<Value>, Value) {
    let mut a = vec!["--json"];
    a.extend(args);
    let out = FIX.search(&a);
    assert!(code(&out) <= 1, "{}", describe(&out));
    let text = String::from_utf8(out.stdout.clone()).expect("JSON output is UTF-8");
    assert!(text.ends_with('\n'));
    let mut objs: Vec<Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let summary = objs.pop().expect("a summary line");
    keys(&summary, SUMMARY_KEYS);
    assert_eq!(summary["type"], "summary");
    assert!(objs.iter().all(|o| o["type"] != "summary"), "one summary, last");
    uint(&summary["matches"]);
    uint(&summary["files"]);
    uint(&summary["revisions"]);
    assert!(summary["elapsed_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{summary}");
    keys(&summary["stats"], &["candidates", "live_docs", "matching_docs"]);
    let stat = |k: &str| uint(&summary["stats"][k]);
    // The index only narrows: every matching blob was a candidate, every
    // candidate a live blob.
    assert!(stat("matching_docs") <= stat("candidates") && stat("candidates") <= stat("live_docs"), "{summary}");
    for s in summary["skipped"].as_array().expect("skipped is an array") {
        keys(s, &["path", "reason", "rev"]);
        string(&s["path"]);
        string(&s["rev"]);
        assert!(["binary", "too large"].contains(&string(&s["reason"])), "{s}");
    }
    // The exit code follows the results.
    assert_eq!(code(&out), if objs.is_empty() { 1 } else { 0 }, "{}", describe(&out));
    (objs, summary)
}

/// The revision labels a search names, in order (default HEAD).
fn rev_labels(args: &[&str]) -> Vec<String> {
    let v: Vec<String> = args.windows(2).filter(|w| w[0] == "--rev").map(|w| w[1].to_string()).collect();
    if v.is_empty() {
        vec!["HEAD".into()]
    } else {
        v
    }
}

fn commit_of(rev: &str) -> String {
    String::from_utf8(git_ok(&FIX.repo, ["rev-parse", &format!("{rev}^{{commit}}")])).unwrap().trim().to_string()
}

/// Line `n` (1-based) of `rev:path`, without its `\n`.
fn line_of(cache: &mut HashMap<(String, String), Vec<u8>>, rev: &str, path: &str, n: u64) -> Vec<u8> {
    let content = cache
        .entry((rev.to_string(), path.to_string()))
        .or_insert_with(|| git_ok(&FIX.repo, ["show", &format!("{rev}:{path}")]));
    content.split(|&b| b == b'\n').nth(n as usize - 1).expect("line exists").to_vec()
}

/// Checks match objects against the files and the regex.
fn check_matches(pattern: &str, flags: &[&str]) {
    let mut args: Vec<&str> = flags.to_vec();
    args.extend(["--", pattern]);
    let (objs, summary) = run_json(&args);
    assert!(!objs.is_empty(), "{pattern}: no matches");
    let labels = rev_labels(flags);
    let commits: HashMap<&str, String> = labels.iter().map(|l| (l.as_str(), commit_of(l))).collect();
    let ci = flags.contains(&"-i");
    let pat = if flags.contains(&"-F") { regex::escape(pattern) } else { pattern.to_string() };
    let pat = if flags.contains(&"-w") { format!(r"(?:^|\W)({pat})(?:$|\W)") } else { pat };
    let re = regex::bytes::RegexBuilder::new(&pat).case_insensitive(ci).multi_line(true).build().unwrap();
    let mut cache = HashMap::new();
    let mut files = BTreeSet::new();
    let mut last: Option<(usize, Vec<u8>, u64)> = None;
    for o in &objs {
        keys(o, MATCH_KEYS);
        assert_eq!(o["type"], "match");
        let rev = string(&o["rev"]);
        let ri = labels.iter().position(|l| l == rev).unwrap_or_else(|| panic!("unknown rev {rev}"));
        assert_eq!(string(&o["commit"]), commits[rev], "{o}");
        let path = string(&o["path"]);
        let line = uint(&o["line"]);
        let column = uint(&o["column"]);
        let text = string(&o["text"]);
        assert!(line >= 1 && column >= 1, "{o}");
        // Ordered by revision, then path bytes, then line.
        let key = (ri, path.as_bytes().to_vec(), line);
        if let Some(prev) = &last {
            assert!(*prev < key, "out of order: {prev:?} then {key:?}");
        }
        last = Some(key);
        files.insert((rev.to_string(), path.to_string()));
        let subs: Vec<(usize, usize)> = o["submatches"]
            .as_array()
            .expect("submatches is an array")
            .iter()
            .map(|s| {
                keys(s, &["end", "start"]);
                (uint(&s["start"]) as usize, uint(&s["end"]) as usize)
            })
            .collect();
        if path.contains('\u{FFFD}') {
            continue; // not a name `git show` can be given; see the lossy test
        }
        let raw = line_of(&mut cache, rev, path, line);
        assert_eq!(text, String::from_utf8_lossy(&raw), "{rev}:{path}:{line}: text is not the line");
        assert!(!subs.is_empty(), "{o}: a matching line without submatches");
        for &(s, e) in &subs {
            assert!(s <= e && e <= text.len(), "{o}: submatch out of range");
        }
        assert_eq!(column as usize, subs[0].0 + 1, "{o}: column is not the first submatch");
        if std::str::from_utf8(&raw).is_ok() && !flags.contains(&"-w") {
            // Exactly the regex's (non-empty) matches in the line.
            let want: Vec<(usize, usize)> =
                re.find_iter(&raw).filter(|m| !m.is_empty()).map(|m| (m.start(), m.end())).collect();
            let got: Vec<(usize, usize)> = subs.iter().copied().filter(|(s, e)| s < e).collect();
            assert_eq!(got, want, "{rev}:{path}:{line}: {text:?}");
        }
        if flags.contains(&"-w") {
            for &(s, e) in &subs {
                let m = &text.as_bytes()[s..e];
                assert!(re.is_match(text.as_bytes()), "{o}");
                assert!(!m.is_empty());
            }
        }
    }
    assert_eq!(uint(&summary["matches"]), objs.len() as u64, "summary.matches");
    assert_eq!(uint(&summary["files"]), files.len() as u64, "summary.files");
    assert_eq!(uint(&summary["revisions"]), labels.len() as u64, "summary.revisions");
}

#[test]
fn match_objects_agree_with_files_and_regex() {
    let cases: &[(&str, &[&str])] = &[
        ("needle", &[]),
        ("fooBar|foo_bar", &[]),
        ("(foo)?bar", &["-i"]),
        ("search", &["-i"]),
        ("kelvin", &["-i", "--rev", "main", "--rev", "v1.0"]),
        ("strbuf_\\w+", &["--rev", "v1.0", "--rev", "main", "--rev", "feature/x"]),
        ("x*", &["-g", "src/*.rs"]),
        ("a?b*c", &["-F"]),
        ("needle", &["-w"]),
        ("LONG_LINE_MARKER", &[]),
        ("\\r$", &[]),
        ("[^\\x00-\\x7f]+", &["-g", "docs/*"]),
        ("MARKER_LIB", &["--rev", "feature/x", "--rev", "main"]),
        ("fn", &["-C", "2"]),
    ];
    for (p, f) in cases {
        check_matches(p, f);
    }
}

#[test]
fn context_is_not_emitted_as_match_objects() {
    let (with, _) = run_json(&["-C", "3", "needle"]);
    let (without, _) = run_json(&["needle"]);
    assert_eq!(with, without);
}

#[test]
fn count_objects_agree_with_text_output() {
    for args in [&["needle"][..], &["-i", "STRBUF", "--rev", "main", "--rev", "v1.0"], &["x*"], &["-m", "2", "x*"]] {
        let mut a = vec!["-c"];
        a.extend(args);
        let (objs, summary) = run_json(&a);
        let text = stdout(&FIX.search(&a));
        let multi = rev_labels(args).len() > 1;
        let mut total = 0;
        let mut rendered = String::new();
        for o in &objs {
            keys(o, COUNT_KEYS);
            assert_eq!(o["type"], "count");
            assert_eq!(string(&o["commit"]), commit_of(string(&o["rev"])));
            let n = uint(&o["count"]);
            assert!(n >= 1);
            total += n;
            if multi {
                rendered += &format!("{}:", string(&o["rev"]));
            }
            rendered += &format!("{}:{n}\n", string(&o["path"]));
        }
        assert_eq!(rendered, text, "{a:?}");
        assert_eq!(uint(&summary["matches"]), total);
        assert_eq!(uint(&summary["files"]), objs.len() as u64);
    }
}

#[test]
fn file_objects_agree_with_text_output() {
    for args in [&["needle"][..], &["MARKER_LIB", "--rev", "main", "--rev", "v1.0", "--rev", "feature/x"]] {
        let mut a = vec!["-l"];
        a.extend(args);
        let (objs, summary) = run_json(&a);
        let text = stdout(&FIX.search(&a));
        let multi = rev_labels(args).len() > 1;
        let mut rendered = String::new();
        for o in &objs {
            keys(o, FILE_KEYS);
            assert_eq!(o["type"], "file");
            if multi {
                rendered += &format!("{}:", string(&o["rev"]));
            }
            rendered += &format!("{}\n", string(&o["path"]));
        }
        assert_eq!(rendered, text);
        assert_eq!(uint(&summary["files"]), objs.len() as u64);
    }
}

#[test]
fn commit_ids_are_the_fixture_ones() {
    let (objs, _) = run_json(&["-l", "MARKER_LIB_V1", "--rev", "main", "--rev", "v2.0", "--rev", "v1.0"]);
    let got: Vec<(&str, &str)> = objs.iter().map(|o| (string(&o["rev"]), string(&o["commit"]))).collect();
    // v1.0 is an annotated tag: the commit it points to, not the tag object.
    assert_eq!(got, [("main", BASIC_MAIN), ("v2.0", BASIC_MAIN), ("v1.0", "a765768343238d1733974b9f37ca0c7cef8474cb")]);
}

#[test]
fn summary_lists_skipped_files_per_revision() {
    let (_, summary) = run_json(&["needle", "--rev", "main", "--rev", "fd6adb3"]);
    let skipped: BTreeMap<(String, String), String> = summary["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| ((string(&s["rev"]).to_string(), string(&s["path"]).to_string()), string(&s["reason"]).to_string()))
        .collect();
    let want: BTreeMap<(String, String), String> = [
        ("main", "big/large.txt", "too large"),
        ("main", "data/blob.bin", "binary"),
        ("main", "data/late-nul.txt", "binary"),
        ("fd6adb3", "data/blob.bin", "binary"),
        ("fd6adb3", "data/late-nul.txt", "binary"),
    ]
    .iter()
    .map(|(r, p, why)| ((r.to_string(), p.to_string()), why.to_string()))
    .collect();
    assert_eq!(skipped, want);
    // No match at all: still a summary (and exit 1).
    let (objs, summary) = run_json(&["no such text anywhere"]);
    assert!(objs.is_empty());
    assert_eq!(uint(&summary["matches"]), 0);
    assert_eq!(uint(&summary["files"]), 0);
}

#[test]
fn non_utf8_paths_and_lines_are_lossy() {
    // A file name with byte 0xE9.
    let (objs, _) = run_json(&["badly named"]);
    assert_eq!(objs.len(), 1);
    assert_eq!(string(&objs[0]["path"]), "data/latin1-name-caf\u{FFFD}.txt");
    assert_eq!(string(&objs[0]["text"]), "needle in a badly named file");
    // Latin-1 content.
    let (objs, _) = run_json(&["-g", "data/latin1.txt", "caf|fa"]);
    let texts: Vec<&str> = objs.iter().map(|o| string(&o["text"])).collect();
    assert_eq!(texts, ["caf\u{FFFD} cr\u{FFFD}me br\u{FFFD}l\u{FFFD}e", "na\u{FFFD}ve fa\u{FFFD}ade"]);
    // Text output keeps the raw bytes.
    let out = FIX.search(["-g", "data/latin1.txt", "caf"]);
    assert_eq!(out.stdout, b"data/latin1.txt:1:caf\xe9 cr\xe8me br\xfbl\xe9e\n");
    // -c and -l with the odd name.
    let (objs, _) = run_json(&["-c", "badly named"]);
    assert_eq!(string(&objs[0]["path"]), "data/latin1-name-caf\u{FFFD}.txt");
    let (objs, _) = run_json(&["-l", "badly named"]);
    assert_eq!(string(&objs[0]["path"]), "data/latin1-name-caf\u{FFFD}.txt");
}

/// `text` is the line decoded lossily (each invalid byte becomes U+FFFD,
/// 3 bytes), but `submatches`/`column` are offsets into the raw bytes, so on
/// a line with invalid UTF-8 they point at the wrong part of `text`:
/// `grove search --json cr -g data/latin1.txt` gives start 5, end 7, while
/// "cr" is at 7..9 of the text "caf\u{FFFD} cr\u{FFFD}me br\u{FFFD}l\u{FFFD}e".
/// (ripgrep emits `{"bytes": <base64>}` instead of `{"text": …}` for such lines.)
#[test]
// (was ignored: fixed)
fn submatches_index_into_text_even_for_invalid_utf8() {
    let (objs, _) = run_json(&["-g", "data/latin1.txt", "cr|me|ade"]);
    assert!(!objs.is_empty());
    for o in &objs {
        let text = string(&o["text"]).as_bytes();
        for s in o["submatches"].as_array().unwrap() {
            let (s, e) = (uint(&s["start"]) as usize, uint(&s["end"]) as usize);
            let m = text.get(s..e).unwrap_or_else(|| panic!("{o}: submatch out of range"));
            assert!(
                [&b"cr"[..], b"me", b"ade"].contains(&m),
                "{o}: submatch {s}..{e} is {:?}",
                String::from_utf8_lossy(m)
            );
        }
    }
}

/// -U: a match spanning lines is one object whose text holds both lines.
#[test]
fn multiline_match_is_one_object() {
    let (objs, summary) = run_json(&["-U", "fn main\\(\\) \\{\\n    let"]);
    assert_eq!(objs.len(), 1);
    let o = &objs[0];
    assert_eq!(string(&o["path"]), "src/main.rs");
    assert_eq!(uint(&o["line"]), 5);
    assert!(string(&o["text"]).starts_with("fn main() {\n    let hay"), "{o}");
    assert_eq!(uint(&summary["matches"]), 1);
}
