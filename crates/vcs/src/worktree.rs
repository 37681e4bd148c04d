//! The working tree as an overlay on HEAD (`Repo::worktree_changes`).
//!
//! Three inputs, all sorted by path bytes: HEAD's files (`walk_tree`), the git index
//! (read by gix, with its cached stat data) and the untracked files (our own directory
//! walk with the `ignore` crate's gitignore matcher).
//!
//! * Tracked paths (in the index): `lstat` each (on up to 8 threads when there are
//!   thousands, like git's preload-index); if the stat data equal the index's and the
//!   entry is not racily clean, the file has the index's oid without being read (what
//!   `git status` does); otherwise it is read and hashed. The work tree's version is
//!   then compared with HEAD's, so a staged change reverted on disk is not reported.
//!   The index is only read, never refreshed or written: racily clean entries are
//!   re-read on every call until git itself rewrites the index.
//! * HEAD's paths missing from the index (`git rm --cached`) are deleted unless the file
//!   is still on disk and not ignored (then it is an untracked file like any other).
//! * Untracked paths: every directory that is not ignored is read (as `git status
//!   --untracked-files=all` does); files that are neither tracked nor ignored are read.
//!
//! Why not gix's `status`/`dirwalk`: those features pull in about ten more gix crates
//! (gix-dir, gix-status, gix-worktree, gix-ignore, gix-pathspec, gix-submodule,
//! gix-attributes, ...), a noticeable compile cost on this project's machines, for
//! behaviour (filters, pathspecs, rename tracking, submodule status) that grove does not
//! use. The index (gix-index, with its stat comparison) is already compiled in, and
//! `ignore` (ripgrep's gitignore matcher) is already a dependency of the workspace.

use std::collections::HashMap;
use std::fs::FileType;
use std::io;
use std::path::{Path, PathBuf};

use gix::bstr::ByteSlice;
use gix::index::entry::{Flags, Mode, Stage, Stat};
use gix::index::fs::Metadata;
use grove_base::{EntryMode, GitOid};
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::{
    err_msg, from_gix, git_err, peel_to_commit, read_blob_with, walk_tree, Commit, PeelError, Repo, TreeEntry,
    VcsError, WorktreeChange, WorktreeChanges, MAX_TREE_DEPTH,
};

