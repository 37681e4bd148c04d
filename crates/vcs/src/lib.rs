//! grove-vcs: the only crate of grove that talks to git (through gix).
//!
//! * [`Repo`] is the shared, `Send + Sync` view of one repository: discovery, revision
//!   parsing, recursive tree listing, ref listing.
//! * [`LocalRepo`] is a cheap per-thread handle for reading blobs (one per rayon worker).
//! * Deriving snapshots from other snapshots: [`Repo::diff_trees`] (commit to commit),
//!   [`Repo::ancestors`] (which indexed commit to start from), [`Repo::worktree_changes`]
//!   (the working tree as an overlay on HEAD) and [`Repo::hash_blob`] (oids of bytes
//!   that are not in git, such as patched files).
//!
//! Every fallible call returns a [`VcsError`]; nothing here panics on bad input or on a
//! damaged repository.
//!
//! ## Caches
//!
//! * The pack delta-base cache (gix feature `max-performance` → `pack-cache-lru-static`)
//!   is per handle: a 64-slot LRU capped at 96 MiB (gix's default, overridable through
//!   `gitoxide.core.deltaBaseCacheLimit` / `core.deltaBaseCacheLimit`). It is what makes
//!   reading deltified blobs of old revisions fast.
//! * The decoded-object cache is only enabled on the handle that [`Repo`] keeps for
//!   commits, tags and trees ([`TREE_OBJECT_CACHE_BYTES`]): listing the trees of many
//!   revisions re-reads the same unchanged subtrees. [`LocalRepo`] has none: the indexer
//!   reads every blob once (it memoizes git oid → content id), so caching decoded blobs
//!   would only cost a copy per read and memory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, TryLockError};

use gix::prelude::Find;
use grove_base::{EntryMode, GitOid};

mod diff;
mod worktree;

/// Size of the decoded-object cache of the handle used for commits, tags and trees.
pub const TREE_OBJECT_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Trees nested deeper than this are reported as an error (git's `core.maxTreeDepth`
/// defaults to 2048 as well).
const MAX_TREE_DEPTH: usize = 2048;

/// Tags pointing at tags pointing at ... at most this deep.
const MAX_PEEL_DEPTH: usize = 64;

const EMPTY_TREE: [u8; 20] = [
    0x4b, 0x82, 0x5d, 0xc6, 0x42, 0xcb, 0x6e, 0xb9, 0xa0, 0x60, 0xe5, 0x4b, 0xf8, 0xd6, 0x92, 0x88, 0xfb, 0xee, 0x49,
    0x04,
];
const EMPTY_BLOB: [u8; 20] = [
    0xe6, 0x9d, 0xe2, 0x9b, 0xb2, 0xd1, 0xd6, 0x43, 0x4b, 0x8b, 0x29, 0xae, 0x77, 0x5a, 0xd8, 0xc2, 0xe4, 0x8c, 0x53,
    0x91,
];

/// A commit and its root tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commit {
    pub oid: GitOid,
    pub tree: GitOid,
}

/// One file of a tree, with its full path ('/'-separated, raw bytes as git stores them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeEntry {
    pub path: Vec<u8>,
    pub oid: GitOid,
    pub mode: EntryMode,
}

/// Which refs [`Repo::refs_matching`] lists. Ordered `Tag < Branch` (see [`Repo::all_refs`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefKind {
    /// `refs/tags/*`
    Tag,
    /// `refs/heads/*` (local branches)
    Branch,
}

/// A tag or branch by short name (`v1.0`, `main`), peeled to the commit it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedRef {
    pub name: String,
    pub commit: GitOid,
}

#[derive(thiserror::Error, Debug)]
pub enum VcsError {
    #[error("not a git repository (or any parent up to /): {}", path.display())]
    NotARepository { path: PathBuf },
    #[error("unknown revision '{rev}': {reason}")]
    UnknownRevision { rev: String, reason: String },
    #[error("revision '{rev}' does not name a commit")]
    NotACommit { rev: String },
    #[error("invalid glob '{glob}': {reason}")]
    InvalidGlob { glob: String, reason: String },
    #[error("git: {0}")]
    Git(String),
    #[error(
        "the repository at {} is bare: it has no working tree to compare with HEAD \
         (run from a checkout, or name a revision instead)",
        git_dir.display()
    )]
    NoWorkTree { git_dir: PathBuf },
}

