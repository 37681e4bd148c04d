use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use grove_base::{EntryMode, GitOid, SkipReason};
use grove_store::{Kind, ObjectId, Store};

use crate::ManifestError;

pub const SNAPSHOT_VERSION: u32 = 2;
const MAGIC: &[u8; 8] = b"GROVESNP";

/// Where a tracked file's content lives in the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocRef {
    /// Document `doc` of `segments[segment]`.
    Indexed { segment: u32, doc: u32 },
    /// Not searchable; reported to the user.
    Skipped { reason: SkipReason, size: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: Vec<u8>,
    pub mode: EntryMode,
    pub git_oid: GitOid,
    pub doc: DocRef,
}

/// One searchable state. Entries are sorted by path bytes (git's order).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub commit: GitOid,
    pub tree: GitOid,
    pub segments: Vec<ObjectId>,
    pub entries: Vec<Entry>,
}

#[cfg(test)]
impl Entry {
    fn doc_segment(&self) -> Option<u32> {
        match self.doc {
            DocRef::Indexed { segment, .. } => Some(segment),
            DocRef::Skipped { .. } => None,
        }
    }
}

impl Snapshot {
    /// Live document ids per segment index, derived from the entries.
    pub fn live_docs(&self) -> BTreeMap<u32, Vec<u32>> {
        let mut live: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for e in &self.entries {
            if let DocRef::Indexed { segment, doc } = e.doc {
                live.entry(segment).or_default().push(doc);
            }
        }
        for docs in live.values_mut() {
            docs.sort_unstable();
            docs.dedup();
        }
        live
    }

    /// Encodes the whole snapshot (a full version-2 file).
    pub fn encode(&self) -> Vec<u8> {
        let body = entries_body(&self.entries);
        let header = SnapshotHeader::full(self.commit, self.tree, self.entries.len(), self.segments.clone());
        encode_file(&header, &body)
    }

    /// Parses a snapshot file that needs no base (version 1, or a full
    /// version 2). A delta is an error here: use [`Snapshot::load`].
    pub fn decode(bytes: &[u8], path: &std::path::Path) -> Result<Snapshot, ManifestError> {
        match parse(bytes, path)? {
            Parsed::V1(s) => Ok(s),
            Parsed::V2(h, body) => {
                if h.base.is_some() {
                    return Err(corrupt(path, "a delta snapshot cannot be read without its base"));
                }
                let entries = decode_entries(&body, h.segments.len(), path)?;
                Ok(Snapshot { commit: h.commit, tree: h.tree, segments: h.segments, entries })
            }
        }
    }

    /// Version 1: one zstd body holding commit, tree, segments and entries.
    fn decode_v1(bytes: &[u8], path: &std::path::Path) -> Result<Snapshot, ManifestError> {
        let corrupt = |what: &str| ManifestError::Corrupt { path: path.to_path_buf(), what: what.to_string() };
        if bytes.len() < 20 || &bytes[..8] != MAGIC {
            return Err(corrupt("not a grove snapshot"));
        }
        let body_len = u64::from_le_bytes(bytes[12..20].try_into().unwrap());
        if body_len > (1 << 34) {
            return Err(corrupt("implausible size"));
        }
        let body = zstd::bulk::decompress(&bytes[20..], body_len as usize)
            .map_err(|e| corrupt(&format!("decompression failed: {e}")))?;
        if body.len() as u64 != body_len {
            return Err(corrupt("wrong length"));
        }
        // The v1 body is commit, tree and segments, then entries encoded as
        // in a v2 full body.
        let mut r = Reader { b: &body, pos: 0 };
        let head = (|| -> Option<(GitOid, GitOid, Vec<ObjectId>)> {
            let commit = GitOid(r.array()?);
            let tree = GitOid(r.array()?);
            let nseg = r.varint()? as usize;
            let mut segments = Vec::with_capacity(nseg.min(1 << 16));
            for _ in 0..nseg {
                segments.push(ObjectId(r.array()?));
            }
            Some((commit, tree, segments))
        })();
        let (commit, tree, segments) = head.ok_or_else(|| corrupt("malformed snapshot body"))?;
        let entries = decode_entries(&body[r.pos..], segments.len(), path)?;
        Ok(Snapshot { commit, tree, segments, entries })
    }

    /// Stores the snapshot in full (write-once) and returns its id.
    pub fn store(&self, store: &Store) -> Result<ObjectId, ManifestError> {
        Ok(store.put(Kind::Snapshot, &self.encode())?)
    }

    /// Stores a snapshot as `base` plus `changes` (sorted by path; a `Set`
    /// entry's segment index points into `segments`, the delta's own list).
    /// Cost O(changes): this is how one commit after an indexed one is
    /// written. Past [`MAX_DELTA_DEPTH`] the caller must store in full.
    pub fn store_delta(
        store: &Store,
        commit: GitOid,
        tree: GitOid,
        base: (ObjectId, &SnapshotHeader),
        segments: Vec<ObjectId>,
        changes: &[EntryChange],
        files: u64,
    ) -> Result<ObjectId, ManifestError> {
        let bytes = Snapshot::encode_delta(commit, tree, base, segments, changes, files);
        Ok(store.put(Kind::Snapshot, &bytes)?)
    }

    /// The file bytes [`Snapshot::store_delta`] writes (for writing them in
    /// one group with other objects: `Store::put_many`).
    pub fn encode_delta(
        commit: GitOid,
        tree: GitOid,
        base: (ObjectId, &SnapshotHeader),
        segments: Vec<ObjectId>,
        changes: &[EntryChange],
        files: u64,
    ) -> Vec<u8> {
        let body = changes_body(changes);
        let header = SnapshotHeader { commit, tree, base: Some(base.0), depth: base.1.depth + 1, files, segments };
        encode_file(&header, &body)
    }

