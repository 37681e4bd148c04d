//! The indexer: git revisions → snapshots.
//!
//! For a set of commits it lists their trees, looks every blob up in the
//! memo (git oid → document of a stored segment), reads and indexes only the
//! blobs never seen before — in parallel — into new segments, and then writes
//! one snapshot per commit and points `commit/<sha>` at it.
//!
//! Commit protocol (see docs/ARCHITECTURE.md, "Durability"):
//! 1. segments are written (temp → fsync → rename → fsync dir);
//! 2. snapshots are written the same way;
//! 3. the refs are renamed into place under the writer lock (durable with
//!    the next write's directory fsync, or gc's, whichever comes first).
//!
//! A crash between steps leaves only unreferenced, complete objects. Because
//! the memo is built from every segment on disk, referenced or not, the next
//! run reuses them instead of redoing the work.
//!
//! Architecture invariant: the indexer never decides what matches; it only
//! records content. It talks to git only through `grove-vcs`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove_base::{ContentId, EntryMode, GitOid, SkipReason};
use grove_manifest::{
    commit_ref, compose_changes, get_ref, ref_files, with_ref_lock, DocRef, Entry, EntryChange, ManifestError,
    PreparedRefs, Snapshot, SnapshotHeader, MAX_DELTA_DEPTH,
};
use grove_segment::{DocInput, PreparedDoc, Segment, SegmentError, SegmentWriter};
use grove_store::{Kind, ObjectId, Store, StoreError};
use grove_vcs::{Commit, Repo, TreeChange, TreeEntry, VcsError};
use rayon::prelude::*;

pub mod maintenance;

/// Reports progress of long work; implemented by front ends (a progress bar).
pub trait Progress: Sync {
    fn start(&self, _what: &str, _total: u64) {}
    fn inc(&self, _n: u64) {}
    fn finish(&self) {}
}

/// A `Progress` that shows nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

#[derive(Clone, Debug)]
pub struct IndexOptions {
    /// Files larger than this are skipped (and reported).
    pub max_file_size: u64,
    pub zstd_level: i32,
    /// A segment is closed once it holds this much raw content.
    pub segment_target_bytes: u64,
    /// Compact when a commit indexed as a delta trips the tier rule, writing
    /// the compaction with the commit (`None`: never here).
    pub compact: Option<maintenance::CompactOptions>,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            max_file_size: 2 << 20,
            zstd_level: 1,
            segment_target_bytes: 128 << 20,
            compact: Some(maintenance::CompactOptions::default()),
        }
    }
}

#[derive(thiserror::Error, Debug)]
pub enum IndexError {
    #[error(transparent)]
    Vcs(#[from] VcsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{path}: {source}; rebuild with `grove index --rebuild`")]
    Segment { path: String, source: SegmentError },
    #[error("{0}")]
    Concurrent(String),
    #[error("{path}: segment file is missing; rebuild with `grove index --rebuild`")]
    MissingSegment { path: String },
}

/// What one `index` call did.
#[derive(Clone, Debug, Default)]
pub struct IndexSummary {
    /// Commits asked for, and the snapshot of each.
    pub snapshots: Vec<(GitOid, ObjectId)>,
    /// Commits that were already indexed.
    pub already_indexed: usize,
    /// Tracked files over all newly indexed commits.
    pub files: u64,
    /// Blobs read and indexed in this call, and their bytes.
    pub new_blobs: u64,
    pub new_bytes: u64,
    /// Tracked files that are not searchable (binary, too large).
    pub skipped: u64,
    pub segments_written: usize,
    pub elapsed: Duration,
    /// Wall time per phase, for `grove index --verbose` and benchmarks.
    pub phases: Vec<(&'static str, Duration)>,
    /// Whether the states written were already checked against the
    /// compaction policy.
    pub compaction_checked: bool,
    /// The compaction written together with them, if any.
    pub compaction: Option<maintenance::CompactReport>,
}

/// Where a blob's indexed content lives.
#[derive(Clone, Copy, Debug)]
enum Known {
    Doc { segment: ObjectId, doc: u32, size: u64 },
    Skipped { reason: SkipReason, size: u64 },
}

pub struct Indexer<'a> {
    repo: &'a Repo,
    store: &'a Store,
    opts: IndexOptions,
    cache: Option<&'a IndexerCache>,
    /// Files that base snapshots (loaded while finding ancestors) recorded as
    /// binary or too large: known without reading them again.
    skipped_in_bases: std::sync::Mutex<Vec<(GitOid, Known)>>,
}

/// One change to apply to a base state (the diff applier's input).
#[derive(Clone, Debug)]
pub enum Change {
    /// A new or modified file. `content` is given for states git does not
    /// hold (working tree, patches); otherwise the blob is read from git by
    /// `oid` if it was never indexed.
    Upsert {
        path: Vec<u8>,
        mode: EntryMode,
        oid: GitOid,
        content: Option<Arc<Vec<u8>>>,
    },
    Delete {
        path: Vec<u8>,
    },
}

impl Change {
    fn path(&self) -> &[u8] {
        match self {
            Change::Upsert { path, .. } | Change::Delete { path } => path,
        }
    }
}

/// Where the bytes of a blob to index come from.
#[derive(Clone, Debug)]
enum BlobSource {
    Git(GitOid),
    Bytes(GitOid, Arc<Vec<u8>>),
}

impl BlobSource {
    fn oid(&self) -> GitOid {
        match self {
            BlobSource::Git(oid) | BlobSource::Bytes(oid, _) => *oid,
        }
    }
}

/// A commit's tree and file list.
type TreeState = (GitOid, Arc<Vec<TreeEntry>>);

/// How far back `index` looks for an indexed ancestor to diff from.
const ANCESTOR_SEARCH_LIMIT: usize = 256;

impl<'a> Indexer<'a> {
    pub fn new(repo: &'a Repo, store: &'a Store, opts: IndexOptions) -> Self {
        Indexer { repo, store, opts, cache: None, skipped_in_bases: Default::default() }
    }