/// One changed path between two trees (recursive, files only: blobs, executables,
/// symlinks; gitlinks are ignored). See [`Repo::diff_trees`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeChange {
    /// A file that only the new tree has (also: a gitlink or a directory became a file).
    Added { path: Vec<u8>, oid: GitOid, mode: EntryMode },
    /// A file that only the old tree has (also: a file became a gitlink or a directory).
    Deleted { path: Vec<u8> },
    /// A file in both trees whose content and/or mode changed: the new oid and mode.
    Modified { path: Vec<u8>, oid: GitOid, mode: EntryMode },
}

impl TreeChange {
    /// The full '/'-separated path of the changed file.
    pub fn path(&self) -> &[u8] {
        match self {
            TreeChange::Added { path, .. } | TreeChange::Deleted { path } | TreeChange::Modified { path, .. } => path,
        }
    }
}

/// The working tree relative to HEAD, see [`Repo::worktree_changes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorktreeChanges {
    /// HEAD's commit, `None` when HEAD is unborn (then every file is an upsert).
    pub head: Option<Commit>,
    /// Sorted by path bytes, one change per path.
    pub changes: Vec<WorktreeChange>,
}

/// One file of the working tree that differs from HEAD's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorktreeChange {
    /// New or modified relative to HEAD (tracked-modified or untracked), with its bytes as
    /// they are on disk (a symlink: its target) and their git blob id.
    Upsert { path: Vec<u8>, mode: EntryMode, oid: GitOid, content: Vec<u8> },
    /// In HEAD's tree, absent from the working tree (or no longer a file there).
    Deleted { path: Vec<u8> },
}

impl WorktreeChange {
    /// The path relative to the work tree root, '/'-separated bytes.
    pub fn path(&self) -> &[u8] {
        match self {
            WorktreeChange::Upsert { path, .. } | WorktreeChange::Deleted { path } => path,
        }
    }
}

/// A repository, shareable between threads.
pub struct Repo {
    inner: gix::ThreadSafeRepository,
    /// A thread-local handle kept warm (object cache for trees) for `resolve`,
    /// `tree_entries` and `refs_matching`. When another thread holds it, a fresh
    /// handle is made for the call instead of waiting.
    shared: Mutex<gix::Repository>,
}

/// A per-thread handle for reading blobs. `Send`, not `Sync`: make one per worker thread.
pub struct LocalRepo {
    repo: gix::Repository,
}

#[allow(dead_code)]
fn _assert_thread_safety() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Repo>();
    send::<LocalRepo>();
}

impl fmt::Debug for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repo").field("git_dir", &self.git_dir()).field("work_dir", &self.work_dir()).finish()
    }
}

impl fmt::Debug for LocalRepo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRepo").field("git_dir", &self.repo.git_dir()).finish()
    }
}

impl Repo {
    /// Find the repository containing `start` (a directory, or a file: then its
    /// directory), walking up the parents like git does. Finds work trees (`.git`
    /// directory or file, linked worktrees included) and bare repositories. Does not look
    /// at `GIT_DIR` and friends. Paths are made absolute first, so [`Repo::git_dir`] and
    /// [`Repo::work_dir`] are absolute.
    pub fn discover(start: &Path) -> Result<Repo, VcsError> {
        let abs = std::path::absolute(start)
            .map_err(|e| VcsError::Git(format!("cannot resolve path {}: {e}", start.display())))?;
        let meta =
            std::fs::metadata(&abs).map_err(|e| VcsError::Git(format!("cannot access {}: {e}", abs.display())))?;
        // A file: start from the directory holding it.
        let dir = match abs.parent() {
            Some(parent) if !meta.is_dir() => parent,
            _ => abs.as_path(),
        };
        let inner = gix::ThreadSafeRepository::discover(dir).map_err(|e| {
            use gix::discover::upwards::Error as E;
            match e.downcast_any_ref::<E>() {
                Some(
                    E::NoGitRepository { .. }
                    | E::NoGitRepositoryWithinCeiling { .. }
                    | E::NoGitRepositoryWithinFs { .. },
                ) => VcsError::NotARepository { path: abs.clone() },
                _ => VcsError::Git(format!("cannot open repository at {}: {}", abs.display(), err_msg(&e))),
            }
        })?;
        let mut shared = inner.to_thread_local();
        shared.object_cache_size(TREE_OBJECT_CACHE_BYTES);
        Ok(Repo { inner, shared: Mutex::new(shared) })
    }

    /// The git directory (`.git`, `.git/worktrees/NAME`, or the bare repository itself).
    pub fn git_dir(&self) -> &Path {
        self.inner.git_dir()
    }

