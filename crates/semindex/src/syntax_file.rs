//! Syntax files: per-blob symbols, chunks and lexical term bags.
//!
//! Layout (little endian; see docs/format.md, "Syntax files"):
//!
//! ```text
//! header   magic "GRVSYX\0\x01" | format u32 = 2 | syntax_version u32 | count u32
//!          | nruns u32 | nterms u32 | crc u32 (of the header's fields, the index and the term table)
//! index    count × 48 B, sorted by (content, lang):
//!          content [32] | lang u8 | pad [3] | record_len u32 | record_offset u64
//! terms    nruns × u32 run end | nterms × u32 term hash, by term id
//! records  varint-encoded BlobSyntax, each followed by its crc32
//! ```
//!
//! A chunk's term bag stores ids into the file's term table, not hashes:
//! ids are small (frequent terms first), so ascending ids delta-code into a
//! byte or two where a random 32-bit hash took four or five. The header, the
//! index and the table are checked when the file is opened, each record when
//! read.

use std::collections::HashMap;

use grove_base::{varint, ContentId};

use crate::{damaged, Bytes, SemIndexError};

const MAGIC: &[u8; 8] = b"GRVSYX\0\x01";
const FORMAT: u32 = 2;
const HEADER: usize = 32;
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
    /// (term hash, frequency), sorted by term hash, unique. A record read
    /// with a [`crate::TermFilter`] holds only the filter's terms.
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

/// The chunk symbol a symbol names: `container::name`, or `name` at top level.
fn qualified(s: &SymbolRec) -> String {
    if s.container.is_empty() {
        s.name.clone()
    } else {
        format!("{}::{}", s.container, s.name)
    }
}

/// Hashes a term hash for a `HashMap` key: it is already uniformly random,
/// so a multiply spreads it over the bits hashbrown uses (SipHash would be
/// most of the writer's time).
#[derive(Clone, Copy, Default)]
struct TermHasher(u64);

