//! Differential tests of grove-vcs against the `git` CLI on small repositories built in
//! temporary directories.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use grove_base::{EntryMode, GitOid};
use grove_vcs::{RefKind, Repo, VcsError};

const REVS: &[&str] = &[
    "HEAD",
    "@",
    "HEAD~1",
    "HEAD^",
    "HEAD^1",
    "HEAD~1^2",
    "HEAD~2",
    "HEAD~3",
    "HEAD~4",
    "HEAD^^",
    "main",
    "main~2",
    "feature",
    "topic/x",
    "refs/heads/main",
    "heads/main",
    "v0.9",
    "v1.0",
    "nested",
    "refs/tags/v1.0",
    "tags/v1.0",
    "release/v2",
    "v{1,2}",
    "main^{commit}",
    "v1.0^{commit}",
    "v1.0^0",
    "nested^{}",
    "v1.0~1",
    "feature^",
];

#[test]
fn resolve_matches_git_rev_parse() {
    let f = fixture();
    let repo = Repo::discover(&f.work).unwrap();
    let mut revs: Vec<String> = REVS.iter().map(|s| s.to_string()).collect();
    let full = f.git(&["rev-parse", "HEAD~2"]);
    revs.push(full.clone());
    revs.push(full[..7].to_owned());
    revs.push(full[..12].to_owned());
    revs.push(f.git(&["rev-parse", "v1.0"])); // the tag object's id
    for rev in &revs {
        let expected = rev_parse_commit(&f.home, &f.work, rev).unwrap_or_else(|| panic!("git cannot resolve {rev}"));
        let got = repo.resolve(rev).unwrap_or_else(|e| panic!("resolve({rev}): {e}"));
        assert_eq!(got.oid, expected, "rev {rev}");
        let tree = GitOid::from_hex(&f.git(&["rev-parse", &format!("{rev}^{{tree}}")])).unwrap();
        assert_eq!(got.tree, tree, "tree of {rev}");
    }
}

#[test]
fn tree_entries_match_git_ls_tree() {
    let f = fixture();
    let repo = Repo::discover(&f.work).unwrap();
    for rev in ["HEAD", "HEAD~1", "HEAD~2", "v0.9", "v1.0", "feature", "topic/x"] {
        let commit = repo.resolve(rev).unwrap();
        let got = repo.tree_entries(commit.tree).unwrap();
        let expected = ls_tree(&f.home, &f.work, rev);
        assert_eq!(got, expected, "rev {rev}");
    }
    // Spot checks on HEAD.
    let head = repo.tree_entries(repo.resolve("HEAD").unwrap().tree).unwrap();
    let find = |p: &[u8]| head.iter().find(|e| e.path == p).cloned();
    assert_eq!(find(b"script.sh").unwrap().mode, EntryMode::Executable);
    assert_eq!(find(b"link").unwrap().mode, EntryMode::Symlink);
    assert_eq!(find(b"README.md").unwrap().mode, EntryMode::File);
    assert!(find(b"caf\xff.txt").is_some(), "non-UTF-8 path kept exactly");
    assert!(find(b"src/deep/er/x.txt").is_some());
    assert!(find(b"sub").is_none(), "gitlinks are left out");
    assert!(!head.iter().any(|e| e.path == b"src" || e.path == b"a"), "trees are not listed");
    let order: Vec<&[u8]> = head.iter().map(|e| e.path.as_slice()).filter(|p| p.starts_with(b"a")).collect();
    assert_eq!(order, vec![&b"a-b"[..], b"a.txt", b"a/inner.txt", b"a0"]);
    // A sub-tree can be listed by itself, and the empty tree is empty.
    let src = GitOid::from_hex(&f.git(&["rev-parse", "HEAD:src"])).unwrap();
    let sub = repo.tree_entries(src).unwrap();
    assert!(sub.iter().any(|e| e.path == b"deep/er/x.txt"));
    let empty = GitOid::from_hex("4b825dc642cb6eb9a060e54bf8d69288fbee4904").unwrap();
    assert_eq!(repo.tree_entries(empty).unwrap(), vec![]);
}

