//! Multi-file patches made by the real `git diff -M` and `git format-patch`
//! in a scratch repository: adds, deletes, renames, copies, mode changes,
//! quoted names, CRLF, missing final newlines, symlinks and binaries.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::git_ok;
use grove_patch::{apply_file, parse, FileMode, Patch, PatchError};

type Tree = BTreeMap<Vec<u8>, Vec<u8>>;

fn numbered(prefix: &str, n: usize) -> String {
    (1..=n).map(|i| format!("{prefix} line {i}\n")).collect()
}

fn write(dir: &Path, path: &str, content: &[u8]) {
    let p = dir.join(path);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

fn chmod_x(dir: &Path, path: &str) {
    fs::set_permissions(dir.join(path), fs::Permissions::from_mode(0o755)).unwrap();
}

/// The files of revision `rev` (or of the index for `rev == ""`) with their
/// content as git stores it (a symlink is its target).
fn snapshot(dir: &Path, rev: &str) -> Tree {
    let list = if rev.is_empty() {
        git_ok(dir, &["ls-files", "-z"])
    } else {
        git_ok(dir, &["ls-tree", "-r", "-z", "--name-only", rev])
    };
    list.split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let name = String::from_utf8(p.to_vec()).unwrap();
            let content = git_ok(dir, &["cat-file", "blob", &format!("{rev}:{name}")]);
            (p.to_vec(), content)
        })
        .collect()
}

/// Applies every file of `patch` to `tree` as grove does: read the old path,
/// write the new one, remove the old one for renames and deletions.
/// Returns the binary files that could not be applied.
fn apply_all(patch: &Patch, tree: &mut Tree) -> Vec<String> {
    let mut binaries = Vec::new();
    let before = tree.clone();
    for fp in &patch.files {
        let old =
            fp.old_path.as_ref().map(|p| before.get(p).unwrap_or_else(|| panic!("{} not in HEAD", fp.display_path())));
        match apply_file(fp, old.map(Vec::as_slice)) {
            Ok(new) => {
                if let Some(old_path) = &fp.old_path {
                    if !fp.is_copy {
                        tree.remove(old_path);
                    }
                }
                if let (Some(path), Some(new)) = (&fp.new_path, new) {
                    tree.insert(path.clone(), new);
                }
            }
            Err(PatchError::Binary { path }) => {
                binaries.push(path.clone());
                tree.remove(path.as_bytes());
            }
            Err(e) => panic!("{e}"),
        }
    }
    binaries
}

/// A repository with a first commit and a working tree changed in every way.
fn scratch_repo() -> (tempfile::TempDir, Tree) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    git_ok(d, &["init", "-q", "."]);
    write(d, "src/keep.rs", numbered("keep", 30).as_bytes());
    write(d, "gone.txt", b"this file\nis deleted\n");
    write(d, "docs/old name.md", numbered("doc", 12).as_bytes());
    write(d, "pure.txt", numbered("pure", 5).as_bytes());
    write(d, "run.sh", b"#!/bin/sh\necho run\n");
    write(d, "both.sh", b"#!/bin/sh\necho both\n");
    write(d, "café.txt", b"caf\n");
    write(d, "crlf.txt", b"one\r\ntwo\r\nthree\r\n");
    write(d, "nonl.txt", b"first\nlast");
    write(d, "image.bin", b"\x89PNG\0\x01\x02");
    write(d, "copy-src.txt", numbered("copy", 20).as_bytes());
    std::os::unix::fs::symlink("pure.txt", d.join("link")).unwrap();
    git_ok(d, &["add", "-A"]);
    git_ok(d, &["commit", "-q", "-m", "first"]);
    let head = snapshot(d, "HEAD");

    // Two separate hunks in one file, one at the very start.
    let mut keep: Vec<String> = numbered("keep", 30).lines().map(str::to_owned).collect();
    keep[0] = "KEEP line 1".into();
    keep.insert(20, "inserted after 20".into());
    keep.remove(27);
    write(d, "src/keep.rs", (keep.join("\n") + "\n").as_bytes());
    fs::remove_file(d.join("gone.txt")).unwrap();
    // Rename with an edit, and a pure rename.
    fs::remove_file(d.join("docs/old name.md")).unwrap();
    write(d, "docs/new name.md", numbered("doc", 12).replace("doc line 6", "DOC LINE 6").as_bytes());
    fs::create_dir_all(d.join("moved")).unwrap();
    fs::rename(d.join("pure.txt"), d.join("moved/pure.txt")).unwrap();
    chmod_x(d, "run.sh");
    chmod_x(d, "both.sh");
    write(d, "both.sh", b"#!/bin/sh\necho both changed\n");
    write(d, "café.txt", b"caf\xc3\xa9\n");
    write(d, "crlf.txt", b"one\r\nTWO\r\nthree\r\n");
    write(d, "nonl.txt", b"first\nlast\nmore");
    write(d, "image.bin", b"\x89PNG\0\x03\x04");
    write(d, "copy-dst.txt", numbered("copy", 20).replace("copy line 3", "copied line 3").as_bytes());
    fs::remove_file(d.join("link")).unwrap();
    std::os::unix::fs::symlink("moved/pure.txt", d.join("link")).unwrap();
    write(d, "new/added.txt", b"brand\nnew\n");
    write(d, "new/empty", b"");
    write(d, "new/tool", b"#!/bin/sh\n");
    chmod_x(d, "new/tool");
    write(d, "new/tab\there.txt", b"tab\n");
    git_ok(d, &["add", "-A"]);
    (tmp, head)
}

