//! `worktree_changes` against `git status --porcelain=v1 -z --untracked-files=all`.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use grove_base::{EntryMode, GitOid};
use grove_vcs::{Repo, VcsError, WorktreeChange};

fn p(path: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(path))
}

fn set_exec(path: &Path, exec: bool) {
    let mode = if exec { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Set the mtime of every file and directory of the work tree (not .git) `secs` in the
/// past, then let git refresh its index: every entry then has stat data older than the
/// index file, so nothing is racily clean and unchanged files are recognised by stat.
fn age_and_refresh(f: &Fixture) {
    fn walk(dir: &Path, t: std::time::SystemTime) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_name() == ".git" {
                continue;
            }
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                continue;
            }
            if ft.is_dir() {
                walk(&e.path(), t);
            }
            let file = std::fs::File::options().read(true).open(e.path()).unwrap();
            file.set_times(std::fs::FileTimes::new().set_modified(t)).unwrap();
        }
    }
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    walk(&f.work, t);
    let _ = git_cmd(&f.home, &f.work, &[b"update-index", b"-q", b"--refresh"]).output();
}

/// What `git status` reports, turned into the changes that `worktree_changes` must
/// return: for each path git lists (nested repositories and submodules aside), the
/// work tree's version (tracked or untracked-not-ignored, on disk) against HEAD's.
fn expected(home: &Path, work: &Path) -> Vec<WorktreeChange> {
    let status = git(
        home,
        work,
        &[b"--no-optional-locks", b"status", b"--porcelain=v1", b"-z", b"--untracked-files=all", b"--no-renames"],
    );
    // Index: path -> mode; gitlinks.
    let mut index: HashSet<Vec<u8>> = HashSet::new();
    let mut gitlinks: HashSet<Vec<u8>> = HashSet::new();
    for rec in git(home, work, &[b"ls-files", b"-z", b"--stage"]).split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let tab = rec.iter().position(|&b| b == b'\t').unwrap();
        let path = rec[tab + 1..].to_vec();
        if rec.starts_with(b"160000") {
            gitlinks.insert(path.clone());
        }
        index.insert(path);
    }
    // HEAD: path -> (mode, oid).
    let mut head: HashMap<Vec<u8>, (EntryMode, GitOid)> = HashMap::new();
    if rev_parse_commit(home, work, "HEAD").is_some() {
        for e in ls_tree(home, work, "HEAD") {
            head.insert(e.path, (e.mode, e.oid));
        }
        let all = git(home, work, &[b"ls-tree", b"-r", b"-z", b"HEAD"]);
        for rec in all.split(|&b| b == 0).filter(|r| r.starts_with(b"160000")) {
            let tab = rec.iter().position(|&b| b == b'\t').unwrap();
            gitlinks.insert(rec[tab + 1..].to_vec());
        }
    }
    // path -> listed as untracked ("??"); a path can appear twice ("D " and "??").
    let mut listed: BTreeMap<Vec<u8>, bool> = BTreeMap::new();
    for rec in status.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let (xy, path) = (&rec[..2], rec[3..].to_vec());
        if path.ends_with(b"/") || gitlinks.contains(&path) {
            continue; // a nested repository, a submodule
        }
        *listed.entry(path).or_default() |= xy == b"??";
    }
    let mut out = Vec::new();
    for (path, untracked) in listed {
        let in_worktree = untracked || index.contains(&path);
        let on_disk = if in_worktree { disk_file(work, &path) } else { None };
        match on_disk {
            Some((mode, content)) => {
                let oid = git_hash_object(home, work, &content);
                if head.get(&path) != Some(&(mode, oid)) {
                    out.push(WorktreeChange::Upsert { path, mode, oid, content });
                }
            }
            None if head.contains_key(&path) => out.push(WorktreeChange::Deleted { path }),
            None => {}
        }
    }
    out
}

