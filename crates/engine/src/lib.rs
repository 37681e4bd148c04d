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

use grove_base::GitOid;
use grove_indexer::{open_segment, IndexError, IndexOptions, IndexSummary, Indexer};
use grove_manifest::{commit_ref, load_refs, DocRef, ManifestError, Snapshot};
use grove_search::{CompiledPattern, SearchError, SearchOptions, SearchOutput, Target};
use grove_segment::Segment;
use grove_store::{Kind, ObjectId, Store, StoreError};
use grove_vcs::{Commit, RefKind, Repo, VcsError};

pub use grove_indexer::{NoProgress, Progress};
pub use grove_search as search;

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
}

#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    /// Where the index lives; default `<git-dir>/grove`.
    pub index_dir: Option<PathBuf>,
    pub index: IndexOptions,
}

/// What the user asked to search or index.
#[derive(Clone, Debug, Default)]
pub struct RevSelection {
    pub revs: Vec<String>,
    pub tags: Vec<String>,
    pub branches: Vec<String>,
}

impl RevSelection {
    pub fn is_empty(&self) -> bool {
        self.revs.is_empty() && self.tags.is_empty() && self.branches.is_empty()
    }
}

/// A revision as the user named it and the commit it resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedRev {
    pub label: String,
    pub commit: Commit,
}

pub struct Engine {
    repo: Repo,
    index_dir: PathBuf,
    opts: EngineOptions,
}

impl Engine {
    /// Opens the repository containing `start` (discovering it like git).
    pub fn open(start: &Path, opts: EngineOptions) -> Result<Engine, EngineError> {
        let repo = Repo::discover(start)?;
        let index_dir = match &opts.index_dir {
            Some(d) => d.clone(),
            None => repo.git_dir().join("grove"),
        };
        Ok(Engine { repo, index_dir, opts })
    }

    pub fn index_dir(&self) -> &Path {
        &self.index_dir
    }

    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// Resolves a selection to commits, in the order named (revs, then tags,
    /// then branches, each glob's matches sorted by name). Empty → HEAD.
    pub fn resolve(&self, sel: &RevSelection) -> Result<Vec<ResolvedRev>, EngineError> {
        let mut out = Vec::new();
        if sel.is_empty() {
            out.push(ResolvedRev { label: "HEAD".into(), commit: self.repo.resolve("HEAD")? });
            return Ok(out);
        }
        for rev in &sel.revs {
            out.push(ResolvedRev { label: rev.clone(), commit: self.repo.resolve(rev)? });
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
                    let tree = self.repo.resolve(&r.commit.to_hex())?.tree;
                    out.push(ResolvedRev { label: r.name, commit: Commit { oid: r.commit, tree } });
                }
            }
        }
        Ok(out)
    }

    fn store_for_writing(&self) -> Result<Store, EngineError> {
        Ok(Store::open_or_create(&self.index_dir)?)
    }

    /// Indexes the revisions that are not indexed yet.
    pub fn index(&self, revs: &[ResolvedRev], progress: &dyn Progress) -> Result<IndexSummary, EngineError> {
        let store = self.store_for_writing()?;
        let commits: Vec<Commit> = revs.iter().map(|r| r.commit).collect();
        let indexer = Indexer::new(&self.repo, &store, self.opts.index.clone());
        Ok(indexer.index_commits(&commits, progress)?)
    }

    /// Deletes the index directory (for `--rebuild`).
    pub fn remove_index(&self) -> Result<(), EngineError> {
        match std::fs::remove_dir_all(&self.index_dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(EngineError::Remove { path: self.index_dir.clone(), source }),
        }
    }

    /// Searches the given revisions, indexing any that are not indexed yet.
    pub fn search(
        &self,
        revs: &[ResolvedRev],
        pattern: &CompiledPattern,
        opts: &SearchOptions,
        progress: &dyn Progress,
    ) -> Result<SearchOutput, EngineError> {
        let store = self.store_for_writing()?;
        let refs = load_refs(&store)?;
        let missing: Vec<ResolvedRev> =
            revs.iter().filter(|r| refs.get(&commit_ref(r.commit.oid)).is_none()).cloned().collect();
        let refs = if missing.is_empty() {
            refs
        } else {
            self.index(&missing, progress)?;
            load_refs(&store)?
        };
        // One snapshot per distinct commit, shared between labels.
        let mut snapshots: HashMap<GitOid, Arc<Snapshot>> = HashMap::new();
        let mut targets = Vec::with_capacity(revs.len());
        for r in revs {
            let snap = match snapshots.get(&r.commit.oid) {
                Some(s) => s.clone(),
                None => {
                    let id = refs.get(&commit_ref(r.commit.oid)).expect("indexed above");
                    let s = Arc::new(Snapshot::load(&store, id)?);
                    snapshots.insert(r.commit.oid, s.clone());
                    s
                }
            };
            targets.push(Target { label: r.label.clone(), snapshot: snap });
        }
        let segments = open_segments(&store, targets.iter().map(|t| &*t.snapshot))?;
        Ok(grove_search::search(pattern, &targets, &segments, opts)?)
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
                    let stats = seg.verify().map_err(|e| format!("segment {}: {e}", store.path_of(Kind::Segment, *id).display()))?;
                    Ok(stats.raw_bytes)
                };
                check().err()
            })
            .collect();
        report.segments = used_segments.len();
        report.problems.extend(seg_problems);
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