    /// The work tree, `None` for a bare repository.
    pub fn work_dir(&self) -> Option<&Path> {
        self.inner.work_dir()
    }

    /// Resolve any revision git accepts that names a commit (`HEAD`, `HEAD~3`, `main`,
    /// `v1.0` (annotated tags are peeled), a full or abbreviated sha, `main^{commit}`, ...).
    /// The object id a ref name (or full hex id) points at, following
    /// symbolic refs but reading no object (an annotated tag's id is the tag
    /// object's). `None` for anything else (`HEAD~2`, abbreviations). Lets callers
    /// that already know a commit by its id (the index) skip the object
    /// database, whose pack indexes are costly to open on large repositories.
    pub fn rev_id(&self, rev: &str) -> Option<GitOid> {
        self.with_repo(|repo| {
            if rev.len() == 40 {
                if let Some(oid) = GitOid::from_hex(rev) {
                    return Some(oid);
                }
            }
            // Follow symbolic refs to a direct one; never read an object.
            let mut r = repo.try_find_reference(rev).ok()??;
            for _ in 0..8 {
                if let Some(id) = r.target().try_id() {
                    return from_gix(id);
                }
                r = r.follow()?.ok()?;
            }
            None
        })
    }

    pub fn resolve(&self, rev: &str) -> Result<Commit, VcsError> {
        self.with_repo(|repo| {
            let id = match repo.rev_parse_single(rev) {
                Ok(id) => id.detach(),
                Err(e) => return Err(unknown_revision(repo, rev, rev_parse_reason(&e))),
            };
            let mut buf = Vec::new();
            match peel_to_commit(repo, id, &mut buf) {
                Ok(Some(commit)) => Ok(commit),
                Ok(None) => Err(VcsError::NotACommit { rev: rev.to_owned() }),
                Err(PeelError::Missing(oid)) => Err(VcsError::UnknownRevision {
                    rev: rev.to_owned(),
                    reason: format!("object {oid} does not exist"),
                }),
                Err(PeelError::Other(msg)) => Err(VcsError::Git(msg)),
            }
        })
    }

    /// All files of `tree`, recursively, in git's order (that of `git ls-tree -r`), with
    /// full '/'-separated paths. Trees themselves and submodules (gitlinks) are left out.
    pub fn tree_entries(&self, tree: GitOid) -> Result<Vec<TreeEntry>, VcsError> {
        self.with_repo(|repo| walk_tree(repo, tree))
    }

    /// Tags or local branches whose short name matches `glob`, as `git tag -l GLOB` and
    /// `git branch --list GLOB` match (wildmatch without `FNM_PATHNAME`: `*` and `?` match
    /// '/' too), sorted by name, peeled to commits. Refs that do not lead to a commit
    /// (tags of trees or blobs) and broken refs are left out, as git does.
    pub fn refs_matching(&self, kind: RefKind, glob: &str) -> Result<Vec<NamedRef>, VcsError> {
        let matcher = compile_glob(glob)?;
        self.with_repo(|repo| list_refs(repo, kind, Some(&matcher)))
    }

    /// The short name of the branch HEAD is on (`main`), or `None` when HEAD
    /// is detached or unborn.
    pub fn head_branch(&self) -> Option<String> {
        self.with_repo(|repo| {
            let name = repo.head_name().ok()??;
            Some(name.shorten().to_string())
        })
    }

    /// Every tag and local branch, peeled to commits, sorted by kind (tags first) then
    /// by name. Like [`Repo::refs_matching`] with the glob `*`: refs that do not lead to
    /// a commit and broken refs are left out.
    pub fn all_refs(&self) -> Result<Vec<(NamedRef, RefKind)>, VcsError> {
        self.with_repo(|repo| {
            let mut out = Vec::new();
            for kind in [RefKind::Tag, RefKind::Branch] {
                out.extend(list_refs(repo, kind, None)?.into_iter().map(|r| (r, kind)));
            }
            Ok(out)
        })
    }

    /// The changes that turn tree `from` into tree `to`, sorted by path bytes: files only
    /// (gitlinks are ignored), no rename detection (a rename is `Deleted` + `Added`).
    /// Subtrees with the same oid on both sides are skipped without being read, so the
    /// cost is proportional to what changed. A file replaced by a directory (or the
    /// reverse) yields `Deleted`/`Added` for every affected file. The result equals
    /// `git diff-tree -r --no-renames A B` minus gitlinks (a type change between a file
    /// and a symlink is `Modified`).
    pub fn diff_trees(&self, from: GitOid, to: GitOid) -> Result<Vec<TreeChange>, VcsError> {
        self.with_repo(|repo| diff::diff_trees(repo, from, to))
    }