pub(crate) fn worktree_changes(repo: &gix::Repository) -> Result<WorktreeChanges, VcsError> {
    let Some(workdir) = repo.workdir() else {
        return Err(VcsError::NoWorkTree { git_dir: repo.git_dir().to_owned() });
    };
    let workdir = workdir.to_owned();
    let head = head_commit(repo)?;
    let head_files = match head {
        Some(c) => walk_tree(repo, c.tree)?,
        None => Vec::new(),
    };
    // walk_tree lists in git's tree order, which is path-byte order for full paths of
    // files; only a malformed tree could break that.
    let head_files = if head_files.is_sorted_by(|a, b| a.path < b.path) {
        head_files
    } else {
        let mut v = head_files;
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v.dedup_by(|a, b| a.path == b.path);
        v
    };

    let caps = repo.filesystem_options().map_err(git_err)?;
    let stat_options = repo.stat_options().map_err(git_err)?;
    let index = repo.index_or_empty().map_err(|e| {
        VcsError::Git(format!("cannot read the git index {}: {}", repo.index_path().display(), err_msg(&e)))
    })?;
    let state: &gix::index::State = &index;

    let probe = Probe {
        workdir: &workdir,
        symlinks: caps.symlink,
        executable_bit: caps.executable_bit,
        stat_options,
        index: state,
    };

    // Pair the index's paths with HEAD's files (no I/O).
    let mut items: Vec<Item> = Vec::new();
    // HEAD's files that the index does not have: deleted unless found untracked.
    let mut head_only: Vec<&TreeEntry> = Vec::new();
    let entries = state.entries();
    let mut sparse_dir: Option<&[u8]> = None;
    let (mut i, mut h) = (0, 0);
    loop {
        let ipath: Option<&[u8]> = entries.get(i).map(|e| e.path(state).as_bytes());
        let hfile = head_files.get(h);
        let order = match (ipath, hfile) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(p), Some(f)) => p.cmp(f.path.as_slice()),
        };
        let Some(ipath) = ipath.filter(|_| order.is_le()) else {
            let f = &head_files[h];
            h += 1;
            // A sparse index holds whole directories outside the sparse cone as one
            // entry: their files are as in the index, which git keeps equal to HEAD.
            if !sparse_dir.is_some_and(|d| f.path.starts_with(d)) {
                head_only.push(f);
            }
            continue;
        };
        let start = i;
        while i < entries.len() && entries[i].path(state).as_bytes() == ipath {
            i += 1;
        }
        let head = if order.is_eq() {
            h += 1;
            Some(&head_files[h - 1])
        } else {
            None
        };
        if entries[start].mode == Mode::DIR {
            sparse_dir = Some(ipath);
            continue;
        }
        items.push(Item { path: ipath, group: &entries[start..i], head });
    }

    // The stat pass over tracked paths (like git's preload-index, on several threads
    // for large indexes), then the few files that may have changed are read.
    let verdicts = probe.verdicts(&items)?;
    let mut changes: Vec<WorktreeChange> = Vec::new();
    for (item, verdict) in items.iter().zip(verdicts) {
        let path = item.path.to_vec();
        match verdict {
            Verdict::Unchanged => {}
            Verdict::Deleted => changes.push(WorktreeChange::Deleted { path }),
            Verdict::Read { meta, mode_in_index } => {
                changes.extend(probe.compare_read(path, &meta, mode_in_index, item.head)?)
            }
            Verdict::IndexBlob { oid, mode } => {
                let mut content = Vec::new();
                read_blob_with(repo, oid, &mut content)?;
                changes.push(WorktreeChange::Upsert { path, mode, oid, content });
            }
        }
    }

    // Untracked files.
    let mut walk = Walk::new(repo, &workdir, state, caps.ignore_case);
    let mut rel = Vec::new();
    walk.dir(&mut rel, 0)?;
    let mut untracked = walk.out;
    untracked.sort_unstable();
    let mut head_only = head_only.into_iter().peekable();
    let mut dirs = DirCache::default();
    for path in untracked {
        while let Some(f) = head_only.next_if(|f| f.path < path) {
            changes.push(WorktreeChange::Deleted { path: f.path.clone() });
        }
        let head_file = head_only.next_if(|f| f.path == path);
        let Some(meta) = probe.lstat(&mut dirs, &path)? else {
            // Gone since the directory was read.
            if let Some(f) = head_file {
                changes.push(WorktreeChange::Deleted { path: f.path.clone() });
            }
            continue;
        };
        let change = probe.compare_read(path, &meta, None, head_file)?;
        changes.extend(change);
    }
    changes.extend(head_only.map(|f| WorktreeChange::Deleted { path: f.path.clone() }));
    changes.sort_unstable_by(|a, b| a.path().cmp(b.path()));
    Ok(WorktreeChanges { head, changes })
}

fn head_commit(repo: &gix::Repository) -> Result<Option<Commit>, VcsError> {
    let head = repo.head().map_err(git_err)?;
    let Some(id) = head.id() else {
        return Ok(None);
    };
    let mut buf = Vec::new();
    match peel_to_commit(repo, id.detach(), &mut buf) {
        Ok(Some(commit)) => Ok(Some(commit)),
        Ok(None) => Err(VcsError::Git(format!("HEAD ({id}) does not name a commit"))),
        Err(PeelError::Missing(oid)) => Err(VcsError::Git(format!("HEAD points to {oid}, which does not exist"))),
        Err(PeelError::Other(msg)) => Err(VcsError::Git(msg)),
    }
}

fn index_mode(mode: Mode) -> Option<EntryMode> {
    if mode == Mode::FILE {
        Some(EntryMode::File)
    } else if mode == Mode::FILE_EXECUTABLE {
        Some(EntryMode::Executable)
    } else if mode == Mode::SYMLINK {
        Some(EntryMode::Symlink)
    } else {
        None
    }
}