impl std::hash::Hasher for TermHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = (v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type TermMap<V> = HashMap<u32, V, std::hash::BuildHasherDefault<TermHasher>>;

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    varint::put(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Chunk symbol tags: the same symbol as the chunk before (empty before the
/// first), a literal string, or `SYM_DEF + k`: the qualified name of symbol k.
const SYM_SAME: u64 = 0;
const SYM_LITERAL: u64 = 1;
const SYM_DEF: u64 = 2;

/// Encodes a record, its chunks' term hashes mapped to ids by `ids`.
fn encode(rec: &BlobSyntax, ids: &TermMap<u32>, out: &mut Vec<u8>) {
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
    // The first symbol of each qualified name (chunks name their symbol).
    let mut defs: HashMap<String, usize> = HashMap::new();
    if !rec.chunks.iter().all(|c| c.symbol.is_empty()) {
        for (k, s) in rec.symbols.iter().enumerate() {
            defs.entry(qualified(s)).or_insert(k);
        }
    }
    varint::put(out, rec.chunks.len() as u64);
    let (mut prev_byte, mut prev_line, mut prev_symbol) = (0u32, 0u32, "");
    let mut bag: Vec<(u32, u16)> = Vec::new();
    let mut bag_bytes = Vec::new();
    for c in &rec.chunks {
        let end_byte = c.end_byte.max(c.start_byte);
        let end_line = c.end_line.max(c.start_line);
        varint::put(out, zigzag(c.start_byte as i64 - prev_byte as i64));
        varint::put(out, (end_byte - c.start_byte) as u64);
        varint::put(out, zigzag(c.start_line as i64 - prev_line as i64));
        varint::put(out, (end_line - c.start_line) as u64);
        (prev_byte, prev_line) = (end_byte, end_line);
        if c.symbol == prev_symbol {
            varint::put(out, SYM_SAME);
        } else if let Some(&k) = defs.get(&c.symbol) {
            varint::put(out, SYM_DEF + k as u64);
        } else {
            varint::put(out, SYM_LITERAL);
            put_str(out, &c.symbol);
        }
        prev_symbol = &c.symbol;
        out.extend_from_slice(&c.text_hash);
        varint::put(out, c.length as u64);
        bag.clear();
        bag.extend(c.terms.iter().map(|&(t, f)| (ids[&t], f)));
        bag.sort_unstable_by_key(|&(id, _)| id);
        // Terms are unique by contract; of a repeated one, one count is kept.
        bag.dedup_by_key(|&mut (id, _)| id);
        bag_bytes.clear();
        let mut next = 0u32;
        for &(id, f) in &bag {
            varint::put(&mut bag_bytes, (((id - next) as u64) << 1) | (f != 1) as u64);
            if f != 1 {
                varint::put(&mut bag_bytes, f as u64);
            }
            next = id + 1;
        }
        varint::put(out, bag_bytes.len() as u64);
        out.extend_from_slice(&bag_bytes);
    }
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// `varint::get` with the one-byte case (most of a bag) inline.
#[inline(always)]
fn get(buf: &[u8], pos: &mut usize) -> Option<u64> {
    match buf.get(*pos) {
        Some(&b) if b < 0x80 => {
            *pos += 1;
            Some(b as u64)
        }
        _ => varint::get(buf, pos),
    }
}

/// A varint at `pos` and the position after it, for the bag loops (`pos`
/// by value stays in a register).
#[inline(always)]
fn get_at(buf: &[u8], pos: usize) -> Option<(u64, usize)> {
    let b = *buf.get(pos)?;
    if b < 0x80 {
        return Some((b as u64, pos + 1));
    }
    let (mut v, mut p, mut shift) = ((b & 0x7f) as u64, pos + 1, 7);
    while shift < 64 {
        let b = *buf.get(p)?;
        p += 1;
        v |= ((b & 0x7f) as u64) << shift;
        if b < 0x80 {
            return Some((v, p));
        }
        shift += 7;
    }
    None
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    fn num(&mut self) -> Option<u64> {
        get(self.buf, &mut self.pos)
    }
    #[inline]
    fn u32(&mut self) -> Option<u32> {
        self.num().and_then(|v| u32::try_from(v).ok())
    }
    /// `base` moved by a zigzag-coded signed delta, still a u32.
    fn delta_from(&mut self, base: u32) -> Option<u32> {
        u32::try_from(base as i64 + unzigzag(self.num()?)).ok()
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let b = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(b)
    }
    fn str(&mut self) -> Option<String> {
        let n = self.num()? as usize;
        Some(std::str::from_utf8(self.take(n)?).ok()?.to_string())
    }
    /// A count that cannot exceed what the remaining bytes could hold
    /// (so a damaged count never makes us allocate gigabytes).
    fn count(&mut self) -> Option<usize> {
        let n = self.num()? as usize;
        (n <= self.buf.len() - self.pos).then_some(n)
    }
}

/// A file's term table: term id → hash, in runs of ascending hashes.
#[derive(Clone, Copy)]
struct TermTable<'a> {
    /// nruns × u32: the end (exclusive) of each run of ids.
    runs: &'a [u8],
    /// nterms × u32: the hash of each id.
    hashes: &'a [u8],
}

fn le32(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap())
}

impl TermTable<'_> {
    fn len(&self) -> usize {
        self.hashes.len() / 4
    }
    fn hash(&self, id: u32) -> Option<u32> {
        ((id as usize) < self.len()).then(|| le32(self.hashes, id as usize))
    }
    /// The id of a hash: a binary search in each run.
    fn id(&self, hash: u32) -> Option<u32> {
        let mut start = 0;
        for r in 0..self.runs.len() / 4 {
            let end = le32(self.runs, r) as usize;
            let (mut lo, mut hi) = (start, end);
            while lo < hi {
                let mid = (lo + hi) / 2;
                match le32(self.hashes, mid).cmp(&hash) {
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Equal => return Some(mid as u32),
                }
            }
            start = end;
        }
        None
    }
}

/// What to decode of a record.
#[derive(Clone, Copy)]
enum Want<'a> {
    /// The symbols only.
    Symbols,
    /// Everything, term ids resolved to hashes through the table, sorted
    /// by hash (`sort`) or left in id order.
    All { table: TermTable<'a>, sort: bool },
    /// Chunks with only these terms: (id, hash) sorted by id.
    Only(&'a [(u32, u32)]),
}

/// Decodes a record (its body, crc aside).
fn decode_part(buf: &[u8], want: Want<'_>) -> Option<BlobSyntax> {
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
    if matches!(want, Want::Symbols) {
        return Some(BlobSyntax { outcome, symbols, chunks: Vec::new() });
    }
    let nchunks = r.count()?;
    let mut chunks: Vec<ChunkRec> = Vec::with_capacity(nchunks);
    let (mut prev_byte, mut prev_line) = (0u32, 0u32);
    for _ in 0..nchunks {
        let start_byte = r.delta_from(prev_byte)?;
        let end_byte = start_byte.checked_add(r.u32()?)?;
        let start_line = r.delta_from(prev_line)?;
        let end_line = start_line.checked_add(r.u32()?)?;
        (prev_byte, prev_line) = (end_byte, end_line);
        let symbol = match r.num()? {
            SYM_SAME => chunks.last().map(|c| c.symbol.clone()).unwrap_or_default(),
            SYM_LITERAL => r.str()?,
            k => qualified(symbols.get(usize::try_from(k - SYM_DEF).ok()?)?),
        };
        let text_hash: [u8; 16] = r.take(16)?.try_into().ok()?;
        let length = r.u32()?;
        let n = r.num()? as usize;
        let bag = r.take(n)?;
        chunks.push(ChunkRec {
            start_byte,
            end_byte,
            start_line,
            end_line,
            symbol,
            text_hash,
            length,
            terms: decode_bag(bag, want)?,
        });
    }
    (r.pos == buf.len()).then_some(BlobSyntax { outcome, symbols, chunks })
}

/// A chunk's term bag, as `want` asks: (hash, frequency) sorted by hash.
#[inline]
fn decode_bag(bag: &[u8], want: Want<'_>) -> Option<Vec<(u32, u16)>> {
    let mut terms = Vec::new();
    match want {
        Want::Symbols | Want::Only([]) => {}
        Want::All { table, sort } => {
            terms.reserve(bag.len() / 2);
            for e in (BagEntries { bag, pos: 0, next: 0 }) {
                let (id, f) = e?;
                terms.push((table.hash(id)?, f));
            }
            if !sort {
                return Some(terms);
            }
        }
        Want::Only(keep) => {
            // The hot loop of a query: every bag of every live chunk.
            let (mut k, mut pos, mut next) = (0, 0, 0u64);
            let mut wanted = keep[0].0 as u64;
            while pos < bag.len() {
                let (v, at) = get_at(bag, pos)?;
                pos = at;
                let id = next + (v >> 1);
                let mut f = 1;
                if v & 1 == 1 {
                    (f, pos) = get_at(bag, pos)?;
                }
                next = id + 1;
                while wanted < id {
                    k += 1;
                    if k == keep.len() {
                        // Past the last wanted id: nothing more to take.
                        return Some(sorted(terms));
                    }
                    wanted = keep[k].0 as u64;
                }
                if wanted == id {
                    terms.push((keep[k].1, u16::try_from(f).ok()?));
                }
            }
        }
    }
    Some(sorted(terms))
}

/// The (id, frequency) entries of a term bag; `Some(None)` where it is damaged.
struct BagEntries<'a> {
    bag: &'a [u8],
    pos: usize,
    next: u64,
}

impl Iterator for BagEntries<'_> {
    type Item = Option<(u32, u16)>;
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.bag.len() {
            return None;
        }
        let entry = (|| {
            let (v, at) = get_at(self.bag, self.pos)?;
            self.pos = at;
            let id = u32::try_from(self.next.checked_add(v >> 1)?).ok()?;
            let mut f = 1;
            if v & 1 == 1 {
                let (v, at) = get_at(self.bag, self.pos)?;
                (f, self.pos) = (u16::try_from(v).ok()?, at);
            }
            self.next = id as u64 + 1;
            Some((id, f))
        })();
        if entry.is_none() {
            self.pos = self.bag.len();
        }
        Some(entry)
    }
}

