//! Every failure is a value that names the file (or patch line) and says
//! what was expected.

use grove_patch::{apply_file, parse, PatchError};

const TWO_FILES: &[u8] = b"diff --git a/x.txt b/x.txt
index 1..2 100644
--- a/x.txt
+++ b/x.txt
@@ -1,3 +1,3 @@
 a
-b
+B
 c
@@ -6,3 +6,3 @@ section
 f
-g
+G
 h
diff --git a/y.txt b/y.txt
index 1..2 100644
--- a/y.txt
+++ b/y.txt
@@ -1 +1 @@
-y
+Y
";

#[test]
fn wrong_context_fails_naming_hunk_2_of_file_x() {
    let p = parse(TWO_FILES).unwrap();
    let x = &p.files[0];
    // Hunk 1 applies, hunk 2's context "h" was changed to "H".
    let err = apply_file(x, Some(b"a\nb\nc\nd\ne\nf\ng\nH\ni\n")).unwrap_err();
    let PatchError::HunkFailed { path, hunk, header, expected } = &err else { panic!("{err:?}") };
    assert_eq!(path, "x.txt");
    assert_eq!(*hunk, 2);
    assert_eq!(header, "@@ -6,3 +6,3 @@ section");
    assert_eq!(expected, " f\n-g\n h");
    let msg = err.to_string();
    assert!(msg.starts_with("x.txt: hunk #2 (@@ -6,3 +6,3 @@ section) does not apply"), "{msg}");
    assert!(msg.contains("\n f\n-g\n h"), "{msg}");
    // The other file is unaffected.
    assert_eq!(apply_file(&p.files[1], Some(b"y\n")).unwrap().unwrap(), b"Y\n");
}

#[test]
fn hunks_never_overlap_and_apply_in_order() {
    // Hunk 2's lines exist only before hunk 1's match.
    let p = parse(b"--- a/f\n+++ b/f\n@@ -5,2 +5,2 @@\n e\n-f\n+F\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n").unwrap();
    let err = apply_file(&p.files[0], Some(b"a\nb\nc\nd\ne\nf\n")).unwrap_err();
    let PatchError::HunkFailed { hunk, expected, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*hunk, 2);
    assert!(expected.contains("hunks must apply in order"), "{expected}");
}

#[test]
fn hunk_at_start_without_leading_context_must_match_at_start() {
    let p = parse(b"--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n+first\n a\n b\n").unwrap();
    let fp = &p.files[0];
    assert_eq!(apply_file(fp, Some(b"a\nb\nc\n")).unwrap().unwrap(), b"first\na\nb\nc\n");
    let err = apply_file(fp, Some(b"z\na\nb\n")).unwrap_err();
    let PatchError::HunkFailed { hunk: 1, expected, .. } = &err else { panic!("{err:?}") };
    assert!(expected.contains("must match at the start"), "{expected}");
}

#[test]
fn missing_file_and_existing_file() {
    let p = parse(TWO_FILES).unwrap();
    assert_eq!(apply_file(&p.files[1], None).unwrap_err(), PatchError::MissingFile { path: "y.txt".into() });
    let p = parse(b"--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1 @@\n+n\n").unwrap();
    let err = apply_file(&p.files[0], Some(b"")).unwrap_err();
    assert_eq!(err, PatchError::FileExists { path: "n.txt".into() });
    assert_eq!(err.to_string(), "n.txt: the patch creates this file but it already exists");
}

#[test]
fn binary_patches_cannot_be_applied() {
    let p = parse(
        b"diff --git a/img.png b/img.png
index 1..2 100644
Binary files a/img.png and b/img.png differ
diff --git a/gone.bin b/gone.bin
deleted file mode 100644
index 1..0000000
Binary files a/gone.bin and /dev/null differ
diff --git a/new.bin b/new.bin
new file mode 100644
index 0000000..1
Binary files /dev/null and b/new.bin differ
",
    )
    .unwrap();
    let err = apply_file(&p.files[0], Some(b"\x89PNG")).unwrap_err();
    assert_eq!(err, PatchError::Binary { path: "img.png".into() });
    assert!(err.to_string().contains("img.png"));
    // A binary deletion needs no content.
    assert_eq!(apply_file(&p.files[1], Some(b"\0\x01")).unwrap(), None);
    assert_eq!(apply_file(&p.files[2], None).unwrap_err(), PatchError::Binary { path: "new.bin".into() });
}