/// A file or symlink at `path` whose leading directories are real directories: its
/// mode as git would record it (core.fileMode=true) and its bytes.
fn disk_file(work: &Path, path: &[u8]) -> Option<(EntryMode, Vec<u8>)> {
    let mut dir = work.to_owned();
    let comps: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    for c in &comps[..comps.len() - 1] {
        dir.push(OsStr::from_bytes(c));
        if !std::fs::symlink_metadata(&dir).ok()?.is_dir() {
            return None;
        }
    }
    let full = work.join(p(path));
    let meta = std::fs::symlink_metadata(&full).ok()?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(&full).unwrap();
        return Some((EntryMode::Symlink, target.as_os_str().as_bytes().to_vec()));
    }
    if !meta.is_file() {
        return None;
    }
    let mode = if meta.permissions().mode() & 0o100 != 0 { EntryMode::Executable } else { EntryMode::File };
    Some((mode, std::fs::read(&full).unwrap()))
}

/// `worktree_changes` (before and after `git status` ran) equals the oracle; returns it.
fn check(f: &Fixture) -> Vec<WorktreeChange> {
    check_dir(&f.home, &f.work)
}

fn check_dir(home: &Path, work: &Path) -> Vec<WorktreeChange> {
    let repo = Repo::discover(work).unwrap();
    let got = repo.worktree_changes().unwrap();
    assert!(got.changes.windows(2).all(|w| w[0].path() < w[1].path()), "sorted, one change per path");
    assert_eq!(got.head.map(|c| c.oid), rev_parse_commit(home, work, "HEAD"));
    let want = expected(home, work);
    assert_eq!(show(&got.changes), show(&want), "worktree_changes vs git status");
    assert_eq!(got.changes, want);
    // A second call sees the same.
    assert_eq!(repo.worktree_changes().unwrap().changes, want);
    want
}

/// A readable summary, for assertion messages.
fn show(changes: &[WorktreeChange]) -> Vec<String> {
    changes
        .iter()
        .map(|c| match c {
            WorktreeChange::Upsert { path, mode, .. } => {
                format!("U {:?} {}", mode, String::from_utf8_lossy(path))
            }
            WorktreeChange::Deleted { path } => format!("D {}", String::from_utf8_lossy(path)),
        })
        .collect()
}

fn paths(changes: &[WorktreeChange]) -> Vec<String> {
    show(changes)
}

/// A committed repository with nested directories, ignore files of every kind, an
/// executable, a symlink, a non-UTF-8 name, a tracked file inside an ignored directory.
fn repo_with_ignores() -> Fixture {
    let f = empty_repo();
    let w = &f.work;
    write(&w.join("README.md"), b"# readme\n");
    write(&w.join("src/lib.rs"), b"pub fn f() {}\n");
    write(&w.join("src/deep/er/x.txt"), b"deep\n");
    write(&w.join("a-b"), b"dash\n");
    write(&w.join("a.txt"), b"dot\n");
    write(&w.join("a/inner.txt"), b"inner\n");
    write(&w.join("a0"), b"zero\n");
    write(&w.join("with space.txt"), b"space\n");
    write(&w.join("empty"), b"");
    write(&w.join("staged-then-reverted"), b"original\n");
    write(&w.join("touched"), b"same content\n");
    write(&w.join("script.sh"), b"#!/bin/sh\necho hi\n");
    set_exec(&w.join("script.sh"), true);
    std::os::unix::fs::symlink("src/lib.rs", w.join("link")).unwrap();
    write(&w.join(OsStr::from_bytes(b"caf\xff.txt")), b"latin1\n");
    write(&w.join(".gitignore"), b"*.log\nbuild/\n/rooted.txt\n!important.log\n");
    write(&w.join("src/.gitignore"), b"*.gen\n!keep.gen\n");
    write(&w.join("build/tracked.txt"), b"tracked though ignored\n");
    write(&w.join("tracked.log"), b"tracked though ignored\n");
    f.git(&["add", "-A"]);
    f.git(&["add", "-f", "build/tracked.txt", "tracked.log"]);
    f.git(&["commit", "-q", "-m", "base"]);
    // info/exclude and core.excludesFile. The latter is set in the repository's config
    // with an absolute path: git runs with an isolated $HOME but this test process does
    // not, so the user's global configuration must not be the one that counts.
    write(&f.work.join(".git/info/exclude"), b"secret.txt\n/excluded-dir/\n");
    let global = f.work.parent().unwrap().join("global-ignore");
    write(&global, b"*.tmp\n");
    f.git(&["config", "core.excludesFile", global.to_str().unwrap()]);
    age_and_refresh(&f);
    f
}