#[test]
fn git_diff_multi_file_patch_applies() {
    let (tmp, head) = scratch_repo();
    let d = tmp.path();
    let diff = git_ok(d, &["diff", "--cached", "-M", "--find-copies-harder", "--no-color", "--no-ext-diff"]);
    let text = String::from_utf8_lossy(&diff);
    let patch = parse(&diff).unwrap_or_else(|e| panic!("{e}\n{text}"));

    let by_path = |p: &str| {
        patch.files.iter().find(|f| f.path() == p.as_bytes()).unwrap_or_else(|| panic!("{p} not in patch:\n{text}"))
    };
    assert_eq!(by_path("src/keep.rs").hunks.len(), 2, "{text}");
    assert!(by_path("gone.txt").is_deletion());
    let renamed = by_path("docs/new name.md");
    assert!(renamed.is_rename && renamed.old_path.as_deref() == Some(&b"docs/old name.md"[..]));
    assert_eq!(renamed.hunks.len(), 1);
    let pure = by_path("moved/pure.txt");
    assert!(pure.is_rename && pure.hunks.is_empty());
    let copy = by_path("copy-dst.txt");
    assert!(copy.is_copy && copy.old_path.as_deref() == Some(&b"copy-src.txt"[..]), "{text}");
    assert_eq!(
        (by_path("run.sh").old_mode, by_path("run.sh").new_mode),
        (Some(FileMode::Regular), Some(FileMode::Executable))
    );
    assert!(by_path("run.sh").hunks.is_empty());
    assert_eq!(by_path("both.sh").new_mode, Some(FileMode::Executable));
    assert_eq!(by_path("both.sh").hunks.len(), 1);
    assert_eq!(by_path("new/tool").new_mode, Some(FileMode::Executable));
    assert!(by_path("new/empty").is_new() && by_path("new/empty").hunks.is_empty());
    assert!(by_path("new/tab\there.txt").is_new());
    assert_eq!(by_path("link").new_mode, None);
    assert!(by_path("image.bin").binary);
    assert!(text.contains("\"a/caf\\303\\251.txt\""), "git quoted the name:\n{text}");
    by_path("café.txt");

    let mut tree = head;
    let binaries = apply_all(&patch, &mut tree);
    assert_eq!(binaries, vec!["image.bin".to_string()]);
    let mut want = snapshot(d, "");
    want.remove(&b"image.bin"[..]);
    assert_eq!(tree, want);
}

#[test]
fn git_format_patch_mail_parses_like_the_diff() {
    let (tmp, _) = scratch_repo();
    let d = tmp.path();
    git_ok(d, &["commit", "-q", "-m", "second\n\nA body with\n--- dashes\nand @@ signs @@\n"]);
    let diff = git_ok(d, &["diff", "-M", "--no-color", "--no-ext-diff", "HEAD~1", "HEAD"]);
    let mail = git_ok(d, &["format-patch", "-1", "-M", "--stdout", "--no-color", "HEAD"]);
    assert!(mail.starts_with(b"From "));
    let from_diff = parse(&diff).unwrap();
    let from_mail = parse(&mail).unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&mail)));
    assert_eq!(from_mail, from_diff);

    let mut tree = snapshot(d, "HEAD~1");
    let binaries = apply_all(&from_mail, &mut tree);
    assert_eq!(binaries, vec!["image.bin".to_string()]);
    let mut want = snapshot(d, "HEAD");
    want.remove(&b"image.bin"[..]);
    assert_eq!(tree, want);
}

#[test]
fn git_diff_binary_data_and_narrow_context() {
    let (tmp, head) = scratch_repo();
    let d = tmp.path();
    // `--binary` emits base85 data, which is skipped; `-U1` narrows context.
    let diff = git_ok(d, &["diff", "--cached", "-M", "--binary", "-U1", "--no-color"]);
    let patch = parse(&diff).unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&diff)));
    let mut tree = head;
    assert_eq!(apply_all(&patch, &mut tree), vec!["image.bin".to_string()]);
    let mut want = snapshot(d, "");
    want.remove(&b"image.bin"[..]);
    assert_eq!(tree, want);
}
