//! `diff_trees`, `ancestors`, `hash_blob` and `all_refs` against the `git` CLI.

mod common;

use std::collections::{HashMap, HashSet, VecDeque};

use common::*;
use grove_base::{EntryMode, GitOid};
use grove_vcs::{NamedRef, RefKind, Repo, TreeChange};

const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

fn mode_of(mode: &str) -> Option<EntryMode> {
    match mode {
        "100644" | "100664" => Some(EntryMode::File),
        "100755" => Some(EntryMode::Executable),
        "120000" => Some(EntryMode::Symlink),
        _ => None, // 000000 (absent), 040000, 160000 (gitlink)
    }
}

/// `git diff-tree -r --no-renames -z A B`, gitlinks dropped, sorted by path.
fn git_diff_tree(f: &Fixture, a: &str, b: &str) -> Vec<TreeChange> {
    let out = git(&f.home, &f.work, &[b"diff-tree", b"-r", b"--no-renames", b"-z", a.as_bytes(), b.as_bytes()]);
    let mut fields = out.split(|&b| b == 0);
    let mut changes = Vec::new();
    while let Some(meta) = fields.next() {
        if meta.is_empty() {
            continue;
        }
        let path = fields.next().expect("path after meta").to_vec();
        let meta = std::str::from_utf8(meta).unwrap();
        let parts: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
        let (old, new, new_oid) = (mode_of(parts[0]), mode_of(parts[1]), GitOid::from_hex(parts[3]).unwrap());
        match (old, new) {
            (Some(_), Some(mode)) => changes.push(TreeChange::Modified { path, oid: new_oid, mode }),
            (None, Some(mode)) => changes.push(TreeChange::Added { path, oid: new_oid, mode }),
            (Some(_), None) => changes.push(TreeChange::Deleted { path }),
            (None, None) => {}
        }
    }
    changes.sort_by(|x, y| x.path().cmp(y.path()));
    changes
}

/// One file of a tree built through the index: mode, path, content (for a gitlink:
/// the commit id it points at).
type Spec<'a> = (&'a str, &'a [u8], &'a [u8]);

