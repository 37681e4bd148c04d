//! Differential tests on the random fixture (`fixtures/build-random.py`):
//! `grove search -c PAT --tags 'r*'` against `git grep -c PAT $(git tag -l 'r*')`,
//! minus the files grove skips (binary, too large), for patterns drawn from
//! the generator's vocabulary.
//!
//! Not in the tables, by design: `-w` next to non-ASCII letters (git's -w
//! uses ASCII word characters, ripgrep's Unicode ones: `*theİ` has the whole
//! word `the` for git only) and POSIX classes (see differential_git_grep.rs).

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::LazyLock;

use common::*;

struct Corpus {
    ix: Indexed,
    /// `git tag -l 'r*'` (sorted, as grove sorts a glob's matches).
    tags: Vec<String>,
    /// `REV:path` of every file grove skips at those tags.
    skipped: HashSet<Vec<u8>>,
}

fn corpus(name: &str, seed: u64, nfiles: u32, ncommits: u32) -> Corpus {
    let repo: PathBuf = scratch().join(name);
    build_random(&repo, seed, nfiles, ncommits);
    let ix = Indexed::shared(&repo, &format!("{name}-index"));
    ix.index(["--tags", "r*"]);
    let tags: Vec<String> =
        lines(&git_ok(&repo, ["tag", "-l", "r*"])).into_iter().map(|l| String::from_utf8(l).unwrap()).collect();
    assert!(tags.len() >= 4, "{tags:?}");
    let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    let skipped = ix.skipped(&tag_refs).into_iter().map(|(r, p)| format!("{r}:{p}").into_bytes()).collect();
    Corpus { ix, tags, skipped }
}

static SEED7: LazyLock<Corpus> = LazyLock::new(|| corpus("random-7", 7, 150, 120));
static SEED42: LazyLock<Corpus> = LazyLock::new(|| corpus("random-42", 42, 60, 80));

/// Compares `grove search -c|-l FLAGS PAT <grove_revs>` with `git grep -P -c|-l
/// FLAGS -e PAT <git_revs>`; returns the differences.
fn compare(c: &Corpus, pat: &str, flags: &str, list: bool, grove_revs: &[&str], git_revs: &[String]) -> Option<String> {
    let flags: Vec<&str> = flags.split_whitespace().collect();
    let mode = if list { "-l" } else { "-c" };
    let mut a: Vec<&str> = vec![mode];
    a.extend(&flags);
    a.extend(grove_revs);
    a.extend(["--", pat]);
    let g = c.ix.search(&a);

    let mut t: Vec<&str> = vec!["grep", mode];
    if !flags.contains(&"-F") {
        t.push("-P");
    }
    t.extend(&flags);
    t.extend(["-e", pat]);
    t.extend(git_revs.iter().map(String::as_str));
    let t = git(&c.ix.repo, &t);
    assert!(code(&t) <= 1, "git grep failed: {}", stderr(&t));
    let want: Vec<Vec<u8>> = lines(&t.stdout)
        .into_iter()
        .filter(|l| {
            let key = if list { &l[..] } else { &l[..l.iter().rposition(|&b| b == b':').unwrap()] };
            !c.skipped.contains(key)
        })
        .collect();
    let got = lines(&g.stdout);
    let want_code = if want.is_empty() { 1 } else { 0 };
    if got == want && code(&g) == want_code && !stderr(&g).contains("panicked") {
        return None;
    }
    let only_grove: Vec<_> = got.iter().filter(|l| !want.contains(l)).cloned().collect();
    let only_git: Vec<_> = want.iter().filter(|l| !got.contains(l)).cloned().collect();
    Some(format!(
        "{mode} {flags:?} {pat:?}: grove exit {} (want {want_code}), {} vs {} lines{}\nonly grove:\n{}only git:\n{}stderr: {}",
        code(&g),
        got.len(),
        want.len(),
        if only_grove.is_empty() && only_git.is_empty() { " (same lines, different order)" } else { "" },
        show(&only_grove),
        show(&only_git),
        stderr(&g)
    ))
}

