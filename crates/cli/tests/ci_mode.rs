//! CI mode: `--format github` annotations, `--since` with every format, exit
//! codes, and the two recipes of docs/ci.md run as written.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;

/// main has one call to `legacy_call(`; the branch `pr` adds two more, one
/// of them in a file with a comma, a colon and a percent sign in its name.
fn pr_repo(dir: &Path) {
    git_ok(dir, ["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("a.rs"), "fn a() { legacy_call(1); }\n").unwrap();
    std::fs::write(dir.join("b.rs"), "fn b() {}\n").unwrap();
    commit_all(dir, "base");
    git_ok(dir, ["checkout", "-q", "-b", "pr"]);
    std::fs::write(dir.join("a.rs"), "fn a() { legacy_call(1); }\nfn c() { legacy_call(2); }\n").unwrap();
    std::fs::write(dir.join("odd,name:100%.rs"), "// ünï\nlet y = legacy_call(3);\n").unwrap();
    commit_all(dir, "pr");
}

/// `::error file=F,line=L,col=C,endColumn=E,title=T::MESSAGE` → (F, L, C, E, MESSAGE), unescaped.
fn parse_annotation(line: &str) -> (String, u64, usize, usize, String) {
    let unescape = |s: &str| {
        s.replace("%3A", ":").replace("%2C", ",").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
    };
    let rest = line.strip_prefix("::error ").unwrap_or_else(|| panic!("not an error annotation: {line}"));
    let (props, msg) = rest.split_once("::").unwrap();
    let mut file = String::new();
    let (mut l, mut c, mut e) = (0, 0, 0);
    for p in props.split(',') {
        let (k, v) = p.split_once('=').unwrap();
        match k {
            "file" => file = unescape(v),
            "line" => l = v.parse().unwrap(),
            "col" => c = v.parse().unwrap(),
            "endColumn" => e = v.parse().unwrap(),
            "title" => {}
            other => panic!("unexpected property {other} in {line}"),
        }
    }
    (file, l, c, e, unescape(msg))
}

#[test]
fn github_annotations_match_json_and_escape_properties() {
    let t = tempdir();
    pr_repo(t.path());
    let ix = Indexed::new(t.path());
    let out = ix.search(["--format", "github", r"legacy_call\(\d"]);
    assert_code(&out, 0);
    let got: BTreeSet<(String, u64)> = stdout(&out).lines().map(parse_annotation).map(|(f, l, ..)| (f, l)).collect();
    let json = ix.search(["--json", r"legacy_call\(\d"]);
    let want: BTreeSet<(String, u64)> = stdout(&json)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "match")
        .map(|v| (v["path"].as_str().unwrap().to_string(), v["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 3, "{}", describe(&out));
    assert!(got.contains(&("odd,name:100%.rs".to_string(), 2)));
    // Columns are 1-based characters: "let y = " is 8 characters.
    let odd = stdout(&out).lines().map(parse_annotation).find(|a| a.0.starts_with("odd")).unwrap();
    assert_eq!((odd.2, odd.3), (9, 22), "{odd:?}");
    assert_eq!(odd.4, "let y = legacy_call(3);");
}

#[test]
fn since_reports_only_what_the_branch_adds_in_every_format() {
    let t = tempdir();
    pr_repo(t.path());
    let ix = Indexed::new(t.path());
    // Text.
    let out = ix.search(["--since", "main", r"legacy_call\("]);
    assert_code(&out, 0);
    let mut text: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    text.sort();
    assert_eq!(text, ["a.rs:2:fn c() { legacy_call(2); }", "odd,name:100%.rs:2:let y = legacy_call(3);"]);
    // GitHub.
    let out = ix.search(["--since", "main", "--format", "github", r"legacy_call\("]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out).lines().count(), 2, "{}", describe(&out));
    // JSON: the summary counts the same two.
    let out = ix.search(["--since", "main", "--json", r"legacy_call\("]);
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["matches"], 2);
    // Nothing new at main itself: exit 1, no output.
    let out = ix.search(["--rev", "main", "--since", "main", "--format", "github", r"legacy_call\("]);
    assert_code(&out, 1);
    assert!(stdout(&out).is_empty());
}

#[test]
fn exit_codes_follow_grep_in_ci_formats() {
    let t = tempdir();
    pr_repo(t.path());
    let ix = Indexed::new(t.path());
    assert_code(&ix.search(["--format", "github", "no_such_thing_anywhere"]), 1);
    assert_code(&ix.search(["--format", "json", "no_such_thing_anywhere"]), 1);
    let bad = ix.search(["--format", "github", "("]);
    assert_code(&bad, 2);
    assert!(stderr(&bad).contains("invalid pattern"), "{}", describe(&bad));
    assert_code(&ix.search(["--since", "no-such-rev", "x"]), 2);
    assert_code(&ix.search(["--json", "--format", "text", "x"]), 2);
}

/// docs/ci.md, recipe 1: fail the build if the PR adds a call to X.
#[test]
fn recipe_fail_if_the_change_adds_a_call() {
    let t = tempdir();
    pr_repo(t.path());
    let ix = Indexed::new(t.path());
    let out = ix.search(["--rev", "pr", "--since", "main", "--format", "github", r"legacy_call\("]);
    assert_code(&out, 0); // found: the CI step fails
    let out = ix.search(["--rev", "main", "--since", "main", "--format", "github", r"legacy_call\("]);
    assert_code(&out, 1); // not found: the step passes
}

/// docs/ci.md, recipe 2: which release branches still contain Y.
#[test]
fn recipe_which_release_branches_still_contain() {
    let t = tempdir();
    let dir = t.path();
    git_ok(dir, ["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("lib.c"), "int y = insecure_hash(x);\n").unwrap();
    commit_all(dir, "one");
    git_ok(dir, ["branch", "release/1.0"]);
    git_ok(dir, ["branch", "release/1.1"]);
    std::fs::write(dir.join("lib.c"), "int y = sha256(x);\n").unwrap();
    commit_all(dir, "fix");
    git_ok(dir, ["branch", "release/2.0"]);
    let ix = Indexed::new(dir);
    let out = ix.search(["-c", "--branches", "release/*", "insecure_hash"]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "release/1.0:lib.c:1\nrelease/1.1:lib.c:1\n");
}
