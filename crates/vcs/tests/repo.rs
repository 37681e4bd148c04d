//! Differential tests of grove-vcs against the `git` CLI on small repositories built in
//! temporary directories.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use grove_base::{EntryMode, GitOid};
use grove_vcs::{RefKind, Repo, TreeEntry, VcsError};

/// Run git in `dir` with an isolated environment; panics on failure, returns stdout.
fn git(home: &Path, dir: &Path, args: &[&[u8]]) -> Vec<u8> {
    let out = git_cmd(home, dir, args).output().expect("run git");
    assert!(
        out.status.success(),
        "git {:?} failed: {}",
        args.iter()
            .map(|a| String::from_utf8_lossy(a))
            .collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn git_cmd(home: &Path, dir: &Path, args: &[&[u8]]) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Grove Test")
        .env("GIT_AUTHOR_EMAIL", "grove@example.com")
        .env("GIT_COMMITTER_NAME", "Grove Test")
        .env("GIT_COMMITTER_EMAIL", "grove@example.com")
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_OBJECT_DIRECTORY")
        .env_remove("GIT_CEILING_DIRECTORIES");
    cmd.arg("-c").arg("init.defaultBranch=main");
    for a in args {
        cmd.arg(OsStr::from_bytes(a));
    }
    cmd
}

fn git_s(home: &Path, dir: &Path, args: &[&str]) -> String {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    String::from_utf8(git(home, dir, &args))
        .unwrap()
        .trim_end()
        .to_owned()
}

/// `git rev-parse --verify -q REV^{commit}`, None if git says no.
fn rev_parse_commit(home: &Path, dir: &Path, rev: &str) -> Option<GitOid> {
    let spec = format!("{rev}^{{commit}}");
    let out = git_cmd(
        home,
        dir,
        &[b"rev-parse", b"--verify", b"-q", spec.as_bytes()],
    )
    .output()
    .unwrap();
    if !out.status.success() {
        return None;
    }
    GitOid::from_hex(String::from_utf8(out.stdout).unwrap().trim())
}

fn write(path: &Path, content: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

struct Fixture {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    work: PathBuf,
}

impl Fixture {
    fn git(&self, args: &[&str]) -> String {
        git_s(&self.home, &self.work, args)
    }
}

/// A work-tree repository with: nested dirs, names that exercise git's tree order
/// (`a-b`, `a.txt`, `a/`, `a0`), an executable, a symlink, a non-UTF-8 file name, a
/// gitlink, a merge, annotated/lightweight/nested/tree/blob tags, several branches.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let f = Fixture {
        _tmp: tmp,
        home,
        work,
    };
    let w = &f.work;
    f.git(&["init", "-q"]);

    write(&w.join("README.md"), b"# grove test\n");
    write(&w.join("src/lib.rs"), b"pub fn hello() {}\n");
    write(&w.join("src/deep/er/x.txt"), b"deep\n");
    write(&w.join("a-b"), b"dash\n");
    write(&w.join("a.txt"), b"dot\n");
    write(&w.join("a/inner.txt"), b"inner\n");
    write(&w.join("a0"), b"zero\n");
    write(&w.join("with space.txt"), b"space\n");
    write(&w.join("empty"), b"");
    write(&w.join("script.sh"), b"#!/bin/sh\necho hi\n");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(w.join("script.sh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    std::os::unix::fs::symlink("src/lib.rs", w.join("link")).unwrap();
    // A non-UTF-8 file name, byte 0xff.
    let bad = OsStr::from_bytes(b"caf\xff.txt");
    write(&w.join(bad), b"latin1 name\n");
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "first"]);
    f.git(&["tag", "v0.9"]);

    write(
        &w.join("src/lib.rs"),
        b"pub fn hello() { println!(\"hi\"); }\n",
    );
    write(&w.join("src/new.rs"), b"// new\n");
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "second"]);
    f.git(&["tag", "-a", "v1.0", "-m", "release 1.0"]);
    f.git(&["tag", "-a", "nested", "-m", "tag of a tag", "v1.0"]);
    f.git(&["tag", "release/v2"]);
    f.git(&["tag", "v{1,2}"]);
    f.git(&["tag", "tree-tag", "HEAD^{tree}"]);
    f.git(&["tag", "-a", "blob-tag", "-m", "a blob", "HEAD:README.md"]);
    f.git(&["branch", "feature"]);
    f.git(&["branch", "topic/x", "HEAD~1"]);

    f.git(&["checkout", "-q", "feature"]);
    write(&w.join("feature.txt"), b"feature work\n");
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "feature"]);
    f.git(&["checkout", "-q", "main"]);
    write(&w.join("README.md"), b"# grove test\n\nmore\n");
    f.git(&["commit", "-q", "-am", "third"]);
    f.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);

    // A submodule entry (gitlink) pointing at some commit id.
    let head = f.git(&["rev-parse", "HEAD~1"]);
    f.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{head},sub"),
    ]);
    f.git(&["commit", "-q", "-m", "add gitlink"]);
    f
}

