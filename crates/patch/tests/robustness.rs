//! Errors are values, never panics: random bytes, patch-shaped token soup and
//! mutated real patches go through `parse` and `apply_file`.

use grove_patch::{apply_file, parse, Patch};
use proptest::prelude::*;
use proptest::sample::Index;

/// Real patches (as git, diff and agents write them) with an old content
/// each applies to.
const CORPUS: &[(&[u8], &[u8])] = &[
    (
        b"diff --git a/x.txt b/x.txt
index 1..2 100644
--- a/x.txt
+++ b/x.txt
@@ -1,3 +1,3 @@
 a
-b
+B
 c
@@ -6,3 +6,4 @@ section
 f
-g
+G
+G2
 h
diff --git a/new.sh b/new.sh
new file mode 100755
--- /dev/null
+++ b/new.sh
@@ -0,0 +1,2 @@
+#!/bin/sh
+echo hi
diff --git a/gone b/gone
deleted file mode 100644
--- a/gone
+++ /dev/null
@@ -1 +0,0 @@
-a
",
        b"a\nb\nc\nd\ne\nf\ng\nh\ni\n",
    ),
    (
        br#"diff --git "a/caf\303\251.txt" "b/caf\303\251.txt"
index 587be6b..975fbec 100644
--- "a/caf\303\251.txt"
+++ "b/caf\303\251.txt"
@@ -1 +1,2 @@
-x
\ No newline at end of file
+y
+z
\ No newline at end of file
diff --git a/old name b/new name
similarity index 100%
rename from old name
rename to new name
diff --git a/m b/m
old mode 100644
new mode 100755
diff --git a/bin b/bin
index bdc955b..8835708 100644
GIT binary patch
literal 2
JcmZQ%00961000

"#,
        b"x",
    ),
    (
        b"From 3701 Mon Sep 17 00:00:00 2001
Subject: [PATCH] x

---
 f | 2 +-

diff -ru a/f b/f
--- a/f\t2024-05-01 10:00:00.000000000 +0000
+++ b/f\t2024-05-01 10:00:01.000000000 +0000
@@ -1,4 +1,4 @@
 one\r
-two\r
+TWO\r

 four
--- a/n\t1970-01-01 00:00:00.000000000 +0000
+++ b/n\t2024-05-01 10:00:01.000000000 +0000
@@ -0,0 +1 @@
+n
Binary files a/p and b/p differ
-- 
2.47.3
",
        b"one\r\ntwo\r\n\nfour\n",
    ),
];

const TOKENS: &[&[u8]] = &[
    b"diff --git a/x b/x\n",
    b"diff --git \"a/\\303\\251\" b/y\n",
    b"--- a/x\n",
    b"+++ b/x\n",
    b"--- /dev/null\n",
    b"+++ /dev/null\n",
    b"@@ -1,2 +1,2 @@\n",
    b"@@ -1 +1 @@\n",
    b"@@ -0,0 +1 @@\n",
    b"@@ -4294967295,4294967295 +1 @@\n",
    b"@@ -2,0 +3,1 @@ f\n",
    b" ctx\n",
    b"-old\n",
    b"+new\n",
    b"\n",
    b"\r\n",
    b"\\ No newline at end of file\n",
    b"new file mode 100644\n",
    b"deleted file mode 100755\n",
    b"old mode 120000\n",
    b"new mode 160000\n",
    b"rename from \"q\\\"\"\n",
    b"rename to r\n",
    b"copy from c\n",
    b"copy to d\n",
    b"similarity index 90%\n",
    b"index 1..2 100644\n",
    b"GIT binary patch\n",
    b"literal 2\n",
    b"Binary files a/x and b/x differ\n",
    b"Binary files x and /dev/null differ\n",
    b"\t1970-01-01 00:00:00 +0000",
    b"-- \n",
    b"\"",
    b"\\",
    b"\r",
    b"x",
    b" ",
    b"-",
    b"+",
];

fn token_soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            6 => prop::sample::select(TOKENS).prop_map(<[u8]>::to_vec),
            1 => prop::collection::vec(any::<u8>(), 1..6),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