fn is_missing(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
}

fn rel_path(path: &[u8]) -> Result<&Path, VcsError> {
    gix::path::from_byte_slice(path).map_err(|_| {
        VcsError::Git(format!("path '{}' cannot be represented on this platform", String::from_utf8_lossy(path)))
    })
}

fn io_err(what: &str, path: &Path, e: io::Error) -> VcsError {
    VcsError::Git(format!("cannot {what} {}: {e}", path.display()))
}

/// A tracked path: its index entries (one, or the stages of a conflict) and HEAD's file.
struct Item<'s> {
    path: &'s [u8],
    group: &'s [gix::index::Entry],
    head: Option<&'s TreeEntry>,
}

/// What the stat pass found for one tracked path.
enum Verdict {
    /// Nothing to report: as in HEAD (or in neither).
    Unchanged,
    /// In HEAD, not a file of the work tree.
    Deleted,
    /// May differ from HEAD: read it and compare.
    Read { meta: Metadata, mode_in_index: Option<EntryMode> },
    /// skip-worktree or assume-unchanged, and the index's blob differs from HEAD's.
    IndexBlob { oid: GitOid, mode: EntryMode },
}

/// Below this many tracked paths the stat pass runs on the calling thread.
const PARALLEL_MIN_PATHS: usize = 2000;
/// Paths per stat thread, at least (git's preload-index uses 500).
const PATHS_PER_THREAD: usize = 1000;
const MAX_STAT_THREADS: usize = 8;

/// Looking at files on disk (shared by the stat threads).
struct Probe<'a> {
    workdir: &'a Path,
    /// `core.symlinks`
    symlinks: bool,
    /// `core.fileMode`
    executable_bit: bool,
    stat_options: gix::index::entry::stat::Options,
    /// The index; its file's mtime tells racily clean entries (modified at or after it).
    index: &'a gix::index::State,
}

/// Per thread: which leading directories are real directories.
#[derive(Default)]
struct DirCache {
    /// Directory (no trailing '/') → is it a real directory (not a symlink, not a file).
    dirs: HashMap<Vec<u8>, bool>,
    /// The last directory looked up, which nearly always is the next one.
    last: Option<(Vec<u8>, bool)>,
}

