//! Compaction and garbage collection.
//!
//! **Compaction** merges small delta segments (and segments that are mostly
//! dead) into one, so a query touches a bounded number of segments. It never
//! rewrites what a snapshot still references without rewriting that snapshot:
//! every snapshot using a merged segment is re-encoded against the new one,
//! and its refs are moved with a compare-and-swap under the writer lock (a ref
//! that changed meanwhile is left alone; its old segments simply stay alive).
//!
//! **GC** is mark and sweep from the ref table. An unreferenced object is only
//! deleted when it is older than the grace period *and* was already seen
//! unreferenced by a gc, or superseded by a compaction, at least one grace
//! period ago (the `gc-pending` file),
//! so writers that have not published yet and readers that loaded an older
//! ref table keep working.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use grove_manifest::{
    load_refs, ref_files, update_refs, with_ref_lock, DocRef, ManifestError, PreparedRefs, Refs, Snapshot,
    SnapshotHeader, StoredSnapshot,
};
use grove_segment::merge_segments;
use grove_store::{Kind, ObjectId, Store};
use rayon::prelude::*;

use crate::{open_segment, IndexError};

#[derive(Clone, Debug)]
pub struct CompactOptions {
    /// Segments at least this large (file bytes) are only rewritten when
    /// mostly dead; smaller ones are merged by size tier.
    pub small_segment_bytes: u64,
    /// Merge the segments of one size tier once it holds this many, so each
    /// byte is rewritten O(log n) times and a query touches at most
    /// `(merge_factor - 1) × tiers` small segments.
    pub merge_factor: usize,
    /// A segment with less than this fraction of live docs is rewritten.
    pub min_live_fraction: f64,
}

impl Default for CompactOptions {
    fn default() -> Self {
        CompactOptions { small_segment_bytes: 64 << 20, merge_factor: 8, min_live_fraction: 0.5 }
    }
}

/// Size tier of a small segment: ×4 per tier from 256 KiB.
fn tier(size: u64) -> u32 {
    let mut t = 0;
    let mut bound = 256u64 << 10;
    while size >= bound {
        bound = bound.saturating_mul(4);
        t += 1;
    }
    t
}

