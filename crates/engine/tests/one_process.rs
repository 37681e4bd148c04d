//! A long-lived process (server, editor, agent) indexes commit after commit
//! with one `Engine`, which keeps each segment's blob table between calls.
//! It must write exactly what one process per commit writes: the same
//! objects (content-addressed, so the same file names) and the same refs,
//! through automatic compactions and a gc in the middle.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::git;
use grove_engine::{Engine, EngineOptions, NoProgress};

/// File name → bytes for every file of the given index subdirectories.
fn contents(index: &Path, dirs: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for dir in dirs {
        for e in std::fs::read_dir(index.join(dir)).unwrap() {
            let e = e.unwrap();
            out.insert(format!("{dir}/{}", e.file_name().to_string_lossy()), std::fs::read(e.path()).unwrap());
        }
    }
    out
}

#[test]
fn one_engine_for_many_commits_writes_what_one_process_per_commit_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let mut commits = Vec::new();
    for i in 0..30u32 {
        // Each commit adds a file, rewrites another, and now and then
        // deletes one or brings an old version back (a blob indexed before).
        std::fs::write(repo.join(format!("f{i}.txt")), format!("file {i}\nfn item_{i}() {{}}\n")).unwrap();
        std::fs::write(repo.join("shared.txt"), format!("version {}\n", i % 7)).unwrap();
        if i % 5 == 4 {
            std::fs::remove_file(repo.join(format!("f{}.txt", i - 3))).unwrap();
        }
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", &format!("c{i}")]);
        commits.push(git(&repo, &["rev-parse", "HEAD"]));
    }
    let shared_dir = tmp.path().join("one-engine");
    let fresh_dir = tmp.path().join("engine-per-commit");
    let open = |dir: &Path| {
        Engine::open(&repo, EngineOptions { index_dir: Some(dir.to_path_buf()), ..Default::default() }).unwrap()
    };
    let shared = open(&shared_dir);
    for (k, c) in commits.iter().enumerate() {
        let r = shared.resolve_one(c).unwrap();
        shared.index(&[r], &NoProgress).unwrap();
        let fresh = open(&fresh_dir);
        let r = fresh.resolve_one(c).unwrap();
        fresh.index(&[r], &NoProgress).unwrap();
        if k == 17 {
            // Segments the cache has seen disappear.
            shared.gc(Duration::ZERO).unwrap();
            open(&fresh_dir).gc(Duration::ZERO).unwrap();
        }
    }
    let dirs = ["refs.d", "snapshots", "segments"];
    let (a, b) = (contents(&shared_dir, &dirs), contents(&fresh_dir, &dirs));
    assert!(a.keys().any(|k| k.starts_with("refs.d/")) && a.len() > commits.len(), "{:?}", a.keys());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert!(a == b, "same names, different bytes");
}