/// Parse `git ls-tree -r -z --full-tree REV`, dropping gitlinks.
fn ls_tree(home: &Path, dir: &Path, rev: &str) -> Vec<TreeEntry> {
    let out = git(
        home,
        dir,
        &[b"ls-tree", b"-r", b"-z", b"--full-tree", rev.as_bytes()],
    );
    let mut entries = Vec::new();
    for rec in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let tab = rec.iter().position(|&b| b == b'\t').unwrap();
        let meta = std::str::from_utf8(&rec[..tab]).unwrap();
        let mut parts = meta.split(' ');
        let mode = parts.next().unwrap();
        let _kind = parts.next().unwrap();
        let oid = GitOid::from_hex(parts.next().unwrap()).unwrap();
        let mode = match mode {
            "100644" => EntryMode::File,
            "100755" => EntryMode::Executable,
            "120000" => EntryMode::Symlink,
            "160000" => continue,
            m => panic!("unexpected mode {m}"),
        };
        entries.push(TreeEntry {
            path: rec[tab + 1..].to_vec(),
            oid,
            mode,
        });
    }
    entries
}

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
        let expected = rev_parse_commit(&f.home, &f.work, rev)
            .unwrap_or_else(|| panic!("git cannot resolve {rev}"));
        let got = repo
            .resolve(rev)
            .unwrap_or_else(|e| panic!("resolve({rev}): {e}"));
        assert_eq!(got.oid, expected, "rev {rev}");
        let tree = GitOid::from_hex(&f.git(&["rev-parse", &format!("{rev}^{{tree}}")])).unwrap();
        assert_eq!(got.tree, tree, "tree of {rev}");
    }
}

#[test]
fn tree_entries_match_git_ls_tree() {
    let f = fixture();
    let repo = Repo::discover(&f.work).unwrap();
    for rev in [
        "HEAD", "HEAD~1", "HEAD~2", "v0.9", "v1.0", "feature", "topic/x",
    ] {
        let commit = repo.resolve(rev).unwrap();
        let got = repo.tree_entries(commit.tree).unwrap();
        let expected = ls_tree(&f.home, &f.work, rev);
        assert_eq!(got, expected, "rev {rev}");
    }
    // Spot checks on HEAD.
    let head = repo
        .tree_entries(repo.resolve("HEAD").unwrap().tree)
        .unwrap();
    let find = |p: &[u8]| head.iter().find(|e| e.path == p).cloned();
    assert_eq!(find(b"script.sh").unwrap().mode, EntryMode::Executable);
    assert_eq!(find(b"link").unwrap().mode, EntryMode::Symlink);
    assert_eq!(find(b"README.md").unwrap().mode, EntryMode::File);
    assert!(
        find(b"caf\xff.txt").is_some(),
        "non-UTF-8 path kept exactly"
    );
    assert!(find(b"src/deep/er/x.txt").is_some());
    assert!(find(b"sub").is_none(), "gitlinks are left out");
    assert!(
        !head.iter().any(|e| e.path == b"src" || e.path == b"a"),
        "trees are not listed"
    );
    let order: Vec<&[u8]> = head
        .iter()
        .map(|e| e.path.as_slice())
        .filter(|p| p.starts_with(b"a"))
        .collect();
    assert_eq!(order, vec![&b"a-b"[..], b"a.txt", b"a/inner.txt", b"a0"]);
    // A sub-tree can be listed by itself, and the empty tree is empty.
    let src = GitOid::from_hex(&f.git(&["rev-parse", "HEAD:src"])).unwrap();
    let sub = repo.tree_entries(src).unwrap();
    assert!(sub.iter().any(|e| e.path == b"deep/er/x.txt"));
    let empty = GitOid::from_hex("4b825dc642cb6eb9a060e54bf8d69288fbee4904").unwrap();
    assert_eq!(repo.tree_entries(empty).unwrap(), vec![]);
}