#[derive(Clone, Debug, Default)]
pub struct CompactReport {
    pub merged_segments: usize,
    pub live_docs: u64,
    pub dead_docs: u64,
    pub snapshots_rewritten: usize,
    pub new_segment: Option<ObjectId>,
    /// Wall time per step, for `grove index --verbose`.
    pub phases: Vec<(&'static str, Duration)>,
}

/// Objects a run has built but not written yet, which compaction treats as
/// stored: a commit and the compaction it trips are then written as one
/// group and published under one lock (two fsync rounds, not four).
#[derive(Default)]
pub struct Overlay<'a> {
    pub segments: Vec<(ObjectId, &'a [u8])>,
    pub snapshots: Vec<(ObjectId, &'a [u8])>,
    /// Refs the run sets, whatever they named before.
    pub refs: Vec<(String, ObjectId)>,
    /// Headers read by earlier plans of a long-lived process.
    pub cache: Option<&'a crate::IndexerCache>,
}

impl Overlay<'_> {
    fn snapshot(&self, id: ObjectId) -> Option<&[u8]> {
        self.snapshots.iter().find(|(i, _)| *i == id).map(|(_, b)| *b)
    }

    fn segment(&self, id: ObjectId) -> Option<&[u8]> {
        self.segments.iter().find(|(i, _)| *i == id).map(|(_, b)| *b)
    }

    fn header(&self, store: &Store, id: ObjectId) -> Result<SnapshotHeader, IndexError> {
        if let Some(b) = self.snapshot(id) {
            return Ok(Snapshot::header_of(b, &store.path_of(Kind::Snapshot, id))?);
        }
        if let Some(h) = self.cache.and_then(|c| c.headers().get(&id).cloned()) {
            return Ok(h);
        }
        // Planning only: what a compaction rewrites is read verified.
        let h = Snapshot::header_unverified(store, id)?;
        if let Some(c) = self.cache {
            let mut headers = c.headers();
            // A bound on memory for a process that runs for months.
            if headers.len() >= 200_000 {
                headers.clear();
            }
            headers.insert(id, h.clone());
        }
        Ok(h)
    }

    fn stored(&self, store: &Store, id: ObjectId) -> Result<StoredSnapshot, IndexError> {
        Ok(match self.snapshot(id) {
            Some(b) => StoredSnapshot::parse(b, &store.path_of(Kind::Snapshot, id))?,
            None => StoredSnapshot::read(store, id)?,
        })
    }

    fn segment_size(&self, store: &Store, id: ObjectId) -> Result<u64, IndexError> {
        Ok(match self.segment(id) {
            Some(b) => b.len() as u64,
            None => store.object_size(Kind::Segment, id)?,
        })
    }

    fn open_segment(&self, store: &Store, id: ObjectId) -> Result<Arc<grove_segment::Segment>, IndexError> {
        match self.segment(id) {
            Some(b) => {
                let bytes: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(b.to_vec());
                grove_segment::Segment::open(bytes)
                    .map(Arc::new)
                    .map_err(|source| IndexError::Segment { path: id.to_hex(), source })
            }
            None => open_segment(store, id),
        }
    }
}

/// Whether the given snapshots use `merge_factor` or more small segments of
/// one size tier (cheap: loads only those snapshots' headers).
pub fn needs_compaction(store: &Store, opts: &CompactOptions, snapshots: &[ObjectId]) -> Result<bool, IndexError> {
    tripped(store, opts, snapshots, &Overlay::default())
}

fn tripped(
    store: &Store,
    opts: &CompactOptions,
    snapshots: &[ObjectId],
    overlay: &Overlay,
) -> Result<bool, IndexError> {
    let mut segs = BTreeSet::new();
    for id in snapshots.iter().take(16) {
        // Headers only: a delta chain's segments without decoding entries.
        let mut next = Some(*id);
        let mut depth = 0;
        while let Some(cur) = next {
            depth += 1;
            if depth > 64 {
                break; // reading the snapshot reports the damaged chain
            }
            let h = overlay.header(store, cur)?;
            segs.extend(h.segments);
            next = h.base;
        }
    }
    let mut tiers: BTreeMap<u32, usize> = BTreeMap::new();
    for id in segs {
        let size = overlay.segment_size(store, id)?;
        if size < opts.small_segment_bytes {
            *tiers.entry(tier(size)).or_default() += 1;
        }
    }
    Ok(tiers.values().any(|&n| n >= opts.merge_factor))
}

/// Every ref (the overlay's over the stored ones) and the header of every
/// snapshot their chains reach.
fn survey(store: &Store, overlay: &Overlay) -> Result<(Refs, HashMap<ObjectId, SnapshotHeader>), IndexError> {
    let mut refs = load_refs(store)?;
    for (name, id) in &overlay.refs {
        refs.set(name.clone(), *id);
    }
    let ids: BTreeSet<ObjectId> = refs.iter().map(|(_, id)| id).collect();
    // Headers only (a delta's chain lists its segments): choosing what to
    // merge decodes no entries.
    let mut headers: HashMap<ObjectId, SnapshotHeader> = HashMap::new();
    for id in &ids {
        let mut next = Some(*id);
        let mut depth = 0;
        while let Some(cur) = next {
            depth += 1;
            if depth > 64 {
                break; // Snapshot::load reports the damaged chain
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = headers.entry(cur) {
                slot.insert(overlay.header(store, cur)?);
            }
            next = headers[&cur].base;
        }
    }
    Ok((refs, headers))
}

/// The small segments the surveyed chains (`headers`) use, by size tier.
fn tiers_of(
    store: &Store,
    opts: &CompactOptions,
    headers: &HashMap<ObjectId, SnapshotHeader>,
    overlay: &Overlay,
) -> Result<BTreeMap<u32, Vec<ObjectId>>, IndexError> {
    let referenced: BTreeSet<ObjectId> = headers.values().flat_map(|h| h.segments.iter().copied()).collect();
    let mut tiers: BTreeMap<u32, Vec<ObjectId>> = BTreeMap::new();
    for id in &referenced {
        let size = overlay.segment_size(store, *id)?;
        if size < opts.small_segment_bytes {
            tiers.entry(tier(size)).or_default().push(*id);
        }
    }
    Ok(tiers)
}

/// Merges small or mostly dead segments when the policy says so (or always,
/// with `force`). Returns what it did.
///
/// The automatic kind (`force` false) only merges size tiers and moves the
/// documents without resolving any snapshot: every snapshot *file* that
/// points into a merged segment, and every delta above one, is re-encoded
/// file by file with its documents moved (`StoredSnapshot::encode_moved`),
/// so the work is proportional to those files' own changes, not to the
/// resolved snapshots. `grove compact` resolves every referenced snapshot,
/// which also finds large segments that are mostly dead and drops the
/// documents only superseded chain members still pointed at.
pub fn compact(store: &Store, opts: &CompactOptions, force: bool) -> Result<CompactReport, IndexError> {
    let started = Instant::now();
    let overlay = Overlay::default();
    let plan = if force {
        // `grove compact`: every small segment into one.
        let (refs, headers) = survey(store, &overlay)?;
        let small: Vec<ObjectId> = tiers_of(store, opts, &headers, &overlay)?.into_values().flatten().collect();
        let chosen = if small.len() > 1 { small } else { Vec::new() };
        compact_resolved(store, opts, refs, &headers, chosen)?
    } else {
        plan_tiers(store, opts, &overlay, started)?
    };
    match plan {
        Some(plan) => publish(store, plan, &overlay),
        None => Ok(CompactReport::default()),
    }
}

/// What a compaction writes: the merged segment, the rewritten snapshots
/// (old id, new bytes), what it supersedes, and the refs it read.
pub struct Plan {
    refs: Refs,
    new_segment: Vec<u8>,
    rewritten: Vec<(ObjectId, Vec<u8>)>,
    merged: Vec<ObjectId>,
    report: CompactReport,
}

/// The automatic compaction that writing `overlay` (a run's unwritten
/// objects and refs) trips, if any: plan it as if they were stored, to be
/// written together with them by [`publish`].
pub fn plan_with(store: &Store, opts: &CompactOptions, overlay: &Overlay) -> Result<Option<Plan>, IndexError> {
    let started = Instant::now();
    let new: Vec<ObjectId> = overlay.refs.iter().map(|(_, id)| *id).collect();
    if !tripped(store, opts, &new, overlay)? {
        return Ok(None);
    }
    plan_tiers(store, opts, overlay, started)
}

/// The automatic compaction's plan: every size tier holding `merge_factor`
/// or more of the referenced small segments is merged (none: `None`).
fn plan_tiers(
    store: &Store,
    opts: &CompactOptions,
    overlay: &Overlay,
    started: Instant,
) -> Result<Option<Plan>, IndexError> {
    let (refs, headers) = survey(store, overlay)?;
    let tiers = tiers_of(store, opts, &headers, overlay)?;
    let chosen: Vec<ObjectId> = tiers.into_values().filter(|ids| ids.len() >= opts.merge_factor).flatten().collect();
    if chosen.is_empty() {
        return Ok(None);
    }
    compact_moving(store, refs, &headers, chosen, started, overlay)
}

/// The automatic compaction: merges `chosen` and rewrites the snapshot
/// files that point into them, file by file (see [`compact`]).
fn compact_moving(
    store: &Store,
    refs: Refs,
    headers: &HashMap<ObjectId, SnapshotHeader>,
    chosen: Vec<ObjectId>,
    started: Instant,
    overlay: &Overlay,
) -> Result<Option<Plan>, IndexError> {
    let chosen_set: BTreeSet<ObjectId> = chosen.iter().copied().collect();
    // A file must be rewritten when it or a file below it in its chain
    // lists a merged segment ("dirty"); files below the lowest such one stay.
    let mut dirty: HashMap<ObjectId, bool> = HashMap::new();
    for (_, id) in refs.iter() {
        let mut chain = Vec::new();
        let mut next = Some(id);
        while let Some(cur) = next {
            if dirty.contains_key(&cur) || chain.len() > 64 {
                break;
            }
            chain.push(cur);
            next = headers.get(&cur).and_then(|h| h.base);
        }
        let mut below = next.is_some_and(|b| dirty.get(&b).copied().unwrap_or(false));
        for cur in chain.into_iter().rev() {
            below |= headers.get(&cur).is_some_and(|h| h.segments.iter().any(|s| chosen_set.contains(s)));
            dirty.insert(cur, below);
        }
    }
    let mut files: Vec<(ObjectId, StoredSnapshot)> = dirty
        .iter()
        .filter(|(_, d)| **d)
        .map(|(id, _)| Ok((*id, overlay.stored(store, *id)?)))
        .collect::<Result<_, IndexError>>()?;
    // Bases before the deltas on them.
    files.sort_by_key(|(id, f)| (f.header().depth, *id));

    // Every document these files point at in a merged segment is kept (a
    // superset of the live ones: cheap to know, and always enough).
    let mut keep: BTreeMap<ObjectId, BTreeSet<u32>> = chosen.iter().map(|id| (*id, BTreeSet::new())).collect();
    for (_, f) in &files {
        for (seg, doc) in f.docs() {
            if let Some(docs) = keep.get_mut(&seg) {
                docs.insert(doc);
            }
        }
    }
    let planned = Instant::now();
    let (new_segment, moved, mut report) = merge(store, &chosen, &keep, overlay)?;
    let new_id = ObjectId::of(&new_segment);
    report.phases.push(("compact: plan", planned - started));
    report.phases.push(("compact: merge", planned.elapsed()));
    let t = Instant::now();

    let mut new_ids: HashMap<ObjectId, ObjectId> = HashMap::new();
    let mut rewritten: Vec<(ObjectId, Vec<u8>)> = Vec::with_capacity(files.len());
    for (id, f) in &files {
        let base = f.header().base.map(|b| new_ids.get(&b).copied().unwrap_or(b));
        if f.header().base.is_some_and(|b| dirty.get(&b).copied().unwrap_or(false) && !new_ids.contains_key(&b)) {
            return Err(ManifestError::Corrupt {
                path: store.path_of(Kind::Snapshot, *id),
                what: "delta chain depths disagree".into(),
            }
            .into());
        }
        let bytes = f.encode_moved(&moved, new_id, base).ok_or_else(|| ManifestError::Corrupt {
            path: store.path_of(Kind::Snapshot, *id),
            what: "points at a document compaction did not keep".into(),
        })?;
        new_ids.insert(*id, ObjectId::of(&bytes));
        rewritten.push((*id, bytes));
    }
    report.new_segment = Some(new_id);
    report.snapshots_rewritten = rewritten.len();
    report.phases.push(("compact: rewrite", t.elapsed()));
    Ok(Some(Plan { refs, new_segment, rewritten, merged: chosen, report }))
}

/// Merges the `keep` docs of `chosen` into one new segment. Returns its
/// bytes and, per merged segment, old doc id → new doc id (`u32::MAX` if
/// dropped).
#[allow(clippy::type_complexity)]
fn merge(
    store: &Store,
    chosen: &[ObjectId],
    keep: &BTreeMap<ObjectId, BTreeSet<u32>>,
    overlay: &Overlay,
) -> Result<(Vec<u8>, HashMap<ObjectId, Vec<u32>>, CompactReport), IndexError> {
    let mut report = CompactReport { merged_segments: chosen.len(), ..Default::default() };
    let segs: Vec<Arc<grove_segment::Segment>> =
        chosen.iter().map(|id| overlay.open_segment(store, *id)).collect::<Result<_, _>>()?;
    let docs: Vec<Vec<u32>> =
        chosen.iter().map(|id| keep.get(id).map(|d| d.iter().copied().collect()).unwrap_or_default()).collect();
    let mut moved = HashMap::new();
    let mut next = 0u32;
    for ((id, seg), docs) in chosen.iter().zip(&segs).zip(&docs) {
        let mut map = vec![u32::MAX; seg.num_docs() as usize];
        for &d in docs {
            if let Some(slot) = map.get_mut(d as usize) {
                *slot = next;
                next += 1;
            }
        }
        report.live_docs += docs.len() as u64;
        report.dead_docs += (seg.num_docs() as usize).saturating_sub(docs.len()) as u64;
        moved.insert(*id, map);
    }
    // Frames are copied and postings renumbered: merging costs reading the
    // sources' dictionaries and postings, not indexing again.
    let parts: Vec<(&grove_segment::Segment, &[u32])> =
        segs.iter().map(|s| &**s).zip(docs.iter().map(Vec::as_slice)).collect();
    let bytes =
        merge_segments(&parts).map_err(|(k, source)| IndexError::Segment { path: chosen[k].to_hex(), source })?;
    Ok((bytes, moved, report))
}

/// Writes a plan and `overlay` (the run's own objects, less the segments
/// the plan merged) as one durable group, with the files of all refs to set
/// staged in the same fsync round; then, under the writer lock, checks that
/// a concurrent `gc --now` removed none of it (for the overlay's refs, also
/// that every segment their chains use is there, else `Concurrent`: the run
/// is repeated), sets the overlay's refs (to their snapshots as rewritten),
/// moves each other ref that still names a rewritten snapshot
/// (compare-and-swap), and starts the gc grace clock of what the merge
/// superseded.
pub fn publish(store: &Store, plan: Plan, overlay: &Overlay) -> Result<CompactReport, IndexError> {
    let Plan { refs, new_segment, rewritten, merged, mut report } = plan;
    let t = Instant::now();
    let new_ids: HashMap<ObjectId, ObjectId> = rewritten.iter().map(|(old, b)| (*old, ObjectId::of(b))).collect();
    let target = |id: ObjectId| new_ids.get(&id).copied().unwrap_or(id);
    let own: Vec<(String, ObjectId)> = overlay.refs.iter().map(|(n, id)| (n.clone(), target(*id))).collect();
    let moves: Vec<(String, ObjectId)> = refs
        .iter()
        .filter(|(n, id)| new_ids.contains_key(id) && !overlay.refs.iter().any(|(o, _)| o == n))
        .map(|(n, id)| (n.to_string(), id))
        .collect();
    let mut new_refs: Vec<(String, ObjectId)> = own.clone();
    new_refs.extend(moves.iter().map(|(n, old)| (n.clone(), new_ids[old])));

    let mut objects: Vec<(Kind, &[u8])> = vec![(Kind::Segment, new_segment.as_slice())];
    objects.extend(overlay.segments.iter().filter(|(id, _)| !merged.contains(id)).map(|(_, b)| (Kind::Segment, *b)));
    objects.extend(
        overlay.snapshots.iter().filter(|(id, _)| !new_ids.contains_key(id)).map(|(_, b)| (Kind::Snapshot, *b)),
    );
    objects.extend(rewritten.iter().map(|(_, bytes)| (Kind::Snapshot, bytes.as_slice())));
    let files = ref_files(&new_refs);
    let files: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let (ids, staged) = store.put_many_staging(&objects, &files)?;
    let mut prepared = PreparedRefs::new(&new_refs, staged);
    report.phases.push(("compact: write", t.elapsed()));
    let t = Instant::now();
    let res = with_ref_lock(store, |w| -> Result<(), IndexError> {
        let kinds = objects.iter().map(|(k, _)| *k);
        let written = ids.iter().zip(kinds).all(|(id, kind)| store.path_of(kind, *id).exists());
        for (_, id) in &own {
            let chain = Snapshot::chain(store, *id)?;
            let segs_there =
                chain.iter().flat_map(|(_, h)| &h.segments).all(|s| store.path_of(Kind::Segment, *s).exists());
            if !written || !segs_there {
                return Err(IndexError::Concurrent(
                    "a concurrent gc removed what this run wrote or reused; run the command again".into(),
                ));
            }
        }
        let mut keep = vec![true; own.len()];
        for (name, old) in &moves {
            keep.push(written && w.get(name)? == Some(*old));
        }
        prepared.retain(&keep);
        w.install(prepared)?;
        if written {
            // What was never written needs no deleting.
            let mut gone: Vec<(u8, ObjectId)> =
                merged.iter().filter(|id| overlay.segment(**id).is_none()).map(|id| (0, *id)).collect();
            gone.extend(rewritten.iter().filter(|(old, _)| overlay.snapshot(*old).is_none()).map(|(old, _)| (1, *old)));
            add_pending(store, &gone, now_secs())?;
        }
        Ok(())
    });
    report.phases.push(("compact: refs", t.elapsed()));
    res.map(|()| report)
}

/// `grove compact`: resolves every referenced snapshot, merges `chosen`
/// and the mostly dead segments, and rewrites each snapshot that used them
/// as a delta on the nearest snapshot of its chain they leave untouched.
fn compact_resolved(
    store: &Store,
    opts: &CompactOptions,
    refs: Refs,
    headers: &HashMap<ObjectId, SnapshotHeader>,
    mut chosen: Vec<ObjectId>,
) -> Result<Option<Plan>, IndexError> {
    let affected: Vec<ObjectId> = refs.iter().map(|(_, id)| id).collect::<BTreeSet<_>>().into_iter().collect();
    // Snapshots of one delta chain share their bases: resolve each file
    // once (shallowest first), not once per snapshot above it.
    let mut cache: HashMap<ObjectId, Arc<Snapshot>> = HashMap::new();
    let mut by_depth = affected.clone();
    by_depth.sort_by_key(|id| headers.get(id).map_or(0, |h| h.depth));
    let mut snaps: BTreeMap<ObjectId, Arc<Snapshot>> = BTreeMap::new();
    for id in by_depth {
        snaps.insert(id, Snapshot::load_cached(store, id, &mut cache)?);
    }
    // Live docs of the segments those snapshots use.
    let mut live: BTreeMap<ObjectId, BTreeSet<u32>> = BTreeMap::new();
    for s in snaps.values() {
        for e in &s.entries {
            if let DocRef::Indexed { segment, doc } = e.doc {
                live.entry(s.segments[segment as usize]).or_default().insert(doc);
            }
        }
    }
    for (id, docs) in &live {
        if chosen.contains(id) {
            continue;
        }
        let seg = open_segment(store, *id)?;
        if (docs.len() as f64) < opts.min_live_fraction * seg.num_docs().max(1) as f64 {
            chosen.push(*id);
        }
    }
    if chosen.is_empty() {
        return Ok(None);
    }
    // A segment a chain lists but no resolved entry uses is entirely dead.
    let (new_segment, moved, mut report) = merge(store, &chosen, &live, &Overlay::default())?;
    let new_id = ObjectId::of(&new_segment);
    report.new_segment = Some(new_id);
    let chosen: BTreeSet<ObjectId> = chosen.into_iter().collect();

    // Each rewritten snapshot is stored as a delta on the nearest snapshot of
    // its own chain that uses none of the merged segments (so it stays valid),
    // or in full when there is none.
    let untouched_base = |id: ObjectId| -> Option<ObjectId> {
        let mut chain = Vec::new();
        let mut next = headers.get(&id).and_then(|h| h.base);
        while let Some(cur) = next {
            chain.push(cur);
            next = headers.get(&cur).and_then(|h| h.base);
        }
        // A chain member is untouched when it and everything below it avoid
        // the merged segments.
        let mut clean_from = chain.len();
        for (k, cur) in chain.iter().enumerate().rev() {
            if headers[cur].segments.iter().any(|s| chosen.contains(s)) {
                break;
            }
            clean_from = k;
        }
        chain.get(clean_from).copied()
    };
    let mut bases: HashMap<ObjectId, Arc<Snapshot>> = HashMap::new();
    for (id, s) in &snaps {
        if s.segments.iter().any(|x| chosen.contains(x)) {
            if let Some(b) = untouched_base(*id) {
                if let std::collections::hash_map::Entry::Vacant(slot) = bases.entry(b) {
                    slot.insert(Snapshot::load_cached(store, b, &mut cache)?);
                }
            }
        }
    }
    drop(cache);
    // Re-encode every snapshot that used a merged segment (in parallel).
    let rewritten: Vec<(ObjectId, Vec<u8>)> = snaps
        .par_iter()
        .filter(|(_, s)| s.segments.iter().any(|id| chosen.contains(id)))
        .map(|(old_id, s)| {
            let mut segments: Vec<ObjectId> = Vec::new();
            let mut index_of: HashMap<ObjectId, u32> = HashMap::new();
            let mut entries = s.entries.clone();
            for e in &mut entries {
                if let DocRef::Indexed { segment, doc } = e.doc {
                    let seg_id = s.segments[segment as usize];
                    let (target, doc) = match moved.get(&seg_id) {
                        Some(map) => (new_id, map[doc as usize]),
                        None => (seg_id, doc),
                    };
                    let idx = *index_of.entry(target).or_insert_with(|| {
                        segments.push(target);
                        (segments.len() - 1) as u32
                    });
                    e.doc = DocRef::Indexed { segment: idx, doc };
                }
            }
            let rewritten = Snapshot { commit: s.commit, tree: s.tree, segments, entries };
            let base = untouched_base(*old_id).map(|b| (b, &headers[&b], &*bases[&b]));
            Ok((*old_id, rewritten.encode_relative(base)))
        })
        .collect::<Result<_, IndexError>>()?;
    report.snapshots_rewritten = rewritten.len();
    let merged: Vec<ObjectId> = chosen.into_iter().collect();
    Ok(Some(Plan { refs, new_segment, rewritten, merged, report }))
}

/// Whether a gc would delete something now: an object seen unreferenced
/// (by a gc, or superseded by a compaction) at least `grace` ago. Lets the
/// automatic compaction skip the full mark and sweep when it would not.
pub fn gc_due(store: &Store, grace: Duration) -> Result<bool, IndexError> {
    let now = now_secs();
    Ok(read_pending(store)?.values().any(|&t| now.saturating_sub(t) >= grace.as_secs()))
}

#[derive(Clone, Debug, Default)]
pub struct GcReport {
    pub segments_removed: usize,
    pub snapshots_removed: usize,
    pub bytes_freed: u64,
    /// Unreferenced objects kept for now (inside the grace period).
    pub pending: usize,
    pub temp_removed: usize,
}

const PENDING: &str = "gc-pending";

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Mark and sweep from every ref. See the module docs for the grace rule.
pub fn gc(store: &Store, grace: Duration) -> Result<GcReport, IndexError> {
    let mut report = GcReport::default();
    update_refs::<_, IndexError>(store, |refs| {
        // The refs marked from must survive a power failure before anything
        // they no longer reach is deleted (ref installs are durable lazily).
        store.sync_installed()?;
        // Mark.
        let mut live_snaps = BTreeSet::new();
        let mut live_segs = BTreeSet::new();
        for (_, id) in refs.iter() {
            // A delta keeps its whole chain (and the chain's segments) alive.
            // Chains share their lower parts: stop at the first snapshot
            // already marked (everything below it is marked too).
            let mut next = Some(id);
            let mut depth = 0;
            while let Some(cur) = next {
                if !live_snaps.insert(cur) {
                    break;
                }
                depth += 1;
                if depth > 64 {
                    // A chain this long is damaged; `Snapshot::chain` says so
                    // (and if it does not, everything it lists stays alive).
                    for (chain_id, h) in Snapshot::chain(store, id)? {
                        live_snaps.insert(chain_id);
                        live_segs.extend(h.segments);
                    }
                    break;
                }
                let h = Snapshot::header(store, cur)?;
                live_segs.extend(h.segments);
                next = h.base;
            }
        }
        // Sweep, honouring the grace period twice (file age, pending age).
        let previous = read_pending(store)?;
        let mut pending: BTreeMap<(u8, ObjectId), u64> = BTreeMap::new();
        let now = now_secs();
        for (kind, tag, live) in [(Kind::Segment, 0u8, &live_segs), (Kind::Snapshot, 1u8, &live_snaps)] {
            for id in store.list(kind)? {
                if live.contains(&id) {
                    continue;
                }
                let path = store.path_of(kind, id);
                let old_enough = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age >= grace);
                let since = previous.get(&(tag, id)).copied().unwrap_or(now);
                if old_enough && now.saturating_sub(since) >= grace.as_secs() {
                    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
                    if std::fs::remove_file(&path).is_ok() {
                        report.bytes_freed += size;
                        match kind {
                            Kind::Segment => report.segments_removed += 1,
                            Kind::Snapshot => report.snapshots_removed += 1,
                            // Not swept here: the side index is a cache keyed by content.
                            Kind::Syntax | Kind::Vectors => {}
                        }
                    }
                } else {
                    pending.insert((tag, id), since);
                    report.pending += 1;
                }
            }
        }
        write_pending(store, &pending)?;
        report.temp_removed = store.gc_temp(grace)?;
        Ok(())
    })?;
    Ok(report)
}

/// Segments a gc has seen unreferenced (superseded by compaction, dropped,
/// or left by a crash that a gc has since looked at).
pub(crate) fn pending_segments(store: &Store) -> Result<BTreeSet<ObjectId>, IndexError> {
    Ok(read_pending(store)?.into_keys().filter(|(tag, _)| *tag == 0).map(|(_, id)| id).collect())
}

fn read_pending(store: &Store) -> Result<BTreeMap<(u8, ObjectId), u64>, IndexError> {
    let mut out = BTreeMap::new();
    let Some(bytes) = store.read_file(PENDING)? else { return Ok(out) };
    // A damaged pending list only delays deletion: start over. It is written
    // without fsync, so a crash may cut it short: only whole lines count
    // (a cut timestamp would look older than it is).
    let text = String::from_utf8_lossy(&bytes);
    let whole = text.rfind('\n').map_or("", |end| &text[..end]);
    for line in whole.lines() {
        let mut parts = line.split(' ');
        let (Some(kind), Some(hex), Some(t)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let tag = match kind {
            "segment" => 0,
            "snapshot" => 1,
            _ => continue,
        };
        if let (Some(id), Ok(t)) = (ObjectId::from_hex(hex), t.parse()) {
            out.insert((tag, id), t);
        }
    }
    Ok(out)
}

fn write_pending(store: &Store, pending: &BTreeMap<(u8, ObjectId), u64>) -> Result<(), IndexError> {
    let mut s = String::new();
    for ((tag, id), t) in pending {
        let kind = if *tag == 0 { "segment" } else { "snapshot" };
        s.push_str(&format!("{kind} {} {t}\n", id.to_hex()));
    }
    // Losing it in a crash only delays deletion: no fsync.
    store.replace_file_unsynced(PENDING, s.as_bytes())?;
    Ok(())
}

/// Adds objects to the pending list (keeping an earlier time already there).
/// Call under the writer lock, like gc, so no update is lost.
fn add_pending(store: &Store, objects: &[(u8, ObjectId)], now: u64) -> Result<(), IndexError> {
    let mut pending = read_pending(store)?;
    for key in objects {
        pending.entry(*key).or_insert(now);
    }
    write_pending(store, &pending)
}
