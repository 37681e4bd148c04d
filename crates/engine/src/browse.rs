//! Read-only views of a revision for front ends that navigate rather than
//! search: its files, the files changed between two states, and the
//! revisions that can be searched.

use std::collections::BTreeMap;

use grove_base::{EntryMode, GitOid};
use grove_indexer::Progress;
use grove_manifest::{load_refs, DocRef, Snapshot};
use grove_store::Store;
use grove_vcs::RefKind;

use crate::{Engine, EngineError, ResolvedRev};

/// One file of a revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub path: Vec<u8>,
    pub mode: EntryMode,
    pub oid: GitOid,
    /// False for files the index set aside (binary, too large).
    pub indexed: bool,
}

/// How a path differs between two states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileChange {
    Added {
        path: Vec<u8>,
    },
    Deleted {
        path: Vec<u8>,
    },
    Modified {
        path: Vec<u8>,
    },
    /// Same content under a new path (exact renames only).
    Renamed {
        from: Vec<u8>,
        to: Vec<u8>,
    },
}

impl FileChange {
    pub fn status(&self) -> &'static str {
        match self {
            FileChange::Added { .. } => "added",
            FileChange::Deleted { .. } => "deleted",
            FileChange::Modified { .. } => "modified",
            FileChange::Renamed { .. } => "renamed",
        }
    }

    /// The path the change is reported under (the new one for a rename).
    pub fn path(&self) -> &[u8] {
        match self {
            FileChange::Added { path } | FileChange::Deleted { path } | FileChange::Modified { path } => path,
            FileChange::Renamed { to, .. } => to,
        }
    }
}

/// What can be searched: git's branches and tags, and grove's named snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Revisions {
    /// The branch HEAD is on, or HEAD's commit when detached.
    pub head: Option<String>,
    pub branches: Vec<String>,
    pub tags: Vec<String>,
    pub snapshots: Vec<String>,
}

impl Engine {
    fn load_snapshot(&self, rev: &ResolvedRev, progress: &dyn Progress) -> Result<Snapshot, EngineError> {
        let id = self.snapshot_of(rev, progress)?;
        Ok(Snapshot::load(&self.store_for_writing()?, id)?)
    }

    /// Every file of a revision (indexing it first if needed), in path order.
    pub fn files(&self, rev: &ResolvedRev, progress: &dyn Progress) -> Result<Vec<FileInfo>, EngineError> {
        let snap = self.load_snapshot(rev, progress)?;
        Ok(snap
            .entries
            .into_iter()
            .map(|e| FileInfo {
                indexed: matches!(e.doc, DocRef::Indexed { .. }),
                path: e.path,
                mode: e.mode,
                oid: e.git_oid,
            })
            .collect())
    }

    /// The files that differ between two states (commits or named snapshots,
    /// so a patch state can be compared with its base), sorted by path.
    /// A deleted and an added path with identical content are one rename.
    pub fn diff(
        &self,
        from: &ResolvedRev,
        to: &ResolvedRev,
        progress: &dyn Progress,
    ) -> Result<Vec<FileChange>, EngineError> {
        let (a, b) = (self.load_snapshot(from, progress)?, self.load_snapshot(to, progress)?);
        // path → (old (oid, mode), new (oid, mode))
        type Side = Option<(GitOid, EntryMode)>;
        let mut sides: BTreeMap<&[u8], (Side, Side)> = BTreeMap::new();
        for e in &a.entries {
            sides.entry(&e.path).or_default().0 = Some((e.git_oid, e.mode));
        }
        for e in &b.entries {
            sides.entry(&e.path).or_default().1 = Some((e.git_oid, e.mode));
        }
        let mut changes = Vec::new();
        let mut deleted: BTreeMap<GitOid, Vec<Vec<u8>>> = BTreeMap::new();
        let mut added: Vec<(Vec<u8>, GitOid)> = Vec::new();
        for (path, (old, new)) in sides {
            match (old, new) {
                (Some(o), Some(n)) if o != n => changes.push(FileChange::Modified { path: path.to_vec() }),
                (Some(_), Some(_)) | (None, None) => {}
                (Some((oid, _)), None) => deleted.entry(oid).or_default().push(path.to_vec()),
                (None, Some((oid, _))) => added.push((path.to_vec(), oid)),
            }
        }
        for (path, oid) in added {
            match deleted.get_mut(&oid).and_then(|v| (!v.is_empty()).then(|| v.remove(0))) {
                Some(from) => changes.push(FileChange::Renamed { from, to: path }),
                None => changes.push(FileChange::Added { path }),
            }
        }
        changes.extend(deleted.into_values().flatten().map(|path| FileChange::Deleted { path }));
        changes.sort_by(|x, y| x.path().cmp(y.path()));
        Ok(changes)
    }

    /// Branches, tags and named snapshots, each sorted by name.
    pub fn revisions(&self) -> Result<Revisions, EngineError> {
        let mut out = Revisions::default();
        for (r, kind) in self.repo.all_refs()? {
            match kind {
                RefKind::Tag => out.tags.push(r.name),
                RefKind::Branch => out.branches.push(r.name),
            }
        }
        out.head = self.repo.head_branch().or_else(|| self.repo.resolve("HEAD").ok().map(|c| c.oid.to_hex()));
        if let Ok(store) = Store::open(&self.index_dir) {
            for (name, _) in load_refs(&store)?.iter() {
                if let Some(n) = name.strip_prefix("name/") {
                    out.snapshots.push(n.to_string());
                }
            }
        }
        out.snapshots.sort();
        Ok(out)
    }
}