    /// Stores `self` as a delta on `base` (both resolved) when the chain stays
    /// within [`MAX_DELTA_DEPTH`], else in full. The delta holds exactly the
    /// entries that differ (documents compared by segment id, not index).
    pub fn store_relative(
        &self,
        store: &Store,
        base: Option<(ObjectId, &SnapshotHeader, &Snapshot)>,
    ) -> Result<ObjectId, ManifestError> {
        Ok(store.put(Kind::Snapshot, &self.encode_relative(base))?)
    }

    /// The file bytes [`Snapshot::store_relative`] writes.
    pub fn encode_relative(&self, base: Option<(ObjectId, &SnapshotHeader, &Snapshot)>) -> Vec<u8> {
        let Some((base_id, bh, b)) = base.filter(|(_, h, _)| h.depth < MAX_DELTA_DEPTH) else {
            return self.encode();
        };
        let resolved = |s: &Snapshot, d: DocRef| match d {
            DocRef::Indexed { segment, doc } => (Some((s.segments[segment as usize], doc)), None),
            DocRef::Skipped { reason, size } => (None, Some((reason, size))),
        };
        let mut segments: Vec<ObjectId> = Vec::new();
        let mut set = |e: &Entry| {
            let mut e = e.clone();
            if let DocRef::Indexed { segment, doc } = e.doc {
                let id = self.segments[segment as usize];
                e.doc = DocRef::Indexed { segment: segment_index(&mut segments, id), doc };
            }
            EntryChange::Set(e)
        };
        let (mut i, mut j) = (0, 0);
        let mut changes = Vec::new();
        while i < self.entries.len() || j < b.entries.len() {
            let (mine, theirs) = (self.entries.get(i), b.entries.get(j));
            match (mine, theirs) {
                (Some(m), Some(t)) if m.path == t.path => {
                    if m.mode != t.mode || m.git_oid != t.git_oid || resolved(self, m.doc) != resolved(b, t.doc) {
                        changes.push(set(m));
                    }
                    i += 1;
                    j += 1;
                }
                (Some(m), Some(t)) if m.path < t.path => {
                    changes.push(set(m));
                    i += 1;
                }
                (Some(m), None) => {
                    changes.push(set(m));
                    i += 1;
                }
                (_, Some(t)) => {
                    changes.push(EntryChange::Delete(t.path.clone()));
                    j += 1;
                }
                (None, None) => unreachable!("loop condition"),
            }
        }
        Snapshot::encode_delta(self.commit, self.tree, (base_id, bh), segments, &changes, self.entries.len() as u64)
    }

    /// Reads only a snapshot's header (the file's hash is still checked).
    pub fn header(store: &Store, id: ObjectId) -> Result<SnapshotHeader, ManifestError> {
        let bytes = store.read_verified(Kind::Snapshot, id)?;
        Snapshot::header_of(&bytes, &store.path_of(Kind::Snapshot, id))
    }

    /// [`Snapshot::header`] from the first bytes of the file, without
    /// hashing all of it: for planning (which snapshots a compaction would
    /// touch), where reading and hashing every full snapshot of an index
    /// with a thousand tags cost ~100 ms. What is then rewritten, deleted or
    /// searched is read verified.
    pub fn header_unverified(store: &Store, id: ObjectId) -> Result<SnapshotHeader, ManifestError> {
        let path = store.path_of(Kind::Snapshot, id);
        // A header holds 32 bytes per segment: 4 KiB covers ~120 of them;
        // one that does not fit is read again in full (parsing the prefix
        // fails as truncated).
        const PREFIX: usize = 4096;
        let prefix = store.read_prefix(Kind::Snapshot, id, PREFIX)?;
        let parsed = match parse_header(&prefix, &path) {
            Err(_) if prefix.len() == PREFIX => {
                parse_header(&store.read_prefix(Kind::Snapshot, id, usize::MAX)?, &path)
            }
            other => other,
        };
        match parsed? {
            Some((h, _, _)) => Ok(h),
            // Version 1 keeps its segments after the entries: read it all.
            None => Snapshot::header(store, id),
        }
    }

    /// The header of a snapshot file's bytes (`path` names it in errors).
    pub fn header_of(bytes: &[u8], path: &std::path::Path) -> Result<SnapshotHeader, ManifestError> {
        // Version 2 headers are read without decompressing the body.
        if let Some((h, _, _)) = parse_header(bytes, path)? {
            return Ok(h);
        }
        let s = Snapshot::decode_v1(bytes, path)?;
        Ok(SnapshotHeader::full(s.commit, s.tree, s.entries.len(), s.segments))
    }

    /// The ids a snapshot depends on: itself, then its bases down to a full one.
    pub fn chain(store: &Store, id: ObjectId) -> Result<Vec<(ObjectId, SnapshotHeader)>, ManifestError> {
        let mut out = Vec::new();
        let mut next = Some(id);
        while let Some(id) = next {
            if out.len() > MAX_CHAIN {
                return Err(corrupt(&store.path_of(Kind::Snapshot, id), "delta chain too long"));
            }
            let h = Snapshot::header(store, id)?;
            next = h.base;
            out.push((id, h));
        }
        Ok(out)
    }

    /// Loads a snapshot, checking that every file of its chain hashes to its
    /// id, and resolves deltas against their bases.
    pub fn load(store: &Store, id: ObjectId) -> Result<Snapshot, ManifestError> {
        Snapshot::load_inner(store, id, None)
    }