fn sorted(mut terms: Vec<(u32, u16)>) -> Vec<(u32, u16)> {
    if terms.len() > 1 {
        terms.sort_unstable_by_key(|&(t, _)| t);
    }
    terms
}

/// Collects records, then serializes them sorted, with one term table.
pub struct SyntaxFileWriter {
    syntax_version: u32,
    records: Vec<(SyntaxKey, BlobSyntax)>,
    bytes: usize,
}

impl SyntaxFileWriter {
    pub fn new(syntax_version: u32) -> Self {
        SyntaxFileWriter { syntax_version, records: Vec::new(), bytes: 0 }
    }
    /// Adds a record (a key already added keeps its first record). A
    /// chunk's terms may come in any order, each once.
    pub fn add(&mut self, key: SyntaxKey, rec: BlobSyntax) {
        self.bytes += 8
            + rec.symbols.iter().map(|s| 12 + s.name.len() + s.container.len()).sum::<usize>()
            + rec.chunks.iter().map(|c| 26 + c.symbol.len() / 4 + 2 * c.terms.len()).sum::<usize>();
        self.records.push((key, rec));
    }
    pub fn len(&self) -> usize {
        self.records.len()
    }
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
    /// About how many bytes the file will have (to cut files at a size).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
    pub fn finish(mut self) -> Vec<u8> {
        self.records.sort_by_key(|a| a.0);
        self.records.dedup_by(|a, b| a.0 == b.0);
        // The term table: ids by descending log2 of document frequency (the
        // number of chunks holding the term), then by hash, so that the
        // frequent terms get the small ids and each run sorts by hash.
        let mut df: TermMap<u32> = TermMap::default();
        for (_, rec) in &self.records {
            for c in &rec.chunks {
                for &(t, _) in &c.terms {
                    *df.entry(t).or_default() += 1;
                }
            }
        }
        let mut order: Vec<(u32, u32)> = df.into_iter().map(|(t, n)| (31 - n.leading_zeros(), t)).collect();
        order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut terms = Vec::with_capacity(order.len() * 4);
        for (i, &(class, _)) in order.iter().enumerate() {
            if order.get(i + 1).is_none_or(|next| next.0 != class) {
                terms.extend_from_slice(&(i as u32 + 1).to_le_bytes());
            }
        }
        let nruns = terms.len() / 4;
        let ids: TermMap<u32> = order.iter().enumerate().map(|(i, &(_, t))| (t, i as u32)).collect();
        for &(_, t) in &order {
            terms.extend_from_slice(&t.to_le_bytes());
        }
        let mut records = Vec::new();
        let mut spans = Vec::with_capacity(self.records.len());
        for (_, rec) in &self.records {
            let start = records.len();
            encode(rec, &ids, &mut records);
            spans.push((start, records.len() - start));
        }
        let n = self.records.len();
        let base = (HEADER + n * ENTRY + terms.len()) as u64;
        let mut out = Vec::with_capacity(base as usize + records.len());
        out.extend_from_slice(MAGIC);
        for v in [FORMAT, self.syntax_version, n as u32, nruns as u32, order.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&[0; 4]); // crc, below
        for ((key, _), &(start, len)) in self.records.iter().zip(&spans) {
            out.extend_from_slice(&key.content.0);
            out.extend_from_slice(&[key.lang, 0, 0, 0]);
            out.extend_from_slice(&(len as u32).to_le_bytes());
            out.extend_from_slice(&(base + start as u64).to_le_bytes());
        }
        out.extend_from_slice(&terms);
        let crc = checksum(&out);
        out[HEADER - 4..HEADER].copy_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&records);
        out
    }
}