    /// Keeps opened segments (and their blob tables) and the snapshot
    /// headers compaction planning reads in `cache` between calls: a
    /// long-lived process indexing one commit after another reads them once,
    /// not once per commit.
    pub fn with_cache(mut self, cache: &'a IndexerCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Indexes the given commits (those not indexed yet) and returns the
    /// snapshot of each. Each commit is derived from its nearest indexed
    /// ancestor by a tree diff when there is one (cost proportional to what
    /// changed); only blobs never indexed before are read.
    pub fn index_commits(&self, commits: &[Commit], progress: &dyn Progress) -> Result<IndexSummary, IndexError> {
        let started = Instant::now();
        let mut summary = IndexSummary::default();
        let mut todo: Vec<Commit> = Vec::new();
        let mut seen = HashSet::new();
        for c in commits {
            if !seen.insert(c.oid) {
                continue;
            }
            if get_ref(self.store, &commit_ref(c.oid))?.is_some() {
                summary.already_indexed += 1;
            } else {
                todo.push(*c);
            }
        }
        if todo.is_empty() {
            summary.snapshots = self.snapshot_ids(commits)?;
            summary.elapsed = started.elapsed();
            return Ok(summary);
        }

        // One commit after an indexed one — the common incremental case — is
        // written as a delta: cost proportional to what changed.
        if let [one] = todo[..] {
            if self.index_one_as_delta(one, &mut summary, progress)? {
                summary.snapshots = self.snapshot_ids(commits)?;
                summary.elapsed = started.elapsed();
                return Ok(summary);
            }
        }

        let mut phase = Instant::now();
        let mut lap = |summary: &mut IndexSummary, name: &'static str| {
            summary.phases.push((name, phase.elapsed()));
            phase = Instant::now();
        };
        // The file list of every commit: base entries + tree diff, or a full
        // listing when no indexed ancestor is near.
        let mut states: HashMap<GitOid, TreeState> = HashMap::new();
        for c in &todo {
            let entries = match self.find_base(c.oid, &states)? {
                Some((base_tree, base_entries)) => {
                    let diff = self.repo.diff_trees(base_tree, c.tree)?;
                    let changes: Vec<Change> = diff.into_iter().map(change_from_tree).collect();
                    merge_changes(&base_entries, &changes)
                }
                None => self.repo.tree_entries(c.tree)?,
            };
            states.insert(c.oid, (c.tree, Arc::new(entries)));
        }
        lap(&mut summary, "list changes");
        let mut memo = self.load_memo(None)?;
        for (oid, known) in self.skipped_in_bases.lock().expect("not poisoned").drain(..) {
            memo.entry(oid).or_insert(known);
        }
        lap(&mut summary, "load memo");

        let mut wanted: Vec<BlobSource> = Vec::new();
        let mut wanted_set = HashSet::new();
        let mut unwritten = Unwritten::default();
        for c in &todo {
            for e in states[&c.oid].1.iter() {
                if !memo.contains_key(&e.oid) && wanted_set.insert(e.oid) {
                    wanted.push(BlobSource::Git(e.oid));
                }
            }
        }
        if !wanted.is_empty() {
            self.index_blobs(&wanted, &mut memo, &mut summary, progress, &mut unwritten)?;
        }
        lap(&mut summary, "index blobs");

        // One snapshot per commit, encoded in parallel and written in one
        // durable group with the last segments; then all refs.
        // (ref name, encoded snapshot, counts) per commit.
        type Built = Result<(String, Vec<u8>, IndexSummary), IndexError>;
        let built: Vec<Built> = todo
            .par_iter()
            .map(|c| {
                let mut counts = IndexSummary::default();
                let snapshot = self.build_snapshot(c.oid, c.tree, &states[&c.oid].1, &memo, &mut counts)?;
                Ok((commit_ref(c.oid), snapshot.encode(), counts))
            })
            .collect();
        let mut names = Vec::new();
        let mut encoded = Vec::new();
        for b in built {
            let (name, bytes, counts) = b?;
            summary.files += counts.files;
            summary.skipped += counts.skipped;
            names.push(name);
            encoded.push(bytes);
        }
        let refs = self.write_objects(unwritten, &encoded, names)?;
        lap(&mut summary, "write objects");
        self.publish_prepared(refs)?;
        lap(&mut summary, "update refs");
        summary.snapshots = self.snapshot_ids(commits)?;
        summary.elapsed = started.elapsed();
        Ok(summary)
    }

