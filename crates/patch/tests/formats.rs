//! Hand-written patches in each accepted format: what they parse to and what
//! they apply to.

use grove_patch::{apply_file, parse, FileMode, FilePatch, HunkLine, Patch, PatchError};

fn one(patch: &[u8]) -> FilePatch {
    let p = parse(patch).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.files.len(), 1, "{p:#?}");
    p.files.into_iter().next().unwrap()
}

fn apply(fp: &FilePatch, old: &[u8]) -> Vec<u8> {
    apply_file(fp, Some(old)).unwrap_or_else(|e| panic!("{e}")).expect("not a deletion")
}

fn path(p: &Option<Vec<u8>>) -> Option<&str> {
    p.as_deref().map(|p| std::str::from_utf8(p).unwrap())
}

#[test]
fn git_modify_with_index_line() {
    let fp = one(b"diff --git a/src/x.rs b/src/x.rs
index 3b18e51..a042389 100644
--- a/src/x.rs
+++ b/src/x.rs
@@ -1,3 +1,3 @@ fn main() {
 one
-two
+TWO
 three
");
    assert_eq!(path(&fp.old_path), Some("src/x.rs"));
    assert_eq!(path(&fp.new_path), Some("src/x.rs"));
    assert_eq!(fp.new_mode, None);
    assert!(!fp.is_rename && !fp.is_copy && !fp.binary);
    let h = &fp.hunks[0];
    assert_eq!((h.old_start, h.old_len, h.new_start, h.new_len), (1, 3, 1, 3));
    assert_eq!(h.header, "@@ -1,3 +1,3 @@ fn main() {");
    assert_eq!(
        h.lines,
        vec![
            HunkLine::Context(b"one\n".to_vec()),
            HunkLine::Remove(b"two\n".to_vec()),
            HunkLine::Add(b"TWO\n".to_vec()),
            HunkLine::Context(b"three\n".to_vec()),
        ]
    );
    assert_eq!(apply(&fp, b"one\ntwo\nthree\n"), b"one\nTWO\nthree\n");
}

#[test]
fn git_new_and_deleted_files() {
    let p = parse(
        b"diff --git a/new.sh b/new.sh
new file mode 100755
index 0000000..e69de29
--- /dev/null
+++ b/new.sh
@@ -0,0 +1,2 @@
+#!/bin/sh
+echo hi
diff --git a/old.txt b/old.txt
deleted file mode 100644
index e69de29..0000000
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/empty b/empty
new file mode 100644
index 0000000..e69de29
diff --git a/gone-empty b/gone-empty
deleted file mode 100644
index e69de29..0000000
",
    )
    .unwrap();
    let [new, del, empty, gone] = &p.files[..] else { panic!("{p:#?}") };
    assert_eq!((path(&new.old_path), path(&new.new_path)), (None, Some("new.sh")));
    assert_eq!(new.new_mode, Some(FileMode::Executable));
    assert!(new.is_new());
    assert_eq!(apply_file(new, None).unwrap().unwrap(), b"#!/bin/sh\necho hi\n");

    assert_eq!((path(&del.old_path), path(&del.new_path)), (Some("old.txt"), None));
    assert_eq!(del.old_mode, Some(FileMode::Regular));
    assert_eq!(apply_file(del, Some(b"bye\n")).unwrap(), None);

    assert_eq!((path(&empty.old_path), path(&empty.new_path)), (None, Some("empty")));
    assert!(empty.hunks.is_empty());
    assert_eq!(apply_file(empty, None).unwrap().unwrap(), b"");

    assert_eq!((path(&gone.old_path), path(&gone.new_path)), (Some("gone-empty"), None));
    assert_eq!(apply_file(gone, Some(b"")).unwrap(), None);
}

#[test]
fn git_mode_change_rename_copy_and_similarity() {
    let p = parse(
        b"diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
diff --git a/a dir/old name.txt b/b dir/new name.txt
similarity index 100%
rename from a dir/old name.txt
rename to b dir/new name.txt
diff --git a/lib.rs b/lib2.rs
similarity index 90%
copy from lib.rs
copy to lib2.rs
index 1111111..2222222 100644
--- a/lib.rs
+++ b/lib2.rs
@@ -1,2 +1,2 @@
 keep
-old
+new
diff --git a/x b/y
dissimilarity index 80%
rename old x
rename new y
diff --git a/link b/link
index 1..2 120000
--- a/link
+++ b/link
@@ -1 +1 @@
-target-a
\\ No newline at end of file
+target-b
\\ No newline at end of file
",
    )
    .unwrap();
    let [mode, rename, copy, old_rename, link] = &p.files[..] else { panic!("{p:#?}") };

    assert_eq!(mode.old_mode, Some(FileMode::Regular));
    assert_eq!(mode.new_mode, Some(FileMode::Executable));
    assert_eq!(path(&mode.new_path), Some("run.sh"));
    assert_eq!(apply(mode, b"x\n"), b"x\n");

    assert!(rename.is_rename && rename.hunks.is_empty());
    assert_eq!(path(&rename.old_path), Some("a dir/old name.txt"));
    assert_eq!(path(&rename.new_path), Some("b dir/new name.txt"));
    assert_eq!(apply(rename, b"same\n"), b"same\n");

    assert!(copy.is_copy && !copy.is_rename);
    assert_eq!((path(&copy.old_path), path(&copy.new_path)), (Some("lib.rs"), Some("lib2.rs")));
    assert_eq!(apply(copy, b"keep\nold\n"), b"keep\nnew\n");

    assert!(old_rename.is_rename);
    assert_eq!((path(&old_rename.old_path), path(&old_rename.new_path)), (Some("x"), Some("y")));

    assert_eq!(apply(link, b"target-a"), b"target-b");
    assert!(link.hunks[0].lines[0].missing_newline());
    assert_eq!(link.hunks[0].lines[1].text(), b"target-b");
}

#[test]
fn git_quoted_paths_with_c_escapes() {
    let p = parse(
        br#"diff --git "a/caf\303\251.txt" "b/caf\303\251.txt"
index 587be6b..975fbec 100644
--- "a/caf\303\251.txt"
+++ "b/caf\303\251.txt"
@@ -1 +1 @@
-x
+y
diff --git "a/tab\there" "b/new \"quoted\""
similarity index 100%
rename from "tab\there"
rename to "new \"quoted\""
diff --git a/plain "b/caf\303\251"
new file mode 100644
index 0000000..e69de29
"#,
    )
    .unwrap();
    assert_eq!(p.files[0].old_path.as_deref(), Some("café.txt".as_bytes()));
    assert_eq!(p.files[0].new_path.as_deref(), Some("café.txt".as_bytes()));
    assert_eq!(p.files[0].display_path(), "café.txt");
    assert_eq!(p.files[1].old_path.as_deref(), Some(&b"tab\there"[..]));
    assert_eq!(p.files[1].new_path.as_deref(), Some(&b"new \"quoted\""[..]));
    assert_eq!(p.files[2].new_path.as_deref(), Some("café".as_bytes()));
}

#[test]
fn git_paths_with_spaces_and_trailing_tab() {
    // git ends a `---`/`+++` name containing a space with a tab.
    let fp = one(b"diff --git a/sp ace.txt b/sp ace.txt
index de98044..36ef1ba 100644
--- a/sp ace.txt\t
+++ b/sp ace.txt\t
@@ -1,2 +1,2 @@
 a
-b
+B
");
    assert_eq!(path(&fp.old_path), Some("sp ace.txt"));
    assert_eq!(path(&fp.new_path), Some("sp ace.txt"));
}

#[test]
fn git_binary_markers() {
    let p = parse(
        b"diff --git a/img.png b/img.png
index bdc955b..8835708 100644
Binary files a/img.png and b/img.png differ
diff --git a/bin b/bin
index bdc955b7b2e610ad5a72302b139a2e6cb325519a..8835708590a9afa236e1bbad18df9d23de82ccd3 100644
GIT binary patch
literal 2
JcmZQ%00961000

literal 2
JcmZQ(00962000

diff --git a/t.txt b/t.txt
--- a/t.txt
+++ b/t.txt
@@ -1 +1 @@
-a
+b
",
    )
    .unwrap();
    assert_eq!(p.files.len(), 3);
    assert!(p.files[0].binary && p.files[1].binary && !p.files[2].binary);
    assert_eq!(p.files[1].display_path(), "bin");
    assert_eq!(apply(&p.files[2], b"a\n"), b"b\n");
}

#[test]
fn plain_diff_u_with_timestamps() {
    let fp = one(b"--- old/file.c\t2024-05-01 10:00:00.000000000 +0200
+++ new/file.c\t2024-05-02 11:30:00.123456789 +0200
@@ -2,3 +2,4 @@
 b
 c
+c2
 d
");
    assert_eq!(path(&fp.old_path), Some("old/file.c"));
    assert_eq!(path(&fp.new_path), Some("new/file.c"));
    assert_eq!(apply(&fp, b"a\nb\nc\nd\ne\n"), b"a\nb\nc\nc2\nd\ne\n");
}

#[test]
fn plain_diff_ru_with_noise_and_new_files() {
    let p = parse(
        b"Only in a: stale.txt
diff -ruN a/dir/f.txt b/dir/f.txt
--- a/dir/f.txt\t2024-05-01 10:00:00.000000000 +0000
+++ b/dir/f.txt\t2024-05-01 10:00:01.000000000 +0000
@@ -1 +1 @@
-x
+y
diff -ruN a/dir/new.txt b/dir/new.txt
--- a/dir/new.txt\t1970-01-01 00:00:00.000000000 +0000
+++ b/dir/new.txt\t2024-05-01 10:00:01.000000000 +0000
@@ -0,0 +1 @@
+hello
diff -ruN a/dir/old.txt b/dir/old.txt
--- a/dir/old.txt\t2024-05-01 10:00:00.000000000 +0000
+++ b/dir/old.txt\t1969-12-31 19:00:00.000000000 -0500
@@ -1 +0,0 @@
-bye
Binary files a/dir/pic.png and b/dir/pic.png differ
",
    )
    .unwrap();
    let [f, new, old, pic] = &p.files[..] else { panic!("{p:#?}") };
    assert_eq!((path(&f.old_path), path(&f.new_path)), (Some("dir/f.txt"), Some("dir/f.txt")));
    assert_eq!((path(&new.old_path), path(&new.new_path)), (None, Some("dir/new.txt")));
    assert_eq!(apply_file(new, None).unwrap().unwrap(), b"hello\n");
    assert_eq!((path(&old.old_path), path(&old.new_path)), (Some("dir/old.txt"), None));
    assert_eq!(apply_file(old, Some(b"bye\n")).unwrap(), None);
    assert!(pic.binary);
    assert_eq!(pic.display_path(), "dir/pic.png");
}

#[test]
fn agent_style_patch_without_diff_git_line() {
    // Agents write `---`/`+++` with a/ b/ prefixes and no `diff --git`, often
    // with `@@ -N +N @@` counts omitted, and no final newline.
    let fp = one(b"Here is the fix:\n\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -2 +2 @@\n-let x = 1;\n+let x = 2;");
    assert_eq!((path(&fp.old_path), path(&fp.new_path)), (Some("src/lib.rs"), Some("src/lib.rs")));
    let h = &fp.hunks[0];
    assert_eq!((h.old_start, h.old_len, h.new_start, h.new_len), (2, 1, 2, 1));
    assert_eq!(apply(&fp, b"fn f() {\nlet x = 1;\n}\n"), b"fn f() {\nlet x = 2;\n}\n");

    let fp = one(b"--- /dev/null\n+++ b/new.md\n@@ -0,0 +1,2 @@\n+# Title\n+\n");
    assert_eq!((path(&fp.old_path), path(&fp.new_path)), (None, Some("new.md")));
    assert_eq!(apply_file(&fp, None).unwrap().unwrap(), b"# Title\n\n");

    // A new file written as a change to an empty file is created when
    // missing (as GNU patch does), and still applies to an empty file.
    let fp = one(b"--- a/new.rs\n+++ b/new.rs\n@@ -0,0 +1 @@\n+fn f() {}\n");
    assert!(!fp.is_new());
    assert_eq!(apply_file(&fp, None).unwrap().unwrap(), b"fn f() {}\n");
    assert_eq!(apply(&fp, b""), b"fn f() {}\n");
}

#[test]
fn format_patch_mail_with_commit_message() {
    let p = parse(
        b"From 370117ce3ae90d951dea8aae73a57fa84b0e2002 Mon Sep 17 00:00:00 2001
From: Someone <a@b>
Date: Sat, 21 Nov 2026 12:45:51 +0000
Subject: [PATCH] Fix the thing

The message may contain text that looks like a diff:
--- not a header
 + not a hunk

---
 f.txt | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/f.txt b/f.txt
index 1..2 100644
--- a/f.txt
+++ b/f.txt
@@ -1,2 +1,2 @@
 a
-b
+c
-- 
2.47.3

",
    )
    .unwrap();
    assert_eq!(p.files.len(), 1);
    assert_eq!(apply(&p.files[0], b"a\nb\n"), b"a\nc\n");
}

#[test]
fn no_newline_markers_on_either_side() {
    // Old side ends without a newline, new side gains one and a line.
    let fp = one(b"--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n");
    assert_eq!(fp.hunks[0].lines[1], HunkLine::Remove(b"b".to_vec()));
    assert_eq!(apply(&fp, b"a\nb"), b"a\nb\nc\n");
    // A context line without a newline on both sides.
    let fp = one(b"--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n+A\n b\n\\ No newline at end of file\n");
    assert_eq!(apply(&fp, b"a\nb"), b"A\nb");
    // The new side loses its final newline.
    let fp = one(b"--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+a\n\\ No newline at end of file\n");
    assert_eq!(apply(&fp, b"a\n"), b"a");
}

#[test]
fn crlf_content_is_byte_exact() {
    let fp = one(b"--- a/w.txt\n+++ b/w.txt\n@@ -1,3 +1,3 @@\n one\r\n-two\r\n+TWO\r\n three\n");
    assert_eq!(fp.hunks[0].lines[0], HunkLine::Context(b"one\r\n".to_vec()));
    assert_eq!(apply(&fp, b"one\r\ntwo\r\nthree\n"), b"one\r\nTWO\r\nthree\n");
    // The LF file does not match CRLF context.
    assert!(matches!(apply_file(&fp, Some(b"one\ntwo\nthree\n")), Err(PatchError::HunkFailed { .. })));
    // A patch whose every line ends in CRLF (saved on Windows): the headers
    // still parse, and the content is CRLF content.
    let fp = one(b"diff --git a/w b/w\r\nindex 1..2 100644\r\n--- a/w\r\n+++ b/w\r\n@@ -1 +1 @@\r\n-a\r\n+b\r\n");
    assert_eq!(path(&fp.new_path), Some("w"));
    assert_eq!(apply(&fp, b"a\r\n"), b"b\r\n");
}

#[test]
fn empty_line_in_hunk_is_empty_context() {
    // The blank context lines lost their leading space.
    let fp = one(b"--- a/p.py\n+++ b/p.py\n@@ -1,5 +1,5 @@\n def f():\n\n-    return 1\n+    return 2\n\n x = 1\n");
    assert_eq!(fp.hunks[0].lines[1], HunkLine::Context(b"\n".to_vec()));
    assert_eq!(apply(&fp, b"def f():\n\n    return 1\n\nx = 1\n"), b"def f():\n\n    return 2\n\nx = 1\n");
}

#[test]
fn removed_lines_that_look_like_headers() {
    // Counting lines tells the removal of "-- x" from a `---` header.
    let fp = one(b"--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n--- x\n++++ y\n keep\n");
    assert_eq!(fp.hunks[0].lines[0], HunkLine::Remove(b"-- x\n".to_vec()));
    assert_eq!(fp.hunks[0].lines[1], HunkLine::Add(b"+++ y\n".to_vec()));
    assert_eq!(apply(&fp, b"-- x\nkeep\n"), b"+++ y\nkeep\n");
}

#[test]
fn multiple_files_and_hunks_with_offsets() {
    let p = parse(
        b"--- a/one
+++ b/one
@@ -2,3 +2,3 @@
 b
-c
+C
 d
@@ -8,3 +8,4 @@
 h
 i
+i2
 j
--- a/two
+++ b/two
@@ -1,1 +1,1 @@
-only
+ONLY
",
    )
    .unwrap();
    assert_eq!(p.files.len(), 2);
    let one_old = b"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
    assert_eq!(apply(&p.files[0], one_old), b"a\nb\nC\nd\ne\nf\ng\nh\ni\ni2\nj\n");
    // Two lines inserted at the top shift both hunks; one line removed in
    // the middle shifts the second back by one.
    let shifted = b"x\ny\na\nb\nc\nd\ne\ng\nh\ni\nj\n";
    assert_eq!(apply(&p.files[0], shifted), b"x\ny\na\nb\nC\nd\ne\ng\nh\ni\ni2\nj\n");
    assert_eq!(apply(&p.files[1], b"only\n"), b"ONLY\n");
}

#[test]
fn offset_search_prefers_the_nearest_match() {
    let fp = one(b"--- a/f\n+++ b/f\n@@ -5,2 +5,2 @@\n k\n-v\n+V\n");
    // "k v" occurs at lines 2 and 7: 7 is nearer to the stated 5.
    let old = b"0\nk\nv\n3\n4\n5\nk\nv\n";
    assert_eq!(apply(&fp, old), b"0\nk\nv\n3\n4\n5\nk\nV\n");
}

#[test]
fn pure_rename_patch_parses_to_one_file_without_hunks() {
    let p = parse(b"diff --git a/old.txt b/new.txt\nsimilarity index 100%\nrename from old.txt\nrename to new.txt\n")
        .unwrap();
    assert_eq!(
        p,
        Patch {
            files: vec![FilePatch {
                old_path: Some(b"old.txt".to_vec()),
                new_path: Some(b"new.txt".to_vec()),
                is_rename: true,
                ..FilePatch::default()
            }]
        }
    );
}

#[test]
fn patch_inside_a_markdown_fence() {
    let fp = one(
        b"Apply this:\n\n```diff\n--- a/f.py\n+++ b/f.py\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n+y = 3\n```\nThat's all.\n",
    );
    assert_eq!(path(&fp.new_path), Some("f.py"));
    assert_eq!(apply(&fp, b"x = 1\ny = 2\n"), b"x = 1\ny = 3\n");
}