    /// Commits reachable from `commit` (itself first), breadth-first: by distance in
    /// parent links, each commit's parents in order (so merges' second parents are
    /// included), each commit once, at most `limit` of them. Every commit returned has
    /// been read; the parents of a shallow clone's boundary commits are not followed.
    pub fn ancestors(&self, commit: GitOid, limit: usize) -> Result<Vec<GitOid>, VcsError> {
        self.with_repo(|repo| ancestors(repo, commit, limit))
    }

    /// The git blob id of `bytes`: sha1 of `"blob <len>\0"` followed by the bytes, as
    /// `git hash-object` computes it. (For inputs crafted to collide, which git refuses,
    /// this is the plain SHA-1 all the same.)
    pub fn hash_blob(bytes: &[u8]) -> GitOid {
        let mut hasher = sha1dc::Hasher::new();
        hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
        hasher.update(bytes);
        let digest = match hasher.finalize() {
            Ok(d) => d,
            Err(collision) => collision.digest(),
        };
        GitOid(digest.into())
    }

    /// The working tree relative to HEAD, as `git status` sees it: tracked files whose
    /// content (or mode) on disk differs from HEAD's tree (staged or not), tracked files
    /// deleted from the work tree (or replaced by a directory), HEAD's files removed from
    /// the index, and untracked files that are not ignored (`.gitignore` files,
    /// `$GIT_DIR/info/exclude`, `core.excludesFile`). Files whose bytes and mode on disk
    /// equal HEAD's are never reported, whatever the index says. Sorted by path.
    ///
    /// Like `git status`, unchanged files are recognised by the stat data cached in the
    /// git index (honouring `core.trustCTime`, `core.checkStat` and racily clean
    /// entries); only files that may have changed are read and hashed. Submodules and
    /// nested repositories are skipped; `core.fileMode` and `core.symlinks` are honoured.
    /// Files marked skip-worktree or assume-unchanged are taken from the index. The index
    /// is only read, never refreshed or written. Content is taken as it is on disk:
    /// clean filters and end-of-line conversion from `.gitattributes` are not applied.
    /// An unreadable file or directory that would have to be read is an error.
    ///
    /// Errors with [`VcsError::NoWorkTree`] in a bare repository.
    pub fn worktree_changes(&self) -> Result<WorktreeChanges, VcsError> {
        self.with_repo(worktree::worktree_changes)
    }

    /// A handle for reading blobs on the calling thread. Cheap (no I/O); make one per
    /// worker thread.
    pub fn local(&self) -> LocalRepo {
        let mut repo = self.inner.to_thread_local();
        repo.object_cache_size(None);
        LocalRepo { repo }
    }

    fn with_repo<T>(&self, f: impl FnOnce(&gix::Repository) -> T) -> T {
        match self.shared.try_lock() {
            Ok(guard) => f(&guard),
            Err(TryLockError::WouldBlock) | Err(TryLockError::Poisoned(_)) => {
                let mut repo = self.inner.to_thread_local();
                repo.object_cache_size(TREE_OBJECT_CACHE_BYTES / 8);
                f(&repo)
            }
        }
    }
}

impl LocalRepo {
    /// The size of blob `oid`, from the object header (a loose object inflates only its
    /// header; a packed delta only the start of its delta chain).
    pub fn blob_size(&self, oid: GitOid) -> Result<u64, VcsError> {
        let id = to_gix(oid);
        match self.repo.try_find_header(id) {
            Ok(Some(h)) => {
                if h.kind() != gix::object::Kind::Blob {
                    return Err(VcsError::Git(format!("object {oid} is a {}, not a blob", h.kind())));
                }
                Ok(h.size())
            }
            Ok(None) if oid.0 == EMPTY_BLOB => Ok(0),
            Ok(None) => Err(VcsError::Git(format!("blob {oid} does not exist"))),
            Err(e) => Err(VcsError::Git(format!("cannot read blob {oid}: {}", err_msg(&e)))),
        }
    }

    /// Clear `buf` and fill it with the bytes of blob `oid`.
    pub fn read_blob(&self, oid: GitOid, buf: &mut Vec<u8>) -> Result<(), VcsError> {
        read_blob_with(&self.repo, oid, buf)
    }
}