#[test]
fn clean_worktree_has_no_changes() {
    let f = repo_with_ignores();
    let got = check(&f);
    assert!(got.is_empty(), "{:?}", show(&got));
    // Without the refresh (racily clean entries: files as new as the index) too.
    let f = empty_repo();
    write(&f.work.join("a"), b"a\n");
    write(&f.work.join("d/b"), b"b\n");
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "one"]);
    assert!(check(&f).is_empty());
}

#[test]
fn worktree_changes_equal_git_status() {
    let f = repo_with_ignores();
    let w = &f.work;
    // Tracked: modified (unstaged), modified and staged, staged then reverted on disk,
    // deleted from the work tree, removed from the index (still on disk), removed from
    // both, removed from the index and now ignored.
    write(&w.join("README.md"), b"# readme, changed\n");
    write(&w.join("src/lib.rs"), b"pub fn f() { changed() }\n");
    f.git(&["add", "src/lib.rs"]);
    write(&w.join("staged-then-reverted"), b"modified\n");
    f.git(&["add", "staged-then-reverted"]);
    write(&w.join("staged-then-reverted"), b"original\n");
    std::fs::remove_file(w.join("a.txt")).unwrap();
    f.git(&["rm", "-q", "--cached", "a0"]);
    f.git(&["rm", "-q", "with space.txt"]);
    f.git(&["rm", "-q", "--cached", "src/deep/er/x.txt"]);
    write(&w.join("src/deep/er/.gitignore"), b"x.txt\n");
    // Modified then reverted to HEAD's bytes, with a new mtime: not a change.
    write(&w.join("touched"), b"SAME CONTENT\n");
    write(&w.join("touched"), b"same content\n");
    // Tracked files that ignore rules match are still tracked.
    write(&w.join("tracked.log"), b"changed\n");
    write(&w.join("build/tracked.txt"), b"changed too\n");
    // Staged new file, intent-to-add.
    write(&w.join("added.txt"), b"added\n");
    f.git(&["add", "added.txt"]);
    write(&w.join("ita.txt"), b"intent\n");
    f.git(&["add", "-N", "ita.txt"]);
    // Untracked, not ignored: top level, nested new directories, hidden, whitelisted.
    write(&w.join("new.txt"), b"new\n");
    write(&w.join("newdir/a/b.txt"), b"deep new\n");
    write(&w.join(".hidden"), b"hidden\n");
    write(&w.join("important.log"), b"whitelisted\n");
    write(&w.join("src/keep.gen"), b"whitelisted in src\n");
    write(&w.join("sub/rooted.txt"), b"only /rooted.txt is ignored\n");
    write(&w.join(OsStr::from_bytes(b"new\xfe.txt")), b"non-UTF-8 name\n");
    // Ignored: by pattern, by directory pattern, anchored, nested .gitignore,
    // info/exclude (file and directory), core.excludesFile.
    write(&w.join("debug.log"), b"ignored\n");
    write(&w.join("a/deeper.log"), b"ignored\n");
    write(&w.join("build/out.bin"), b"ignored\n");
    write(&w.join("build/sub/more.o"), b"ignored\n");
    write(&w.join("rooted.txt"), b"ignored\n");
    write(&w.join("src/code.gen"), b"ignored\n");
    write(&w.join("secret.txt"), b"ignored\n");
    write(&w.join("excluded-dir/x"), b"ignored\n");
    write(&w.join("scratch.tmp"), b"ignored\n");
    // An untracked nested repository: skipped (git lists it as one "dir/" entry).
    let nested = w.join("nested");
    std::fs::create_dir_all(&nested).unwrap();
    git_s(&f.home, &nested, &["init", "-q"]);
    write(&nested.join("inner.txt"), b"inside another repository\n");
    // A file replaced by a directory.
    std::fs::remove_file(w.join("empty")).unwrap();
    write(&w.join("empty/inside.txt"), b"was a file\n");

    let got = check(&f);
    let shown = paths(&got);
    for must in [
        "U File README.md",
        "U File src/lib.rs",
        "D a.txt",
        "D with space.txt",
        "D src/deep/er/x.txt",
        "U File tracked.log",
        "U File build/tracked.txt",
        "U File added.txt",
        "U File ita.txt",
        "U File new.txt",
        "U File newdir/a/b.txt",
        "U File .hidden",
        "U File important.log",
        "U File src/keep.gen",
        "U File sub/rooted.txt",
        "D empty",
        "U File empty/inside.txt",
        "U File src/deep/er/.gitignore",
    ] {
        assert!(shown.contains(&must.to_owned()), "{must} missing from {shown:?}");
    }
    for never in [
        "staged-then-reverted",
        "touched",
        "a0",
        "debug.log",
        "a/deeper.log",
        "build/out.bin",
        "rooted.txt",
        "src/code.gen",
        "secret.txt",
        "excluded-dir/x",
        "scratch.tmp",
        "nested",
        "nested/inner.txt",
    ] {
        assert!(!got.iter().any(|c| c.path() == never.as_bytes()), "{never} must not be reported: {shown:?}");
    }
    let readme = got.iter().find(|c| c.path() == b"README.md").unwrap();
    let WorktreeChange::Upsert { oid, content, .. } = readme else { panic!() };
    assert_eq!(content, b"# readme, changed\n");
    assert_eq!(*oid, Repo::hash_blob(content));
}

