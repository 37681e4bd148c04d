//! The API boundary every front end (CLI, LSP, MCP, HTTP) uses.
//!
//! An `Engine` is a repository plus its index directory. It resolves what the
//! user names (revisions, tag and branch globs) to commits, makes sure they are
//! indexed (indexing on the fly), and searches their snapshots.
//!
//! Architecture invariant: front ends never touch gix, segments or the store
//! directly; they speak to the engine, which owns no presentation.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use grove_indexer::{open_segment, IndexError, IndexOptions, Indexer};
use grove_manifest::{commit_ref, get_ref, load_refs, DocRef, ManifestError, Snapshot};
use grove_search::{CompiledPattern, SearchError, SearchOptions, SearchOutput, Target};
use grove_segment::Segment;
use grove_store::{Kind, ObjectId, Store, StoreError};
use grove_vcs::{Commit, RefKind, Repo};

mod browse;
mod overlay;
mod semantic;
mod states;

pub use browse::{FileChange, FileInfo, Revisions};
pub use grove_base::{lossy, lossy_offset, EntryMode, GitOid};
pub use grove_indexer::maintenance::{CompactOptions, CompactReport, GcReport};
pub use grove_indexer::{IndexSummary, NoProgress, Progress};
pub use grove_search as search;
pub use grove_search::rank::QueryShape;
pub use grove_semindex::CollectReport;
pub use grove_syntax::SymbolKind;
pub use grove_vcs::VcsError;
pub use overlay::Overlay;
pub use semantic::{
    FindHit, FindMode, FindOptions, FindOutput, SemanticSummary, SymbolHit, SymbolQuery, SYNTAX_VERSION,
};
pub use states::{name_ref, ApplyReport, ListEntry, WORKTREE_NAME};

#[derive(thiserror::Error, Debug)]
pub enum EngineError {
    #[error(transparent)]
    Vcs(#[from] VcsError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error("no revisions matched {0}")]
    NoRevisions(String),
    #[error("cannot remove the index at {path}: {source}")]
    Remove { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Patch(#[from] grove_patch::PatchError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    SemIndex(#[from] grove_semindex::SemIndexError),
    /// The embedding model is missing or failed (the message says how to
    /// provide one); only semantic commands need it.
    #[error("{0}")]
    Model(String),
}

/// What `grove gc` did to the index proper and to the side index.
#[derive(Clone, Debug, Default)]
pub struct GcSummary {
    pub index: GcReport,
    pub side: grove_semindex::CollectReport,
}

/// How long unreferenced files are kept for readers that may still use them.
pub const DEFAULT_GC_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    /// Where the index lives; default `<git-dir>/grove`.
    pub index_dir: Option<PathBuf>,
    pub index: IndexOptions,
    /// Embedding model directory (`--model-dir`); else GROVE_MODEL_DIR,
    /// the Hugging Face cache, or a download (see grove-embed).
    pub model_dir: Option<PathBuf>,
}

/// What the user asked to search or index.
#[derive(Clone, Debug, Default)]
pub struct RevSelection {
    pub revs: Vec<String>,
    pub tags: Vec<String>,
    pub branches: Vec<String>,
    /// Every tag and local branch.
    pub all_refs: bool,
}

impl RevSelection {
    pub fn is_empty(&self) -> bool {
        self.revs.is_empty() && self.tags.is_empty() && self.branches.is_empty() && !self.all_refs
    }
}

/// A revision as the user named it and what it resolved to: a git commit,
/// or a named snapshot (a fork, a working-tree or patch state).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedRev {
    pub label: String,
    /// The commit (for a named snapshot: the commit it was derived from).
    pub commit: Commit,
    /// Set when the label names a snapshot rather than a git revision.
    pub snapshot: Option<ObjectId>,
}

pub struct Engine {
    repo: Repo,
    index_dir: PathBuf,
    opts: EngineOptions,
    /// Loaded on first semantic use; the error is kept to report it again.
    model: std::sync::OnceLock<Result<Arc<dyn grove_embed::Embedder>, String>>,
    /// What the indexer keeps between calls (opened segments, snapshot headers).
    cache: grove_indexer::IndexerCache,
}

impl Engine {
    /// Opens the repository containing `start` (discovering it like git).
    pub fn open(start: &Path, opts: EngineOptions) -> Result<Engine, EngineError> {
        let repo = Repo::discover(start)?;
        let index_dir = match &opts.index_dir {
            Some(d) => d.clone(),
            None => repo.git_dir().join("grove"),
        };
        Ok(Engine { repo, index_dir, opts, model: std::sync::OnceLock::new(), cache: Default::default() })
    }