const GLOBS: &[&str] = &[
    "*",
    "v*",
    "v1*",
    "v?.?",
    "release/*",
    "*/*",
    "*2",
    "v1.0",
    "nomatch*",
    "[vr]*",
    "[!v]*",
    "[^v]*",
    "v{1,2}",
    "*-tag",
    "n*d",
    "?",
    "v*.*",
    "*e*",
    "**",
    "main",
    "ma*",
    "topic*",
    "*/x",
    "[a-m]*",
    "[]]*",
    "feat?re",
    "v\\*",
    "\\v*",
    "[a-]*",
    "*[-]*",
    "[!a-z]*",
    "v[0-9].[0-9]",
    "*\\{*",
    "*}",
    "*,*",
    "a-b",
    "[.]*",
    "*.*",
    "*[/]*",
];

#[test]
fn refs_matching_equals_git_tag_and_branch_list() {
    let f = fixture();
    // A few more names to make globs interesting.
    f.git(&["branch", "ma"]);
    f.git(&["branch", "nested/deep/branch"]);
    f.git(&["branch", "a-b"]);
    f.git(&["branch", "x-.y"]);
    f.git(&["tag", "v1/rc", "HEAD~2"]);
    let repo = Repo::discover(&f.work).unwrap();
    for kind in [RefKind::Tag, RefKind::Branch] {
        for glob in GLOBS {
            let got: Vec<(String, GitOid)> =
                repo.refs_matching(kind, glob).unwrap().into_iter().map(|r| (r.name, r.commit)).collect();
            let expected = git_ref_list(&f, kind, glob);
            assert_eq!(got, expected, "{kind:?} {glob}");
        }
    }
    // Peeling: annotated and nested tags name their commit, tree/blob tags are skipped.
    let tags = repo.refs_matching(RefKind::Tag, "*").unwrap();
    let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"nested"));
    assert!(!names.contains(&"tree-tag"));
    assert!(!names.contains(&"blob-tag"));
    let nested = tags.iter().find(|t| t.name == "nested").unwrap();
    assert_eq!(nested.commit, repo.resolve("v1.0").unwrap().oid);
}

#[test]
fn refs_matching_reads_packed_refs() {
    let f = fixture();
    f.git(&["pack-refs", "--all"]);
    let repo = Repo::discover(&f.work).unwrap();
    for kind in [RefKind::Tag, RefKind::Branch] {
        let got: Vec<(String, GitOid)> =
            repo.refs_matching(kind, "*").unwrap().into_iter().map(|r| (r.name, r.commit)).collect();
        assert_eq!(got, git_ref_list(&f, kind, "*"));
        assert!(!got.is_empty());
    }
}

fn check_all_blobs(f: &Fixture, dir: &Path, repo: &Repo) {
    // Every blob of every commit of every branch.
    let mut oids = std::collections::BTreeSet::new();
    for rev in f.git(&["rev-list", "--all"]).lines() {
        for e in repo.tree_entries(repo.resolve(rev).unwrap().tree).unwrap() {
            oids.insert(e.oid);
        }
    }
    assert!(oids.len() > 10);
    let local = repo.local();
    let mut buf = b"garbage that must be cleared".to_vec();
    for oid in &oids {
        let expected = git(&f.home, dir, &[b"cat-file", b"blob", oid.to_hex().as_bytes()]);
        local.read_blob(*oid, &mut buf).unwrap();
        assert_eq!(buf, expected, "blob {oid}");
        assert_eq!(local.blob_size(*oid).unwrap(), expected.len() as u64, "size of {oid}");
    }
    // The same from several threads at once, one handle each.
    let oids: Vec<GitOid> = oids.into_iter().collect();
    std::thread::scope(|s| {
        for t in 0..4 {
            let oids = &oids;
            s.spawn(move || {
                let local = repo.local();
                let mut buf = Vec::new();
                let mut total = 0;
                for oid in oids.iter().skip(t) {
                    local.read_blob(*oid, &mut buf).unwrap();
                    assert_eq!(local.blob_size(*oid).unwrap(), buf.len() as u64);
                    total += buf.len();
                }
                total
            });
        }
    });
}

