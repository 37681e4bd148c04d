//! Candidate selection: the trigram plan evaluated over posting lists.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use grove_manifest::DocRef;
use grove_ngram::Query;
use grove_segment::{Segment, SegmentError};
use grove_store::ObjectId;
use ignore::overrides::{Override, OverrideBuilder};
use roaring::RoaringBitmap;

use crate::{SearchError, Skipped, Target};

/// ripgrep's `-g` semantics: globs match the path relative to the repository
/// root gitignore-style; `!glob` excludes; with any positive glob, only
/// matching paths are searched.
pub struct PathFilter {
    overrides: Option<Override>,
}

impl PathFilter {
    pub fn new(globs: &[String]) -> Result<PathFilter, SearchError> {
        if globs.is_empty() {
            return Ok(PathFilter { overrides: None });
        }
        let mut b = OverrideBuilder::new("/");
        for g in globs {
            b.add(g).map_err(|e| SearchError::InvalidGlob(e.to_string()))?;
        }
        let o = b.build().map_err(|e| SearchError::InvalidGlob(e.to_string()))?;
        Ok(PathFilter { overrides: Some(o) })
    }

    pub fn accepts(&self, path: &[u8]) -> bool {
        let Some(o) = &self.overrides else { return true };
        let p = Path::new("/").join(std::ffi::OsStr::from_bytes(path));
        !o.matched(&p, false).is_ignore()
    }
}

/// Symlinks are tracked but not searched: their blob is a link target, and
/// neither `git grep REV` nor ripgrep searches it.
pub(crate) fn searchable(e: &grove_manifest::Entry) -> bool {
    e.mode != grove_base::EntryMode::Symlink
}

/// The search-time size limit, checked against the doc table.
pub(crate) struct SizeLimit<'a> {
    pub max: Option<u64>,
    pub segments: &'a HashMap<ObjectId, Arc<Segment>>,
}

impl SizeLimit<'_> {
    fn too_large(&self, seg: ObjectId, doc: u32) -> bool {
        let (Some(max), Some(s)) = (self.max, self.segments.get(&seg)) else { return false };
        doc < s.num_docs() && s.doc(doc).size > max
    }
}

/// Union of live documents per segment over all targets, after path filters
/// and the size limit. Skipped files that pass the filter are reported.
pub(crate) fn live_docs(
    targets: &[Target],
    filter: &PathFilter,
    limit: &SizeLimit<'_>,
    skipped: &mut Vec<Skipped>,
) -> BTreeMap<ObjectId, RoaringBitmap> {
    let mut live: BTreeMap<ObjectId, RoaringBitmap> = BTreeMap::new();
    for (t, target) in targets.iter().enumerate() {
        let snap = &target.snapshot;
        for e in &snap.entries {
            if !searchable(e) || !filter.accepts(&e.path) {
                continue;
            }
            match e.doc {
                DocRef::Indexed { segment, doc } => {
                    let seg = snap.segments[segment as usize];
                    if limit.too_large(seg, doc) {
                        skipped.push(Skipped {
                            target: t,
                            path: e.path.clone(),
                            reason: grove_base::SkipReason::TooLarge,
                        });
                        continue;
                    }
                    live.entry(seg).or_default().insert(doc);
                }
                DocRef::Skipped { reason, .. } => skipped.push(Skipped { target: t, path: e.path.clone(), reason }),
            }
        }
    }
    live
}

/// The documents of `live` that satisfy `query` in this segment.
pub(crate) fn evaluate(query: &Query, seg: &Segment, live: &RoaringBitmap) -> Result<RoaringBitmap, SegmentError> {
    Ok(match eval(query, seg)? {
        None => live.clone(),
        Some(mut b) => {
            b &= live;
            b
        }
    })
}

/// `None` means "no constraint" (every document).
fn eval(q: &Query, seg: &Segment) -> Result<Option<RoaringBitmap>, SegmentError> {
    Ok(match q {
        Query::All => None,
        Query::None => Some(RoaringBitmap::new()),
        Query::Trigram(t) => Some(seg.postings(*t)?),
        Query::And(qs) => {
            let mut parts = Vec::with_capacity(qs.len());
            for q in qs {
                if let Some(b) = eval(q, seg)? {
                    if b.is_empty() {
                        return Ok(Some(b));
                    }
                    parts.push(b);
                }
            }
            parts.sort_by_key(|b| b.len());
            let mut it = parts.into_iter();
            match it.next() {
                None => None,
                Some(mut acc) => {
                    for b in it {
                        acc &= b;
                        if acc.is_empty() {
                            break;
                        }
                    }
                    Some(acc)
                }
            }
        }
        Query::Or(qs) => {
            let mut acc = RoaringBitmap::new();
            for q in qs {
                match eval(q, seg)? {
                    None => return Ok(None),
                    Some(b) => acc |= b,
                }
            }
            Some(acc)
        }
    })
}