    pub fn index_dir(&self) -> &Path {
        &self.index_dir
    }

    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// Resolves a selection, in the order named (revs, then tags, then
    /// branches, each glob's matches sorted by name). Empty → HEAD. A name
    /// given with `--rev` that is a named snapshot (`grove fork`, `grove
    /// apply`) designates that snapshot; otherwise git resolves it.
    pub fn resolve(&self, sel: &RevSelection) -> Result<Vec<ResolvedRev>, EngineError> {
        let mut out = Vec::new();
        if sel.is_empty() {
            out.push(self.resolve_one("HEAD")?);
            return Ok(out);
        }
        for rev in &sel.revs {
            out.push(self.resolve_one(rev)?);
        }
        for (kind, globs) in [(RefKind::Tag, &sel.tags), (RefKind::Branch, &sel.branches)] {
            for glob in globs {
                let refs = self.repo.refs_matching(kind, glob)?;
                if refs.is_empty() {
                    let what = match kind {
                        RefKind::Tag => "--tags",
                        RefKind::Branch => "--branches",
                    };
                    return Err(EngineError::NoRevisions(format!("{what} '{glob}'")));
                }
                for r in refs {
                    let commit = self.repo.resolve(&r.commit.to_hex())?;
                    out.push(ResolvedRev { label: r.name, commit, snapshot: None });
                }
            }
        }
        if sel.all_refs {
            for (r, _kind) in self.repo.all_refs()? {
                let commit = self.repo.resolve(&r.commit.to_hex())?;
                out.push(ResolvedRev { label: r.name, commit, snapshot: None });
            }
        }
        Ok(out)
    }

    /// One revision or snapshot name.
    pub fn resolve_one(&self, rev: &str) -> Result<ResolvedRev, EngineError> {
        if let Ok(store) = Store::open(&self.index_dir) {
            if let Some(id) = get_ref(&store, &name_ref(rev))? {
                let h = Snapshot::header(&store, id)?;
                let commit = Commit { oid: h.commit, tree: h.tree };
                return Ok(ResolvedRev { label: rev.to_string(), commit, snapshot: Some(id) });
            }
            // A commit the index already holds needs nothing from the object
            // database (whose pack indexes are slow to open on big repos).
            if let Some(oid) = self.repo.rev_id(rev) {
                if let Some(id) = get_ref(&store, &commit_ref(oid))? {
                    let h = Snapshot::header(&store, id)?;
                    let commit = Commit { oid, tree: h.tree };
                    return Ok(ResolvedRev { label: rev.to_string(), commit, snapshot: None });
                }
            }
        }
        Ok(ResolvedRev { label: rev.to_string(), commit: self.repo.resolve(rev)?, snapshot: None })
    }

    fn store_for_writing(&self) -> Result<Store, EngineError> {
        Ok(Store::open_or_create(&self.index_dir)?)
    }

    /// Indexes the revisions that are not indexed yet.
    pub fn index(&self, revs: &[ResolvedRev], progress: &dyn Progress) -> Result<IndexSummary, EngineError> {
        let store = self.store_for_writing()?;
        let commits: Vec<Commit> = revs.iter().filter(|r| r.snapshot.is_none()).map(|r| r.commit).collect();
        // A concurrent `gc` may remove an unreferenced segment this run meant
        // to reuse; publishing detects that and the run is simply repeated.
        let mut attempt = 0;
        let mut summary = loop {
            let indexer = Indexer::new(&self.repo, &store, self.opts.index.clone()).with_cache(&self.cache);
            match indexer.index_commits(&commits, progress) {
                Err(IndexError::Concurrent(_)) if attempt < 3 => attempt += 1,
                other => break other?,
            }
        };
        let written: Vec<ObjectId> = summary.snapshots.iter().map(|(_, id)| *id).collect();
        let t = std::time::Instant::now();
        if summary.compaction_checked {
            // Checked, and any compaction written with the commit: only gc.
            if summary.compaction.is_some() {
                self.gc_if_due(&store)?;
            }
        } else if summary.already_indexed >= written.len() {
            // Nothing was written: nothing new to compact.
        } else if let Some(report) = self.auto_compact(&store, &written)? {
            summary.phases.extend(report.phases);
        }
        summary.phases.push(("compact", t.elapsed()));
        Ok(summary)
    }