#[test]
fn blobs_equal_git_cat_file_loose() {
    let f = fixture();
    let repo = Repo::discover(&f.work).unwrap();
    check_all_blobs(&f, &f.work, &repo);
    // The symlink's blob is its target.
    let head = repo.tree_entries(repo.resolve("HEAD").unwrap().tree).unwrap();
    let link = head.iter().find(|e| e.path == b"link").unwrap();
    let mut buf = Vec::new();
    repo.local().read_blob(link.oid, &mut buf).unwrap();
    assert_eq!(buf, b"src/lib.rs");
    let empty = head.iter().find(|e| e.path == b"empty").unwrap();
    repo.local().read_blob(empty.oid, &mut buf).unwrap();
    assert!(buf.is_empty());
    assert_eq!(repo.local().blob_size(empty.oid).unwrap(), 0);
}

#[test]
fn blobs_equal_git_cat_file_packed_with_deltas() {
    let f = fixture();
    // Many versions of one big-ish file, so the pack holds delta chains.
    let mut text = String::new();
    for i in 0..40 {
        for j in 0..200 {
            text.push_str(&format!("line {j} of a file that changes a little {}\n", (i * 7 + j) % 13));
        }
        text.push_str(&format!("version {i}\n"));
        write(&f.work.join("big.txt"), text.as_bytes());
        f.git(&["add", "big.txt"]);
        f.git(&["commit", "-q", "-m", &format!("big {i}")]);
    }
    f.git(&["repack", "-adq", "--depth=50", "--window=50"]);
    f.git(&["prune-packed"]);
    assert!(f.git(&["count-objects", "-v"]).contains("count: 0"), "all objects are packed");
    let repo = Repo::discover(&f.work).unwrap();
    check_all_blobs(&f, &f.work, &repo);
    // Resolving and listing work on packed objects too.
    assert_eq!(repo.tree_entries(repo.resolve("HEAD").unwrap().tree).unwrap(), ls_tree(&f.home, &f.work, "HEAD"));
}

#[test]
fn bare_repository() {
    let f = fixture();
    let bare = f.work.parent().unwrap().join("bare.git");
    git_s(&f.home, f.work.parent().unwrap(), &["clone", "-q", "--bare", "work", "bare.git"]);
    let repo = Repo::discover(&bare).unwrap();
    assert_eq!(repo.work_dir(), None);
    assert_eq!(repo.git_dir().canonicalize().unwrap(), bare.canonicalize().unwrap());
    for rev in ["HEAD", "main", "v1.0", "HEAD~2", "feature"] {
        let c = repo.resolve(rev).unwrap();
        assert_eq!(Some(c.oid), rev_parse_commit(&f.home, &bare, rev));
        assert_eq!(repo.tree_entries(c.tree).unwrap(), ls_tree(&f.home, &bare, rev));
    }
    let tags: Vec<String> = repo.refs_matching(RefKind::Tag, "v*").unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(tags, vec!["v0.9", "v1.0", "v{1,2}"]);
    check_all_blobs(&f, &bare, &repo);
    // Discovery from inside the bare repository.
    let inner = Repo::discover(&bare.join("refs/heads")).unwrap();
    assert_eq!(inner.git_dir().canonicalize().unwrap(), bare.canonicalize().unwrap());
    assert_eq!(inner.work_dir(), None);
}

#[test]
fn discover_from_subdirectory_and_file() {
    let f = fixture();
    let canon = |p: &Path| p.canonicalize().unwrap();
    for start in [f.work.join("src/deep/er"), f.work.join("src"), f.work.join("src/lib.rs"), f.work.clone()] {
        let repo = Repo::discover(&start).unwrap_or_else(|e| panic!("{}: {e}", start.display()));
        assert_eq!(canon(repo.work_dir().unwrap()), canon(&f.work), "from {}", start.display());
        assert_eq!(canon(repo.git_dir()), canon(&f.work.join(".git")));
        assert_eq!(repo.resolve("HEAD").unwrap().oid, rev_parse_commit(&f.home, &f.work, "HEAD").unwrap());
    }
    // A relative start path (relative to the current directory, climbing to `/`).
    let cwd = std::env::current_dir().unwrap();
    let mut rel = PathBuf::new();
    for _ in cwd.components().skip(1) {
        rel.push("..");
    }
    rel.push(f.work.join("src").strip_prefix("/").unwrap());
    let repo = Repo::discover(&rel).unwrap();
    assert!(repo.git_dir().is_absolute());
    assert_eq!(canon(repo.git_dir()), canon(&f.work.join(".git")));
}