#[test]
fn deletion_must_remove_everything() {
    let p = parse(b"--- a/d\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n").unwrap();
    assert_eq!(apply_file(&p.files[0], Some(b"a\nb\n")).unwrap(), None);
    assert_eq!(
        apply_file(&p.files[0], Some(b"a\nb\nc\n")).unwrap_err(),
        PatchError::DeletionIncomplete { path: "d".into(), remaining: 2 }
    );
}

#[test]
fn new_file_patch_does_not_apply_to_content() {
    let p = parse(b"--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n").unwrap();
    let err = apply_file(&p.files[0], Some(b"")).unwrap_err();
    assert!(matches!(err, PatchError::HunkFailed { hunk: 1, .. }), "{err:?}");
}

fn parse_err(patch: &[u8]) -> (usize, String) {
    match parse(patch) {
        Err(PatchError::Parse { line, message }) => (line, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn hunk_line_counts_are_checked_against_the_header() {
    // Too few lines: the hunk is cut by the next file.
    let (line, msg) = parse_err(b"--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\ndiff --git a/g b/g\n");
    assert_eq!(line, 7);
    assert!(msg.contains("@@ -1,3 +1,3 @@") && msg.contains("1 old and 1 new are missing"), "{msg}");
    // Too few lines: the patch ends.
    let (line, msg) = parse_err(b"--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n");
    assert_eq!(line, 4);
    assert!(msg.contains("the patch ends"), "{msg}");
    // Too many lines.
    let (line, msg) = parse_err(b"--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n+extra\n");
    assert_eq!(line, 7);
    assert!(msg.contains("more lines than its header promises"), "{msg}");
    let (line, _) = parse_err(b"--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n a\n+b\n c\n");
    assert_eq!(line, 6);
    let (line, _) = parse_err(b"--- a/f\n+++ b/f\n@@ -1,2 +1 @@\n-a\n-b\n-c\n");
    assert_eq!(line, 6);
}

#[test]
fn malformed_patches_are_parse_errors() {
    let cases: &[(&[u8], usize, &str)] = &[
        (b"--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n@@ -x +1 @@\n", 6, "malformed hunk header"),
        (b"--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n@@ -1 +1\n", 7, "malformed hunk header"),
        (b"text\n@@ -1 +1 @@\n-a\n+b\n", 2, "hunk without a file header"),
        (b"diff --git a/f b/f\nnew file mode 777777\n", 2, "invalid file mode"),
        (b"diff --git a/f b/f\nold mode 040000\n", 2, "invalid file mode"),
        (b"diff --git \"a/f\\q\" b/f\nrename from \"x\n", 2, "malformed quoted path"),
        (b"diff --git a/x y b/z w\nindex 1..2\n", 1, "lacks the old file name"),
        (b"diff --cc f\n", 1, "combined"),
        (b"diff --git a/f b/f\n--- a/f\nindex\n", 3, "not followed by a `+++`"),
        (b"--- a/f\n+++ b/f\n@@ -1 +1 @@\n\\ No newline at end of file\n-a\n+b\n", 4, "without a preceding line"),
        (
            b"--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n\\ No newline at end of file\n-b\n+a\n+b\n",
            6,
            "follows `\\ No newline",
        ),
        (b"--- /dev/null\n+++ /dev/null\n@@ -0,0 +0,0 @@\n", 1, "both sides"),
    ];
    for (patch, want_line, want) in cases {
        let (line, msg) = parse_err(patch);
        assert!(msg.contains(want), "{:?}: {msg}", String::from_utf8_lossy(patch));
        assert_eq!(line, *want_line, "{:?}: {msg}", String::from_utf8_lossy(patch));
        let shown = PatchError::Parse { line, message: msg }.to_string();
        assert!(shown.starts_with(&format!("patch line {line}: ")), "{shown}");
    }
}

#[test]
fn input_without_file_changes_is_empty() {
    for input in [&b""[..], b"just some text\n", b"From abc\nSubject: x\n\n---\n 0 files changed\n"] {
        assert_eq!(parse(input).unwrap_err(), PatchError::Empty);
    }
}
