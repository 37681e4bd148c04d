//! Named snapshots: forks, working-tree and patch states, and their
//! lifecycle (list, drop). A named snapshot is one ref, `name/<NAME>`; a fork
//! writes that ref and nothing else.

use std::collections::HashMap;
use std::sync::Arc;

use grove_base::{EntryMode, GitOid};
use grove_indexer::{Change, IndexSummary, Indexer, Progress};
use grove_manifest::{commit_ref, get_ref, load_refs, with_ref_lock, DocRef, ManifestError, Snapshot};
use grove_store::{ObjectId, Store};
use grove_vcs::{Repo, WorktreeChange};

use crate::{Engine, EngineError, ResolvedRev};

/// The ref under which a user-named snapshot is kept.
pub fn name_ref(name: &str) -> String {
    format!("name/{name}")
}

/// The name `grove search --worktree` keeps the working tree's state under.
pub const WORKTREE_NAME: &str = ".worktree";

/// One line of `grove list`.
#[derive(Clone, Debug)]
pub struct ListEntry {
    /// `commit <sha>` refs are shown by commit; named ones by name.
    pub name: String,
    pub named: bool,
    pub snapshot: ObjectId,
    pub commit: GitOid,
    pub files: u64,
    /// Bytes of searchable content the snapshot holds (its blobs, once each).
    pub bytes: u64,
    /// Of those, bytes whose blobs other snapshots hold too.
    pub shared_bytes: u64,
    /// Git tags and branches currently pointing at `commit` (for commit refs).
    pub git_refs: Vec<String>,
}

/// What `apply` did.
#[derive(Clone, Debug)]
pub struct ApplyReport {
    pub snapshot: ObjectId,
    pub changed_files: usize,
    pub summary: IndexSummary,
}

fn valid_name(name: &str) -> Result<(), EngineError> {
    let ok = !name.is_empty()
        && !name.contains(char::is_whitespace)
        && !name.chars().any(|c| c.is_control())
        && name.len() <= 200;
    if ok {
        Ok(())
    } else {
        Err(EngineError::Invalid(format!(
            "invalid snapshot name '{name}': use a non-empty name without spaces or control characters"
        )))
    }
}

impl Engine {
    /// The snapshot id a revision or snapshot name designates, indexing a
    /// commit first if needed.
    pub fn snapshot_of(&self, rev: &ResolvedRev, progress: &dyn Progress) -> Result<ObjectId, EngineError> {
        if let Some(id) = rev.snapshot {
            return Ok(id);
        }
        let store = self.store_for_writing()?;
        if let Some(id) = get_ref(&store, &commit_ref(rev.commit.oid))? {
            return Ok(id);
        }
        self.index(std::slice::from_ref(rev), progress)?;
        get_ref(&store, &commit_ref(rev.commit.oid))?
            .ok_or_else(|| EngineError::Invalid(format!("indexing {} left no snapshot", rev.label)))
    }

    /// `grove fork SRC NAME`: NAME shares everything with SRC; one ref write.
    pub fn fork(&self, src: &str, name: &str, progress: &dyn Progress) -> Result<ObjectId, EngineError> {
        valid_name(name)?;
        let store = self.store_for_writing()?;
        // Fast path, one read and one write of the ref table: SRC already
        // has a snapshot (a name, or an indexed commit).
        let done = with_ref_lock::<_, EngineError>(&store, |refs| {
            let id = match refs.get(&name_ref(src))? {
                Some(id) => Some(id),
                // The id alone (no object read) finds an indexed commit.
                None => match self.repo.rev_id(src) {
                    Some(oid) => refs.get(&commit_ref(oid))?,
                    None => None,
                },
            };
            if let Some(id) = id {
                refs.set(&name_ref(name), id)?;
            }
            Ok(id)
        })?;
        if let Some(id) = done {
            return Ok(id);
        }
        let rev = self.resolve_one(src)?;
        let id = self.snapshot_of(&rev, progress)?;
        self.set_name(name, id)?;
        Ok(id)
    }