    /// Like [`Snapshot::load`], but resolved snapshots (the result and the
    /// bases of its chain) are kept in `cache` and reused: loading many
    /// snapshots of one delta chain decodes each file once, not once per
    /// snapshot above it.
    pub fn load_cached(
        store: &Store,
        id: ObjectId,
        cache: &mut HashMap<ObjectId, Arc<Snapshot>>,
    ) -> Result<Arc<Snapshot>, ManifestError> {
        if let Some(s) = cache.get(&id) {
            return Ok(s.clone());
        }
        let s = Arc::new(Snapshot::load_inner(store, id, Some(cache))?);
        cache.insert(id, s.clone());
        Ok(s)
    }

    fn load_inner(
        store: &Store,
        id: ObjectId,
        cache: Option<&mut HashMap<ObjectId, Arc<Snapshot>>>,
    ) -> Result<Snapshot, ManifestError> {
        let bytes = store.read_verified(Kind::Snapshot, id)?;
        let path = store.path_of(Kind::Snapshot, id);
        let (h, body) = match parse(&bytes, &path)? {
            Parsed::V1(s) => return Ok(s),
            Parsed::V2(h, body) => (h, body),
        };
        let Some(base_id) = h.base else {
            let entries = decode_entries(&body, h.segments.len(), &path)?;
            return Ok(Snapshot { commit: h.commit, tree: h.tree, segments: h.segments, entries });
        };
        if h.depth as usize > MAX_CHAIN {
            return Err(corrupt(&path, "delta chain too long"));
        }
        let base = match cache {
            Some(cache) => Snapshot::load_cached(store, base_id, cache)?,
            None => Arc::new(Snapshot::load(store, base_id)?),
        };
        let changes = decode_changes(&body, h.segments.len(), &path)?;
        let s = base.apply(h.commit, h.tree, h.segments, changes);
        if s.entries.len() as u64 != h.files {
            return Err(corrupt(&path, "delta does not apply to its base"));
        }
        Ok(s)
    }

    /// The same snapshot listing only the segments its entries use.
    pub fn pruned(mut self) -> Snapshot {
        let mut index: Vec<Option<u32>> = vec![None; self.segments.len()];
        let mut segments = Vec::new();
        for e in &mut self.entries {
            if let DocRef::Indexed { segment, doc } = e.doc {
                let i = *index[segment as usize].get_or_insert_with(|| {
                    segments.push(self.segments[segment as usize]);
                    (segments.len() - 1) as u32
                });
                e.doc = DocRef::Indexed { segment: i, doc };
            }
        }
        self.segments = segments;
        self
    }

    /// This snapshot with `changes` applied (sorted by path; a `Set` entry's
    /// segment index points into `own`, as in a delta file).
    pub fn apply(&self, commit: GitOid, tree: GitOid, own: Vec<ObjectId>, changes: Vec<EntryChange>) -> Snapshot {
        let base = self;
        // Resolved segment list: the base's, then the delta's new ones.
        let mut segments = base.segments.clone();
        let remap: Vec<u32> = own.iter().map(|s| segment_index(&mut segments, *s)).collect();
        let mut entries = Vec::with_capacity(base.entries.len() + changes.len());
        let mut i = 0;
        for c in changes {
            let path = change_path(&c);
            while i < base.entries.len() && base.entries[i].path.as_slice() < path {
                entries.push(base.entries[i].clone());
                i += 1;
            }
            if i < base.entries.len() && base.entries[i].path.as_slice() == path {
                i += 1;
            }
            if let EntryChange::Set(mut e) = c {
                if let DocRef::Indexed { segment, doc } = e.doc {
                    e.doc = DocRef::Indexed { segment: remap[segment as usize], doc };
                }
                entries.push(e);
            }
        }
        entries.extend_from_slice(&base.entries[i..]);
        Snapshot { commit, tree, segments, entries }
    }
}

impl Snapshot {
    /// The changes that turn `to`, a snapshot below `from` in its delta
    /// chain, into `from`: the delta files between them composed, each read
    /// once and nothing resolved. Returns a segment list and the changes
    /// (sorted by path, each set entry's segment index into that list), as
    /// [`Snapshot::encode_delta`] takes them. A deletion may name a path
    /// `to` lacks (added and deleted in between), which applying ignores.
    pub fn changes_since(
        store: &Store,
        from: ObjectId,
        to: ObjectId,
    ) -> Result<(Vec<ObjectId>, Vec<EntryChange>), ManifestError> {
        let mut files = Vec::new();
        let mut cur = from;
        while cur != to {
            if files.len() > MAX_CHAIN {
                return Err(corrupt(&store.path_of(Kind::Snapshot, from), "delta chain too long"));
            }
            let f = StoredSnapshot::read(store, cur)?;
            let (Some(base), StoredBody::Delta(_)) = (f.header.base, &f.body) else {
                return Err(corrupt(&store.path_of(Kind::Snapshot, from), "not a delta chain down to its base"));
            };
            cur = base;
            files.push(f);
        }
        let mut acc = (Vec::new(), Vec::new());
        for f in files.into_iter().rev() {
            let StoredBody::Delta(changes) = f.body else { unreachable!("checked above") };
            acc = compose_changes(acc, (f.header.segments, changes));
        }
        Ok(acc)
    }
}

/// The index of segment `id` in a snapshot's segment list, appending it
/// the first time (entries name segments by index).
pub fn segment_index(segments: &mut Vec<ObjectId>, id: ObjectId) -> u32 {
    match segments.iter().position(|s| *s == id) {
        Some(i) => i as u32,
        None => {
            segments.push(id);
            (segments.len() - 1) as u32
        }
    }
}