#[derive(Clone, Debug)]
enum Mutation {
    SetByte(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Truncate(Index),
    DuplicateLine(Index),
    DeleteLine(Index),
    SwapLines(Index, Index),
    Digit(Index, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), 1usize..20).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<Index>().prop_map(Mutation::Truncate),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        any::<Index>().prop_map(Mutation::DeleteLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<Index>(), "[0-9]{1,11}").prop_map(|(i, d)| Mutation::Digit(i, d)),
    ]
}

fn mutate(input: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut b = input.to_vec();
    for m in muts {
        let mut lines: Vec<Vec<u8>> = b.split_inclusive(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
        match m {
            Mutation::SetByte(i, v) if !b.is_empty() => {
                let at = i.index(b.len());
                b[at] = *v;
            }
            Mutation::Insert(i, v) => {
                let at = i.index(b.len() + 1);
                b.splice(at..at, v.iter().copied());
            }
            Mutation::Delete(i, n) if !b.is_empty() => {
                let at = i.index(b.len());
                b.drain(at..(at + n).min(b.len()));
            }
            Mutation::Truncate(i) => b.truncate(i.index(b.len() + 1)),
            Mutation::DuplicateLine(i) if !lines.is_empty() => {
                let at = i.index(lines.len());
                lines.insert(at, lines[at].clone());
                b = lines.concat();
            }
            Mutation::DeleteLine(i) if !lines.is_empty() => {
                lines.remove(i.index(lines.len()));
                b = lines.concat();
            }
            Mutation::SwapLines(x, y) if !lines.is_empty() => {
                let (x, y) = (x.index(lines.len()), y.index(lines.len()));
                lines.swap(x, y);
                b = lines.concat();
            }
            Mutation::Digit(i, d) => {
                // Replace a digit run (hunk header numbers, modes).
                let digits: Vec<usize> = (0..b.len()).filter(|&k| b[k].is_ascii_digit()).collect();
                if !digits.is_empty() {
                    let start = digits[i.index(digits.len())];
                    let end = start + b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
                    b.splice(start..end, d.bytes());
                }
            }
            _ => {}
        }
    }
    b
}

/// Parses and, when that succeeds, checks the hunks agree with their headers
/// and applies every file to each candidate content.
fn exercise(input: &[u8], contents: &[&[u8]]) -> Result<(), TestCaseError> {
    let Ok(Patch { files }) = parse(input) else {
        return Ok(());
    };
    prop_assert!(!files.is_empty());
    for fp in &files {
        for h in &fp.hunks {
            let old = h.lines.iter().filter(|l| l.is_old()).count();
            let new = h.lines.iter().filter(|l| l.is_new()).count();
            prop_assert_eq!((old as u32, new as u32), (h.old_len, h.new_len), "{}", h.header);
        }
        let _ = apply_file(fp, None);
        for c in contents {
            let _ = apply_file(fp, Some(c));
        }
        let _ = fp.display_path();
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..600), old in prop::collection::vec(any::<u8>(), 0..64)) {
        exercise(&input, &[&old, b"", b"a\nb\n"])?;
    }

    #[test]
    fn token_soup_never_panics(input in token_soup(), old in token_soup()) {
        exercise(&input, &[&old, b"", b"ctx\nold\n", b"x"])?;
    }

    #[test]
    fn mutated_real_patches_never_panic(
        which in any::<Index>(),
        muts in prop::collection::vec(mutation(), 1..6),
        old_muts in prop::collection::vec(mutation(), 0..3),
    ) {
        let (patch, old) = CORPUS[which.index(CORPUS.len())];
        let input = mutate(patch, &muts);
        let mutated_old = mutate(old, &old_muts);
        exercise(&input, &[old, &mutated_old, b""])?;
    }
}

#[test]
fn corpus_patches_apply() {
    for (patch, old) in CORPUS {
        let p = parse(patch).unwrap();
        apply_file(&p.files[0], Some(old)).unwrap();
    }
}