/// Write a tree with exactly these entries (blobs written to the odb) and return its id.
fn make_tree(f: &Fixture, files: &[Spec]) -> String {
    let index = f.work.parent().unwrap().join("tmp-index");
    let _ = std::fs::remove_file(&index);
    let mut info = Vec::new();
    for (mode, path, content) in files {
        let oid = if *mode == "160000" {
            String::from_utf8(content.to_vec()).unwrap()
        } else {
            let out = git_stdin(&f.home, &f.work, &[b"hash-object", b"-w", b"--stdin", b"--no-filters"], content);
            String::from_utf8(out).unwrap().trim().to_owned()
        };
        info.extend_from_slice(format!("{mode} {oid}\t").as_bytes());
        info.extend_from_slice(path);
        info.push(0);
    }
    let run = |args: &[&[u8]], input: &[u8]| {
        let mut cmd = git_cmd(&f.home, &f.work, args);
        cmd.env("GIT_INDEX_FILE", &index);
        use std::io::Write;
        let mut child = cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    run(&[b"read-tree", b"--empty"], b"");
    run(&[b"update-index", b"-z", b"--index-info"], &info);
    run(&[b"write-tree"], b"")
}

/// Trees that exercise every kind of change between any two of them.
fn trees(f: &Fixture) -> Vec<String> {
    let commit_a = f.git(&["rev-parse", "HEAD~1"]);
    let commit_b = f.git(&["rev-parse", "HEAD~2"]);
    let (ca, cb) = (commit_a.as_bytes(), commit_b.as_bytes());
    let base: Vec<Spec> = vec![
        ("100644", b"README", b"readme\n"),
        ("100644", b"src/lib.rs", b"lib\n"),
        ("100644", b"src/deep/er/x.txt", b"deep\n"),
        ("100644", b"a-b", b"dash\n"),
        ("100644", b"a.txt", b"dot\n"),
        ("100644", b"a/inner.txt", b"inner\n"),
        ("100644", b"a0", b"zero\n"),
        ("100755", b"script.sh", b"#!/bin/sh\n"),
        ("120000", b"link", b"src/lib.rs"),
        ("100644", b"caf\xff.txt", b"latin1\n"),
        ("160000", b"sub", ca),
        ("100644", b"docs/x/y/z.md", b"z\n"),
        ("100644", b"docs/x/w.md", b"w\n"),
        ("100644", b"with space.txt", b"space\n"),
        ("100644", b"empty", b""),
        ("100644", b"same/a", b"same a\n"),
        ("100644", b"same/b/c", b"same c\n"),
    ];
    // Content, mode-only, type (symlink <-> file with the same blob) and gitlink
    // changes; a new nested directory; a deleted file.
    let second: Vec<Spec> = vec![
        ("100644", b"README", b"readme\n"),
        ("100644", b"src/lib.rs", b"lib v2\n"),
        ("100644", b"src/new.rs", b"new\n"),
        ("100644", b"src/deep/er/x.txt", b"deep\n"),
        ("100644", b"a-b", b"dash\n"),
        ("100644", b"a.txt", b"dot\n"),
        ("100644", b"a/inner.txt", b"inner\n"),
        ("100644", b"script.sh", b"#!/bin/sh\n"),
        ("100644", b"link", b"src/lib.rs"),
        ("100644", b"caf\xff.txt", b"latin1\n"),
        ("160000", b"sub", cb),
        ("100644", b"docs/x/y/z.md", b"z\n"),
        ("100644", b"docs/x/w.md", b"w\n"),
        ("100644", b"with space.txt", b"space\n"),
        ("100644", b"empty", b""),
        ("100644", b"new/deep/dir/f.txt", b"f\n"),
        ("100644", b"new/deep/g.txt", b"g\n"),
        ("100644", b"same/a", b"same a\n"),
        ("100644", b"same/b/c", b"same c\n"),
    ];
    // file -> directory, directory -> file, a whole nested directory deleted, file ->
    // gitlink, gitlink -> file, a rename, an identical subtree under a new name.
    let third: Vec<Spec> = vec![
        ("100644", b"README", b"readme\n"),
        ("100644", b"src/lib.rs", b"lib v2\n"),
        ("100644", b"src/renamed.rs", b"new\n"),
        ("100644", b"src/deep/er/x.txt", b"deep\n"),
        ("100644", b"a-b", b"dash\n"),
        ("100644", b"a.txt/inner", b"now a dir\n"),
        ("100644", b"a", b"now a file\n"),
        ("100755", b"script.sh", b"#!/bin/sh\n"),
        ("120000", b"link", b"src/lib.rs"),
        ("100644", b"caf\xff.txt", b"latin1\n"),
        ("100644", b"sub", b"sub is a file now\n"),
        ("160000", b"with space.txt", ca),
        ("100644", b"empty", b""),
        ("100644", b"new/deep/dir/f.txt", b"f\n"),
        ("100644", b"new/deep/g.txt", b"g\n"),
        ("100644", b"same2/a", b"same a\n"),
        ("100644", b"same2/b/c", b"same c\n"),
    ];
    // Content and mode at once, a retargeted symlink, the empty file filled, a file
    // where a directory was with the name sorting between ("a" vs "a-b", "a.txt").
    let fourth: Vec<Spec> = vec![
        ("100644", b"README", b"readme\n"),
        ("100644", b"src/lib.rs", b"lib v2\n"),
        ("100755", b"src/renamed.rs", b"new and executable\n"),
        ("100644", b"src/deep/er/x.txt", b"deep\n"),
        ("100644", b"a-b/c", b"dash dir\n"),
        ("120000", b"a.txt", b"a"),
        ("100644", b"a/inner.txt", b"inner again\n"),
        ("100755", b"script.sh", b"#!/bin/sh\necho\n"),
        ("120000", b"link", b"README"),
        ("100644", b"empty", b"not empty\n"),
        ("100644", b"new/deep", b"file where a dir was\n"),
        ("100644", b"same2/a", b"same a\n"),
        ("100644", b"same2/b/c", b"same c\n"),
    ];
    let single: Vec<Spec> = vec![("100644", b"only", b"one file\n")];
    vec![
        EMPTY_TREE.to_owned(),
        make_tree(f, &base),
        make_tree(f, &second),
        make_tree(f, &third),
        make_tree(f, &fourth),
        make_tree(f, &single),
    ]
}

fn oid(hex: &str) -> GitOid {
    GitOid::from_hex(hex.trim()).unwrap()
}

#[test]
fn diff_trees_equals_git_diff_tree() {
    let f = fixture();
    let mut trees = trees(&f);
    // And the fixture's real commits (merges, tags, the gitlink commit).
    for rev in f.git(&["rev-list", "--all"]).lines() {
        trees.push(f.git(&["rev-parse", &format!("{rev}^{{tree}}")]));
    }
    trees.dedup();
    let repo = Repo::discover(&f.work).unwrap();
    let mut compared = 0;
    let mut kinds = HashSet::new();
    for a in &trees {
        for b in &trees {
            let got = repo.diff_trees(oid(a), oid(b)).unwrap_or_else(|e| panic!("diff_trees {a} {b}: {e}"));
            assert!(got.windows(2).all(|w| w[0].path() < w[1].path()), "sorted by path, one change per path: {got:?}");
            let expected = git_diff_tree(&f, a, b);
            assert_eq!(got, expected, "diff_trees {a} -> {b}");
            if a == b {
                assert!(got.is_empty());
            }
            for c in &got {
                kinds.insert(std::mem::discriminant(c));
            }
            compared += 1;
        }
    }
    assert!(compared >= 36);
    assert_eq!(kinds.len(), 3, "added, deleted and modified all occur");
}

#[test]
fn diff_trees_spot_checks() {
    let f = fixture();
    let t = trees(&f);
    let repo = Repo::discover(&f.work).unwrap();
    let d = |a: usize, b: usize| repo.diff_trees(oid(&t[a]), oid(&t[b])).unwrap();
    let paths = |v: &[TreeChange]| -> Vec<String> {
        v.iter()
            .map(|c| {
                let kind = match c {
                    TreeChange::Added { .. } => "A",
                    TreeChange::Deleted { .. } => "D",
                    TreeChange::Modified { .. } => "M",
                };
                format!("{kind} {}", String::from_utf8_lossy(c.path()))
            })
            .collect()
    };
    // base -> second
    let c = d(1, 2);
    assert_eq!(
        paths(&c),
        ["D a0", "M link", "A new/deep/dir/f.txt", "A new/deep/g.txt", "M script.sh", "M src/lib.rs", "A src/new.rs"]
    );
    let link = c.iter().find(|c| c.path() == b"link").unwrap();
    let script = c.iter().find(|c| c.path() == b"script.sh").unwrap();
    let blob = |s: &[u8]| git_hash_object(&f.home, &f.work, s);
    assert_eq!(
        *link,
        TreeChange::Modified { path: b"link".to_vec(), oid: blob(b"src/lib.rs"), mode: EntryMode::File },
        "symlink -> file with the same blob"
    );
    assert_eq!(
        *script,
        TreeChange::Modified { path: b"script.sh".to_vec(), oid: blob(b"#!/bin/sh\n"), mode: EntryMode::File },
        "mode-only change"
    );
    // second -> third: type changes and gitlinks.
    let c = paths(&d(2, 3));
    for expected in [
        "A a",
        "D a/inner.txt",
        "D a.txt",
        "A a.txt/inner",
        "D docs/x/w.md",
        "D docs/x/y/z.md",
        "A sub",
        "D with space.txt",
        "D src/new.rs",
        "A src/renamed.rs",
        "A same2/a",
        "A same2/b/c",
        "D same/a",
        "D same/b/c",
    ] {
        assert!(c.contains(&expected.to_owned()), "{expected} in {c:?}");
    }
    // From and to the empty tree.
    let all = repo.tree_entries(oid(&t[1])).unwrap();
    let added = d(0, 1);
    assert_eq!(added.len(), all.len());
    assert!(added
        .iter()
        .zip(&all)
        .all(|(c, e)| *c == TreeChange::Added { path: e.path.clone(), oid: e.oid, mode: e.mode }));
    assert!(d(1, 0).iter().all(|c| matches!(c, TreeChange::Deleted { .. })));
}

/// Subtrees with the same oid on both sides are never read: build two trees that share
/// a subtree that does not exist in the object database.
#[test]
fn diff_trees_skips_identical_subtrees() {
    let f = fixture();
    let blob1 = f.git(&["rev-parse", "HEAD:README.md"]);
    let blob2 = f.git(&["rev-parse", "HEAD:src/lib.rs"]);
    let missing = "0123456789abcdef0123456789abcdef01234567";
    let mktree = |entries: &str| {
        String::from_utf8(git_stdin(&f.home, &f.work, &[b"mktree", b"--missing"], entries.as_bytes()))
            .unwrap()
            .trim()
            .to_owned()
    };
    let t1 = mktree(&format!("040000 tree {missing}\tshared\n100644 blob {blob1}\tf\n"));
    let t2 = mktree(&format!("040000 tree {missing}\tshared\n100644 blob {blob2}\tf\n"));
    let repo = Repo::discover(&f.work).unwrap();
    assert_eq!(
        repo.diff_trees(oid(&t1), oid(&t2)).unwrap(),
        vec![TreeChange::Modified { path: b"f".to_vec(), oid: oid(&blob2), mode: EntryMode::File }]
    );
    // When it differs, the missing tree must be read, and that is an error naming it.
    let t3 = mktree(&format!("100644 blob {blob1}\tf\n"));
    let err = repo.diff_trees(oid(&t1), oid(&t3)).unwrap_err().to_string();
    assert!(err.contains(missing) && err.contains("shared"), "{err}");
    // Not a tree.
    let commit = f.git(&["rev-parse", "HEAD"]);
    let err = repo.diff_trees(oid(&t1), oid(&commit)).unwrap_err().to_string();
    assert!(err.contains("not a tree"), "{err}");
}

/// `git rev-list --parents REV`: commit -> parents, in order.
fn parents_map(f: &Fixture, dir: &std::path::Path, rev: &str) -> HashMap<GitOid, Vec<GitOid>> {
    git_s(&f.home, dir, &["rev-list", "--parents", rev])
        .lines()
        .map(|l| {
            let mut it = l.split(' ').map(oid);
            (it.next().unwrap(), it.collect())
        })
        .collect()
}

fn bfs(parents: &HashMap<GitOid, Vec<GitOid>>, start: GitOid) -> Vec<GitOid> {
    let mut seen = HashSet::from([start]);
    let mut queue = VecDeque::from([start]);
    let mut out = Vec::new();
    while let Some(c) = queue.pop_front() {
        out.push(c);
        for p in parents.get(&c).into_iter().flatten() {
            if seen.insert(*p) {
                queue.push_back(*p);
            }
        }
    }
    out
}

#[test]
fn ancestors_breadth_first_with_merges() {
    let f = fixture();
    // More history: a second merge whose second parent has its own side branch.
    f.git(&["checkout", "-q", "-b", "side", "HEAD~3"]);
    for i in 0..3 {
        write(&f.work.join(format!("side{i}.txt")), b"side\n");
        f.git(&["add", "-A"]);
        f.git(&["commit", "-q", "-m", &format!("side {i}")]);
    }
    f.git(&["checkout", "-q", "-b", "side2", "HEAD~1"]);
    write(&f.work.join("second-side.txt"), b"side2\n");
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "side2"]);
    f.git(&["checkout", "-q", "side"]);
    f.git(&["merge", "-q", "--no-ff", "-m", "merge side2", "side2"]);
    f.git(&["checkout", "-q", "main"]);
    f.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);

    let repo = Repo::discover(&f.work).unwrap();
    let head = repo.resolve("HEAD").unwrap().oid;
    let parents = parents_map(&f, &f.work, "HEAD");
    let all = repo.ancestors(head, usize::MAX).unwrap();
    // Exactly the reachable commits, each once, in breadth-first order.
    assert_eq!(all, bfs(&parents, head));
    let reachable: HashSet<GitOid> = parents.keys().copied().collect();
    assert_eq!(all.iter().copied().collect::<HashSet<_>>(), reachable);
    assert_eq!(all.len(), reachable.len());
    assert_eq!(all[0], head);
    // Both parents of every merge are there, the second ones included.
    let merges: Vec<_> = parents.iter().filter(|(_, p)| p.len() == 2).collect();
    assert!(merges.len() >= 3);
    for (_, ps) in merges {
        assert!(all.contains(&ps[1]));
    }
    // HEAD's parents come right after it, first parent first.
    assert_eq!(&all[1..3], &parents[&head][..]);
    // The limit keeps a prefix.
    for limit in [0, 1, 2, 3, 5, all.len() - 1, all.len(), all.len() + 5] {
        let got = repo.ancestors(head, limit).unwrap();
        assert_eq!(got, all[..limit.min(all.len())], "limit {limit}");
    }
    // From an older commit.
    let older = repo.resolve("side~1").unwrap().oid;
    assert_eq!(repo.ancestors(older, 100).unwrap(), bfs(&parents_map(&f, &f.work, "side~1"), older));
    // Not a commit.
    let tree = repo.resolve("HEAD").unwrap().tree;
    let err = repo.ancestors(tree, 10).unwrap_err().to_string();
    assert!(err.contains("not a commit"), "{err}");
    let err = repo.ancestors(GitOid([7; 20]), 10).unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn ancestors_stop_at_a_shallow_boundary() {
    let f = fixture();
    let parent = f.work.parent().unwrap();
    let url = format!("file://{}", f.work.display());
    git_s(&f.home, parent, &["clone", "-q", "--depth", "2", &url, "shallow"]);
    let dir = parent.join("shallow");
    let repo = Repo::discover(&dir).unwrap();
    let head = repo.resolve("HEAD").unwrap().oid;
    let got = repo.ancestors(head, 1000).unwrap();
    let expected = bfs(&parents_map(&f, &dir, "HEAD"), head);
    assert_eq!(got, expected);
    assert_eq!(got.len(), 2);
}

