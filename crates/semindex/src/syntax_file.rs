//! Syntax files: per-blob symbols, chunks and lexical term bags.
//!
//! Layout (little endian; see docs/format.md, "Syntax files"):
//!
//! ```text
//! header   magic "GRVSYX\0\x01" | format u32 | syntax_version u32 | count u32 | index_crc u32
//! index    count × 48 B, sorted by (content, lang):
//!          content [32] | lang u8 | pad [3] | record_len u32 | record_offset u64
//! records  varint-encoded BlobSyntax, each followed by its crc32
//! ```
//!
//! The index is checked when the file is opened, each record when read.

use grove_base::{varint, ContentId};

use crate::{damaged, Bytes, SemIndexError};

const MAGIC: &[u8; 8] = b"GRVSYX\0\x01";
const FORMAT: u32 = 1;
const HEADER: usize = 24;
const ENTRY: usize = 48;

/// Which record: the blob and the language it was analysed as (a blob's
/// chunks depend on the language its path implies; 0 = plain text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SyntaxKey {
    pub content: ContentId,
    pub lang: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SymbolRec {
    pub name: String,
    pub kind: u8,
    /// Enclosing symbol path, empty at top level.
    pub container: String,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    pub start_byte: u32,
    pub end_byte: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ChunkRec {
    pub start_byte: u32,
    pub end_byte: u32,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    /// Enclosing symbol path, empty for module-level code and plain text.
    pub symbol: String,
    /// blake3 of the symbol and the chunk's bytes, truncated: with the path
    /// and the model it names the embedded text (see `ChunkKey`).
    pub text_hash: [u8; 16],
    /// Lexical length for BM25 (number of terms with repetition).
    pub length: u32,
    /// (term hash, frequency), sorted by term hash, unique.
    pub terms: Vec<(u32, u16)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BlobSyntax {
    /// How the blob was analysed (grove-syntax's outcome code).
    pub outcome: u8,
    pub symbols: Vec<SymbolRec>,
    pub chunks: Vec<ChunkRec>,
}

/// Hash of a lexical term as stored in term bags (the low 32 bits of
/// blake3; collisions among a repository's terms are rare and only blur
/// BM25 scores, never drop a result).
pub fn term_hash(term: &str) -> u32 {
    let h = blake3::hash(term.as_bytes());
    u32::from_le_bytes(h.as_bytes()[..4].try_into().unwrap())
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    varint::put(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn encode(rec: &BlobSyntax, out: &mut Vec<u8>) {
    let start = out.len();
    varint::put(out, rec.outcome as u64);
    varint::put(out, rec.symbols.len() as u64);
    for s in &rec.symbols {
        put_str(out, &s.name);
        varint::put(out, s.kind as u64);
        put_str(out, &s.container);
        varint::put(out, s.start_line as u64);
        varint::put(out, s.end_line.saturating_sub(s.start_line) as u64);
        varint::put(out, s.start_byte as u64);
        varint::put(out, s.end_byte.saturating_sub(s.start_byte) as u64);
    }
    varint::put(out, rec.chunks.len() as u64);
    for c in &rec.chunks {
        varint::put(out, c.start_byte as u64);
        varint::put(out, c.end_byte.saturating_sub(c.start_byte) as u64);
        varint::put(out, c.start_line as u64);
        varint::put(out, c.end_line.saturating_sub(c.start_line) as u64);
        put_str(out, &c.symbol);
        out.extend_from_slice(&c.text_hash);
        varint::put(out, c.length as u64);
        varint::put(out, c.terms.len() as u64);
        let mut prev = 0u32;
        for &(t, f) in &c.terms {
            varint::put(out, (t - prev) as u64);
            varint::put(out, f as u64);
            prev = t;
        }
    }
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn num(&mut self) -> Option<u64> {
        varint::get(self.buf, &mut self.pos)
    }
    fn u32(&mut self) -> Option<u32> {
        self.num().and_then(|v| u32::try_from(v).ok())
    }
    fn str(&mut self) -> Option<String> {
        let n = self.num()? as usize;
        let end = self.pos.checked_add(n)?;
        let s = std::str::from_utf8(self.buf.get(self.pos..end)?).ok()?.to_string();
        self.pos = end;
        Some(s)
    }
    fn bytes16(&mut self) -> Option<[u8; 16]> {
        let b = self.buf.get(self.pos..self.pos + 16)?.try_into().ok()?;
        self.pos += 16;
        Some(b)
    }
    /// A count that cannot exceed what the remaining bytes could hold
    /// (so a damaged count never makes us allocate gigabytes).
    fn count(&mut self) -> Option<usize> {
        let n = self.num()? as usize;
        (n <= self.buf.len() - self.pos).then_some(n)
    }
}

/// Decodes a record; without `chunks`, stops after the symbols (what a
/// symbol lookup needs; the chunks' term bags are most of a record).
fn decode_part(buf: &[u8], chunks: bool) -> Option<BlobSyntax> {
    let mut r = Reader { buf, pos: 0 };
    let outcome = u8::try_from(r.num()?).ok()?;
    let nsym = r.count()?;
    let mut symbols = Vec::with_capacity(nsym);
    for _ in 0..nsym {
        let name = r.str()?;
        let kind = u8::try_from(r.num()?).ok()?;
        let container = r.str()?;
        let start_line = r.u32()?;
        let end_line = start_line.checked_add(r.u32()?)?;
        let start_byte = r.u32()?;
        let end_byte = start_byte.checked_add(r.u32()?)?;
        symbols.push(SymbolRec { name, kind, container, start_line, end_line, start_byte, end_byte });
    }
    if !chunks {
        return Some(BlobSyntax { outcome, symbols, chunks: Vec::new() });
    }
    let nchunks = r.count()?;
    let mut chunks = Vec::with_capacity(nchunks);
    for _ in 0..nchunks {
        let start_byte = r.u32()?;
        let end_byte = start_byte.checked_add(r.u32()?)?;
        let start_line = r.u32()?;
        let end_line = start_line.checked_add(r.u32()?)?;
        let symbol = r.str()?;
        let text_hash = r.bytes16()?;
        let length = r.u32()?;
        let nterms = r.count()?;
        let mut terms = Vec::with_capacity(nterms);
        let mut prev = 0u32;
        for _ in 0..nterms {
            prev = prev.checked_add(r.u32()?)?;
            terms.push((prev, u16::try_from(r.num()?).ok()?));
        }
        chunks.push(ChunkRec { start_byte, end_byte, start_line, end_line, symbol, text_hash, length, terms });
    }
    (r.pos == buf.len()).then_some(BlobSyntax { outcome, symbols, chunks })
}

/// Collects records, then serializes them sorted.
pub struct SyntaxFileWriter {
    syntax_version: u32,
    records: Vec<(SyntaxKey, Vec<u8>)>,
    bytes: usize,
}

impl SyntaxFileWriter {
    pub fn new(syntax_version: u32) -> Self {
        SyntaxFileWriter { syntax_version, records: Vec::new(), bytes: 0 }
    }
    pub fn add(&mut self, key: SyntaxKey, rec: &BlobSyntax) {
        let mut buf = Vec::new();
        encode(rec, &mut buf);
        self.bytes += buf.len();
        self.records.push((key, buf));
    }
    pub fn len(&self) -> usize {
        self.records.len()
    }
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
    /// Encoded size so far (to cut files at a size).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
    pub fn finish(mut self) -> Vec<u8> {
        self.records.sort_by_key(|a| a.0);
        self.records.dedup_by(|a, b| a.0 == b.0);
        let n = self.records.len();
        let mut index = Vec::with_capacity(n * ENTRY);
        let mut offset = (HEADER + n * ENTRY) as u64;
        for (key, rec) in &self.records {
            index.extend_from_slice(&key.content.0);
            index.extend_from_slice(&[key.lang, 0, 0, 0]);
            index.extend_from_slice(&(rec.len() as u32).to_le_bytes());
            index.extend_from_slice(&offset.to_le_bytes());
            offset += rec.len() as u64;
        }
        let mut out = Vec::with_capacity(offset as usize);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        out.extend_from_slice(&self.syntax_version.to_le_bytes());
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&index).to_le_bytes());
        out.extend_from_slice(&index);
        for (_, rec) in &self.records {
            out.extend_from_slice(rec);
        }
        out
    }
}

/// A syntax file opened over its bytes (usually a memory map).
pub struct SyntaxFile {
    bytes: Bytes,
    syntax_version: u32,
    count: usize,
}

impl SyntaxFile {
    pub fn open(bytes: Bytes) -> Result<SyntaxFile, SemIndexError> {
        let what = bytes.path().display().to_string();
        let b = bytes.bytes();
        if b.len() < HEADER || &b[..8] != MAGIC {
            return Err(damaged(&what, "not a grove syntax file"));
        }
        let le = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        if le(8) != FORMAT {
            return Err(damaged(&what, format!("syntax file format {} (this grove reads {FORMAT})", le(8))));
        }
        let (syntax_version, count, crc) = (le(12), le(16) as usize, le(20));
        let index_end = count.checked_mul(ENTRY).and_then(|n| n.checked_add(HEADER)).filter(|&e| e <= b.len());
        let Some(index_end) = index_end else {
            return Err(damaged(&what, "index runs past the end"));
        };
        if crc32fast::hash(&b[HEADER..index_end]) != crc {
            return Err(damaged(&what, "index checksum mismatch"));
        }
        Ok(SyntaxFile { bytes, syntax_version, count })
    }

    pub fn syntax_version(&self) -> u32 {
        self.syntax_version
    }
    pub fn len(&self) -> usize {
        self.count
    }
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn key_at(&self, i: usize) -> SyntaxKey {
        let e = &self.bytes.bytes()[HEADER + i * ENTRY..];
        SyntaxKey { content: ContentId(e[..32].try_into().unwrap()), lang: e[32] }
    }

    pub fn keys(&self) -> impl Iterator<Item = SyntaxKey> + '_ {
        (0..self.count).map(|i| self.key_at(i))
    }

    pub fn find(&self, key: &SyntaxKey) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.key_at(mid).cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The record for `key`: `None` if absent, an error if damaged.
    pub fn get(&self, key: &SyntaxKey) -> Option<Result<BlobSyntax, SemIndexError>> {
        self.find(key).map(|i| self.record(i))
    }

    pub fn record(&self, i: usize) -> Result<BlobSyntax, SemIndexError> {
        self.record_part(i, true)
    }

    /// Record `i` with its symbols only (`chunks` empty).
    pub fn record_symbols(&self, i: usize) -> Result<BlobSyntax, SemIndexError> {
        self.record_part(i, false)
    }

    fn record_part(&self, i: usize, chunks: bool) -> Result<BlobSyntax, SemIndexError> {
        let b = self.bytes.bytes();
        let e = &b[HEADER + i * ENTRY..];
        let len = u32::from_le_bytes(e[36..40].try_into().unwrap()) as usize;
        let off = u64::from_le_bytes(e[40..48].try_into().unwrap()) as usize;
        let what = || self.bytes.path().display().to_string();
        let rec = off
            .checked_add(len)
            .filter(|&end| len >= 4 && end <= b.len())
            .map(|end| &b[off..end])
            .ok_or_else(|| damaged(&what(), "record runs past the end"))?;
        let (body, crc) = rec.split_at(len - 4);
        if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().unwrap()) {
            return Err(damaged(&what(), format!("record {i} checksum mismatch")));
        }
        decode_part(body, chunks).ok_or_else(|| damaged(&what(), format!("record {i} does not decode")))
    }
}

#[cfg(test)]
pub(crate) fn decode_for_tests(buf: &[u8]) -> Option<BlobSyntax> {
    decode_part(buf, true)
}

#[cfg(test)]
pub(crate) fn round_trip_for_tests(rec: &BlobSyntax) -> Option<BlobSyntax> {
    let mut buf = Vec::new();
    encode(rec, &mut buf);
    decode_part(&buf[..buf.len() - 4], true)
}