impl Probe<'_> {
    fn verdicts(&self, items: &[Item]) -> Result<Vec<Verdict>, VcsError> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_STAT_THREADS)
            .min(items.len() / PATHS_PER_THREAD);
        if items.len() < PARALLEL_MIN_PATHS || threads < 2 {
            let mut dirs = DirCache::default();
            return items.iter().map(|it| self.verdict(&mut dirs, it)).collect();
        }
        let chunk = items.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let workers: Vec<_> = items
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let mut dirs = DirCache::default();
                        part.iter().map(|it| self.verdict(&mut dirs, it)).collect::<Result<Vec<_>, _>>()
                    })
                })
                .collect();
            let mut out = Vec::with_capacity(items.len());
            for w in workers {
                let part = w.join().map_err(|_| VcsError::Git("a work tree stat thread panicked".into()))??;
                out.extend(part);
            }
            Ok(out)
        })
    }

    fn verdict(&self, dirs: &mut DirCache, item: &Item) -> Result<Verdict, VcsError> {
        let Item { path, group, head } = *item;
        let deleted = if head.is_some() { Verdict::Deleted } else { Verdict::Unchanged };
        // A submodule is not a file of this work tree.
        if group.iter().any(|e| e.mode == Mode::COMMIT) {
            return Ok(deleted);
        }
        let stage0 = group.iter().find(|e| e.stage() == Stage::Unconflicted);
        let index_entry = stage0.or_else(|| group.iter().find(|e| e.stage() == Stage::Ours));
        let mode_in_index = index_entry.and_then(|e| index_mode(e.mode));

        // git does not look at the work tree for these: the index is the truth.
        if let Some(e) = stage0.filter(|e| e.flags.intersects(Flags::SKIP_WORKTREE | Flags::ASSUME_VALID)) {
            let (Some(oid), Some(mode)) = (from_gix(&e.id), mode_in_index) else {
                return Ok(deleted);
            };
            if head.is_some_and(|h| h.oid == oid && h.mode == mode) {
                return Ok(Verdict::Unchanged);
            }
            return Ok(Verdict::IndexBlob { oid, mode });
        }

        let Some(meta) = self.lstat(dirs, path)? else {
            return Ok(deleted);
        };
        let Some(mode) = self.disk_mode(&meta, mode_in_index) else {
            return Ok(deleted);
        };
        // The index's stat data say the file has not changed since it was hashed.
        let unchanged_since_indexed = stage0.filter(|e| {
            !e.flags.contains(Flags::INTENT_TO_ADD)
                && index_mode(e.mode) == Some(mode)
                && Stat::from_fs(&meta).is_ok_and(|s| e.stat.matches(&s, self.stat_options))
                && !e.stat.is_racy(self.index.timestamp(), self.stat_options)
        });
        if let (Some(e), Some(h)) = (unchanged_since_indexed, head) {
            if from_gix(&e.id) == Some(h.oid) && h.mode == mode {
                return Ok(Verdict::Unchanged);
            }
        }
        Ok(Verdict::Read { meta, mode_in_index })
    }

    /// Read the file at `path` (which `meta` describes), and compare it with HEAD's.
    fn compare_read(
        &self,
        path: Vec<u8>,
        meta: &Metadata,
        mode_in_index: Option<EntryMode>,
        head: Option<&TreeEntry>,
    ) -> Result<Option<WorktreeChange>, VcsError> {
        let deleted = |path: Vec<u8>| head.map(|_| WorktreeChange::Deleted { path });
        let Some(mode) = self.disk_mode(meta, mode_in_index) else {
            return Ok(deleted(path));
        };
        let abs = self.workdir.join(rel_path(&path)?);
        let content = if meta.is_symlink() {
            match std::fs::read_link(&abs) {
                Ok(target) => match gix::path::into_bstr(target) {
                    Ok(t) => t.into_owned().into(),
                    Err(_) => {
                        return Err(VcsError::Git(format!(
                            "the target of symlink {} is not valid on this platform",
                            abs.display()
                        )))
                    }
                },
                Err(e) if is_missing(&e) => return Ok(deleted(path)),
                Err(e) => return Err(io_err("read symlink", &abs, e)),
            }
        } else {
            match std::fs::read(&abs) {
                Ok(c) => c,
                Err(e) if is_missing(&e) => return Ok(deleted(path)),
                Err(e) => return Err(io_err("read", &abs, e)),
            }
        };
        let oid = Repo::hash_blob(&content);
        if head.is_some_and(|h| h.oid == oid && h.mode == mode) {
            return Ok(None);
        }
        Ok(Some(WorktreeChange::Upsert { path, mode, oid, content }))
    }

    /// What git would record for this file: `None` if it is not a file or symlink.
    fn disk_mode(&self, meta: &Metadata, in_index: Option<EntryMode>) -> Option<EntryMode> {
        if meta.is_symlink() {
            return Some(EntryMode::Symlink);
        }
        if !meta.is_file() {
            return None;
        }
        // core.symlinks=false: a symlink is checked out as a file holding its target.
        if !self.symlinks && in_index == Some(EntryMode::Symlink) {
            return Some(EntryMode::Symlink);
        }
        if self.executable_bit {
            Some(if meta.is_executable() { EntryMode::Executable } else { EntryMode::File })
        } else {
            Some(match in_index {
                Some(EntryMode::Executable) => EntryMode::Executable,
                _ => EntryMode::File,
            })
        }
    }

    /// `lstat` of a work tree path; `None` when it does not exist as such, including when
    /// one of its leading directories is a symlink or a file (git's
    /// `has_symlink_leading_path`).
    fn lstat(&self, dirs: &mut DirCache, path: &[u8]) -> Result<Option<Metadata>, VcsError> {
        if let Some(slash) = path.iter().rposition(|&b| b == b'/') {
            if !self.real_dir(dirs, &path[..slash])? {
                return Ok(None);
            }
        }
        let abs = self.workdir.join(rel_path(path)?);
        match Metadata::from_path_no_follow(&abs) {
            Ok(m) => Ok(Some(m)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(io_err("stat", &abs, e)),
        }
    }

    fn real_dir(&self, cache: &mut DirCache, dir: &[u8]) -> Result<bool, VcsError> {
        if let Some((last, ok)) = &cache.last {
            if last == dir {
                return Ok(*ok);
            }
        }
        let ok = match cache.dirs.get(dir) {
            Some(&ok) => ok,
            None => {
                let parent_ok = match dir.iter().rposition(|&b| b == b'/') {
                    Some(slash) => self.real_dir(cache, &dir[..slash])?,
                    None => true,
                };
                let ok = parent_ok && {
                    let abs = self.workdir.join(rel_path(dir)?);
                    match std::fs::symlink_metadata(&abs) {
                        Ok(m) => m.is_dir(),
                        Err(e) if is_missing(&e) => false,
                        Err(e) => return Err(io_err("stat", &abs, e)),
                    }
                };
                cache.dirs.insert(dir.to_vec(), ok);
                ok
            }
        };
        cache.last = Some((dir.to_vec(), ok));
        Ok(ok)
    }
}