fn git_ref_list(f: &Fixture, kind: RefKind, glob: &str) -> Vec<(String, GitOid)> {
    let (cmd, prefix): (&[&str], &str) = match kind {
        RefKind::Tag => (&["tag", "-l", "--format=%(refname)"], "refs/tags/"),
        RefKind::Branch => (&["branch", "--list", "--format=%(refname)"], "refs/heads/"),
    };
    let mut args: Vec<&str> = cmd.to_vec();
    args.push(glob);
    let out = f.git(&args);
    out.lines()
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            let name = l.strip_prefix(prefix).unwrap().to_owned();
            // Tags of trees and blobs are skipped by refs_matching.
            rev_parse_commit(&f.home, &f.work, l).map(|c| (name, c))
        })
        .collect()
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
            let got: Vec<(String, GitOid)> = repo
                .refs_matching(kind, glob)
                .unwrap()
                .into_iter()
                .map(|r| (r.name, r.commit))
                .collect();
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
        let got: Vec<(String, GitOid)> = repo
            .refs_matching(kind, "*")
            .unwrap()
            .into_iter()
            .map(|r| (r.name, r.commit))
            .collect();
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
        let expected = git(
            &f.home,
            dir,
            &[b"cat-file", b"blob", oid.to_hex().as_bytes()],
        );
        local.read_blob(*oid, &mut buf).unwrap();
        assert_eq!(buf, expected, "blob {oid}");
        assert_eq!(
            local.blob_size(*oid).unwrap(),
            expected.len() as u64,
            "size of {oid}"
        );
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
    let head = repo
        .tree_entries(repo.resolve("HEAD").unwrap().tree)
        .unwrap();
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
            text.push_str(&format!(
                "line {j} of a file that changes a little {}\n",
                (i * 7 + j) % 13
            ));
        }
        text.push_str(&format!("version {i}\n"));
        write(&f.work.join("big.txt"), text.as_bytes());
        f.git(&["add", "big.txt"]);
        f.git(&["commit", "-q", "-m", &format!("big {i}")]);
    }
    f.git(&["repack", "-adq", "--depth=50", "--window=50"]);
    f.git(&["prune-packed"]);
    assert!(
        f.git(&["count-objects", "-v"]).contains("count: 0"),
        "all objects are packed"
    );
    let repo = Repo::discover(&f.work).unwrap();
    check_all_blobs(&f, &f.work, &repo);
    // Resolving and listing work on packed objects too.
    assert_eq!(
        repo.tree_entries(repo.resolve("HEAD").unwrap().tree)
            .unwrap(),
        ls_tree(&f.home, &f.work, "HEAD")
    );
}

#[test]
fn bare_repository() {
    let f = fixture();
    let bare = f.work.parent().unwrap().join("bare.git");
    git_s(
        &f.home,
        f.work.parent().unwrap(),
        &["clone", "-q", "--bare", "work", "bare.git"],
    );
    let repo = Repo::discover(&bare).unwrap();
    assert_eq!(repo.work_dir(), None);
    assert_eq!(
        repo.git_dir().canonicalize().unwrap(),
        bare.canonicalize().unwrap()
    );
    for rev in ["HEAD", "main", "v1.0", "HEAD~2", "feature"] {
        let c = repo.resolve(rev).unwrap();
        assert_eq!(Some(c.oid), rev_parse_commit(&f.home, &bare, rev));
        assert_eq!(
            repo.tree_entries(c.tree).unwrap(),
            ls_tree(&f.home, &bare, rev)
        );
    }
    let tags: Vec<String> = repo
        .refs_matching(RefKind::Tag, "v*")
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(tags, vec!["v0.9", "v1.0", "v{1,2}"]);
    check_all_blobs(&f, &bare, &repo);
    // Discovery from inside the bare repository.
    let inner = Repo::discover(&bare.join("refs/heads")).unwrap();
    assert_eq!(
        inner.git_dir().canonicalize().unwrap(),
        bare.canonicalize().unwrap()
    );
    assert_eq!(inner.work_dir(), None);
}