    /// Keeps the number of segments a query touches bounded: merges small
    /// delta segments once too many have accumulated.
    pub(crate) fn auto_compact(
        &self,
        store: &Store,
        new_snapshots: &[ObjectId],
    ) -> Result<Option<CompactReport>, EngineError> {
        let opts = CompactOptions::default();
        // Cheap test first: do the states just written use too many small
        // segments of one size tier? Only then look at the whole index.
        if !grove_indexer::maintenance::needs_compaction(store, &opts, new_snapshots)? {
            return Ok(None);
        }
        let report = grove_indexer::maintenance::compact(store, &opts, false)?;
        if report.new_segment.is_some() {
            self.gc_if_due(store)?;
        }
        Ok(Some(report))
    }

    /// After a compaction: reclaim what earlier ones left behind once no
    /// reader can still be using it; until then a whole mark and sweep would
    /// delete nothing (compaction starts the grace clock of what it
    /// supersedes).
    fn gc_if_due(&self, store: &Store) -> Result<(), EngineError> {
        if grove_indexer::maintenance::gc_due(store, DEFAULT_GC_GRACE)? {
            grove_indexer::maintenance::gc(store, DEFAULT_GC_GRACE)?;
        }
        Ok(())
    }

    /// `grove compact`: merge small and mostly dead segments now.
    pub fn compact(&self) -> Result<CompactReport, EngineError> {
        let store = Store::open(&self.index_dir)?;
        Ok(grove_indexer::maintenance::compact(&store, &CompactOptions::default(), true)?)
    }

    /// `grove gc`: remove what no ref reaches, after a grace period, then
    /// rewrite the side index (syntax and vector files) without what no
    /// retained snapshot can ask for.
    pub fn gc(&self, grace: std::time::Duration) -> Result<GcSummary, EngineError> {
        let store = Store::open(&self.index_dir)?;
        let index = grove_indexer::maintenance::gc(&store, grace)?;
        let side = self.collect_side_index(&store)?;
        Ok(GcSummary { index, side })
    }

    /// Deletes the index directory (for `--rebuild`).
    pub fn remove_index(&self) -> Result<(), EngineError> {
        // Only ever delete a directory grove created: a mistyped --index-dir
        // must not wipe a checkout.
        let is_index = self.index_dir.join("FORMAT").is_file();
        let is_empty_or_missing = std::fs::read_dir(&self.index_dir).map_or(true, |mut d| d.next().is_none());
        if !is_index && !is_empty_or_missing {
            return Err(EngineError::Invalid(format!(
                "{} is not a grove index (no FORMAT file); refusing to delete it",
                self.index_dir.display()
            )));
        }
        match std::fs::remove_dir_all(&self.index_dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(EngineError::Remove { path: self.index_dir.clone(), source }),
        }
    }

    /// Searches the given revisions, indexing any that are not indexed yet.
    /// With `since`, only matching lines that the same path does not have
    /// in that revision are reported ("did this change introduce X?").
    pub fn search(
        &self,
        revs: &[ResolvedRev],
        since: Option<&ResolvedRev>,
        pattern: &CompiledPattern,
        opts: &SearchOptions,
        progress: &dyn Progress,
    ) -> Result<SearchOutput, EngineError> {
        let store = self.store_for_writing()?;
        let targets = self.targets(&store, revs, progress)?;
        let since = match since {
            Some(rev) => Some(self.targets(&store, std::slice::from_ref(rev), progress)?.remove(0)),
            None => None,
        };
        let segments = open_segments(&store, targets.iter().chain(since.iter()).map(|t| &*t.snapshot))?;
        Ok(grove_search::search(pattern, &targets, since.as_ref(), &segments, opts)?)
    }