    /// Indexes `c` as a delta on its nearest indexed ancestor (rebased when
    /// that one is at the depth limit: `encode_rebased`). Returns false
    /// (nothing written) when there is no such ancestor nearby; the caller
    /// then writes in full.
    fn index_one_as_delta(
        &self,
        c: Commit,
        summary: &mut IndexSummary,
        progress: &dyn Progress,
    ) -> Result<bool, IndexError> {
        let t = Instant::now();
        let mut base = None;
        for a in self.repo.ancestors(c.oid, 8)?.into_iter().skip(1) {
            if let Some(id) = get_ref(self.store, &commit_ref(a))? {
                base = Some(id);
                break;
            }
        }
        let Some(base_id) = base else { return Ok(false) };
        let header = Snapshot::header(self.store, base_id)?;
        let diff = self.repo.diff_trees(header.tree, c.tree)?;
        summary.phases.push(("list changes", t.elapsed()));
        let t = Instant::now();
        // Only the blobs of the changes are looked up.
        let mut changed: Vec<GitOid> = diff
            .iter()
            .filter_map(|d| match d {
                TreeChange::Added { oid, .. } | TreeChange::Modified { oid, .. } => Some(*oid),
                TreeChange::Deleted { .. } => None,
            })
            .collect();
        changed.sort_unstable();
        changed.dedup();
        let mut memo = self.load_memo(Some(&changed))?;
        summary.phases.push(("load memo", t.elapsed()));
        let mut unwritten = Unwritten::default();
        let mut wanted = Vec::new();
        let mut wanted_set = HashSet::new();
        for d in &diff {
            if let TreeChange::Added { oid, .. } | TreeChange::Modified { oid, .. } = d {
                if !memo.contains_key(oid) && wanted_set.insert(*oid) {
                    wanted.push(BlobSource::Git(*oid));
                }
            }
        }
        let t = Instant::now();
        if !wanted.is_empty() {
            self.index_blobs(&wanted, &mut memo, summary, progress, &mut unwritten)?;
        }
        summary.phases.push(("index blobs", t.elapsed()));
        let t = Instant::now();
        let mut segments: Vec<ObjectId> = Vec::new();
        let mut files = header.files as i64;
        let mut changes = Vec::with_capacity(diff.len());
        for d in diff {
            let (path, oid, mode, added) = match d {
                TreeChange::Deleted { path } => {
                    files -= 1;
                    changes.push(EntryChange::Delete(path));
                    continue;
                }
                TreeChange::Added { path, oid, mode } => (path, oid, mode, true),
                TreeChange::Modified { path, oid, mode } => (path, oid, mode, false),
            };
            files += i64::from(added);
            let doc = self.doc_ref(&memo, oid, &mut segments, summary, &path)?;
            changes.push(EntryChange::Set(Entry { path, mode, git_oid: oid, doc }));
        }
        summary.files = files.max(0) as u64;
        let bytes = if header.depth < MAX_DELTA_DEPTH {
            Snapshot::encode_delta(c.oid, c.tree, (base_id, &header), segments, &changes, summary.files)
        } else {
            self.encode_rebased(c, (base_id, &header), segments, changes, summary.files)?
        };
        if let Some(opts) = &self.opts.compact {
            // A commit that trips the tier rule is written together with the
            // compaction: one group of objects, one round of refs.
            let seg_ids: Vec<ObjectId> = unwritten.segments.iter().map(|b| ObjectId::of(b)).collect();
            let snap_id = ObjectId::of(&bytes);
            let overlay = maintenance::Overlay {
                segments: seg_ids.iter().copied().zip(unwritten.segments.iter().map(Vec::as_slice)).collect(),
                snapshots: vec![(snap_id, bytes.as_slice())],
                refs: vec![(commit_ref(c.oid), snap_id)],
                cache: self.cache,
            };
            summary.compaction_checked = true;
            if let Some(plan) = maintenance::plan_with(self.store, opts, &overlay)? {
                summary.phases.push(("encode", t.elapsed()));
                let report = maintenance::publish(self.store, plan, &overlay)?;
                summary.phases.extend(report.phases.iter().copied());
                summary.compaction = Some(report);
                return Ok(true);
            }
        }
        let refs = self.write_objects(unwritten, &[bytes], vec![commit_ref(c.oid)])?;
        summary.phases.push(("write objects", t.elapsed()));
        let t = Instant::now();
        self.publish_prepared(refs)?;
        summary.phases.push(("update refs", t.elapsed()));
        Ok(true)
    }