#[test]
fn symlinks_and_executable_bits() {
    let f = repo_with_ignores();
    let w = &f.work;
    // Mode-only changes both ways.
    set_exec(&w.join("a-b"), true);
    set_exec(&w.join("script.sh"), false);
    // A retargeted symlink; a symlink replaced by a file holding the old target; an
    // untracked symlink to a directory (a file for git: not followed).
    std::fs::remove_file(w.join("link")).unwrap();
    std::os::unix::fs::symlink("README.md", w.join("link")).unwrap();
    std::fs::remove_file(w.join("a/inner.txt")).unwrap();
    std::os::unix::fs::symlink("../src", w.join("a/inner.txt")).unwrap();
    std::os::unix::fs::symlink("src", w.join("src-link")).unwrap();
    // A tracked directory moved away and replaced by a symlink to its new place: its
    // files are deleted for git (a symlink in the leading path), the new ones untracked.
    std::fs::rename(w.join("src/deep"), w.join("src/deep2")).unwrap();
    std::os::unix::fs::symlink("deep2", w.join("src/deep")).unwrap();

    let got = check(&f);
    let find = |path: &[u8]| got.iter().find(|c| c.path() == path).cloned();
    let blob = |b: &[u8]| git_hash_object(&f.home, &f.work, b);
    assert_eq!(
        find(b"a-b"),
        Some(WorktreeChange::Upsert {
            path: b"a-b".to_vec(),
            mode: EntryMode::Executable,
            oid: blob(b"dash\n"),
            content: b"dash\n".to_vec()
        })
    );
    assert!(matches!(find(b"script.sh"), Some(WorktreeChange::Upsert { mode: EntryMode::File, .. })));
    assert_eq!(
        find(b"link"),
        Some(WorktreeChange::Upsert {
            path: b"link".to_vec(),
            mode: EntryMode::Symlink,
            oid: blob(b"README.md"),
            content: b"README.md".to_vec()
        })
    );
    assert!(matches!(find(b"a/inner.txt"), Some(WorktreeChange::Upsert { mode: EntryMode::Symlink, .. })));
    assert!(matches!(find(b"src-link"), Some(WorktreeChange::Upsert { mode: EntryMode::Symlink, .. })));
    assert!(find(b"src-link/lib.rs").is_none(), "symlinks are not followed");
    assert_eq!(find(b"src/deep/er/x.txt"), Some(WorktreeChange::Deleted { path: b"src/deep/er/x.txt".to_vec() }));
    assert!(matches!(find(b"src/deep"), Some(WorktreeChange::Upsert { mode: EntryMode::Symlink, .. })));
    assert!(find(b"src/deep2/er/x.txt").is_some());

    // core.fileMode=false: executable bits on disk are not looked at.
    f.git(&["config", "core.fileMode", "false"]);
    let got = check(&f);
    assert!(got.iter().all(|c| c.path() != b"a-b" && c.path() != b"script.sh"));
}