#[test]
fn discover_from_subdirectory_and_file() {
    let f = fixture();
    let canon = |p: &Path| p.canonicalize().unwrap();
    for start in [
        f.work.join("src/deep/er"),
        f.work.join("src"),
        f.work.join("src/lib.rs"),
        f.work.clone(),
    ] {
        let repo = Repo::discover(&start).unwrap_or_else(|e| panic!("{}: {e}", start.display()));
        assert_eq!(
            canon(repo.work_dir().unwrap()),
            canon(&f.work),
            "from {}",
            start.display()
        );
        assert_eq!(canon(repo.git_dir()), canon(&f.work.join(".git")));
        assert_eq!(
            repo.resolve("HEAD").unwrap().oid,
            rev_parse_commit(&f.home, &f.work, "HEAD").unwrap()
        );
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
    assert_eq!(
        repo.work_dir().unwrap().canonicalize().unwrap(),
        wt.canonicalize().unwrap()
    );
    assert_eq!(
        repo.resolve("HEAD").unwrap().oid,
        rev_parse_commit(&f.home, &wt, "HEAD").unwrap()
    );
    assert_eq!(
        repo.resolve("main").unwrap().oid,
        rev_parse_commit(&f.home, &f.work, "main").unwrap()
    );
}

#[test]
fn errors_are_clear() {
    let f = fixture();
    let repo = Repo::discover(&f.work).unwrap();

    for rev in [
        "nope",
        "HEAD~99",
        "main..feature",
        "",
        "v9.9^{commit}",
        "0123456789abcdef0123456789abcdef01234567",
    ] {
        match repo.resolve(rev) {
            Err(e @ VcsError::UnknownRevision { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(&format!("'{rev}'")),
                    "message names the rev: {msg}"
                );
            }
            other => panic!("resolve({rev:?}) = {other:?}"),
        }
    }
    for rev in [
        "HEAD:README.md",
        "HEAD^{tree}",
        "tree-tag",
        "blob-tag",
        "HEAD:src",
    ] {
        match repo.resolve(rev) {
            Err(e @ VcsError::NotACommit { .. }) => assert!(e.to_string().contains(rev)),
            other => panic!("resolve({rev:?}) = {other:?}"),
        }
    }

    let blob = GitOid::from_hex(&f.git(&["rev-parse", "HEAD:README.md"])).unwrap();
    let tree = GitOid::from_hex(&f.git(&["rev-parse", "HEAD^{tree}"])).unwrap();
    let missing = GitOid([0x42; 20]);
    assert!(matches!(repo.tree_entries(blob), Err(VcsError::Git(m)) if m.contains("not a tree")));
    assert!(
        matches!(repo.tree_entries(missing), Err(VcsError::Git(m)) if m.contains("does not exist"))
    );
    let local = repo.local();
    let mut buf = vec![1, 2, 3];
    assert!(
        matches!(local.read_blob(tree, &mut buf), Err(VcsError::Git(m)) if m.contains("not a blob"))
    );
    assert!(
        matches!(local.read_blob(missing, &mut buf), Err(VcsError::Git(m)) if m.contains("does not exist"))
    );
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
                assert!(
                    reason.contains("HEAD does not point to a commit yet"),
                    "{rev}: {reason}"
                )
            }
            other => panic!("resolve({rev}) in an empty repo = {other:?}"),
        }
    }
    assert!(matches!(
        repo.resolve("main"),
        Err(VcsError::UnknownRevision { .. })
    ));
    assert!(repo.refs_matching(RefKind::Tag, "*").unwrap().is_empty());
    assert!(repo.refs_matching(RefKind::Branch, "*").unwrap().is_empty());
}