/// The walk for untracked files.
struct Walk<'a> {
    workdir: &'a Path,
    index: &'a gix::index::State,
    ignore_case: bool,
    /// `.gitignore` matchers of the directories being walked, outermost first, each with
    /// the length of its directory's path prefix (with the trailing '/').
    stack: Vec<(usize, Gitignore)>,
    /// `$GIT_DIR/info/exclude` then `core.excludesFile`: consulted after every
    /// `.gitignore`, in this order.
    base: Vec<Gitignore>,
    out: Vec<Vec<u8>>,
}

impl<'a> Walk<'a> {
    fn new(repo: &gix::Repository, workdir: &'a Path, index: &'a gix::index::State, ignore_case: bool) -> Self {
        let mut base = Vec::new();
        let info_exclude = repo.common_dir().join("info").join("exclude");
        // An unset core.excludesFile means $XDG_CONFIG_HOME/git/ignore (or
        // ~/.config/git/ignore); an unusable value means none, as for git.
        let excludes_file: Option<PathBuf> = match repo.config_snapshot().trusted_path("core.excludesFile") {
            Ok(Some(p)) => Some(p),
            Ok(None) => {
                gix::path::env::xdg_config("ignore", &mut |name| std::env::var_os(name).filter(|v| !v.is_empty()))
            }
            Err(_) => None,
        };
        for file in std::iter::once(info_exclude).chain(excludes_file) {
            if let Some(gi) = load_ignore_file(workdir, &file, ignore_case) {
                base.push(gi);
            }
        }
        Walk { workdir, index, ignore_case, stack: Vec::new(), base, out: Vec::new() }
    }