/// A file changed without changing its size or mtime, right when the index was
/// written: its stat data match the index's, and only the racy-git rule (an entry
/// not older than the index file is not trusted) finds the change. Then, with the
/// index newer, the stat data are trusted and the file is not read (as git does).
#[test]
fn racily_clean_entries_are_read_others_trusted() {
    let f = empty_repo();
    f.git(&["config", "core.trustctime", "false"]);
    let file = f.work.join("racy.txt");
    let when = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let set_mtime = |path: &Path| {
        std::fs::File::options().write(true).open(path).unwrap().set_modified(when).unwrap();
    };
    write(&file, b"aaaa\n");
    write(&f.work.join("other.txt"), b"other\n");
    set_mtime(&file);
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "one"]);
    // Same size, same mtime, same inode; the index file as old as the entry.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .and_then(|mut fh| std::io::Write::write_all(&mut fh, b"bbbb\n"))
        .unwrap();
    set_mtime(&file);
    set_mtime(&f.work.join(".git/index"));
    let got = check(&f);
    assert_eq!(paths(&got), ["U File racy.txt"]);
    // Once the index file is newer than the entry, its stat data are trusted: the
    // change is invisible to git status, and must be to us (we do not read the file).
    std::fs::File::options()
        .write(true)
        .open(f.work.join(".git/index"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    assert!(check(&f).is_empty());
}

/// Files whose stat data match the index are not read at all (as `git status`): an
/// unreadable, unchanged file is no error. (Skipped when running as root, who can read
/// it anyway.)
#[test]
fn unchanged_files_are_not_read() {
    let f = repo_with_ignores();
    // chmod changes ctime; tell git (and us) not to look at it.
    f.git(&["config", "core.trustctime", "false"]);
    let secret = f.work.join("a0");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let readable = std::fs::read(&secret).is_ok();
    let repo = Repo::discover(&f.work).unwrap();
    let got = repo.worktree_changes().unwrap();
    assert!(got.changes.is_empty(), "{:?}", show(&got.changes));
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    if readable {
        eprintln!("running as root: the unreadable-file part proves nothing here");
    }
}

#[test]
fn unborn_head_and_subdirectory() {
    let f = empty_repo();
    write(&f.work.join("staged.txt"), b"staged\n");
    f.git(&["add", "staged.txt"]);
    write(&f.work.join("dir/untracked.txt"), b"untracked\n");
    write(&f.work.join(".gitignore"), b"*.o\n");
    write(&f.work.join("dir/x.o"), b"ignored\n");
    let got = check(&f);
    assert_eq!(paths(&got), ["U File .gitignore", "U File dir/untracked.txt", "U File staged.txt"]);
    // Discovered from a subdirectory: paths are still relative to the root.
    let repo = Repo::discover(&f.work.join("dir")).unwrap();
    let wc = repo.worktree_changes().unwrap();
    assert_eq!(wc.head, None);
    assert_eq!(wc.changes, got);
}

#[test]
fn submodules_are_skipped() {
    let f = repo_with_ignores();
    // A real submodule (cloned from another repository).
    let other = f.work.parent().unwrap().join("other");
    std::fs::create_dir_all(&other).unwrap();
    git_s(&f.home, &other, &["init", "-q"]);
    write(&other.join("file"), b"in the submodule\n");
    git_s(&f.home, &other, &["add", "-A"]);
    git_s(&f.home, &other, &["commit", "-q", "-m", "sub"]);
    f.git(&["-c", "protocol.file.allow=always", "submodule", "add", "-q", other.to_str().unwrap(), "modules/sub"]);
    f.git(&["commit", "-q", "-m", "add submodule"]);
    age_and_refresh(&f);
    assert!(check(&f).is_empty());
    // Changes inside the submodule are not this work tree's.
    write(&f.work.join("modules/sub/file"), b"changed inside\n");
    write(&f.work.join("modules/sub/new"), b"new inside\n");
    assert!(check(&f).is_empty());
}

#[test]
fn bare_repository_has_no_worktree() {
    let f = repo_with_ignores();
    let parent = f.work.parent().unwrap();
    git_s(&f.home, parent, &["clone", "-q", "--bare", "work", "bare.git"]);
    let repo = Repo::discover(&parent.join("bare.git")).unwrap();
    let err = repo.worktree_changes().unwrap_err();
    assert!(matches!(err, VcsError::NoWorkTree { .. }), "{err:?}");
    assert!(err.to_string().contains("bare"), "{err}");
}

#[test]
fn merge_conflicts() {
    let f = repo_with_ignores();
    f.git(&["checkout", "-q", "-b", "other"]);
    write(&f.work.join("README.md"), b"# theirs\n");
    write(&f.work.join("both-added"), b"theirs\n");
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "theirs"]);
    f.git(&["checkout", "-q", "main"]);
    write(&f.work.join("README.md"), b"# ours\n");
    write(&f.work.join("both-added"), b"ours\n");
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "ours"]);
    let out = git_cmd(&f.home, &f.work, &[b"merge", b"-q", b"other"]).output().unwrap();
    assert!(!out.status.success(), "the merge conflicts");
    let got = check(&f);
    assert_eq!(paths(&got), ["U File README.md", "U File both-added"]);
    // Resolved by taking ours (HEAD's bytes): no longer a change, although unmerged.
    write(&f.work.join("README.md"), b"# ours\n");
    let got = check(&f);
    assert_eq!(paths(&got), ["U File both-added"]);
}

