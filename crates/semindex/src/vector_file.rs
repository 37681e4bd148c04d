//! Vector files: int8-quantized chunk embeddings under one model.
//!
//! Layout (little endian; see docs/format.md, "Vector files"):
//!
//! ```text
//! header  magic "GRVVEC\0\x01" | format u32 | dim u32 | count u32 | crc u32 | model [32]
//! keys    count × 16 B, sorted, unique
//! scales  count × f32   (component = scale × i8)
//! data    count × dim × i8
//! ```
//!
//! `crc` covers the model, keys and scales (checked on open); the vector
//! data is covered by the object's name (blake3 of the file), which
//! `grove check` verifies. A damaged vector can only change a ranking.

use crate::{damaged, Bytes, SemIndexError};

const MAGIC: &[u8; 8] = b"GRVVEC\0\x01";
const FORMAT: u32 = 1;
const HEADER: usize = 56;

/// Names an embedded text under a model: blake3(model identity ‖ path ‖
/// chunk text hash), truncated to 128 bits. The embedded text is a pure
/// function of (path, symbol, chunk bytes), and the text hash covers the
/// symbol and bytes, so equal keys mean equal embeddings: a chunk unchanged
/// between revisions is never embedded twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkKey(pub [u8; 16]);

impl ChunkKey {
    pub fn new(model: &[u8; 32], path: &[u8], text_hash: &[u8; 16]) -> ChunkKey {
        let mut h = blake3::Hasher::new();
        h.update(model);
        h.update(&(path.len() as u64).to_le_bytes());
        h.update(path);
        h.update(text_hash);
        ChunkKey(h.finalize().as_bytes()[..16].try_into().unwrap())
    }
}

pub struct VectorFileWriter {
    model: [u8; 32],
    dim: usize,
    rows: Vec<(ChunkKey, f32, Vec<i8>)>,
}

impl VectorFileWriter {
    pub fn new(model: [u8; 32], dim: usize) -> Self {
        VectorFileWriter { model, dim, rows: Vec::new() }
    }
    /// Adds a quantized vector; `data.len()` must equal the dimension.
    pub fn add(&mut self, key: ChunkKey, scale: f32, data: Vec<i8>) {
        assert_eq!(data.len(), self.dim, "vector of the wrong dimension");
        self.rows.push((key, scale, data));
    }
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    pub fn finish(mut self) -> Vec<u8> {
        self.rows.sort_by_key(|a| a.0);
        self.rows.dedup_by(|a, b| a.0 == b.0);
        let n = self.rows.len();
        let mut body = Vec::with_capacity(32 + n * (20 + self.dim));
        body.extend_from_slice(&self.model);
        for (k, _, _) in &self.rows {
            body.extend_from_slice(&k.0);
        }
        for (_, s, _) in &self.rows {
            body.extend_from_slice(&s.to_le_bytes());
        }
        let checked = body.len();
        for (_, _, d) in &self.rows {
            body.extend(d.iter().map(|&x| x as u8));
        }
        let mut out = Vec::with_capacity(HEADER + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        out.extend_from_slice(&(self.dim as u32).to_le_bytes());
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body[..checked]).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }
}

pub struct VectorFile {
    bytes: Bytes,
    dim: usize,
    count: usize,
}

impl VectorFile {
    pub fn open(bytes: Bytes) -> Result<VectorFile, SemIndexError> {
        let what = bytes.path().display().to_string();
        let b = bytes.bytes();
        if b.len() < HEADER || &b[..8] != MAGIC {
            return Err(damaged(&what, "not a grove vector file"));
        }
        let le = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        if le(8) != FORMAT {
            return Err(damaged(&what, format!("vector file format {} (this grove reads {FORMAT})", le(8))));
        }
        let (dim, count, crc) = (le(12) as usize, le(16) as usize, le(20));
        let expected = count.checked_mul(20 + dim).and_then(|n| n.checked_add(HEADER));
        if dim == 0 || expected != Some(b.len()) {
            return Err(damaged(&what, "size does not match its header"));
        }
        if crc32fast::hash(&b[24..HEADER + count * 20]) != crc {
            return Err(damaged(&what, "checksum mismatch"));
        }
        Ok(VectorFile { bytes, dim, count })
    }

    pub fn model(&self) -> &[u8; 32] {
        self.bytes.bytes()[24..56].try_into().unwrap()
    }
    pub fn dim(&self) -> usize {
        self.dim
    }
    pub fn len(&self) -> usize {
        self.count
    }
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn key_at(&self, i: usize) -> &[u8] {
        &self.bytes.bytes()[HEADER + i * 16..HEADER + i * 16 + 16]
    }

    pub fn find(&self, key: &ChunkKey) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.key_at(mid).cmp(&key.0[..]) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The key of row `i`.
    pub fn key(&self, i: usize) -> ChunkKey {
        ChunkKey(self.key_at(i).try_into().unwrap())
    }

    /// (scale, components) of row `i`.
    pub fn vector(&self, i: usize) -> (f32, &[i8]) {
        let b = self.bytes.bytes();
        let s_at = HEADER + self.count * 16 + i * 4;
        let scale = f32::from_le_bytes(b[s_at..s_at + 4].try_into().unwrap());
        let d_at = HEADER + self.count * 20 + i * self.dim;
        let data = &b[d_at..d_at + self.dim];
        // SAFETY: i8 and u8 have the same size and alignment.
        let data = unsafe { std::slice::from_raw_parts(data.as_ptr() as *const i8, data.len()) };
        (scale, data)
    }
}