/// `upper` applied after `lower`, as one set of changes: both sorted by path,
/// each with its own segment list; the result has its own list.
pub fn compose_changes(
    lower: (Vec<ObjectId>, Vec<EntryChange>),
    upper: (Vec<ObjectId>, Vec<EntryChange>),
) -> (Vec<ObjectId>, Vec<EntryChange>) {
    let mut segments: Vec<ObjectId> = Vec::new();
    let mut out = Vec::with_capacity(lower.1.len() + upper.1.len());
    let mut take = |c: EntryChange, from: &[ObjectId]| match c {
        EntryChange::Set(mut e) => {
            if let DocRef::Indexed { segment, doc } = e.doc {
                let id = from[segment as usize];
                e.doc = DocRef::Indexed { segment: segment_index(&mut segments, id), doc };
            }
            out.push(EntryChange::Set(e));
        }
        EntryChange::Delete(p) => out.push(EntryChange::Delete(p)),
    };
    let (lsegs, upper_segs) = (lower.0, upper.0);
    let mut l = lower.1.into_iter().peekable();
    let mut u = upper.1.into_iter().peekable();
    loop {
        let order = match (l.peek(), u.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(a), Some(b)) => change_path(a).cmp(change_path(b)),
        };
        match order {
            std::cmp::Ordering::Less => take(l.next().expect("peeked"), &lsegs),
            std::cmp::Ordering::Greater => take(u.next().expect("peeked"), &upper_segs),
            std::cmp::Ordering::Equal => {
                l.next();
                take(u.next().expect("peeked"), &upper_segs);
            }
        }
    }
    (segments, out)
}

/// A full body: the entry count, then each entry (paths front-coded).
fn entries_body(entries: &[Entry]) -> Vec<u8> {
    let mut body = Vec::with_capacity(16 + entries.len() * 48);
    put_varint(&mut body, entries.len() as u64);
    let mut prev: &[u8] = &[];
    for e in entries {
        put_entry(&mut body, prev, e);
        prev = &e.path;
    }
    body
}

/// A delta body: the change count, then each change (0: set, 1: delete).
fn changes_body(changes: &[EntryChange]) -> Vec<u8> {
    let mut body = Vec::with_capacity(16 + changes.len() * 48);
    put_varint(&mut body, changes.len() as u64);
    let mut prev: &[u8] = &[];
    for c in changes {
        match c {
            EntryChange::Set(e) => {
                body.push(0);
                put_entry(&mut body, prev, e);
            }
            EntryChange::Delete(path) => {
                body.push(1);
                put_path(&mut body, prev, path);
            }
        }
        prev = change_path(c);
    }
    body
}

fn change_path(c: &EntryChange) -> &[u8] {
    match c {
        EntryChange::Set(e) => &e.path,
        EntryChange::Delete(p) => p,
    }
}

/// One snapshot file as stored, not resolved against its base: what
/// compaction rewrites when it moves documents to a new segment.
#[derive(Clone, Debug)]
pub struct StoredSnapshot {
    header: SnapshotHeader,
    body: StoredBody,
}

#[derive(Clone, Debug)]
enum StoredBody {
    Full(Vec<Entry>),
    Delta(Vec<EntryChange>),
}

impl StoredSnapshot {
    /// Reads and checks one file (its hash, its encoding); a delta's base is
    /// not read.
    pub fn read(store: &Store, id: ObjectId) -> Result<StoredSnapshot, ManifestError> {
        let bytes = store.read_verified(Kind::Snapshot, id)?;
        StoredSnapshot::parse(&bytes, &store.path_of(Kind::Snapshot, id))
    }

    /// One file's bytes, checked as [`StoredSnapshot::read`] does but for
    /// the hash (`path` names it in errors).
    pub fn parse(bytes: &[u8], path: &std::path::Path) -> Result<StoredSnapshot, ManifestError> {
        match parse(bytes, path)? {
            Parsed::V1(s) => {
                let header = SnapshotHeader::full(s.commit, s.tree, s.entries.len(), s.segments);
                Ok(StoredSnapshot { header, body: StoredBody::Full(s.entries) })
            }
            Parsed::V2(header, body) => {
                let nseg = header.segments.len();
                let body = match header.base {
                    None => StoredBody::Full(decode_entries(&body, nseg, path)?),
                    Some(_) => StoredBody::Delta(decode_changes(&body, nseg, path)?),
                };
                Ok(StoredSnapshot { header, body })
            }
        }
    }

    pub fn header(&self) -> &SnapshotHeader {
        &self.header
    }