fn check(c: &Corpus, cases: &[(&str, &str)], list: bool) {
    let problems: Vec<String> =
        cases.iter().filter_map(|(p, f)| compare(c, p, f, list, &["--tags", "r*"], &c.tags)).collect();
    assert!(problems.is_empty(), "{} differences from git grep:\n{}", problems.len(), problems.join("\n"));
}

const PATTERNS: &[(&str, &str)] = &[
    ("needle", ""),
    ("fooBar", ""),
    ("foo_?bar", "-i"),
    ("strbuf_addf", ""),
    ("\\bab\\b", ""),
    ("x", ""),
    ("ſ", ""),
    ("straße", "-i"),
    ("kelvin", "-i"),
    ("FOO_BAR|FooBar", ""),
    ("^\\s*$", ""),
    ("[0-9]+\\.[0-9]+", ""),
    ("https?://", ""),
    ("get_?value", "-i"),
    ("\\(\\)", ""),
    ("abc?d", ""),
    ("TODO|FIXME|XXX", ""),
    ("a.c", ""),
    ("σοφία", "-i"),
    ("e\\x{301}", ""),
    ("(foo)?bar", ""),
    ("[^\\x00-\\x7f]", ""),
    (".{1000,}", ""),
    ("q=1", "-F"),
    ("0x1F", "-F -i"),
    ("?", "-F"),
    ("setValue\\(", ""),
    ("^(fn|def|let) ", ""),
];

#[test]
fn counts_over_all_r_tags_seed7() {
    check(&SEED7, PATTERNS, false);
}

#[test]
fn files_over_all_r_tags_seed7() {
    check(&SEED7, &PATTERNS[..10], true);
}

#[test]
fn counts_over_all_r_tags_seed42() {
    check(&SEED42, PATTERNS, false);
}

/// Refs that were not indexed up front (the `side` branch, the annotated tag
/// `v-mid`, main) are indexed on the fly and attributed correctly.
#[test]
fn branches_and_annotated_tag_seed7() {
    let c = &*SEED7;
    let git_revs: Vec<String> = ["v-mid", "main", "side"].map(String::from).to_vec();
    // Skipped paths for these refs too.
    let skipped: HashSet<Vec<u8>> =
        c.ix.skipped(&["v-mid", "main", "side"]).into_iter().map(|(r, p)| format!("{r}:{p}").into_bytes()).collect();
    let c2 = Corpus { ix: Indexed::shared(&c.ix.repo, "random-7-index"), tags: vec![], skipped };
    let problems: Vec<String> = PATTERNS[..12]
        .iter()
        .filter_map(|(p, f)| {
            compare(&c2, p, f, false, &["--rev", "v-mid", "--branches", "main", "--branches", "s*"], &git_revs)
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The same answers from an index built one tag at a time (one delta segment
/// per tag), then compacted, then garbage-collected.
#[test]
fn incremental_index_compaction_and_gc_keep_answers() {
    let base = &*SEED7;
    let ix = Indexed::new(&base.ix.repo);
    for t in &base.tags {
        ix.index(["--rev", t.as_str()]);
    }
    let c = Corpus { ix, tags: base.tags.clone(), skipped: base.skipped.clone() };
    let run = |stage: &str| {
        let problems: Vec<String> = PATTERNS[..12]
            .iter()
            .filter_map(|(p, f)| compare(&c, p, f, false, &["--tags", "r*"], &c.tags))
            .map(|d| format!("after {stage}: {d}"))
            .collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        assert_code(&c.ix.check(), 0);
    };
    run("indexing tag by tag");
    assert_code(&c.ix.run("compact", std::iter::empty::<&str>()), 0);
    run("compact");
    assert_code(&c.ix.run("gc", ["--now"]), 0);
    run("gc --now");
}
