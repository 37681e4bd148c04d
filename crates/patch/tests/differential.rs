//! Differential tests against the real tools: random file pairs are diffed by
//! GNU `diff -u` and by `git diff --no-index`, and parsing and applying each
//! diff to the old file must give the new file byte for byte.

mod common;

use std::fs;
use std::path::Path;

use grove_patch::{apply_file, parse, HunkLine, PatchError};
use proptest::prelude::*;
use proptest::sample::Index;

/// A small pool, so lines repeat (ambiguous context) and some carry a CR,
/// a tab, UTF-8 or are empty.
const POOL: &[&str] = &[
    "a",
    "b",
    "c",
    "d",
    "",
    "fn main() {",
    "}",
    "    x += 1;",
    "a\r",
    "\r",
    "b\r",
    "tab\there",
    "café",
    " lead",
    "trail ",
    "-- ",
    "--- x",
    "+++ y",
    "@@ -1 +1 @@",
    "\\ backslash",
];

#[derive(Clone, Debug)]
enum Edit {
    Insert(Index, Vec<String>),
    Delete(Index, usize),
    Replace(Index, String),
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(POOL).prop_map(str::to_owned),
        1 => "[a-z]{1,6}",
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), prop::collection::vec(line(), 1..4)).prop_map(|(i, l)| Edit::Insert(i, l)),
        (any::<Index>(), 1usize..4).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<Index>(), line()).prop_map(|(i, l)| Edit::Replace(i, l)),
    ]
}

/// Applies the edits; an edit at index 0 or past the end exercises the
/// start and end of the file.
fn edited(old: &[String], edits: &[Edit]) -> Vec<String> {
    let mut new = old.to_vec();
    for e in edits {
        match e {
            Edit::Insert(i, lines) => {
                let at = i.index(new.len() + 1);
                new.splice(at..at, lines.iter().cloned());
            }
            Edit::Delete(i, n) if !new.is_empty() => {
                let at = i.index(new.len());
                let end = (at + n).min(new.len());
                new.drain(at..end);
            }
            Edit::Replace(i, l) if !new.is_empty() => {
                let at = i.index(new.len());
                new[at] = l.clone();
            }
            _ => {}
        }
    }
    new
}

fn bytes(lines: &[String], final_newline: bool) -> Vec<u8> {
    let mut out = lines.join("\n").into_bytes();
    if final_newline && !lines.is_empty() {
        out.push(b'\n');
    }
    out
}

/// Diffs `old` → `new` with the named tool; parses and applies.
fn check(dir: &Path, tool: &str, context: u32, old: &[u8], new: &[u8]) -> Result<(), TestCaseError> {
    fs::write(dir.join("old"), old).unwrap();
    fs::write(dir.join("new"), new).unwrap();
    let diff = match tool {
        "diff" => common::gnu_diff(dir, context, "old", "new"),
        _ => common::git_diff_no_index(dir, context, "old", "new"),
    };
    let text = String::from_utf8_lossy(&diff);
    if old == new {
        prop_assert!(diff.is_empty(), "{tool}: {text}");
        prop_assert_eq!(parse(&diff).unwrap_err(), PatchError::Empty);
        return Ok(());
    }
    let patch = parse(&diff).map_err(|e| TestCaseError::fail(format!("{tool}: {e}\n{text}")))?;
    prop_assert_eq!(patch.files.len(), 1, "{}: {}", tool, text);
    let fp = &patch.files[0];
    let got = apply_file(fp, Some(old))
        .map_err(|e| TestCaseError::fail(format!("{tool}: {e}\n{text}")))?
        .expect("not a deletion");
    prop_assert!(
        got == new,
        "{tool} -U{context}: got {:?}, want {:?}\n{text}",
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(new)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random files and edits (at the start, the end, with and without a
    /// final newline, CRLF lines): `diff -u` and `git diff` round-trip.
    #[test]
    fn diff_and_git_diff_round_trip(
        old in prop::collection::vec(line(), 0..24),
        edits in prop::collection::vec(edit(), 1..5),
        old_nl in prop::bool::weighted(0.8),
        new_nl in prop::bool::weighted(0.8),
        context in prop_oneof![3 => Just(3u32), 1 => 0u32..3],
    ) {
        let new = edited(&old, &edits);
        let (old, new) = (bytes(&old, old_nl), bytes(&new, new_nl));
        let dir = tempfile::tempdir().unwrap();
        check(dir.path(), "diff", context, &old, &new)?;
        check(dir.path(), "git", context, &old, &new)?;
    }

    /// The same diffs applied to the old file shifted down by unrelated
    /// lines: the offset search finds every hunk (lines are unique, so the
    /// match is too), except a first hunk that must match at the start.
    #[test]
    fn diff_applies_at_an_offset(
        n_old in 1usize..30,
        edits in prop::collection::vec(
            (any::<Index>(), prop_oneof![Just(0usize), 1usize..3], 0usize..3), 1..4),
        shift in 1usize..6,
        old_nl in prop::bool::weighted(0.8),
        context in 1u32..4,
    ) {
        let old: Vec<String> = (0..n_old).map(|i| format!("old {i}")).collect();
        let mut new = old.clone();
        for (k, (at, del, ins)) in edits.iter().enumerate() {
            let at = at.index(new.len() + 1);
            let end = (at + del).min(new.len());
            new.splice(at..end, (0..*ins).map(|j| format!("new {k}.{j}")));
        }
        let prefix: Vec<String> = (0..shift).map(|i| format!("prefix {i}")).collect();
        let (old_b, new_b) = (bytes(&old, old_nl), bytes(&new, old_nl));
        prop_assume!(old_b != new_b);

        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("old"), &old_b).unwrap();
        fs::write(dir.path().join("new"), &new_b).unwrap();
        let diff = common::gnu_diff(dir.path(), context, "old", "new");
        let text = String::from_utf8_lossy(&diff);
        let fp = &parse(&diff).unwrap().files[0];
        let first = &fp.hunks[0];
        let has_context = first.lines.iter().any(|l| matches!(l, HunkLine::Context(_)));
        let starts_bare = has_context && first.old_start <= 1 && !matches!(first.lines[0], HunkLine::Context(_));

        let mut shifted_old = bytes(&prefix, true);
        shifted_old.extend_from_slice(&old_b);
        let mut shifted_new = bytes(&prefix, true);
        shifted_new.extend_from_slice(&new_b);
        match apply_file(fp, Some(&shifted_old)) {
            Ok(got) => {
                prop_assert!(!starts_bare, "applied a start-anchored hunk at an offset\n{text}");
                prop_assert!(got.as_deref() == Some(&shifted_new[..]), "got {:?}\n{text}", got.map(|g| String::from_utf8_lossy(&g).into_owned()));
            }
            Err(PatchError::HunkFailed { hunk: 1, .. }) if starts_bare => {}
            Err(e) => prop_assert!(false, "{e}\n{text}"),
        }
    }
}
