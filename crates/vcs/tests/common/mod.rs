//! Helpers shared by the integration tests: the `git` CLI with an isolated
//! environment (the oracle), and a fixture repository.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use grove_base::{EntryMode, GitOid};
use grove_vcs::{RefKind, TreeEntry};

/// Run git in `dir` with an isolated environment; panics on failure, returns stdout.
pub fn git(home: &Path, dir: &Path, args: &[&[u8]]) -> Vec<u8> {
    let out = git_cmd(home, dir, args).output().expect("run git");
    assert!(
        out.status.success(),
        "git {:?} failed: {}",
        args.iter().map(|a| String::from_utf8_lossy(a)).collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn git_cmd(home: &Path, dir: &Path, args: &[&[u8]]) -> Command {
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

pub fn git_s(home: &Path, dir: &Path, args: &[&str]) -> String {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    String::from_utf8(git(home, dir, &args)).unwrap().trim_end().to_owned()
}

/// `git rev-parse --verify -q REV^{commit}`, None if git says no.
pub fn rev_parse_commit(home: &Path, dir: &Path, rev: &str) -> Option<GitOid> {
    let spec = format!("{rev}^{{commit}}");
    let out = git_cmd(home, dir, &[b"rev-parse", b"--verify", b"-q", spec.as_bytes()]).output().unwrap();
    if !out.status.success() {
        return None;
    }
    GitOid::from_hex(String::from_utf8(out.stdout).unwrap().trim())
}

pub fn write(path: &Path, content: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

pub struct Fixture {
    pub _tmp: tempfile::TempDir,
    pub home: PathBuf,
    pub work: PathBuf,
}

impl Fixture {
    pub fn git(&self, args: &[&str]) -> String {
        git_s(&self.home, &self.work, args)
    }
}

/// A work-tree repository with: nested dirs, names that exercise git's tree order
/// (`a-b`, `a.txt`, `a/`, `a0`), an executable, a symlink, a non-UTF-8 file name, a
/// gitlink, a merge, annotated/lightweight/nested/tree/blob tags, several branches.
pub fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let f = Fixture { _tmp: tmp, home, work };
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
        std::fs::set_permissions(w.join("script.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::os::unix::fs::symlink("src/lib.rs", w.join("link")).unwrap();
    // A non-UTF-8 file name, byte 0xff.
    let bad = OsStr::from_bytes(b"caf\xff.txt");
    write(&w.join(bad), b"latin1 name\n");
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "first"]);
    f.git(&["tag", "v0.9"]);

    write(&w.join("src/lib.rs"), b"pub fn hello() { println!(\"hi\"); }\n");
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
    f.git(&["update-index", "--add", "--cacheinfo", &format!("160000,{head},sub")]);
    f.git(&["commit", "-q", "-m", "add gitlink"]);
    f
}

/// Parse `git ls-tree -r -z --full-tree REV`, dropping gitlinks.
pub fn ls_tree(home: &Path, dir: &Path, rev: &str) -> Vec<TreeEntry> {
    let out = git(home, dir, &[b"ls-tree", b"-r", b"-z", b"--full-tree", rev.as_bytes()]);
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
        entries.push(TreeEntry { path: rec[tab + 1..].to_vec(), oid, mode });
    }
    entries
}

pub fn git_ref_list(f: &Fixture, kind: RefKind, glob: &str) -> Vec<(String, GitOid)> {
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

/// Run git with `input` on stdin; panics on failure, returns stdout.
pub fn git_stdin(home: &Path, dir: &Path, args: &[&[u8]], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = git_cmd(home, dir, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run git");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "git {:?} failed: {}",
        args.iter().map(|a| String::from_utf8_lossy(a)).collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `git hash-object --stdin` of `bytes`, without writing the object.
pub fn git_hash_object(home: &Path, dir: &Path, bytes: &[u8]) -> GitOid {
    let out = git_stdin(home, dir, &[b"hash-object", b"--stdin", b"--no-filters"], bytes);
    GitOid::from_hex(String::from_utf8(out).unwrap().trim()).unwrap()
}

/// An empty repository in a temporary directory, with the isolated environment.
pub fn empty_repo() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let f = Fixture { _tmp: tmp, home, work };
    f.git(&["init", "-q"]);
    f
}