#[test]
fn discover_linked_worktree() {
    let f = fixture();
    let wt = f.work.parent().unwrap().join("wt");
    f.git(&["worktree", "add", "-q", wt.to_str().unwrap(), "feature"]);
    let repo = Repo::discover(&wt).unwrap();
    assert_eq!(repo.work_dir().unwrap().canonicalize().unwrap(), wt.canonicalize().unwrap());
    assert_eq!(repo.resolve("HEAD").unwrap().oid, rev_parse_commit(&f.home, &wt, "HEAD").unwrap());
    assert_eq!(repo.resolve("main").unwrap().oid, rev_parse_commit(&f.home, &f.work, "main").unwrap());
}

#[test]
fn errors_are_clear() {
    let f = fixture();
    let repo = Repo::discover(&f.work).unwrap();

    for rev in ["nope", "HEAD~99", "main..feature", "", "v9.9^{commit}", "0123456789abcdef0123456789abcdef01234567"] {
        match repo.resolve(rev) {
            Err(e @ VcsError::UnknownRevision { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(&format!("'{rev}'")), "message names the rev: {msg}");
            }
            other => panic!("resolve({rev:?}) = {other:?}"),
        }
    }
    for rev in ["HEAD:README.md", "HEAD^{tree}", "tree-tag", "blob-tag", "HEAD:src"] {
        match repo.resolve(rev) {
            Err(e @ VcsError::NotACommit { .. }) => assert!(e.to_string().contains(rev)),
            other => panic!("resolve({rev:?}) = {other:?}"),
        }
    }

    let blob = GitOid::from_hex(&f.git(&["rev-parse", "HEAD:README.md"])).unwrap();
    let tree = GitOid::from_hex(&f.git(&["rev-parse", "HEAD^{tree}"])).unwrap();
    let missing = GitOid([0x42; 20]);
    assert!(matches!(repo.tree_entries(blob), Err(VcsError::Git(m)) if m.contains("not a tree")));
    assert!(matches!(repo.tree_entries(missing), Err(VcsError::Git(m)) if m.contains("does not exist")));
    let local = repo.local();
    let mut buf = vec![1, 2, 3];
    assert!(matches!(local.read_blob(tree, &mut buf), Err(VcsError::Git(m)) if m.contains("not a blob")));
    assert!(matches!(local.read_blob(missing, &mut buf), Err(VcsError::Git(m)) if m.contains("does not exist")));
    assert!(matches!(local.blob_size(tree), Err(VcsError::Git(m)) if m.contains("not a blob")));
    assert!(matches!(local.blob_size(missing), Err(VcsError::Git(_))));

    for glob in ["[abc", "abc\\", "[z-a]"] {
        match repo.refs_matching(RefKind::Tag, glob) {
            Err(e @ VcsError::InvalidGlob { .. }) => assert!(e.to_string().contains(glob)),
            other => panic!("refs_matching({glob:?}) = {other:?}"),
        }
    }

    // Not a repository.
    let outside = tempfile::tempdir().unwrap();
    match Repo::discover(outside.path()) {
        Err(e @ VcsError::NotARepository { .. }) => {
            assert!(e.to_string().starts_with("not a git repository"), "{e}");
        }
        other => panic!("discover(non-repo) = {other:?}"),
    }
    // A path that does not exist.
    assert!(Repo::discover(&outside.path().join("does/not/exist")).is_err());
}

#[test]
fn empty_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let work = tmp.path().join("empty");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    git_s(&home, &work, &["init", "-q"]);
    let repo = Repo::discover(&work).unwrap();
    for rev in ["HEAD", "@", "HEAD~1"] {
        match repo.resolve(rev) {
            Err(VcsError::UnknownRevision { reason, .. }) => {
                assert!(reason.contains("HEAD does not point to a commit yet"), "{rev}: {reason}")
            }
            other => panic!("resolve({rev}) in an empty repo = {other:?}"),
        }
    }
    assert!(matches!(repo.resolve("main"), Err(VcsError::UnknownRevision { .. })));
    assert!(repo.refs_matching(RefKind::Tag, "*").unwrap().is_empty());
    assert!(repo.refs_matching(RefKind::Branch, "*").unwrap().is_empty());
}