    /// The snapshots of `revs`, indexing commits that are not indexed yet.
    fn targets(
        &self,
        store: &Store,
        revs: &[ResolvedRev],
        progress: &dyn Progress,
    ) -> Result<Vec<Target>, EngineError> {
        let mut missing: Vec<ResolvedRev> = Vec::new();
        for r in revs.iter().filter(|r| r.snapshot.is_none()) {
            if get_ref(store, &commit_ref(r.commit.oid))?.is_none() {
                missing.push(r.clone());
            }
        }
        if !missing.is_empty() {
            self.index(&missing, progress)?;
        }
        // One loaded snapshot per distinct id, shared between labels; decoded
        // in parallel (hundreds of tags are common).
        let mut ids: Vec<ObjectId> = Vec::with_capacity(revs.len());
        for r in revs {
            ids.push(match r.snapshot {
                Some(id) => id,
                None => get_ref(store, &commit_ref(r.commit.oid))?.ok_or_else(|| {
                    EngineError::Invalid(format!("{} ({}) has no snapshot after indexing", r.label, r.commit.oid))
                })?,
            });
        }
        let mut distinct = ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        use rayon::prelude::*;
        let load = |id: &ObjectId| Ok((*id, Arc::new(Snapshot::load(store, *id)?)));
        let loaded: Vec<(ObjectId, Arc<Snapshot>)> = if distinct.len() == 1 {
            distinct.iter().map(load).collect::<Result<_, EngineError>>()?
        } else {
            distinct.par_iter().map(load).collect::<Result<_, EngineError>>()?
        };
        let mut snapshots: HashMap<ObjectId, Arc<Snapshot>> = loaded.into_iter().collect();
        let ids = self.admit_larger_files(store, revs, ids, &mut snapshots, progress)?;
        let targets = revs
            .iter()
            .zip(&ids)
            .map(|(r, id)| Target { label: r.label.clone(), snapshot: snapshots[id].clone() })
            .collect();
        Ok(targets)
    }

    /// Files set aside as too large when a revision was indexed with a
    /// smaller `--max-filesize` are indexed now, and the revision's ref moves
    /// to the completed snapshot. Returns the (possibly new) snapshot ids.
    fn admit_larger_files(
        &self,
        store: &Store,
        revs: &[ResolvedRev],
        ids: Vec<ObjectId>,
        snapshots: &mut HashMap<ObjectId, Arc<Snapshot>>,
        progress: &dyn Progress,
    ) -> Result<Vec<ObjectId>, EngineError> {
        let max = self.opts.index.max_file_size;
        let mut upgraded: HashMap<ObjectId, ObjectId> = HashMap::new();
        for (r, &id) in revs.iter().zip(&ids).filter(|(r, _)| r.snapshot.is_none()) {
            if upgraded.contains_key(&id) {
                continue;
            }
            let snap = snapshots[&id].clone();
            let changes: Vec<grove_indexer::Change> = snap
                .entries
                .iter()
                .filter(|e| matches!(e.doc, DocRef::Skipped { reason: grove_base::SkipReason::TooLarge, size } if size <= max))
                .map(|e| grove_indexer::Change::Upsert { path: e.path.clone(), mode: e.mode, oid: e.git_oid, content: None })
                .collect();
            if changes.is_empty() {
                continue;
            }
            let indexer = Indexer::new(&self.repo, store, self.opts.index.clone()).with_cache(&self.cache);
            let (new_id, new_snap, _) = indexer.derive(Some(&snap), snap.commit, snap.tree, changes, progress)?;
            indexer.publish(vec![(commit_ref(r.commit.oid), new_id)])?;
            snapshots.insert(new_id, Arc::new(new_snap));
            upgraded.insert(id, new_id);
        }
        Ok(ids.into_iter().map(|id| upgraded.get(&id).copied().unwrap_or(id)).collect())
    }