#[test]
fn hash_blob_equals_git_hash_object() {
    let f = fixture();
    let mut big = Vec::new();
    for i in 0..100_000u32 {
        big.push((i.wrapping_mul(2654435761) >> 13) as u8);
    }
    let inputs: Vec<&[u8]> = vec![b"", b"\n", b"hello\n", b"no newline", b"bin\0ary\xff\xfe", b"blob 5\0hello", &big];
    for input in inputs {
        assert_eq!(Repo::hash_blob(input), git_hash_object(&f.home, &f.work, input), "{} bytes", input.len());
    }
    assert_eq!(Repo::hash_blob(b"").to_hex(), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
}

#[test]
fn all_refs_equals_git_tag_and_branch_lists() {
    let f = fixture();
    let repo = Repo::discover(&f.work).unwrap();
    let got = repo.all_refs().unwrap();
    let mut expected = Vec::new();
    for kind in [RefKind::Tag, RefKind::Branch] {
        for (name, commit) in git_ref_list(&f, kind, "*") {
            expected.push((NamedRef { name, commit }, kind));
        }
    }
    assert_eq!(got, expected);
    assert!(got.iter().any(|(r, k)| *k == RefKind::Tag && r.name == "nested"));
    assert!(got.iter().any(|(r, k)| *k == RefKind::Branch && r.name == "topic/x"));
    assert!(
        !got.iter().any(|(r, _)| r.name == "tree-tag" || r.name == "blob-tag"),
        "refs that do not lead to a commit are left out"
    );
    // Tags first, then branches, each sorted by name.
    let kinds: Vec<RefKind> = got.iter().map(|(_, k)| *k).collect();
    assert!(kinds.is_sorted());
    // The same after packing refs.
    f.git(&["pack-refs", "--all"]);
    assert_eq!(Repo::discover(&f.work).unwrap().all_refs().unwrap(), expected);
}