    /// The documents this file itself points at (a delta: its changes only).
    pub fn docs(&self) -> impl Iterator<Item = (ObjectId, u32)> + '_ {
        let entries: Box<dyn Iterator<Item = &Entry>> = match &self.body {
            StoredBody::Full(entries) => Box::new(entries.iter()),
            StoredBody::Delta(changes) => Box::new(changes.iter().filter_map(|c| match c {
                EntryChange::Set(e) => Some(e),
                EntryChange::Delete(_) => None,
            })),
        };
        entries.filter_map(|e| match e.doc {
            DocRef::Indexed { segment, doc } => Some((self.header.segments[segment as usize], doc)),
            DocRef::Skipped { .. } => None,
        })
    }

    /// The file re-encoded with its documents moved: an entry pointing at doc
    /// `d` of a segment `s` in `moved` now points at doc `moved[s][d]` of
    /// `to`, and a delta applies to `base` (its old base moved the same way,
    /// or the old base itself). Same kind, depth, commit and entries
    /// otherwise, so a chain rewritten file by file resolves to the old
    /// chain with the documents moved. Costs the size of this file, not of
    /// the resolved snapshot. `None` if an entry points at a doc `moved`
    /// drops (`u32::MAX`).
    pub fn encode_moved(
        &self,
        moved: &HashMap<ObjectId, Vec<u32>>,
        to: ObjectId,
        base: Option<ObjectId>,
    ) -> Option<Vec<u8>> {
        let h = &self.header;
        let mut segments: Vec<ObjectId> = Vec::with_capacity(h.segments.len());
        let index: Vec<u32> = h
            .segments
            .iter()
            .map(|s| segment_index(&mut segments, if moved.contains_key(s) { to } else { *s }))
            .collect();
        let move_entry = |e: &Entry| -> Option<Entry> {
            let mut e = e.clone();
            if let DocRef::Indexed { segment, doc } = e.doc {
                let doc = match moved.get(&h.segments[segment as usize]) {
                    Some(map) => *map.get(doc as usize).filter(|&&d| d != u32::MAX)?,
                    None => doc,
                };
                e.doc = DocRef::Indexed { segment: index[segment as usize], doc };
            }
            Some(e)
        };
        let body = match &self.body {
            StoredBody::Full(entries) => entries_body(&entries.iter().map(move_entry).collect::<Option<Vec<_>>>()?),
            StoredBody::Delta(changes) => changes_body(
                &changes
                    .iter()
                    .map(|c| match c {
                        EntryChange::Set(e) => move_entry(e).map(EntryChange::Set),
                        EntryChange::Delete(path) => Some(EntryChange::Delete(path.clone())),
                    })
                    .collect::<Option<Vec<_>>>()?,
            ),
        };
        let base = if h.base.is_some() { base } else { None };
        let header = SnapshotHeader { base, segments, ..h.clone() };
        Some(encode_file(&header, &body))
    }
}

/// A snapshot file's header: what chaining and gc need without the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub commit: GitOid,
    pub tree: GitOid,
    /// For a delta: the snapshot it applies to.
    pub base: Option<ObjectId>,
    /// Number of deltas down to a full snapshot (0 for a full one).
    pub depth: u32,
    /// Number of entries of the resolved snapshot.
    pub files: u64,
    /// This file's own segment list (a delta's new segments only).
    pub segments: Vec<ObjectId>,
}

impl SnapshotHeader {
    /// The header of a full (not delta) snapshot of `files` entries.
    fn full(commit: GitOid, tree: GitOid, files: usize, segments: Vec<ObjectId>) -> SnapshotHeader {
        SnapshotHeader { commit, tree, base: None, depth: 0, files: files as u64, segments }
    }
}

/// One change of a delta snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryChange {
    Set(Entry),
    Delete(Vec<u8>),
}

/// Deltas are written on top of at most this many others, then in full.
pub const MAX_DELTA_DEPTH: u32 = 16;
/// Refuse chains longer than this when reading (a damaged file).
const MAX_CHAIN: usize = 64;

fn corrupt(path: &std::path::Path, what: &str) -> ManifestError {
    ManifestError::Corrupt { path: path.to_path_buf(), what: what.to_string() }
}

enum Parsed {
    V1(Snapshot),
    V2(SnapshotHeader, Vec<u8>),
}

/// Version 2 layout: magic, version, kind (0 full, 1 delta), commit, tree,
/// files (u64), depth (u32), base (32 bytes, zero for full), segment count
/// (u32) and ids, body length (u64), then the zstd body.
fn encode_file(h: &SnapshotHeader, body: &[u8]) -> Vec<u8> {
    let compressed = zstd::bulk::compress(body, 3).expect("zstd compression of an in-memory buffer");
    let mut out = Vec::with_capacity(compressed.len() + 112 + h.segments.len() * 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    out.push(u8::from(h.base.is_some()));
    out.extend_from_slice(&h.commit.0);
    out.extend_from_slice(&h.tree.0);
    out.extend_from_slice(&h.files.to_le_bytes());
    out.extend_from_slice(&h.depth.to_le_bytes());
    out.extend_from_slice(&h.base.map_or([0; 32], |b| b.0));
    out.extend_from_slice(&(h.segments.len() as u32).to_le_bytes());
    for s in &h.segments {
        out.extend_from_slice(&s.0);
    }
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&compressed);
    out
}

/// A version-2 header and the offset of its compressed body; `None` for a
/// version-1 file (whose header is inside its compressed body).
fn parse_header(bytes: &[u8], path: &std::path::Path) -> Result<Option<(SnapshotHeader, u64, usize)>, ManifestError> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(corrupt(path, "not a grove snapshot"));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    match version {
        1 => return Ok(None),
        SNAPSHOT_VERSION => {}
        found => {
            return Err(ManifestError::UnsupportedVersion {
                path: path.to_path_buf(),
                found,
                supported: SNAPSHOT_VERSION,
            })
        }
    }
    let mut r = Reader { b: bytes, pos: 12 };
    let header = (|| -> Option<(SnapshotHeader, u64)> {
        let kind = r.byte()?;
        let commit = GitOid(r.array()?);
        let tree = GitOid(r.array()?);
        let files = u64::from_le_bytes(r.array()?);
        let depth = u32::from_le_bytes(r.array()?);
        let base: [u8; 32] = r.array()?;
        let nseg = u32::from_le_bytes(r.array()?) as usize;
        if nseg > (1 << 20) {
            return None;
        }
        let mut segments = Vec::with_capacity(nseg);
        for _ in 0..nseg {
            segments.push(ObjectId(r.array()?));
        }
        let body_len = u64::from_le_bytes(r.array()?);
        let base = match kind {
            0 => None,
            1 => Some(ObjectId(base)),
            _ => return None,
        };
        Some((SnapshotHeader { commit, tree, base, depth, files, segments }, body_len))
    })();
    let (header, body_len) = header.ok_or_else(|| corrupt(path, "malformed snapshot header"))?;
    if body_len > (1 << 34) {
        return Err(corrupt(path, "implausible size"));
    }
    Ok(Some((header, body_len, r.pos)))
}