#[test]
fn skip_worktree_and_assume_unchanged_trust_the_index() {
    let f = repo_with_ignores();
    f.git(&["update-index", "--skip-worktree", "a0"]);
    std::fs::remove_file(f.work.join("a0")).unwrap();
    f.git(&["update-index", "--assume-unchanged", "README.md"]);
    write(&f.work.join("README.md"), b"changed, but git is told not to look\n");
    write(&f.work.join("src/lib.rs"), b"really changed\n");
    let got = check(&f);
    assert_eq!(paths(&got), ["U File src/lib.rs"]);
}

#[test]
fn linked_worktree() {
    let f = repo_with_ignores();
    let wt = f.work.parent().unwrap().join("wt2");
    f.git(&["worktree", "add", "-q", "-b", "wt-branch", wt.to_str().unwrap()]);
    write(&wt.join("README.md"), b"changed in the linked worktree\n");
    write(&wt.join("untracked.txt"), b"new\n");
    write(&wt.join("ignored.log"), b"ignored\n");
    write(&wt.join("secret.txt"), b"ignored by the shared info/exclude\n");
    let got = check_dir(&f.home, &wt);
    assert_eq!(paths(&got), ["U File README.md", "U File untracked.txt"]);
    // The main work tree is unaffected.
    assert!(check(&f).is_empty());
}

/// Enough tracked files for the stat pass to run on several threads (where the
/// machine has several cores), with changes spread over the whole index.
#[test]
fn many_files() {
    let f = empty_repo();
    for d in 0..50 {
        for i in 0..50 {
            write(&f.work.join(format!("d{d:02}/sub{}/f{i:02}.txt", i % 3)), format!("file {d} {i}\n").as_bytes());
        }
    }
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-m", "many"]);
    age_and_refresh(&f);
    assert!(check(&f).is_empty());
    for d in [0, 17, 33, 49] {
        write(&f.work.join(format!("d{d:02}/sub1/f01.txt")), b"changed\n");
        std::fs::remove_file(f.work.join(format!("d{d:02}/sub2/f02.txt"))).unwrap();
        write(&f.work.join(format!("d{d:02}/new.txt")), b"new\n");
    }
    std::fs::remove_dir_all(f.work.join("d25")).unwrap();
    let got = check(&f);
    assert_eq!(got.len(), 4 * 3 + 50);
}