/// crc32 of the header's fields (magic and crc aside), the index and the
/// term table: `head` is the file up to the records.
fn checksum(head: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&head[8..HEADER - 4]);
    h.update(&head[HEADER..]);
    h.finalize()
}

/// A syntax file opened over its bytes (usually a memory map).
pub struct SyntaxFile {
    bytes: Bytes,
    syntax_version: u32,
    count: usize,
    nruns: usize,
    nterms: usize,
}

impl SyntaxFile {
    pub fn open(bytes: Bytes) -> Result<SyntaxFile, SemIndexError> {
        let what = bytes.path().display().to_string();
        let b = bytes.bytes();
        if b.len() < 12 || &b[..8] != MAGIC {
            return Err(damaged(&what, "not a grove syntax file"));
        }
        let le = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        if le(8) != FORMAT {
            return Err(damaged(&what, format!("syntax file format {} (this grove reads {FORMAT})", le(8))));
        }
        if b.len() < HEADER {
            return Err(damaged(&what, "header runs past the end"));
        }
        let (syntax_version, count, nruns, nterms, crc) =
            (le(12), le(16) as usize, le(20) as usize, le(24) as usize, le(28));
        let head_end = count
            .checked_mul(ENTRY)
            .and_then(|n| n.checked_add(nruns.checked_add(nterms)?.checked_mul(4)?))
            .and_then(|n| n.checked_add(HEADER))
            .filter(|&e| e <= b.len());
        let Some(head_end) = head_end else {
            return Err(damaged(&what, "index or term table runs past the end"));
        };
        if checksum(&b[..head_end]) != crc {
            return Err(damaged(&what, "index or term table checksum mismatch"));
        }
        let f = SyntaxFile { bytes, syntax_version, count, nruns, nterms };
        // Runs must partition the ids (lookups rely on it).
        let table = f.table();
        let mut prev = 0;
        for r in 0..nruns {
            let end = le32(table.runs, r) as usize;
            if end <= prev || end > nterms {
                return Err(damaged(&what, "term table runs out of order"));
            }
            prev = end;
        }
        if prev != nterms {
            return Err(damaged(&what, "term table runs do not cover it"));
        }
        Ok(f)
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
    /// Distinct terms in the file's term table.
    pub fn terms(&self) -> usize {
        self.nterms
    }

    fn table(&self) -> TermTable<'_> {
        let start = HEADER + self.count * ENTRY;
        let mid = start + 4 * self.nruns;
        let b = self.bytes.bytes();
        TermTable { runs: &b[start..mid], hashes: &b[mid..mid + 4 * self.nterms] }
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

    /// Record `i`, whole.
    pub fn record(&self, i: usize) -> Result<BlobSyntax, SemIndexError> {
        self.record_part(i, Want::All { table: self.table(), sort: true })
    }

    /// Record `i` for a [`SyntaxFileWriter`], which takes terms in any
    /// order: each chunk's terms are left in this file's id order.
    pub(crate) fn record_to_move(&self, i: usize) -> Result<BlobSyntax, SemIndexError> {
        self.record_part(i, Want::All { table: self.table(), sort: false })
    }

    /// Whether record `i` reads (its checksum, its fields, each bag's
    /// extent), without decoding the terms.
    pub(crate) fn record_reads(&self, i: usize) -> bool {
        self.record_part(i, Want::Only(&[])).is_ok()
    }

    /// Record `i` with its symbols only (`chunks` empty).
    pub fn record_symbols(&self, i: usize) -> Result<BlobSyntax, SemIndexError> {
        self.record_part(i, Want::Symbols)
    }

    /// Record `i` with its chunks' terms limited to those of `filter` (made
    /// by [`SyntaxFile::term_ids`] on this file): what BM25 needs of a
    /// query, without resolving every term of every chunk.
    pub fn record_filtered(&self, i: usize, filter: &FileTerms) -> Result<BlobSyntax, SemIndexError> {
        self.record_part(i, Want::Only(&filter.0))
    }

    /// The ids in this file of some term hashes (those it has).
    pub fn term_ids(&self, hashes: &[u32]) -> FileTerms {
        let table = self.table();
        let mut ids: Vec<(u32, u32)> = hashes.iter().filter_map(|&h| Some((table.id(h)?, h))).collect();
        ids.sort_unstable();
        ids.dedup();
        FileTerms(ids)
    }

    fn record_part(&self, i: usize, want: Want<'_>) -> Result<BlobSyntax, SemIndexError> {
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
        decode_part(body, want).ok_or_else(|| damaged(&what(), format!("record {i} does not decode")))
    }
}

/// Where a syntax file's bytes go, by part (for measurements).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyntaxFileStats {
    pub records: u64,
    pub symbols: u64,
    pub chunks: u64,
    /// Term entries over all bags.
    pub term_entries: u64,
    pub bytes_header_and_index: u64,
    pub bytes_term_table: u64,
    /// Outcome and counts of each record.
    pub bytes_record_heads: u64,
    pub bytes_symbols: u64,
    /// Chunks' positions, symbol tags and names, lengths, bag lengths.
    pub bytes_chunk_fields: u64,
    pub bytes_text_hashes: u64,
    pub bytes_bags: u64,
    pub bytes_record_crcs: u64,
}