    /// Walk directory `rel` ("" for the root, else with a trailing '/').
    fn dir(&mut self, rel: &mut Vec<u8>, depth: usize) -> Result<(), VcsError> {
        if depth > MAX_TREE_DEPTH {
            return Err(VcsError::Git(format!(
                "work tree directories nested deeper than {MAX_TREE_DEPTH} levels at '{}'",
                String::from_utf8_lossy(rel)
            )));
        }
        let abs = match rel.split_last() {
            Some((_, dir)) => self.workdir.join(rel_path(dir)?),
            None => self.workdir.to_owned(),
        };
        let read = match std::fs::read_dir(&abs) {
            Ok(r) => r,
            Err(e) if is_missing(&e) => return Ok(()),
            Err(e) => return Err(io_err("read directory", &abs, e)),
        };
        let mut names: Vec<(Vec<u8>, FileType)> = Vec::new();
        for entry in read {
            let entry = entry.map_err(|e| io_err("read directory", &abs, e))?;
            let file_type = entry.file_type().map_err(|e| io_err("stat", &entry.path(), e))?;
            let name = entry.file_name();
            let name = gix::path::os_str_into_bstr(&name).map_err(|_| {
                VcsError::Git(format!("file name {:?} in {} is not valid on this platform", name, abs.display()))
            })?;
            names.push((name.to_vec(), file_type));
        }
        if !rel.is_empty() && names.iter().any(|(n, _)| n == b".git") && is_repository(&abs) {
            // A nested repository (submodule or not): not part of this work tree.
            return Ok(());
        }
        let pushed = names.iter().any(|(n, t)| n == b".gitignore" && !t.is_dir())
            && match load_ignore_file(&abs, &abs.join(".gitignore"), self.ignore_case) {
                Some(gi) => {
                    self.stack.push((rel.len(), gi));
                    true
                }
                None => false,
            };
        for (name, file_type) in names {
            if name == b".git" {
                continue;
            }
            let len = rel.len();
            rel.extend_from_slice(&name);
            if file_type.is_dir() {
                if !self.is_submodule(rel) && !self.ignored(rel, true)? {
                    rel.push(b'/');
                    self.dir(rel, depth + 1)?;
                }
            } else if (file_type.is_file() || file_type.is_symlink())
                && self.index.entry_index_by_path(rel.as_bstr()).is_err()
                && !self.ignored(rel, false)?
            {
                self.out.push(rel.clone());
            }
            rel.truncate(len);
        }
        if pushed {
            self.stack.pop();
        }
        Ok(())
    }

    fn is_submodule(&self, rel: &[u8]) -> bool {
        let gitlink = self.index.entry_by_path(rel.as_bstr()).is_some_and(|e| e.mode == Mode::COMMIT);
        // A sparse index's directory entry ("dir/"): outside the sparse checkout.
        gitlink
            || (self.index.is_sparse() && {
                let mut dir = rel.to_vec();
                dir.push(b'/');
                self.index.entry_by_path(dir.as_bstr()).is_some_and(|e| e.mode == Mode::DIR)
            })
    }

    /// git's precedence: the deepest `.gitignore` with a matching pattern decides (its
    /// last matching line), then info/exclude, then core.excludesFile.
    fn ignored(&self, rel: &[u8], is_dir: bool) -> Result<bool, VcsError> {
        use ignore::Match;
        for (prefix, gi) in self.stack.iter().rev() {
            match gi.matched(rel_path(&rel[*prefix..])?, is_dir) {
                Match::Ignore(_) => return Ok(true),
                Match::Whitelist(_) => return Ok(false),
                Match::None => {}
            }
        }
        let path = rel_path(rel)?;
        for gi in &self.base {
            match gi.matched(path, is_dir) {
                Match::Ignore(_) => return Ok(true),
                Match::Whitelist(_) => return Ok(false),
                Match::None => {}
            }
        }
        Ok(false)
    }
}

/// A gitignore-style file whose patterns are relative to `root`; `None` if it does not
/// exist or has no usable pattern. Invalid lines are skipped, as git does.
fn load_ignore_file(root: &Path, file: &Path, ignore_case: bool) -> Option<Gitignore> {
    if !file.is_file() {
        return None;
    }
    let mut builder = GitignoreBuilder::new(root);
    let _ = builder.case_insensitive(ignore_case);
    let _ = builder.add(file);
    let gi = builder.build().ok()?;
    (!gi.is_empty()).then_some(gi)
}

/// Does `dir` (which holds a `.git` entry) look like a repository, as git's
/// `is_nonbare_repository_dir` checks: a `.git` directory with a HEAD, or a gitfile.
fn is_repository(dir: &Path) -> bool {
    let dot_git = dir.join(".git");
    match std::fs::symlink_metadata(&dot_git) {
        Ok(m) if m.is_dir() => dot_git.join("HEAD").exists(),
        Ok(m) if m.is_file() => std::fs::read(&dot_git).is_ok_and(|c| c.starts_with(b"gitdir: ")),
        _ => false,
    }
}
