//! Old indexes keep opening: `fixtures/sample-index-v1` is an index of the
//! basic fixture (revisions `main` and `v1.0`) written by format v1 and
//! committed. A grove that still reads v1 must answer from it without
//! re-indexing; one that does not must fail clearly (exit 2, "rebuild").

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn sample_index_v1_still_opens_and_answers_without_reindexing() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let st = Command::new("bash").arg(root().join("fixtures/build-basic.sh")).arg(&repo).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let index = tmp.path().join("index");
    copy_dir(&root().join("fixtures/sample-index-v1"), &index);
    let segments_before = std::fs::read_dir(index.join("segments")).unwrap().count();

    let out = Command::new(env!("CARGO_BIN_EXE_grove"))
        .args(["search", "-c", "MARKER_LIB", "--rev", "main", "--rev", "v1.0"])
        .arg("--repo")
        .arg(&repo)
        .arg("--index-dir")
        .arg(&index)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout, "main:src/lib.rs:1\nv1.0:src/lib.rs:1\n");
    let segments_after = std::fs::read_dir(index.join("segments")).unwrap().count();
    assert_eq!(segments_before, segments_after, "the sample index was re-indexed instead of read");

    let check = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("check")
        .arg("--repo")
        .arg(&repo)
        .arg("--index-dir")
        .arg(&index)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stdout));
}
