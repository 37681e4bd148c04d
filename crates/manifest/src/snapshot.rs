use std::collections::BTreeMap;

use grove_base::{EntryMode, GitOid, SkipReason};
use grove_store::{Kind, ObjectId, Store};

use crate::ManifestError;

pub const SNAPSHOT_VERSION: u32 = 1;
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

    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(64 + self.entries.len() * 48);
        body.extend_from_slice(&self.commit.0);
        body.extend_from_slice(&self.tree.0);
        put_varint(&mut body, self.segments.len() as u64);
        for s in &self.segments {
            body.extend_from_slice(&s.0);
        }
        put_varint(&mut body, self.entries.len() as u64);
        let mut prev: &[u8] = &[];
        for e in &self.entries {
            let shared = prev.iter().zip(&e.path).take_while(|(a, b)| a == b).count();
            put_varint(&mut body, shared as u64);
            put_varint(&mut body, (e.path.len() - shared) as u64);
            body.extend_from_slice(&e.path[shared..]);
            body.push(e.mode.to_byte());
            body.extend_from_slice(&e.git_oid.0);
            match e.doc {
                DocRef::Indexed { segment, doc } => {
                    body.push(0);
                    put_varint(&mut body, segment as u64);
                    put_varint(&mut body, doc as u64);
                }
                DocRef::Skipped { reason, size } => {
                    body.push(reason.to_byte());
                    put_varint(&mut body, size);
                }
            }
            prev = &e.path;
        }
        let compressed = zstd::bulk::compress(&body, 3).expect("zstd compression of an in-memory buffer");
        let mut out = Vec::with_capacity(compressed.len() + 24);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&compressed);
        out
    }

    pub fn decode(bytes: &[u8], path: &std::path::Path) -> Result<Snapshot, ManifestError> {
        let corrupt = |what: &str| ManifestError::Corrupt { path: path.to_path_buf(), what: what.to_string() };
        if bytes.len() < 20 || &bytes[..8] != MAGIC {
            return Err(corrupt("not a grove snapshot"));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if version != SNAPSHOT_VERSION {
            return Err(ManifestError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version,
                supported: SNAPSHOT_VERSION,
            });
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
        let mut r = Reader { b: &body, pos: 0 };
        let decode = |r: &mut Reader| -> Option<Snapshot> {
            let commit = GitOid(r.array()?);
            let tree = GitOid(r.array()?);
            let nseg = r.varint()? as usize;
            let mut segments = Vec::with_capacity(nseg.min(1 << 16));
            for _ in 0..nseg {
                segments.push(ObjectId(r.array()?));
            }
            let n = r.varint()? as usize;
            let mut entries: Vec<Entry> = Vec::with_capacity(n.min(1 << 24));
            let mut prev: Vec<u8> = Vec::new();
            for _ in 0..n {
                let shared = r.varint()? as usize;
                let len = r.varint()? as usize;
                if shared > prev.len() {
                    return None;
                }
                let mut path = prev[..shared].to_vec();
                path.extend_from_slice(r.take(len)?);
                let mode = EntryMode::from_byte(r.byte()?)?;
                let git_oid = GitOid(r.array()?);
                let doc = match r.byte()? {
                    0 => {
                        let segment = u32::try_from(r.varint()?).ok()?;
                        let doc = u32::try_from(r.varint()?).ok()?;
                        if segment as usize >= segments.len() {
                            return None;
                        }
                        DocRef::Indexed { segment, doc }
                    }
                    b => DocRef::Skipped { reason: SkipReason::from_byte(b)?, size: r.varint()? },
                };
                if entries.last().is_some_and(|last| last.path >= path) {
                    return None; // entries must be strictly sorted
                }
                prev.clone_from(&path);
                entries.push(Entry { path, mode, git_oid, doc });
            }
            if r.pos != r.b.len() {
                return None;
            }
            Some(Snapshot { commit, tree, segments, entries })
        };
        decode(&mut r).ok_or_else(|| corrupt("malformed snapshot body"))
    }

    /// Stores the snapshot (write-once) and returns its id.
    pub fn store(&self, store: &Store) -> Result<ObjectId, ManifestError> {
        Ok(store.put(Kind::Snapshot, &self.encode())?)
    }

    /// Loads a snapshot, checking that its bytes hash to its id.
    pub fn load(store: &Store, id: ObjectId) -> Result<Snapshot, ManifestError> {
        let bytes = store.read_verified(Kind::Snapshot, id)?;
        Snapshot::decode(&bytes, &store.path_of(Kind::Snapshot, id))
    }
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
                Entry { path: b"a/b.rs".to_vec(), mode: EntryMode::File, git_oid: GitOid([5; 20]), doc: DocRef::Indexed { segment: 1, doc: 7 } },
                Entry { path: b"a/c\xff".to_vec(), mode: EntryMode::Executable, git_oid: GitOid([6; 20]), doc: DocRef::Skipped { reason: SkipReason::Binary, size: 99 } },
                Entry { path: b"z".to_vec(), mode: EntryMode::Symlink, git_oid: GitOid([7; 20]), doc: DocRef::Indexed { segment: 0, doc: 0 } },
            ],
        }
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
    fn old_version_is_refused_clearly() {
        let mut bytes = sample().encode();
        bytes[8] = 9;
        let err = Snapshot::decode(&bytes, "x".as_ref()).unwrap_err();
        assert!(err.to_string().contains("v9"), "{err}");
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