    /// Verifies the whole index: every ref, snapshot and segment, deeply.
    pub fn check(&self) -> Result<CheckReport, EngineError> {
        let store = Store::open(&self.index_dir)?;
        let mut report = CheckReport::default();
        let refs = match load_refs(&store) {
            Ok(r) => r,
            Err(e) => {
                report.problems.push(e.to_string());
                return Ok(report);
            }
        };
        let mut used_segments: BTreeSet<ObjectId> = BTreeSet::new();
        let mut used_snapshots: BTreeSet<ObjectId> = BTreeSet::new();
        let mut doc_counts: HashMap<ObjectId, Option<u32>> = HashMap::new();
        for (name, id) in refs.iter() {
            report.refs += 1;
            let snap = match Snapshot::load(&store, id) {
                Ok(s) => s,
                Err(e) => {
                    report.problems.push(format!("ref {name}: {e}"));
                    continue;
                }
            };
            if used_snapshots.insert(id) {
                report.snapshots += 1;
                if let Ok(chain) = Snapshot::chain(&store, id) {
                    used_snapshots.extend(chain.into_iter().map(|(c, _)| c));
                }
            }
            for seg in &snap.segments {
                used_segments.insert(*seg);
                if !doc_counts.contains_key(seg) {
                    let n = match open_segment(&store, *seg) {
                        Ok(s) => Some(s.num_docs()),
                        Err(e) => {
                            report.problems.push(format!("ref {name}: {e}"));
                            None
                        }
                    };
                    doc_counts.insert(*seg, n);
                }
            }
            for e in &snap.entries {
                if let DocRef::Indexed { segment, doc } = e.doc {
                    if let Some(Some(n)) = doc_counts.get(&snap.segments[segment as usize]) {
                        if doc >= *n {
                            report.problems.push(format!(
                                "ref {name}: {} points past the end of segment {}",
                                grove_base::lossy(&e.path),
                                snap.segments[segment as usize].short()
                            ));
                        }
                    }
                }
            }
        }
        // Deep checks of every referenced segment, in parallel.
        use rayon::prelude::*;
        let seg_problems: Vec<String> = used_segments
            .par_iter()
            .filter_map(|id| {
                let check = || -> Result<u64, String> {
                    store.verify_object(Kind::Segment, *id).map_err(|e| e.to_string())?;
                    let seg = open_segment(&store, *id).map_err(|e| e.to_string())?;
                    let stats = seg
                        .verify()
                        .map_err(|e| format!("segment {}: {e}", store.path_of(Kind::Segment, *id).display()))?;
                    Ok(stats.raw_bytes)
                };
                check().err()
            })
            .collect();
        report.segments = used_segments.len();
        report.problems.extend(seg_problems);
        // The side index is a cache (damage only costs recomputation), but
        // `check` still says what is wrong with it.
        for kind in [Kind::Syntax, Kind::Vectors] {
            let ids = store.list(kind)?;
            report.side_files += ids.len();
            let bad: Vec<String> = ids
                .par_iter()
                .filter_map(|id| {
                    store
                        .verify_object(kind, *id)
                        .err()
                        .map(|e| format!("{e} (a cache: delete it and it is recomputed)"))
                })
                .collect();
            report.problems.extend(bad);
        }
        report.unreferenced = store.list(Kind::Segment)?.iter().filter(|s| !used_segments.contains(s)).count()
            + store.list(Kind::Snapshot)?.iter().filter(|s| !used_snapshots.contains(s)).count();
        Ok(report)
    }
}

#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    pub refs: usize,
    pub snapshots: usize,
    pub segments: usize,
    /// Complete objects no ref reaches (left by an interrupted run; harmless).
    pub unreferenced: usize,
    /// Syntax and vector files (the semantic side index).
    pub side_files: usize,
    pub problems: Vec<String>,
}

fn open_segments<'a>(
    store: &Store,
    snaps: impl Iterator<Item = &'a Snapshot>,
) -> Result<HashMap<ObjectId, Arc<Segment>>, EngineError> {
    let mut out = HashMap::new();
    for s in snaps {
        for id in &s.segments {
            if !out.contains_key(id) {
                out.insert(*id, open_segment(store, *id)?);
            }
        }
    }
    Ok(out)
}