    /// A commit whose base is at the end of a delta chain of the longest
    /// depth: stored as a delta on the member of that chain at half that
    /// depth (the composed changes of a few commits, read from the delta
    /// files in between; nothing is resolved). Those changes grow with the
    /// history since that member, so past a quarter of the files the commit
    /// is stored in full instead, and later chains start from it.
    fn encode_rebased(
        &self,
        c: Commit,
        base: (ObjectId, &SnapshotHeader),
        segments: Vec<ObjectId>,
        changes: Vec<EntryChange>,
        files: u64,
    ) -> Result<Vec<u8>, IndexError> {
        let (mut mid, mut mid_h) = (base.0, base.1.clone());
        while mid_h.depth > MAX_DELTA_DEPTH / 2 {
            let Some(next) = mid_h.base else { break };
            mid = next;
            mid_h = Snapshot::header(self.store, mid)?;
        }
        let below = Snapshot::changes_since(self.store, base.0, mid)?;
        if (below.1.len() + changes.len()) as u64 <= files / 4 {
            let (segments, changes) = compose_changes(below, (segments, changes));
            return Ok(Snapshot::encode_delta(c.oid, c.tree, (mid, &mid_h), segments, &changes, files));
        }
        let resolved = Snapshot::load(self.store, base.0)?.apply(c.oid, c.tree, segments, changes);
        Ok(resolved.pruned().encode())
    }

    /// Where a blob of the state lives, as a snapshot entry's `DocRef`
    /// (segment index into `segments`, extended as needed).
    fn doc_ref(
        &self,
        memo: &HashMap<GitOid, Known>,
        oid: GitOid,
        segments: &mut Vec<ObjectId>,
        summary: &mut IndexSummary,
        path: &[u8],
    ) -> Result<DocRef, IndexError> {
        let doc = match memo.get(&oid).copied() {
            Some(Known::Doc { size, .. }) if size > self.opts.max_file_size => {
                DocRef::Skipped { reason: SkipReason::TooLarge, size }
            }
            Some(Known::Doc { segment, doc, .. }) => {
                DocRef::Indexed { segment: grove_manifest::segment_index(segments, segment), doc }
            }
            Some(Known::Skipped { reason, size }) => DocRef::Skipped { reason, size },
            None => {
                return Err(IndexError::Concurrent(format!(
                    "{}: blob {oid} was neither indexed nor set aside; run the command again",
                    grove_base::lossy(path)
                )))
            }
        };
        if matches!(doc, DocRef::Skipped { .. }) {
            summary.skipped += 1;
        }
        Ok(doc)
    }

    /// Derives a new snapshot from `base` (or from nothing) plus `changes`,
    /// indexing only content never seen before. Writes segments and the
    /// snapshot; the caller decides which ref points at it.
    pub fn derive(
        &self,
        base: Option<&Snapshot>,
        commit: GitOid,
        tree: GitOid,
        mut changes: Vec<Change>,
        progress: &dyn Progress,
    ) -> Result<(ObjectId, Snapshot, IndexSummary), IndexError> {
        let started = Instant::now();
        let mut summary = IndexSummary::default();
        changes.sort_by(|a, b| a.path().cmp(b.path()));
        let base_entries: Vec<TreeEntry> = base.map(snapshot_tree_entries).unwrap_or_default();
        let entries = merge_changes(&base_entries, &changes);
        let mut memo = self.load_memo(None)?;
        if let Some(base) = base {
            remember_skipped(&mut memo, base);
        }
        // A file set aside as too large under a smaller limit is indexed now
        // if the current limit admits it.
        for c in &changes {
            if let Change::Upsert { oid, .. } = c {
                if let Some(Known::Skipped { reason: SkipReason::TooLarge, size }) = memo.get(oid) {
                    if *size <= self.opts.max_file_size {
                        memo.remove(oid);
                    }
                }
            }
        }
        let mut wanted = Vec::new();
        let mut wanted_set = HashSet::new();
        for c in &changes {
            if let Change::Upsert { oid, content, .. } = c {
                if !memo.contains_key(oid) && wanted_set.insert(*oid) {
                    wanted.push(match content {
                        Some(bytes) => BlobSource::Bytes(*oid, bytes.clone()),
                        None => BlobSource::Git(*oid),
                    });
                }
            }
        }
        // Entries inherited from the base are in the memo already, unless the
        // base came from elsewhere; read whatever is still unknown from git.
        for e in &entries {
            if !memo.contains_key(&e.oid) && wanted_set.insert(e.oid) {
                wanted.push(BlobSource::Git(e.oid));
            }
        }
        let mut unwritten = Unwritten::default();
        if !wanted.is_empty() {
            self.index_blobs(&wanted, &mut memo, &mut summary, progress, &mut unwritten)?;
        }
        let snapshot = self.build_snapshot(commit, tree, &entries, &memo, &mut summary)?;
        let bytes = snapshot.encode();
        let id = self.write_objects(unwritten, &[bytes], Vec::new())?.1[0];
        summary.elapsed = started.elapsed();
        Ok((id, snapshot, summary))
    }

