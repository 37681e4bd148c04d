//! grove's regex search over snapshots.
//!
//! 1. The pattern is compiled once into a verifier and a trigram plan
//!    (`pattern`).
//! 2. For every segment used by any searched snapshot, the plan is evaluated
//!    over the segment's posting lists and intersected with the union of the
//!    live documents of all searched snapshots (`candidates`). A blob shared
//!    by many revisions is one candidate.
//! 3. Candidates are verified in parallel with ripgrep's searcher, each blob
//!    once (`verify`).
//! 4. Matches are attributed to every (snapshot, path) holding a matching
//!    blob, in snapshot order then path order (`SearchOutput`).
//!
//! Architecture invariant: no git and no output formatting here. Revisions
//! arrive as labelled snapshots; results leave as data.

mod candidates;
mod pattern;
pub mod rank;
mod verify;

use std::collections::HashMap;
use std::sync::Arc;

use grove_base::SkipReason;
use grove_manifest::{DocRef, Snapshot};
use grove_segment::{Segment, SegmentError};
use grove_store::ObjectId;

pub use candidates::PathFilter;
pub use pattern::{CaseMode, CompiledPattern, PatternOptions};
pub use verify::{search_bytes, DocMatches, LineHit, LineKind};

#[derive(thiserror::Error, Debug)]
pub enum SearchError {
    #[error("invalid pattern: {0}")]
    InvalidPattern(String),
    #[error("invalid glob: {0}")]
    InvalidGlob(String),
    #[error("index segment {segment}: {source}; rebuild with `grove index --rebuild`")]
    Segment { segment: String, source: SegmentError },
    #[error("snapshot references segment {0}, which is missing; rebuild with `grove index --rebuild`")]
    MissingSegment(String),
}

/// What to report per file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputMode {
    /// Matching lines (and context).
    #[default]
    Lines,
    /// Number of matching lines per file (-c).
    Count,
    /// Only the names of matching files (-l); verification stops at the first match.
    FilesWithMatches,
}

#[derive(Clone, Debug, Default)]
pub struct SearchOptions {
    pub mode: OutputMode,
    pub before_context: usize,
    pub after_context: usize,
    /// Stop after this many matching lines per file (-m).
    pub max_count: Option<u64>,
    /// ripgrep-style globs (-g); `!glob` excludes.
    pub globs: Vec<String>,
    /// Files larger than this are not searched (and are reported), whatever
    /// limit was in force when they were indexed.
    pub max_filesize: Option<u64>,
}

/// One searched state, with the label the user gave it.
#[derive(Clone, Debug)]
pub struct Target {
    pub label: String,
    pub snapshot: Arc<Snapshot>,
}

/// A file with matches in one target.
#[derive(Clone, Debug)]
pub struct FileResult {
    pub target: usize,
    pub path: Vec<u8>,
    pub matches: Arc<DocMatches>,
}

#[derive(Clone, Debug)]
pub struct Skipped {
    pub target: usize,
    pub path: Vec<u8>,
    pub reason: SkipReason,
}

#[derive(Clone, Debug, Default)]
pub struct SearchStats {
    /// Distinct live blobs over all targets (after path filters).
    pub live_docs: u64,
    /// Blobs that passed the trigram filter and were verified.
    pub candidates: u64,
    /// Distinct blobs that matched.
    pub matching_docs: u64,
}

#[derive(Clone, Debug, Default)]
pub struct SearchOutput {
    /// Ordered by target, then path.
    pub files: Vec<FileResult>,
    pub skipped: Vec<Skipped>,
    pub stats: SearchStats,
}