fn list_refs(
    repo: &gix::Repository,
    kind: RefKind,
    matcher: Option<&globset::GlobMatcher>,
) -> Result<Vec<NamedRef>, VcsError> {
    let platform = repo.references().map_err(git_err)?;
    let (iter, prefix): (_, &[u8]) = match kind {
        RefKind::Tag => (platform.tags().map_err(git_err)?, b"refs/tags/"),
        RefKind::Branch => (platform.local_branches().map_err(git_err)?, b"refs/heads/"),
    };
    let mut out = Vec::new();
    for r in iter {
        // Unreadable refs are skipped, like git's "ignoring broken ref".
        let Ok(mut r) = r else { continue };
        let full: &[u8] = r.name().as_bstr();
        let Some(short) = full.strip_prefix(prefix) else {
            continue;
        };
        let name = String::from_utf8_lossy(short).into_owned();
        if matcher.is_some_and(|m| !m.is_match(&name)) {
            continue;
        }
        // Follows symbolic refs and tag objects; uses the peeled ids that
        // `packed-refs` records, so most annotated tags cost no object read.
        let Ok(id) = r.peel_to_id() else { continue };
        let id = id.detach();
        let is_commit = matches!(
            repo.try_find_header(id),
            Ok(Some(h)) if h.kind() == gix::object::Kind::Commit
        );
        if let (true, Some(commit)) = (is_commit, from_gix(&id)) {
            out.push(NamedRef { name, commit });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn ancestors(repo: &gix::Repository, start: GitOid, limit: usize) -> Result<Vec<GitOid>, VcsError> {
    use std::collections::{HashSet, VecDeque};
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    // The boundary of a shallow clone: these commits' parents are absent on purpose.
    let shallow: HashSet<GitOid> = match repo.shallow_commits().map_err(git_err)? {
        Some(commits) => commits.iter().filter_map(|id| from_gix(id)).collect(),
        None => HashSet::new(),
    };
    let mut seen: HashSet<GitOid> = HashSet::from([start]);
    let mut queue: VecDeque<GitOid> = VecDeque::from([start]);
    let mut buf = Vec::new();
    let mut parents = Vec::new();
    while let Some(oid) = queue.pop_front() {
        read_commit_parents(repo, oid, &mut buf, &mut parents)?;
        out.push(oid);
        if out.len() >= limit {
            break;
        }
        if shallow.contains(&oid) {
            continue;
        }
        for &p in &parents {
            if seen.insert(p) {
                queue.push_back(p);
            }
        }
    }
    Ok(out)
}

/// Read commit `oid` and put its parents, in order, into `parents`.
fn read_commit_parents(
    repo: &gix::Repository,
    oid: GitOid,
    buf: &mut Vec<u8>,
    parents: &mut Vec<GitOid>,
) -> Result<(), VcsError> {
    parents.clear();
    let data = match repo.objects.try_find(&to_gix(oid), buf) {
        Ok(Some(data)) => data,
        Ok(None) => return Err(VcsError::Git(format!("commit {oid} does not exist"))),
        Err(e) => return Err(VcsError::Git(format!("cannot read commit {oid}: {}", err_msg(&e)))),
    };
    if data.kind != gix::object::Kind::Commit {
        return Err(VcsError::Git(format!("object {oid} is a {}, not a commit", data.kind)));
    }
    let malformed = || VcsError::Git(format!("commit {oid} is malformed"));
    // `tree HEX\n` then zero or more `parent HEX\n`.
    let mut rest = data.data.strip_prefix(b"tree ").ok_or_else(malformed)?;
    rest = rest.get(41..).ok_or_else(malformed)?;
    while let Some(r) = rest.strip_prefix(b"parent ") {
        let parent = header_oid(rest, b"parent ").ok_or_else(malformed)?;
        parents.push(parent);
        rest = r.get(41..).ok_or_else(malformed)?;
    }
    Ok(())
}

/// Clear `buf` and fill it with the bytes of blob `oid`.
fn read_blob_with(repo: &gix::Repository, oid: GitOid, buf: &mut Vec<u8>) -> Result<(), VcsError> {
    let id = to_gix(oid);
    let found = match repo.objects.try_find(&id, buf) {
        Ok(Some(data)) => Some((data.kind, data.data.as_ptr() as usize, data.data.len())),
        Ok(None) => None,
        Err(e) => {
            buf.clear();
            return Err(VcsError::Git(format!("cannot read blob {oid}: {}", err_msg(&e))));
        }
    };
    match found {
        Some((gix::object::Kind::Blob, ptr, len)) => {
            settle(buf, ptr, len);
            Ok(())
        }
        Some((kind, _, _)) => {
            buf.clear();
            Err(VcsError::Git(format!("object {oid} is a {kind}, not a blob")))
        }
        None if oid.0 == EMPTY_BLOB => {
            buf.clear();
            Ok(())
        }
        None => {
            buf.clear();
            Err(VcsError::Git(format!("blob {oid} does not exist")))
        }
    }
}

/// gix hands back a slice of `buf`; make `buf` exactly that slice (it always is at the
/// time of writing, this only guards against a future change).
fn settle(buf: &mut Vec<u8>, ptr: usize, len: usize) {
    let start = buf.as_ptr() as usize;
    if ptr == start && len <= buf.len() {
        buf.truncate(len);
    } else if ptr >= start && ptr + len <= start + buf.len() {
        let off = ptr - start;
        buf.copy_within(off..off + len, 0);
        buf.truncate(len);
    } else {
        // Not inside `buf`: cannot happen with gix's Find contract; keep memory safety.
        buf.clear();
    }
}

fn to_gix(oid: GitOid) -> gix::ObjectId {
    gix::ObjectId::Sha1(oid.0)
}

fn from_gix(id: &gix::oid) -> Option<GitOid> {
    id.as_bytes().try_into().ok().map(GitOid)
}

/// All messages of a gix error chain, outermost first, joined by ": ".
fn err_msg(e: &gix::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for err in e.iter_errors() {
        let s = err.to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// The messages of a rev-parse error minus gix's parser-internal frames
/// ("couldn't parse revision, input=...", "delegate.traverse(...) failed, ...").
fn rev_parse_reason(e: &gix::Error) -> String {
    const NOISE: &[&str] = &["couldn't parse revision", "delegate.", "unknown navigation", "The ref partially named"];
    let mut parts: Vec<String> = Vec::new();
    for err in e.iter_errors() {
        let s = err.to_string();
        if !s.is_empty() && !NOISE.iter().any(|n| s.starts_with(n)) && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    if parts.is_empty() {
        err_msg(e)
    } else {
        parts.join(": ")
    }
}

fn git_err(e: gix::Error) -> VcsError {
    VcsError::Git(err_msg(&e))
}

fn unknown_revision(repo: &gix::Repository, rev: &str, reason: String) -> VcsError {
    let mentions_head = rev.starts_with("HEAD") || rev.starts_with('@');
    let reason = match repo.head() {
        Ok(head) if mentions_head && head.is_unborn() => {
            let branch =
                head.referent_name().map(|n| String::from_utf8_lossy(n.shorten()).into_owned()).unwrap_or_default();
            format!("HEAD does not point to a commit yet (branch '{branch}' has no commits)")
        }
        _ => reason,
    };
    VcsError::UnknownRevision { rev: rev.to_owned(), reason }
}

enum PeelError {
    Missing(GitOid),
    Other(String),
}

/// Follow tags to the object they name; `Ok(None)` when that is a tree or a blob.
fn peel_to_commit(
    repo: &gix::Repository,
    mut id: gix::ObjectId,
    buf: &mut Vec<u8>,
) -> Result<Option<Commit>, PeelError> {
    for _ in 0..MAX_PEEL_DEPTH {
        let oid = from_gix(&id).ok_or_else(|| PeelError::Other(format!("unsupported object id {id}")))?;
        if oid.0 == EMPTY_TREE {
            return Ok(None);
        }
        let data = match repo.objects.try_find(&id, buf) {
            Ok(Some(data)) => data,
            Ok(None) => return Err(PeelError::Missing(oid)),
            Err(e) => return Err(PeelError::Other(format!("cannot read object {oid}: {}", err_msg(&e)))),
        };
        match data.kind {
            gix::object::Kind::Commit => {
                let tree = header_oid(data.data, b"tree ")
                    .ok_or_else(|| PeelError::Other(format!("commit {oid} is malformed (no tree)")))?;
                return Ok(Some(Commit { oid, tree }));
            }
            gix::object::Kind::Tag => {
                let target = header_oid(data.data, b"object ")
                    .ok_or_else(|| PeelError::Other(format!("tag {oid} is malformed (no object)")))?;
                id = to_gix(target);
            }
            gix::object::Kind::Tree | gix::object::Kind::Blob => return Ok(None),
        }
    }
    Err(PeelError::Other(format!("tag chain longer than {MAX_PEEL_DEPTH} at {id}")))
}

/// Parse the first line of a commit (`tree HEX`) or tag (`object HEX`).
fn header_oid(data: &[u8], key: &[u8]) -> Option<GitOid> {
    let rest = data.strip_prefix(key)?;
    let hex = rest.get(..40)?;
    if rest.get(40) != Some(&b'\n') {
        return None;
    }
    GitOid::from_hex(std::str::from_utf8(hex).ok()?)
}

struct Frame {
    data: Vec<u8>,
    pos: usize,
    prefix_len: usize,
}

/// Load tree `oid` into `buf` (exactly the tree's bytes).
fn load_tree(repo: &gix::Repository, oid: GitOid, path: &[u8], buf: &mut Vec<u8>) -> Result<(), VcsError> {
    let where_ = || {
        if path.is_empty() {
            String::new()
        } else {
            format!(" (at '{}')", String::from_utf8_lossy(path))
        }
    };
    if oid.0 == EMPTY_TREE {
        buf.clear();
        return Ok(());
    }
    let found = match repo.objects.try_find(&to_gix(oid), buf) {
        Ok(Some(data)) => Some((data.kind, data.data.as_ptr() as usize, data.data.len())),
        Ok(None) => None,
        Err(e) => {
            return Err(VcsError::Git(format!("cannot read tree {oid}{}: {}", where_(), err_msg(&e))));
        }
    };
    match found {
        Some((gix::object::Kind::Tree, ptr, len)) => {
            settle(buf, ptr, len);
            Ok(())
        }
        Some((kind, _, _)) => Err(VcsError::Git(format!("object {oid}{} is a {kind}, not a tree", where_()))),
        None => Err(VcsError::Git(format!("tree {oid}{} does not exist", where_()))),
    }
}

/// One raw tree entry: `MODE SP NAME NUL OID20`. Returns (mode, name range, oid, next pos).
fn parse_entry(data: &[u8], pos: usize) -> Option<(u32, std::ops::Range<usize>, [u8; 20], usize)> {
    let rest = &data[pos..];
    let sp = rest.iter().position(|&b| b == b' ')?;
    if sp == 0 || sp > 7 {
        return None;
    }
    let mut mode = 0u32;
    for &b in &rest[..sp] {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        mode = mode * 8 + (b - b'0') as u32;
    }
    let name_start = sp + 1;
    let nul = name_start + rest[name_start..].iter().position(|&b| b == 0)?;
    let oid: [u8; 20] = rest.get(nul + 1..nul + 21)?.try_into().ok()?;
    Some((mode, pos + name_start..pos + nul, oid, pos + nul + 21))
}

enum Kind {
    Tree,
    Entry(EntryMode),
    Gitlink,
}

/// git's `canon_mode`: regular files by their owner-execute bit, anything unknown is a gitlink.
fn classify(mode: u32) -> Kind {
    match mode & 0o170000 {
        0o100000 if mode & 0o100 != 0 => Kind::Entry(EntryMode::Executable),
        0o100000 => Kind::Entry(EntryMode::File),
        0o120000 => Kind::Entry(EntryMode::Symlink),
        0o040000 => Kind::Tree,
        _ => Kind::Gitlink,
    }
}

fn walk_tree(repo: &gix::Repository, root: GitOid) -> Result<Vec<TreeEntry>, VcsError> {
    let mut out = Vec::new();
    let mut path: Vec<u8> = Vec::new();
    let mut spare: Vec<Vec<u8>> = Vec::new();
    let mut data = Vec::new();
    load_tree(repo, root, &path, &mut data)?;
    let mut stack = vec![Frame { data, pos: 0, prefix_len: 0 }];
    while let Some(top) = stack.last_mut() {
        if top.pos >= top.data.len() {
            if let Some(f) = stack.pop() {
                spare.push(f.data);
            }
            continue;
        }
        let tree_oid_for_msg = top.pos;
        let Some((mode, name, oid, next)) = parse_entry(&top.data, top.pos) else {
            path.truncate(top.prefix_len);
            return Err(VcsError::Git(format!(
                "malformed tree entry at byte {tree_oid_for_msg} of tree '{}' under root tree {root}",
                String::from_utf8_lossy(&path)
            )));
        };
        top.pos = next;
        path.truncate(top.prefix_len);
        path.extend_from_slice(&top.data[name]);
        match classify(mode) {
            Kind::Entry(mode) => out.push(TreeEntry { path: path.clone(), oid: GitOid(oid), mode }),
            Kind::Gitlink => {}
            Kind::Tree => {
                if stack.len() >= MAX_TREE_DEPTH {
                    return Err(VcsError::Git(format!(
                        "tree {root} is nested deeper than {MAX_TREE_DEPTH} levels at '{}'",
                        String::from_utf8_lossy(&path)
                    )));
                }
                path.push(b'/');
                let mut data = spare.pop().unwrap_or_default();
                load_tree(repo, GitOid(oid), &path, &mut data)?;
                stack.push(Frame { data, pos: 0, prefix_len: path.len() });
            }
        }
    }
    Ok(out)
}

/// Compile a `git tag -l` / `git branch --list` pattern (wildmatch, no `FNM_PATHNAME`)
/// into a globset matcher with the same meaning:
/// * `*` and `?` match '/' too (runs of `*` are one `*`; `**` is not special);
/// * `{a,b}` is literal text, as in git;
/// * `[...]`, `[!...]`, `[^...]` classes and `\` escapes work as in git.
///
/// Deviations (reported as [`VcsError::InvalidGlob`] where git silently matches nothing):
/// an unclosed `[`, a trailing `\`, reversed ranges, POSIX classes like `[[:alpha:]]`
/// and `\` inside `[...]`.
fn compile_glob(glob: &str) -> Result<globset::GlobMatcher, VcsError> {
    let invalid = |reason: &str| VcsError::InvalidGlob { glob: glob.to_owned(), reason: reason.to_owned() };
    let mut out = String::with_capacity(glob.len() + 8);
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => return Err(invalid("trailing backslash")),
            },
            '*' => {
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                out.push('*');
            }
            '?' => out.push('?'),
            '[' => {
                out.push('[');
                if let Some(&n) = chars.peek() {
                    if n == '!' || n == '^' {
                        chars.next();
                        out.push('!');
                    }
                }
                let mut first = true;
                let mut closed = false;
                while let Some(k) = chars.next() {
                    match k {
                        ']' if !first => {
                            out.push(']');
                            closed = true;
                            break;
                        }
                        '\\' => return Err(invalid("'\\' inside [...] is not supported")),
                        '[' if chars.peek() == Some(&':') => {
                            return Err(invalid("character classes like [:alpha:] are not supported"));
                        }
                        k => out.push(k),
                    }
                    first = false;
                }
                if !closed {
                    return Err(invalid("unclosed '['"));
                }
            }
            '{' | '}' | ']' | ',' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    globset::GlobBuilder::new(&out)
        .literal_separator(false)
        .backslash_escape(true)
        .case_insensitive(false)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| invalid(&e.kind().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_translation() {
        let m = |g: &str, s: &str| compile_glob(g).unwrap().is_match(s);
        assert!(m("v*", "v1.0"));
        assert!(m("v*", "v1/rc"));
        assert!(m("v**", "v1/rc"));
        assert!(m("*/*", "a/b"));
        assert!(!m("v*", "x1"));
        assert!(m("v?.0", "v1.0"));
        assert!(m("v{1,2}", "v{1,2}"));
        assert!(!m("v{1,2}", "v1"));
        assert!(m("[!a]x", "bx"));
        assert!(m("[^a]x", "bx"));
        assert!(!m("[^a]x", "ax"));
        assert!(m("[]]", "]"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("", ""));
        assert!(compile_glob("[abc").is_err());
        assert!(compile_glob("abc\\").is_err());
    }

    #[test]
    fn classify_modes() {
        assert!(matches!(classify(0o100644), Kind::Entry(EntryMode::File)));
        assert!(matches!(classify(0o100664), Kind::Entry(EntryMode::File)));
        assert!(matches!(classify(0o100755), Kind::Entry(EntryMode::Executable)));
        assert!(matches!(classify(0o120000), Kind::Entry(EntryMode::Symlink)));
        assert!(matches!(classify(0o040000), Kind::Tree));
        assert!(matches!(classify(0o160000), Kind::Gitlink));
    }

    #[test]
    fn header_parsing() {
        let t = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent x\n";
        assert_eq!(header_oid(t.as_bytes(), b"tree ").unwrap().0, EMPTY_TREE);
        assert!(header_oid(b"tree 4b82\n", b"tree ").is_none());
        assert!(header_oid(b"", b"tree ").is_none());
    }
}