    /// Points refs at snapshots in one atomic swap, after checking (under the
    /// writer lock) that every segment they use still exists — a concurrent
    /// `gc` may have removed an unreferenced segment this run reused.
    pub fn publish(&self, new_refs: Vec<(String, ObjectId)>) -> Result<(), IndexError> {
        let ids: Vec<ObjectId> = new_refs.iter().map(|(_, id)| *id).collect();
        with_ref_lock(self.store, |refs| -> Result<(), IndexError> {
            self.check_segments_exist(&ids)?;
            let named: Vec<(&str, ObjectId)> = new_refs.iter().map(|(n, id)| (n.as_str(), *id)).collect();
            refs.set_many(&named)?;
            Ok(())
        })
    }

    /// [`Indexer::publish`] for ref files staged with their snapshots.
    fn publish_prepared(&self, (prepared, ids): (PreparedRefs, Vec<ObjectId>)) -> Result<(), IndexError> {
        with_ref_lock(self.store, |refs| -> Result<(), IndexError> {
            self.check_segments_exist(&ids)?;
            refs.install(prepared)?;
            Ok(())
        })
    }

    /// Under the writer lock: every segment the snapshots use is still there.
    fn check_segments_exist(&self, snapshots: &[ObjectId]) -> Result<(), IndexError> {
        let store = self.store;
        for id in snapshots {
            // Headers only: a delta's chain lists every segment it uses.
            let segs: Vec<ObjectId> = Snapshot::chain(store, *id)?.into_iter().flat_map(|(_, h)| h.segments).collect();
            for seg in &segs {
                if !store.path_of(Kind::Segment, *seg).exists() {
                    return Err(IndexError::Concurrent(format!(
                        "segment {} was removed by a concurrent gc; run the command again",
                        seg.short()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The nearest ancestor of `commit` that is indexed (in the store or in
    /// this batch), with its tree and file list.
    fn find_base(&self, commit: GitOid, batch: &HashMap<GitOid, TreeState>) -> Result<Option<TreeState>, IndexError> {
        let indexed = |a: &GitOid| -> Result<bool, IndexError> {
            Ok(batch.contains_key(a) || get_ref(self.store, &commit_ref(*a))?.is_some())
        };
        // Usually the parent is indexed: look near first, then further back.
        let near = self.repo.ancestors(commit, 8)?;
        let mut near_hit = false;
        for a in near.iter().skip(1) {
            if indexed(a)? {
                near_hit = true;
                break;
            }
        }
        let candidates = if near_hit { near } else { self.repo.ancestors(commit, ANCESTOR_SEARCH_LIMIT)? };
        for a in candidates {
            if a == commit {
                continue;
            }
            if let Some((tree, entries)) = batch.get(&a) {
                return Ok(Some((*tree, entries.clone())));
            }
            if let Some(id) = get_ref(self.store, &commit_ref(a))? {
                let snap = Snapshot::load(self.store, id)?;
                self.skipped_in_bases.lock().expect("not poisoned").extend(skipped_of(&snap));
                return Ok(Some((snap.tree, Arc::new(snapshot_tree_entries(&snap)))));
            }
        }
        Ok(None)
    }

    fn snapshot_ids(&self, commits: &[Commit]) -> Result<Vec<(GitOid, ObjectId)>, IndexError> {
        let mut out = Vec::with_capacity(commits.len());
        for c in commits {
            if let Some(id) = get_ref(self.store, &commit_ref(c.oid))? {
                out.push((c.oid, id));
            }
        }
        Ok(out)
    }

    /// git oid → where its content is, from every segment on disk
    /// (unreferenced ones included: a crashed run's work is reused, unless a
    /// gc has since marked it for deletion). When a
    /// blob is in several segments — compaction copies live docs into a new
    /// segment before the old ones are collected — the newest wins, so new
    /// snapshots never pull a superseded segment back to life.
    ///
    /// With `only` (sorted, distinct), just those blobs are kept: each doc
    /// table is scanned (every blob binary-searched in `only`), or, for a
    /// segment the cache has seen before, its sorted table searched; the
    /// search stops once all are found.
    fn load_memo(&self, only: Option<&[GitOid]>) -> Result<HashMap<GitOid, Known>, IndexError> {
        // Segments a gc has seen unreferenced are on their way out (mostly
        // sources of a compaction): not worth opening, and reusing them would
        // only pull them back to life.
        let pending = maintenance::pending_segments(self.store)?;
        let mut segments: Vec<(std::time::SystemTime, ObjectId)> = Vec::new();
        for id in self.store.list(Kind::Segment)? {
            if pending.contains(&id) {
                continue;
            }
            let mtime = std::fs::metadata(self.store.path_of(Kind::Segment, id))
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            segments.push((mtime, id));
        }
        segments.sort_by(|a, b| b.cmp(a));
        let mut cached = self.cache.map(|c| c.segments.lock().unwrap_or_else(|p| p.into_inner()));
        if let Some(cached) = cached.as_mut() {
            let listed: HashSet<ObjectId> = segments.iter().map(|(_, id)| *id).collect();
            cached.retain(|id, _| listed.contains(id));
        }
        let mut memo = HashMap::new();
        for (_, seg_id) in segments {
            if only.is_some_and(|o| memo.len() == o.len()) {
                break;
            }
            let mut add = |oid: GitOid, doc: u32, size: u64| {
                memo.entry(oid).or_insert(Known::Doc { segment: seg_id, doc, size });
            };
            let entry = cached.as_mut().map(|c| CachedSegment::get_or_open(c, self.store, seg_id)).transpose()?;
            // A segment looked up again (a long-lived process) gets a sorted
            // table; the first time, scanning its doc table is cheaper than
            // sorting it.
            if let Some(o) = only {
                if let Some(table) = entry.as_ref().and_then(|e| e.table()) {
                    for oid in o {
                        if let Some((doc, size)) = table.get(oid) {
                            add(*oid, doc, size);
                        }
                    }
                    continue;
                }
            }
            let segment = match &entry {
                Some(e) => e.segment.clone(),
                None => open_segment(self.store, seg_id)?,
            };
            for doc in 0..segment.num_docs() {
                let e = segment.doc(doc);
                if !e.git_oid.is_null() && only.is_none_or(|o| o.binary_search(&e.git_oid).is_ok()) {
                    add(e.git_oid, doc, e.size);
                }
            }
        }
        Ok(memo)
    }

    /// Reads, classifies and indexes `wanted` blobs into new segments.
    fn index_blobs(
        &self,
        wanted: &[BlobSource],
        memo: &mut HashMap<GitOid, Known>,
        summary: &mut IndexSummary,
        progress: &dyn Progress,
        unwritten: &mut Unwritten,
    ) -> Result<(), IndexError> {
        progress.start("indexing blobs", wanted.len() as u64);
        let mut writer = SegmentWriter::new();
        let mut pending: Vec<(GitOid, u32, u64)> = Vec::new(); // oid, doc, size
                                                               // Bounded batches keep memory flat however many blobs there are.
        const BATCH: usize = 2048;
        for batch in wanted.chunks(BATCH) {
            let prepare = |(local, buf): &mut (grove_vcs::LocalRepo, Vec<u8>), src: &BlobSource| {
                let r = self.prepare_blob(local, buf, src);
                progress.inc(1);
                r.map(|p| (src.oid(), p))
            };
            // A handful of blobs (one commit's changes) is done on this
            // thread: waking the pool would cost more than the work.
            let prepared: Vec<Result<(GitOid, Prepared), VcsError>> = if batch.len() <= 16 {
                let mut state = (self.repo.local(), Vec::new());
                batch.iter().map(|src| prepare(&mut state, src)).collect()
            } else {
                batch.par_iter().map_init(|| (self.repo.local(), Vec::new()), prepare).collect()
            };
            for item in prepared {
                let (oid, p) = item?;
                match p {
                    Prepared::Skipped(reason, size) => {
                        memo.insert(oid, Known::Skipped { reason, size });
                    }
                    Prepared::Doc(doc) => {
                        let size = doc.raw_len();
                        summary.new_blobs += 1;
                        summary.new_bytes += size;
                        let id = writer.add(doc);
                        pending.push((oid, id, size));
                    }
                }
            }
            if writer.raw_bytes() >= self.opts.segment_target_bytes {
                let full = std::mem::replace(&mut writer, SegmentWriter::new());
                self.flush_segment(full, &mut pending, memo, summary, unwritten)?;
            }
        }
        if !writer.is_empty() {
            self.flush_segment(writer, &mut pending, memo, summary, unwritten)?;
        }
        progress.finish();
        Ok(())
    }

    fn prepare_blob(
        &self,
        local: &grove_vcs::LocalRepo,
        buf: &mut Vec<u8>,
        src: &BlobSource,
    ) -> Result<Prepared, VcsError> {
        let (oid, content): (GitOid, &[u8]) = match src {
            BlobSource::Git(oid) => {
                let size = local.blob_size(*oid)?;
                if size > self.opts.max_file_size {
                    return Ok(Prepared::Skipped(SkipReason::TooLarge, size));
                }
                local.read_blob(*oid, buf)?;
                (*oid, buf)
            }
            BlobSource::Bytes(oid, bytes) => {
                if bytes.len() as u64 > self.opts.max_file_size {
                    return Ok(Prepared::Skipped(SkipReason::TooLarge, bytes.len() as u64));
                }
                (*oid, bytes)
            }
        };
        if content.contains(&0) {
            return Ok(Prepared::Skipped(SkipReason::Binary, content.len() as u64));
        }
        let doc = DocInput { content_id: ContentId::of(content), git_oid: oid, content };
        Ok(Prepared::Doc(PreparedDoc::new(doc, self.opts.zstd_level)))
    }

    fn flush_segment(
        &self,
        writer: SegmentWriter,
        pending: &mut Vec<(GitOid, u32, u64)>,
        memo: &mut HashMap<GitOid, Known>,
        summary: &mut IndexSummary,
        unwritten: &mut Unwritten,
    ) -> Result<(), IndexError> {
        let t = Instant::now();
        let bytes = writer.finish();
        summary.phases.push(("finish segment", t.elapsed()));
        // Segments wait (up to a bound on the memory they hold) to be written
        // in one durable group with the snapshots that use them: two fsync
        // rounds in all instead of two each. Past the bound, written now.
        let seg_id = if unwritten.bytes + bytes.len() <= DEFERRED_SEGMENT_BYTES {
            let id = ObjectId::of(&bytes);
            unwritten.bytes += bytes.len();
            unwritten.segments.push(bytes);
            id
        } else {
            let t = Instant::now();
            let id = self.store.put(Kind::Segment, &bytes)?;
            summary.phases.push(("write segment", t.elapsed()));
            id
        };
        summary.segments_written += 1;
        for (oid, doc, size) in pending.drain(..) {
            memo.insert(oid, Known::Doc { segment: seg_id, doc, size });
        }
        Ok(())
    }

    /// Writes the segments still in memory and the encoded snapshots as one
    /// durable group (all are durable before any ref names them), staging
    /// in the same fsync round the files of the refs `ref_names` (one per
    /// snapshot, or none) for [`Indexer::publish_prepared`]. Returns those
    /// and the snapshots' ids.
    fn write_objects(
        &self,
        unwritten: Unwritten,
        snapshots: &[Vec<u8>],
        ref_names: Vec<String>,
    ) -> Result<(PreparedRefs, Vec<ObjectId>), IndexError> {
        let mut objects: Vec<(Kind, &[u8])> =
            unwritten.segments.iter().map(|b| (Kind::Segment, b.as_slice())).collect();
        objects.extend(snapshots.iter().map(|b| (Kind::Snapshot, b.as_slice())));
        let new_refs: Vec<(String, ObjectId)> =
            ref_names.into_iter().zip(snapshots.iter().map(|b| ObjectId::of(b))).collect();
        let files = ref_files(&new_refs);
        let files: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
        let (ids, staged) = self.store.put_many_staging(&objects, &files)?;
        let ids = ids[unwritten.segments.len()..].to_vec();
        Ok((PreparedRefs::new(&new_refs, staged), ids))
    }

    fn build_snapshot(
        &self,
        commit: GitOid,
        tree: GitOid,
        entries: &[TreeEntry],
        memo: &HashMap<GitOid, Known>,
        summary: &mut IndexSummary,
    ) -> Result<Snapshot, IndexError> {
        let mut segments: Vec<ObjectId> = Vec::new();
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let doc = self.doc_ref(memo, e.oid, &mut segments, summary, &e.path)?;
            summary.files += 1;
            out.push(Entry { path: e.path.clone(), mode: e.mode, git_oid: e.oid, doc });
        }
        // git orders trees by bytes of the full path; keep that invariant explicit.
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out.dedup_by(|a, b| a.path == b.path);
        Ok(Snapshot { commit, tree, segments, entries: out })
    }
}

/// The files a snapshot recorded as not searchable (binary, too large).
fn skipped_of(snap: &Snapshot) -> impl Iterator<Item = (GitOid, Known)> + '_ {
    snap.entries.iter().filter_map(|e| match e.doc {
        DocRef::Skipped { reason, size } => Some((e.git_oid, Known::Skipped { reason, size })),
        DocRef::Indexed { .. } => None,
    })
}

/// Files a snapshot recorded as not searchable need not be read again.
fn remember_skipped(memo: &mut HashMap<GitOid, Known>, snap: &Snapshot) {
    for (oid, known) in skipped_of(snap) {
        memo.entry(oid).or_insert(known);
    }
}

fn change_from_tree(c: TreeChange) -> Change {
    match c {
        TreeChange::Added { path, oid, mode } | TreeChange::Modified { path, oid, mode } => {
            Change::Upsert { path, mode, oid, content: None }
        }
        TreeChange::Deleted { path } => Change::Delete { path },
    }
}

/// A snapshot's file list as tree entries (path, blob id, mode).
pub fn snapshot_tree_entries(s: &Snapshot) -> Vec<TreeEntry> {
    s.entries.iter().map(|e| TreeEntry { path: e.path.clone(), oid: e.git_oid, mode: e.mode }).collect()
}

/// Applies path-sorted `changes` to path-sorted `base` in one merge pass.
pub fn merge_changes(base: &[TreeEntry], changes: &[Change]) -> Vec<TreeEntry> {
    let mut out = Vec::with_capacity(base.len() + changes.len());
    let mut i = 0;
    for c in changes {
        while i < base.len() && base[i].path.as_slice() < c.path() {
            out.push(base[i].clone());
            i += 1;
        }
        if i < base.len() && base[i].path.as_slice() == c.path() {
            i += 1; // replaced or deleted
        }
        if let Change::Upsert { path, mode, oid, .. } = c {
            out.push(TreeEntry { path: path.clone(), oid: *oid, mode: *mode });
        }
    }
    out.extend_from_slice(&base[i..]);
    out
}

/// What a long-lived process (servers, `grove index --watch`) keeps between
/// `index` calls ([`Indexer::with_cache`]): each stored segment it opened,
/// with, from its second use on, a sorted table of its blobs; and the
/// snapshot headers compaction planning read. Objects are immutable, so an
/// entry never goes stale (segments are dropped once no longer listed).
#[derive(Default)]
pub struct IndexerCache {
    segments: std::sync::Mutex<HashMap<ObjectId, Arc<CachedSegment>>>,
    headers: std::sync::Mutex<HashMap<ObjectId, SnapshotHeader>>,
}

impl IndexerCache {
    pub(crate) fn headers(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectId, SnapshotHeader>> {
        self.headers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct CachedSegment {
    segment: Arc<Segment>,
    uses: std::sync::atomic::AtomicU32,
    table: std::sync::OnceLock<BlobTable>,
}

impl CachedSegment {
    /// The entry of `id` in `cached`, opening the segment the first time.
    fn get_or_open(
        cached: &mut HashMap<ObjectId, Arc<CachedSegment>>,
        store: &Store,
        id: ObjectId,
    ) -> Result<Arc<CachedSegment>, IndexError> {
        if let Some(e) = cached.get(&id) {
            return Ok(e.clone());
        }
        let segment = open_segment(store, id)?;
        let e = Arc::new(CachedSegment { segment, uses: Default::default(), table: Default::default() });
        cached.insert(id, e.clone());
        Ok(e)
    }

    /// The sorted table, built on the second call.
    fn table(&self) -> Option<&BlobTable> {
        if self.uses.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0 {
            return None;
        }
        Some(self.table.get_or_init(|| BlobTable::of(&self.segment)))
    }
}

/// One segment's (git oid, doc, size) rows, sorted, lowest doc first among
/// equal oids (the doc a scan of the doc table would find first).
struct BlobTable {
    rows: Vec<(GitOid, u32, u64)>,
}

impl BlobTable {
    fn of(segment: &Segment) -> BlobTable {
        let mut rows: Vec<(GitOid, u32, u64)> = (0..segment.num_docs())
            .map(|doc| {
                let e = segment.doc(doc);
                (e.git_oid, doc, e.size)
            })
            .filter(|(oid, _, _)| !oid.is_null())
            .collect();
        rows.sort_unstable();
        BlobTable { rows }
    }

    fn get(&self, oid: &GitOid) -> Option<(u32, u64)> {
        let at = self.rows.partition_point(|(o, _, _)| o < oid);
        self.rows.get(at).filter(|(o, _, _)| o == oid).map(|&(_, doc, size)| (doc, size))
    }
}

/// Segments finished but not yet written (see `flush_segment`).
#[derive(Default)]
struct Unwritten {
    segments: Vec<Vec<u8>>,
    bytes: usize,
}

/// At most this many bytes of finished segments wait in memory for their
/// snapshots (one commit's delta segment, or a whole 50 MB tree's, fits).
const DEFERRED_SEGMENT_BYTES: usize = 32 << 20;

enum Prepared {
    Doc(PreparedDoc),
    Skipped(SkipReason, u64),
}

/// Opens a stored segment, turning format errors into errors naming the file.
pub fn open_segment(store: &Store, id: ObjectId) -> Result<Arc<Segment>, IndexError> {
    let mapped = match store.map(Kind::Segment, id) {
        Ok(m) => m,
        Err(StoreError::Io { path, source }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(IndexError::MissingSegment { path: path.display().to_string() })
        }
        Err(e) => return Err(e.into()),
    };
    let path = mapped.path().display().to_string();
    Segment::open(mapped).map(Arc::new).map_err(|source| IndexError::Segment { path, source })
}