/// Searches `targets` for `pattern`. `segments` must hold every segment the
/// targets (and `since`) reference. With `since`, a matching line is only
/// reported if the same path in `since` has fewer matching lines with that
/// exact text (so moved or unchanged lines do not count as new).
pub fn search(
    pattern: &CompiledPattern,
    targets: &[Target],
    since: Option<&Target>,
    segments: &HashMap<ObjectId, Arc<Segment>>,
    opts: &SearchOptions,
) -> Result<SearchOutput, SearchError> {
    let filter = candidates::PathFilter::new(&opts.globs)?;
    let mut out = SearchOutput::default();

    // Live docs per segment over all targets, after path filtering.
    let mut skipped_since = Vec::new();
    let limit = candidates::SizeLimit { max: opts.max_filesize, segments };
    let mut live = candidates::live_docs(targets, &filter, &limit, &mut out.skipped);
    if let Some(since) = since {
        for (seg, docs) in candidates::live_docs(std::slice::from_ref(since), &filter, &limit, &mut skipped_since) {
            *live.entry(seg).or_default() |= docs;
        }
    }
    let mut seg_list: Vec<(ObjectId, Arc<Segment>)> = Vec::with_capacity(live.len());
    for id in live.keys() {
        let seg = segments.get(id).ok_or_else(|| SearchError::MissingSegment(id.to_hex()))?;
        seg_list.push((*id, seg.clone()));
    }
    let mut cands: Vec<(usize, u32)> = Vec::new();
    for (i, (id, seg)) in seg_list.iter().enumerate() {
        let live_docs = &live[id];
        out.stats.live_docs += live_docs.len();
        let c = candidates::evaluate(&pattern.query, seg, live_docs)
            .map_err(|source| SearchError::Segment { segment: id.to_hex(), source })?;
        cands.extend(c.iter().map(|d| (i, d)));
    }
    out.stats.candidates = cands.len() as u64;

    // `since` compares line texts, so it verifies in line mode, uncapped.
    let verify_opts = match since {
        None => opts.clone(),
        Some(_) => SearchOptions {
            mode: OutputMode::Lines,
            before_context: 0,
            after_context: 0,
            max_count: None,
            globs: Vec::new(),
            max_filesize: None,
        },
    };
    let found = verify::verify_all(pattern, &seg_list, &cands, &verify_opts)?;
    out.stats.matching_docs = found.len() as u64;

    let since_docs: HashMap<&[u8], (ObjectId, u32)> = match since {
        None => HashMap::new(),
        Some(t) => t
            .snapshot
            .entries
            .iter()
            .filter_map(|e| match e.doc {
                DocRef::Indexed { segment, doc } => {
                    Some((e.path.as_slice(), (t.snapshot.segments[segment as usize], doc)))
                }
                DocRef::Skipped { .. } => None,
            })
            .collect(),
    };

    // Attribute matches to every (target, path) holding a matching blob.
    for (t, target) in targets.iter().enumerate() {
        let snap = &target.snapshot;
        for e in &snap.entries {
            let DocRef::Indexed { segment, doc } = e.doc else { continue };
            let seg_id = snap.segments[segment as usize];
            let Some(m) = found.get(&(seg_id, doc)) else { continue };
            if !candidates::searchable(e) || !filter.accepts(&e.path) {
                continue;
            }
            let matches = match since {
                None => m.clone(),
                Some(_) => {
                    let old = since_docs.get(e.path.as_slice()).and_then(|k| found.get(k).map(|m| (k, m)));
                    match new_lines_only(m, old.map(|(_, m)| &**m), opts) {
                        Some(m) => Arc::new(m),
                        None => continue,
                    }
                }
            };
            out.files.push(FileResult { target: t, path: e.path.clone(), matches });
        }
    }
    Ok(out)
}

/// The match lines of `new` whose text is not matched as often in `old`,
/// shaped for the requested output mode; `None` if nothing is new.
fn new_lines_only(new: &DocMatches, old: Option<&DocMatches>, opts: &SearchOptions) -> Option<DocMatches> {
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    for l in old.iter().flat_map(|m| &m.lines).filter(|l| l.kind == LineKind::Match) {
        *seen.entry(&l.bytes).or_default() += 1;
    }
    let mut lines = Vec::new();
    for l in new.lines.iter().filter(|l| l.kind == LineKind::Match) {
        match seen.get_mut(l.bytes.as_slice()) {
            Some(n) if *n > 0 => *n -= 1,
            _ => lines.push(l.clone()),
        }
        if opts.max_count.is_some_and(|max| lines.len() as u64 >= max) {
            break;
        }
    }
    if lines.is_empty() {
        return None;
    }
    let count = lines.len() as u64;
    if opts.mode != OutputMode::Lines {
        lines.clear();
    }
    Some(DocMatches { count, lines })
}