impl SyntaxFile {
    /// Where the bytes go; `None` if a record does not decode.
    pub fn stats(&self) -> Option<SyntaxFileStats> {
        let mut s = SyntaxFileStats {
            records: self.count as u64,
            bytes_header_and_index: (HEADER + self.count * ENTRY) as u64,
            bytes_term_table: 4 * (self.nruns + self.nterms) as u64,
            ..Default::default()
        };
        let b = self.bytes.bytes();
        for i in 0..self.count {
            let e = &b[HEADER + i * ENTRY..];
            let len = u32::from_le_bytes(e[36..40].try_into().unwrap()) as usize;
            let off = u64::from_le_bytes(e[40..48].try_into().unwrap()) as usize;
            let body = b.get(off..off.checked_add(len)?.checked_sub(4)?)?;
            s.bytes_record_crcs += 4;
            let parts =
                |s: &SyntaxFileStats| s.bytes_symbols + s.bytes_chunk_fields + s.bytes_text_hashes + s.bytes_bags;
            let before = parts(&s);
            let mut r = Reader { buf: body, pos: 0 };
            r.num()?;
            let nsym = r.count()?;
            let at = r.pos;
            for _ in 0..nsym {
                r.str()?;
                r.num()?;
                r.str()?;
                for _ in 0..4 {
                    r.num()?;
                }
            }
            s.symbols += nsym as u64;
            s.bytes_symbols += (r.pos - at) as u64;
            let nchunks = r.count()?;
            s.chunks += nchunks as u64;
            for _ in 0..nchunks {
                let start = r.pos;
                for _ in 0..4 {
                    r.num()?;
                }
                if r.num()? == SYM_LITERAL {
                    r.str()?;
                }
                r.take(16)?;
                r.num()?;
                let n = r.num()? as usize;
                let bag = r.take(n)?;
                s.bytes_text_hashes += 16;
                s.bytes_bags += n as u64;
                s.bytes_chunk_fields += (r.pos - start - 16 - n) as u64;
                s.term_entries += BagEntries { bag, pos: 0, next: 0 }.count() as u64;
            }
            (r.pos == body.len()).then_some(())?;
            s.bytes_record_heads += body.len() as u64 - (parts(&s) - before);
        }
        Some(s)
    }
}

/// Some term hashes as ids of one syntax file: (id, hash), sorted by id.
#[derive(Clone, Debug, Default)]
pub struct FileTerms(Vec<(u32, u32)>);

#[cfg(test)]
pub(crate) fn decode_for_tests(buf: &[u8], table: &[u32]) -> Option<BlobSyntax> {
    let runs = (table.len() as u32).to_le_bytes();
    let hashes: Vec<u8> = table.iter().flat_map(|h| h.to_le_bytes()).collect();
    let t = TermTable { runs: if table.is_empty() { &[] } else { &runs }, hashes: &hashes };
    let all = decode_part(buf, Want::All { table: t, sort: true });
    let _ = decode_part(buf, Want::Only(&[(0, 7), (3, 9)]));
    let _ = decode_part(buf, Want::Symbols);
    all
}