    fn set_name(&self, name: &str, id: ObjectId) -> Result<(), EngineError> {
        let store = self.store_for_writing()?;
        with_ref_lock::<_, ManifestError>(&store, |refs| refs.set(&name_ref(name), id))?;
        Ok(())
    }

    /// `grove apply NAME --rev REV`: NAME now designates REV's snapshot,
    /// derived by diff from the nearest indexed ancestor.
    pub fn apply_rev(&self, name: &str, rev: &str, progress: &dyn Progress) -> Result<ApplyReport, EngineError> {
        valid_name(name)?;
        let r = self.resolve_one(rev)?;
        let store = self.store_for_writing()?;
        let summary = if r.snapshot.is_none() {
            self.index(std::slice::from_ref(&r), progress)?
        } else {
            IndexSummary::default()
        };
        let id = match r.snapshot {
            Some(id) => id,
            None => get_ref(&store, &commit_ref(r.commit.oid))?
                .ok_or_else(|| EngineError::Invalid(format!("indexing {rev} left no snapshot")))?,
        };
        self.set_name(name, id)?;
        Ok(ApplyReport { snapshot: id, changed_files: 0, summary })
    }

    /// `grove apply NAME --worktree`: HEAD's snapshot plus the working
    /// tree's changes (modified, deleted, untracked and not ignored files).
    pub fn apply_worktree(&self, name: &str, progress: &dyn Progress) -> Result<ApplyReport, EngineError> {
        valid_name(name)?;
        let wc = self.repo.worktree_changes()?;
        let store = self.store_for_writing()?;
        let (base, commit) = match wc.head {
            Some(head) => {
                let rev = ResolvedRev { label: "HEAD".into(), commit: head, snapshot: None };
                let id = self.snapshot_of(&rev, progress)?;
                (Some(Snapshot::load(&store, id)?), head)
            }
            None => (None, grove_vcs::Commit { oid: GitOid::NULL, tree: GitOid::NULL }),
        };
        let changes: Vec<Change> = wc
            .changes
            .into_iter()
            .map(|c| match c {
                WorktreeChange::Upsert { path, mode, oid, content } => {
                    Change::Upsert { path, mode, oid, content: Some(Arc::new(content)) }
                }
                WorktreeChange::Deleted { path } => Change::Delete { path },
            })
            .collect();
        self.derive_named(&store, name, base.as_ref(), commit, changes, progress)
    }

    /// The working tree as it is now: its snapshot (`WORKTREE_NAME`)
    /// refreshed incrementally, labelled `worktree`.
    pub fn worktree(&self, progress: &dyn Progress) -> Result<ResolvedRev, EngineError> {
        self.apply_worktree(WORKTREE_NAME, progress)?;
        let mut r = self.resolve_one(WORKTREE_NAME)?;
        r.label = "worktree".into();
        Ok(r)
    }