fn parse(bytes: &[u8], path: &std::path::Path) -> Result<Parsed, ManifestError> {
    let Some((header, body_len, at)) = parse_header(bytes, path)? else {
        return Ok(Parsed::V1(Snapshot::decode_v1(bytes, path)?));
    };
    let body = zstd::bulk::decompress(&bytes[at..], body_len as usize)
        .map_err(|e| corrupt(path, &format!("decompression failed: {e}")))?;
    if body.len() as u64 != body_len {
        return Err(corrupt(path, "wrong length"));
    }
    Ok(Parsed::V2(header, body))
}

fn put_path(out: &mut Vec<u8>, prev: &[u8], path: &[u8]) {
    let shared = prev.iter().zip(path).take_while(|(a, b)| a == b).count();
    put_varint(out, shared as u64);
    put_varint(out, (path.len() - shared) as u64);
    out.extend_from_slice(&path[shared..]);
}

fn put_entry(out: &mut Vec<u8>, prev: &[u8], e: &Entry) {
    put_path(out, prev, &e.path);
    out.push(e.mode.to_byte());
    out.extend_from_slice(&e.git_oid.0);
    match e.doc {
        DocRef::Indexed { segment, doc } => {
            out.push(0);
            put_varint(out, segment as u64);
            put_varint(out, doc as u64);
        }
        DocRef::Skipped { reason, size } => {
            out.push(reason.to_byte());
            put_varint(out, size);
        }
    }
}

fn read_path(r: &mut Reader<'_>, prev: &[u8]) -> Option<Vec<u8>> {
    let shared = r.varint()? as usize;
    let len = r.varint()? as usize;
    if shared > prev.len() {
        return None;
    }
    let mut path = prev[..shared].to_vec();
    path.extend_from_slice(r.take(len)?);
    Some(path)
}

fn read_entry(r: &mut Reader<'_>, prev: &[u8], nseg: usize) -> Option<Entry> {
    let path = read_path(r, prev)?;
    let mode = EntryMode::from_byte(r.byte()?)?;
    let git_oid = GitOid(r.array()?);
    let doc = match r.byte()? {
        0 => {
            let segment = u32::try_from(r.varint()?).ok()?;
            let doc = u32::try_from(r.varint()?).ok()?;
            if segment as usize >= nseg {
                return None;
            }
            DocRef::Indexed { segment, doc }
        }
        b => DocRef::Skipped { reason: SkipReason::from_byte(b)?, size: r.varint()? },
    };
    Some(Entry { path, mode, git_oid, doc })
}

fn decode_entries(body: &[u8], nseg: usize, path: &std::path::Path) -> Result<Vec<Entry>, ManifestError> {
    let mut r = Reader { b: body, pos: 0 };
    let entries = (|| -> Option<Vec<Entry>> {
        let n = r.varint()? as usize;
        let mut entries: Vec<Entry> = Vec::with_capacity(n.min(1 << 24));
        for _ in 0..n {
            let prev = entries.last().map_or(&[][..], |e| e.path.as_slice());
            let e = read_entry(&mut r, prev, nseg)?;
            if entries.last().is_some_and(|last| last.path >= e.path) {
                return None; // strictly sorted
            }
            entries.push(e);
        }
        (r.pos == r.b.len()).then_some(entries)
    })();
    entries.ok_or_else(|| corrupt(path, "malformed snapshot body"))
}

