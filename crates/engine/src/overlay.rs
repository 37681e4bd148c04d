//! Unsaved editor buffers laid over a snapshot, in memory only: searching
//! "the workspace as the editor sees it" must not write the buffers to disk
//! or into the index (they change on every keystroke and are nobody's state
//! but the editor's).
//!
//! The snapshot's entries for the overlaid paths are dropped from an
//! in-memory copy of the snapshot (entries are sorted by path, live
//! documents derive from them), the rest is searched from the index as
//! usual, and each buffer is verified directly with the same compiled
//! pattern. The index's rules apply to buffers too: a buffer with a NUL byte
//! is binary and one over the size limit is too large, both reported as
//! skipped, exactly as if the file had been written and indexed.

use std::collections::BTreeMap;
use std::sync::Arc;

use grove_base::SkipReason;
use grove_indexer::Progress;
use grove_search::{CompiledPattern, FileResult, PathFilter, SearchOptions, SearchOutput, Skipped, Target};

use crate::{open_segments, Engine, EngineError, ResolvedRev};

/// Files (repository-relative paths) with the contents an editor holds for
/// them, replacing what a snapshot has at those paths or adding new paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overlay {
    files: BTreeMap<Vec<u8>, Arc<[u8]>>,
}

impl Overlay {
    pub fn new() -> Overlay {
        Overlay::default()
    }

    /// Sets the contents of `path` (replacing an earlier buffer).
    pub fn insert(&mut self, path: Vec<u8>, content: Arc<[u8]>) {
        self.files.insert(path, content);
    }

    pub fn remove(&mut self, path: &[u8]) -> Option<Arc<[u8]>> {
        self.files.remove(path)
    }

    pub fn get(&self, path: &[u8]) -> Option<&[u8]> {
        self.files.get(path).map(|c| &**c)
    }

    pub fn contains(&self, path: &[u8]) -> bool {
        self.files.contains_key(path)
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// In path order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.files.iter().map(|(p, c)| (p.as_slice(), &**c))
    }
}

impl Engine {
    /// Searches `rev` with `overlay`'s buffers in place of its files at those
    /// paths (and as extra files where it has none), indexing `rev` first if
    /// needed. Nothing of the overlay is written anywhere. The output is what
    /// [`Engine::search`] would report for a snapshot holding the buffers
    /// (one target, index 0; files in path order).
    pub fn search_overlay(
        &self,
        rev: &ResolvedRev,
        overlay: &Overlay,
        pattern: &CompiledPattern,
        opts: &SearchOptions,
        progress: &dyn Progress,
    ) -> Result<SearchOutput, EngineError> {
        let store = self.store_for_writing()?;
        let mut target = self.targets(&store, std::slice::from_ref(rev), progress)?.remove(0);
        if !overlay.is_empty() {
            let mut snap = (*target.snapshot).clone();
            snap.entries.retain(|e| !overlay.contains(&e.path));
            target = Target { label: target.label, snapshot: Arc::new(snap) };
        }
        let segments = open_segments(&store, std::iter::once(&*target.snapshot))?;
        let mut out = grove_search::search(pattern, std::slice::from_ref(&target), None, &segments, opts)?;
        if overlay.is_empty() {
            return Ok(out);
        }
        let filter = PathFilter::new(&opts.globs)?;
        for (path, content) in overlay.iter().filter(|(p, _)| filter.accepts(p)) {
            if let Some(reason) = self.unsearchable(content, opts) {
                out.skipped.push(Skipped { target: 0, path: path.to_vec(), reason });
                continue;
            }
            out.stats.live_docs += 1;
            out.stats.candidates += 1;
            let matches = grove_search::search_bytes(pattern, content, opts);
            if matches.count > 0 {
                out.stats.matching_docs += 1;
                out.files.push(FileResult { target: 0, path: path.to_vec(), matches: Arc::new(matches) });
            }
        }
        out.files.sort_by(|a, b| a.path.cmp(&b.path));
        out.skipped.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Why a buffer would not be searched had it been indexed: the indexer's
    /// binary test and size limit, and the search's own size limit.
    pub(crate) fn unsearchable(&self, content: &[u8], opts: &SearchOptions) -> Option<SkipReason> {
        let size = content.len() as u64;
        if size > self.opts.index.max_file_size || opts.max_filesize.is_some_and(|max| size > max) {
            Some(SkipReason::TooLarge)
        } else if content.contains(&0) {
            Some(SkipReason::Binary)
        } else {
            None
        }
    }
}