    /// `grove apply NAME --patch`: applies a unified diff to NAME's snapshot
    /// (or to `base` / HEAD when NAME does not exist yet) without touching
    /// any file on disk. A patch that does not apply changes nothing.
    pub fn apply_patch(
        &self,
        name: &str,
        patch: &[u8],
        base: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<ApplyReport, EngineError> {
        valid_name(name)?;
        let store = self.store_for_writing()?;
        let base_rev = match (base, get_ref(&store, &name_ref(name))?) {
            (Some(b), _) => self.resolve_one(b)?,
            (None, Some(_)) => self.resolve_one(name)?,
            (None, None) => self.resolve_one("HEAD")?,
        };
        let base_id = self.snapshot_of(&base_rev, progress)?;
        let base_snap = Snapshot::load(&store, base_id)?;
        let parsed = grove_patch::parse(patch)?;
        let by_path: HashMap<&[u8], &grove_manifest::Entry> =
            base_snap.entries.iter().map(|e| (e.path.as_slice(), e)).collect();
        let mut changes = Vec::new();
        let mut local = None;
        for fp in &parsed.files {
            let old = match &fp.old_path {
                None => None,
                Some(p) => {
                    let e = by_path.get(p.as_slice()).ok_or_else(|| {
                        EngineError::Patch(grove_patch::PatchError::MissingFile {
                            path: grove_base::lossy(p).into_owned(),
                        })
                    })?;
                    Some((*e, self.read_entry(&store, &base_snap, e, &mut local)?))
                }
            };
            let new = grove_patch::apply_file(fp, old.as_ref().map(|(_, c)| c.as_slice()))?;
            if let (Some(old_path), true) = (&fp.old_path, fp.new_path.as_ref() != fp.old_path.as_ref()) {
                changes.push(Change::Delete { path: old_path.clone() });
            }
            if let (Some(new_path), Some(content)) = (&fp.new_path, new) {
                let mode = match fp.new_mode {
                    Some(m) => mode_of(m),
                    None => old.as_ref().map_or(EntryMode::File, |(e, _)| e.mode),
                };
                let oid = Repo::hash_blob(&content);
                changes.push(Change::Upsert { path: new_path.clone(), mode, oid, content: Some(Arc::new(content)) });
            }
        }
        let commit = grove_vcs::Commit { oid: base_snap.commit, tree: base_snap.tree };
        self.derive_named(&store, name, Some(&base_snap), commit, changes, progress)
    }

    fn derive_named(
        &self,
        store: &Store,
        name: &str,
        base: Option<&Snapshot>,
        commit: grove_vcs::Commit,
        changes: Vec<Change>,
        progress: &dyn Progress,
    ) -> Result<ApplyReport, EngineError> {
        let changed_files = changes.len();
        let indexer = Indexer::new(&self.repo, store, self.opts.index.clone()).with_cache(&self.cache);
        let (id, _snap, summary) = indexer.derive(base, commit.oid, commit.tree, changes, progress)?;
        indexer.publish(vec![(name_ref(name), id)])?;
        self.auto_compact(store, &[id])?;
        Ok(ApplyReport { snapshot: id, changed_files, summary })
    }

    /// A file's current bytes in a snapshot: from its segment, or from git
    /// for files the index set aside (too large).
    fn read_entry(
        &self,
        store: &Store,
        snap: &Snapshot,
        e: &grove_manifest::Entry,
        local: &mut Option<grove_vcs::LocalRepo>,
    ) -> Result<Vec<u8>, EngineError> {
        let mut buf = Vec::new();
        match e.doc {
            DocRef::Indexed { segment, doc } => {
                let seg = grove_indexer::open_segment(store, snap.segments[segment as usize])?;
                seg.content_into(doc, &mut buf).map_err(|source| {
                    EngineError::Index(grove_indexer::IndexError::Segment {
                        path: snap.segments[segment as usize].to_hex(),
                        source,
                    })
                })?;
            }
            DocRef::Skipped { .. } => {
                local.get_or_insert_with(|| self.repo.local()).read_blob(e.git_oid, &mut buf)?;
            }
        }
        Ok(buf)
    }

    /// Reads a file of a resolved revision (for `read_file`-style front ends).
    pub fn read_file(
        &self,
        rev: &ResolvedRev,
        path: &[u8],
        progress: &dyn Progress,
    ) -> Result<Option<Vec<u8>>, EngineError> {
        let store = self.store_for_writing()?;
        let id = self.snapshot_of(rev, progress)?;
        let snap = Snapshot::load(&store, id)?;
        let Ok(i) = snap.entries.binary_search_by(|e| e.path.as_slice().cmp(path)) else { return Ok(None) };
        let mut local = None;
        Ok(Some(self.read_entry(&store, &snap, &snap.entries[i], &mut local)?))
    }

    /// `grove drop NAME`: removes a named snapshot, or the snapshot of a
    /// revision. Its files are reclaimed by the next `grove gc`.
    pub fn drop_snapshot(&self, name: &str) -> Result<String, EngineError> {
        let store = Store::open(&self.index_dir)?;
        let key = if get_ref(&store, &name_ref(name))?.is_some() {
            name_ref(name)
        } else {
            match self.repo.resolve(name) {
                Ok(c) if get_ref(&store, &commit_ref(c.oid))?.is_some() => commit_ref(c.oid),
                _ => {
                    return Err(EngineError::Invalid(format!(
                        "no snapshot named '{name}' and no indexed revision '{name}'"
                    )))
                }
            }
        };
        with_ref_lock::<_, ManifestError>(&store, |refs| refs.remove(&key))?;
        Ok(key)
    }

    /// `grove list`: every ref with its size and how much it shares.
    pub fn list(&self) -> Result<Vec<ListEntry>, EngineError> {
        let store = match Store::open(&self.index_dir) {
            Ok(s) => s,
            Err(grove_store::StoreError::Missing { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let refs = load_refs(&store)?;
        let mut snaps: HashMap<ObjectId, Snapshot> = HashMap::new();
        for (_, id) in refs.iter() {
            if let std::collections::hash_map::Entry::Vacant(slot) = snaps.entry(id) {
                slot.insert(Snapshot::load(&store, id)?);
            }
        }
        // How many distinct snapshots hold each blob.
        let mut holders: HashMap<GitOid, u32> = HashMap::new();
        for s in snaps.values() {
            let mut mine: Vec<GitOid> = s.entries.iter().map(|e| e.git_oid).collect();
            mine.sort_unstable();
            mine.dedup();
            for oid in mine {
                *holders.entry(oid).or_default() += 1;
            }
        }
        let mut by_commit: HashMap<GitOid, Vec<String>> = HashMap::new();
        for (r, _) in self.repo.all_refs().unwrap_or_default() {
            by_commit.entry(r.commit).or_default().push(r.name);
        }
        let mut out = Vec::new();
        let mut open: HashMap<ObjectId, Arc<grove_segment::Segment>> = HashMap::new();
        for (name, id) in refs.iter() {
            let s = &snaps[&id];
            let (named, shown) = match name.strip_prefix("name/") {
                Some(n) => (true, n.to_string()),
                None => (false, name.strip_prefix("commit/").unwrap_or(name).to_string()),
            };
            let mut seen = std::collections::HashSet::new();
            let (mut bytes, mut shared) = (0u64, 0u64);
            for e in &s.entries {
                let size = match e.doc {
                    DocRef::Indexed { .. } => entry_size(&store, &mut open, s, e).unwrap_or(0),
                    DocRef::Skipped { size, .. } => size,
                };
                if seen.insert(e.git_oid) {
                    bytes += size;
                    if holders[&e.git_oid] > 1 {
                        shared += size;
                    }
                }
            }
            out.push(ListEntry {
                name: shown,
                named,
                snapshot: id,
                commit: s.commit,
                files: s.entries.len() as u64,
                bytes,
                shared_bytes: shared,
                git_refs: if named { Vec::new() } else { by_commit.get(&s.commit).cloned().unwrap_or_default() },
            });
        }
        Ok(out)
    }
}

/// A document's size from its segment's doc table; segments are opened once
/// per listing (`open`).
fn entry_size(
    store: &Store,
    open: &mut HashMap<ObjectId, Arc<grove_segment::Segment>>,
    s: &Snapshot,
    e: &grove_manifest::Entry,
) -> Option<u64> {
    let DocRef::Indexed { segment, doc } = e.doc else { return None };
    let seg_id = s.segments[segment as usize];
    let seg = match open.entry(seg_id) {
        std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => v.insert(grove_indexer::open_segment(store, seg_id).ok()?),
    };
    (doc < seg.num_docs()).then(|| seg.doc(doc).size)
}

fn mode_of(m: grove_patch::FileMode) -> EntryMode {
    match m {
        grove_patch::FileMode::Executable => EntryMode::Executable,
        grove_patch::FileMode::Symlink => EntryMode::Symlink,
        _ => EntryMode::File,
    }
}