fn decode_changes(body: &[u8], nseg: usize, path: &std::path::Path) -> Result<Vec<EntryChange>, ManifestError> {
    let mut r = Reader { b: body, pos: 0 };
    let changes = (|| -> Option<Vec<EntryChange>> {
        let n = r.varint()? as usize;
        let mut out: Vec<EntryChange> = Vec::with_capacity(n.min(1 << 24));
        let mut prev: Vec<u8> = Vec::new();
        for _ in 0..n {
            let c = match r.byte()? {
                0 => EntryChange::Set(read_entry(&mut r, &prev, nseg)?),
                1 => EntryChange::Delete(read_path(&mut r, &prev)?),
                _ => return None,
            };
            let p = match &c {
                EntryChange::Set(e) => &e.path,
                EntryChange::Delete(p) => p,
            };
            if !out.is_empty() && prev >= *p {
                return None;
            }
            prev.clone_from(p);
            out.push(c);
        }
        (r.pos == r.b.len()).then_some(out)
    })();
    changes.ok_or_else(|| corrupt(path, "malformed delta"))
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.b.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Snapshot {
        Snapshot {
            commit: GitOid([1; 20]),
            tree: GitOid([2; 20]),
            segments: vec![ObjectId([3; 32]), ObjectId([4; 32])],
            entries: vec![
                Entry {
                    path: b"a/b.rs".to_vec(),
                    mode: EntryMode::File,
                    git_oid: GitOid([5; 20]),
                    doc: DocRef::Indexed { segment: 1, doc: 7 },
                },
                Entry {
                    path: b"a/c\xff".to_vec(),
                    mode: EntryMode::Executable,
                    git_oid: GitOid([6; 20]),
                    doc: DocRef::Skipped { reason: SkipReason::Binary, size: 99 },
                },
                Entry {
                    path: b"z".to_vec(),
                    mode: EntryMode::Symlink,
                    git_oid: GitOid([7; 20]),
                    doc: DocRef::Indexed { segment: 0, doc: 0 },
                },
            ],
        }
    }

    /// A store holding `sample()`: (its dir, the store, the snapshot, its
    /// id and header).
    fn stored_sample() -> (tempfile::TempDir, Store, Snapshot, ObjectId, SnapshotHeader) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        let base = sample();
        let base_id = base.store(&store).unwrap();
        let base_h = Snapshot::header(&store, base_id).unwrap();
        (dir, store, base, base_id, base_h)
    }

    /// Stores `changes` as a delta of commit [1; 20] on `base`, with one new
    /// segment, leaving three files.
    fn delta_of_three(
        store: &Store,
        base: (ObjectId, &SnapshotHeader),
        segment: ObjectId,
        changes: &[EntryChange],
    ) -> ObjectId {
        Snapshot::store_delta(store, GitOid([1; 20]), GitOid([2; 20]), base, vec![segment], changes, 3).unwrap()
    }

    /// A file set to document `doc` of the delta's segment `seg`.
    fn set_indexed(path: &[u8], oid: u8, seg: u32, doc: u32) -> EntryChange {
        EntryChange::Set(Entry {
            path: path.to_vec(),
            mode: EntryMode::File,
            git_oid: GitOid([oid; 20]),
            doc: DocRef::Indexed { segment: seg, doc },
        })
    }

    #[test]
    fn round_trip() {
        let s = sample();
        let bytes = s.encode();
        assert_eq!(Snapshot::decode(&bytes, "x".as_ref()).unwrap(), s);
        let live = s.live_docs();
        assert_eq!(live[&1], vec![7]);
        assert_eq!(live[&0], vec![0]);
    }

    #[test]
    fn header_from_a_prefix_equals_the_verified_header() {
        let (_dir, store, _base, base_id, base_h) = stored_sample();
        assert_eq!(Snapshot::header_unverified(&store, base_id).unwrap(), base_h);
        // A header longer than the first read (many segments), and a body
        // well past it: both still right.
        let mut big = sample();
        big.segments = (0..300u32).map(|i| ObjectId::of(&i.to_le_bytes())).collect();
        big.entries = (0..3000u32)
            .map(|i| Entry {
                path: format!("dir/file{i:05}.rs").into_bytes(),
                mode: EntryMode::File,
                git_oid: GitOid(ObjectId::of(&i.to_be_bytes()).0[..20].try_into().unwrap()),
                doc: DocRef::Indexed { segment: i % 300, doc: i },
            })
            .collect();
        let big_id = big.store(&store).unwrap();
        assert!(std::fs::metadata(store.path_of(Kind::Snapshot, big_id)).unwrap().len() > 4096 + 300 * 32);
        assert_eq!(Snapshot::header_unverified(&store, big_id).unwrap(), Snapshot::header(&store, big_id).unwrap());
        let delta =
            delta_of_three(&store, (big_id, &Snapshot::header(&store, big_id).unwrap()), ObjectId([9; 32]), &[]);
        assert_eq!(Snapshot::header_unverified(&store, delta).unwrap(), Snapshot::header(&store, delta).unwrap());
    }

    #[test]
    fn old_version_is_refused_clearly() {
        let mut bytes = sample().encode();
        bytes[8] = 9;
        let err = Snapshot::decode(&bytes, "x".as_ref()).unwrap_err();
        assert!(err.to_string().contains("v9"), "{err}");
    }

    #[test]
    fn deltas_resolve_against_their_base_and_chain() {
        let (_dir, store, base, base_id, base_h) = stored_sample();
        // Replace a/b.rs (new segment), delete z, add m.
        let new_seg = ObjectId([8; 32]);
        let changes = vec![
            set_indexed(b"a/b.rs", 9, 0, 3),
            EntryChange::Set(Entry {
                path: b"m".to_vec(),
                mode: EntryMode::File,
                git_oid: GitOid([5; 20]),
                doc: DocRef::Skipped { reason: SkipReason::TooLarge, size: 5 },
            }),
            EntryChange::Delete(b"z".to_vec()),
        ];
        let id = delta_of_three(&store, (base_id, &base_h), new_seg, &changes);
        let s = Snapshot::load(&store, id).unwrap();
        let paths: Vec<&[u8]> = s.entries.iter().map(|e| e.path.as_slice()).collect();
        assert_eq!(paths, vec![&b"a/b.rs"[..], b"a/c\xff", b"m"]);
        assert_eq!(s.segments[s.entries[0].doc_segment().unwrap() as usize], new_seg);
        let chain = Snapshot::chain(&store, id).unwrap();
        assert_eq!(chain.iter().map(|c| c.0).collect::<Vec<_>>(), vec![id, base_id]);
        assert_eq!(chain[0].1.depth, 1);
        // store_relative writes only the difference and resolves identically.
        let again = s.store_relative(&store, Some((base_id, &base_h, &base))).unwrap();
        assert_eq!(Snapshot::load(&store, again).unwrap().entries, s.entries);
        assert_eq!(Snapshot::header(&store, again).unwrap().depth, 1);
        // A delta whose entry count disagrees with its base is refused.
        let bad = Snapshot::store_delta(&store, GitOid([1; 20]), GitOid([2; 20]), (base_id, &base_h), vec![], &[], 99)
            .unwrap();
        assert!(Snapshot::load(&store, bad).is_err());
    }

    #[test]
    fn composed_changes_resolve_like_the_chain() {
        let (_dir, store, _, base_id, base_h) = stored_sample();
        let set = |path: &[u8], seg: u32, doc: u32| set_indexed(path, doc as u8, seg, doc);
        // d1 adds m (new segment) and n, changes a/b.rs; d2 deletes m and n
        // (a path the base lacks), changes a/b.rs again and adds q.
        let (s1, s2) = (ObjectId([8; 32]), ObjectId([9; 32]));
        let c1 = vec![set(b"a/b.rs", 0, 1), set(b"m", 0, 2), set(b"n", 1, 5)];
        let d1 = Snapshot::store_delta(
            &store,
            GitOid([1; 20]),
            GitOid([2; 20]),
            (base_id, &base_h),
            vec![s1, ObjectId([3; 32])],
            &c1,
            5,
        )
        .unwrap();
        let d1_h = Snapshot::header(&store, d1).unwrap();
        let c2 = vec![
            set(b"a/b.rs", 0, 3),
            EntryChange::Delete(b"m".to_vec()),
            EntryChange::Delete(b"n".to_vec()),
            set(b"q", 0, 4),
        ];
        let d2 =
            Snapshot::store_delta(&store, GitOid([1; 20]), GitOid([2; 20]), (d1, &d1_h), vec![s2], &c2, 4).unwrap();
        let (segments, changes) = Snapshot::changes_since(&store, d2, base_id).unwrap();
        let flat =
            Snapshot::store_delta(&store, GitOid([1; 20]), GitOid([2; 20]), (base_id, &base_h), segments, &changes, 4)
                .unwrap();
        let (want, got) = (Snapshot::load(&store, d2).unwrap(), Snapshot::load(&store, flat).unwrap());
        type Resolved = Vec<(Vec<u8>, GitOid, Option<ObjectId>)>;
        let resolve = |s: &Snapshot| -> Resolved {
            s.entries
                .iter()
                .map(|e| match e.doc {
                    DocRef::Indexed { segment, .. } => (e.path.clone(), e.git_oid, Some(s.segments[segment as usize])),
                    DocRef::Skipped { .. } => (e.path.clone(), e.git_oid, None),
                })
                .collect()
        };
        assert_eq!(resolve(&got), resolve(&want));
        assert_eq!(Snapshot::header(&store, flat).unwrap().depth, 1);
        // Not a chain down to `to`: refused.
        assert!(Snapshot::changes_since(&store, base_id, d2).is_err());
    }

    #[test]
    fn moved_files_resolve_to_the_old_chain_with_documents_moved() {
        let (_dir, store, _, base_id, base_h) = stored_sample();
        let delta_seg = ObjectId([8; 32]);
        let changes = vec![set_indexed(b"m", 9, 0, 2), EntryChange::Delete(b"z".to_vec())];
        let id = delta_of_three(&store, (base_id, &base_h), delta_seg, &changes);
        let before = Snapshot::load(&store, id).unwrap();
        // Segments [4; 32] and [8; 32] merge into [10; 32].
        let to = ObjectId([10; 32]);
        let moved: HashMap<ObjectId, Vec<u32>> = [
            (ObjectId([4; 32]), (0..8).map(|d| if d == 7 { 0 } else { u32::MAX }).collect()),
            (delta_seg, vec![u32::MAX, u32::MAX, 1]),
        ]
        .into_iter()
        .collect();
        let file = StoredSnapshot::read(&store, base_id).unwrap();
        assert_eq!(file.docs().collect::<Vec<_>>(), vec![(ObjectId([4; 32]), 7), (ObjectId([3; 32]), 0)]);
        let new_base = store.put(Kind::Snapshot, &file.encode_moved(&moved, to, None).unwrap()).unwrap();
        let file = StoredSnapshot::read(&store, id).unwrap();
        assert_eq!(file.docs().collect::<Vec<_>>(), vec![(delta_seg, 2)]);
        let new_id = store.put(Kind::Snapshot, &file.encode_moved(&moved, to, Some(new_base)).unwrap()).unwrap();
        let after = Snapshot::load(&store, new_id).unwrap();
        assert_eq!(Snapshot::header(&store, new_id).unwrap().depth, 1);
        type Resolved = Vec<(Vec<u8>, Option<(ObjectId, u32)>)>;
        let resolve = |s: &Snapshot| -> Resolved {
            s.entries
                .iter()
                .map(|e| match e.doc {
                    DocRef::Indexed { segment, doc } => (e.path.clone(), Some((s.segments[segment as usize], doc))),
                    DocRef::Skipped { .. } => (e.path.clone(), None),
                })
                .collect()
        };
        let want: Vec<_> = resolve(&before)
            .into_iter()
            .map(|(p, d)| (p, d.map(|(seg, doc)| moved.get(&seg).map_or((seg, doc), |m| (to, m[doc as usize])))))
            .collect();
        assert_eq!(resolve(&after), want);
        // A document the move drops cannot be pointed at.
        let none: HashMap<ObjectId, Vec<u32>> = [(delta_seg, vec![u32::MAX; 3])].into_iter().collect();
        assert!(file.encode_moved(&none, to, Some(new_base)).is_none());
    }

    proptest! {
        #[test]
        fn corruption_never_panics(pos in 0usize..400, val: u8, cut in 0usize..400) {
            let mut bytes = sample().encode();
            let p = pos % bytes.len();
            bytes[p] = val;
            let _ = Snapshot::decode(&bytes, "x".as_ref());
            bytes.truncate(cut % (bytes.len() + 1));
            let _ = Snapshot::decode(&bytes, "x".as_ref());
        }
    }
}
