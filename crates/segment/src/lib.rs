//! The immutable segment format.
//!
//! A segment covers a batch of blobs (file contents) with dense doc ids
//! `0..n`. It is one byte string, written once by [`SegmentWriter::finish`]
//! and read through [`Segment`] over any byte slice (a `Vec`, an mmap, …).
//! The byte layout is specified in `docs/format.md` ("Segment files"); in
//! short:
//!
//! ```text
//! header (16 B) | content | doc table | dictionary | postings | footer (112 B)
//! ```
//!
//! * content: one zstd frame per doc, with content size and content checksum.
//! * doc table: fixed 80-byte records (content id, git oid, raw size, content
//!   offset and length).
//! * dictionary: a block table (`dict.rs`; version 1 used an `fst::Map`)
//!   from the trigram to a tagged value: one or two doc ids stored inline,
//!   or the offset of a posting record in the postings section.
//! * postings: per list, the smallest of delta-varint, bitset or serialized
//!   `RoaringBitmap` (see `postings.rs`); readers always get a `RoaringBitmap`.
//! * footer: offset, length and crc32 of every section, the doc count, its own
//!   crc32 and a trailing magic.
//!
//! Safety model: [`Segment::open`] checks magic, version, footer crc, section
//! bounds and the crc32 of the doc table; the dictionary's and the postings'
//! crc32 are checked on first use, before they are parsed, so no dictionary is
//! read from unchecked bytes.
//! Content is checked per doc when it is read (zstd frame checksum and
//! decompressed length). [`Segment::verify`] is the deep check used by
//! `grove check`. Corrupt input yields `Err`, never a panic (block tables
//! bounds-check every read; version-1 fst lookups on a crafted dictionary
//! that passes the crc are guarded by `catch_unwind`).
//!
//! Architecture invariant: no file I/O here. Readers take byte slices; the
//! store names, writes and maps the files.

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};

use grove_base::{ContentId, GitOid};
use grove_ngram::Trigram;
use rayon::prelude::*;
pub use roaring::RoaringBitmap;
use zstd::zstd_safe;

mod dict;
mod postings;

use dict::{Dict, DictWriter};

/// The segment format version this build writes. It reads this one and
/// version 1 (an fst dictionary) and refuses every other version with
/// [`SegmentError::UnsupportedVersion`].
pub const FORMAT_VERSION: u32 = 2;

/// First 8 bytes of every segment file.
pub const HEADER_MAGIC: [u8; 8] = *b"GROVESEG";
/// Last 8 bytes of every segment file.
pub const TRAILER_MAGIC: [u8; 8] = *b"GSEG_END";
/// Header: magic (8), version u32, flags u32 (must be 0).
pub const HEADER_LEN: usize = 16;
/// Footer: 4 section descriptors (24 B each), num_docs u32, footer crc u32, magic (8).
pub const FOOTER_LEN: usize = 112;
/// One doc table record.
pub const DOC_RECORD_LEN: usize = 80;

/// Dictionary value tags (low 2 bits of the value).
const TAG_RECORD: u64 = 0;
const TAG_ONE: u64 = 1;
const TAG_TWO: u64 = 2;

/// A zstd frame never expands more than this (an RLE block: 4 bytes → 128 KiB).
/// Used to refuse absurd sizes before allocating.
const MAX_ZSTD_RATIO: u128 = 32 * 1024;

/// Section names as they appear in errors.
const SECTION_NAMES: [&str; 4] = ["content", "docs", "dictionary", "postings"];
const S_CONTENT: usize = 0;
const S_DOCS: usize = 1;
const S_DICT: usize = 2;
const S_POSTINGS: usize = 3;

#[derive(thiserror::Error, Debug)]
pub enum SegmentError {
    #[error("not a grove segment (bad magic)")]
    BadMagic,
    #[error("segment format v{found}, this grove reads v{supported}")]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("segment truncated")]
    Truncated,
    #[error("checksum mismatch in segment {section} section")]
    ChecksumMismatch { section: &'static str },
    #[error("corrupt segment: {0}")]
    Corrupt(String),
    #[error("corrupt content of doc {doc}: {reason}")]
    BadContent { doc: u32, reason: String },
    #[error("doc id {doc} out of range (segment has {num_docs} docs)")]
    NoSuchDoc { doc: u32, num_docs: u32 },
}

fn corrupt(msg: impl Into<String>) -> SegmentError {
    SegmentError::Corrupt(msg.into())
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// One blob to put in a segment.
pub struct DocInput<'a> {
    pub content_id: ContentId,
    pub git_oid: GitOid,
    pub content: &'a [u8],
}

/// A doc made ready for a segment: its distinct trigrams and its compressed
/// content. Built in parallel (it is `Send`); [`SegmentWriter::add`] only
/// appends it.
pub struct PreparedDoc {
    content_id: ContentId,
    git_oid: GitOid,
    raw_len: u64,
    trigrams: Vec<Trigram>,
    compressed: Vec<u8>,
}

/// The distinct folded trigrams of `content`, sorted: exactly
/// `grove_ngram::trigrams_of` (a test checks that), but deduplicating with a
/// thread-local bitset over the 2^24 trigram space instead of sorting every
/// position, and, for all but tiny inputs, reading them back in order from
/// that bitset (a summary bit per non-zero word) instead of sorting the
/// distinct ones. This is the hot loop of indexing.
pub fn doc_trigrams(content: &[u8], out: &mut Vec<Trigram>) {
    out.clear();
    if content.len() < 3 {
        return;
    }
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if seen.0.is_empty() {
            *seen = (vec![0u64; 1 << 18], vec![0u64; 1 << 12]);
        }
        let (words, summary) = &mut *seen;
        let (words, summary) = (&mut words[..], &mut summary[..]);
        let fold = grove_ngram::fold_byte;
        let mut t: u32 = (fold(content[0]) as u32) << 8 | fold(content[1]) as u32;
        for &b in &content[2..] {
            t = (t << 8 | fold(b) as u32) & 0x00ff_ffff;
            let (w, bit) = ((t >> 6) as usize, 1u64 << (t & 63));
            if words[w] & bit == 0 {
                words[w] |= bit;
                summary[w >> 6] |= 1 << (w & 63);
                out.push(t);
            }
        }
        // Scanning the summary costs 4096 words: worth it past a few
        // hundred trigrams, where sorting them costs more.
        if out.len() < 512 {
            for &t in out.iter() {
                words[(t >> 6) as usize] = 0;
                summary[(t >> 12) as usize] = 0;
            }
            out.sort_unstable();
            return;
        }
        out.clear();
        for (sw, s) in summary.iter_mut().enumerate() {
            let mut bits = std::mem::take(s);
            while bits != 0 {
                let w = sw << 6 | bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let mut word = std::mem::take(&mut words[w]);
                while word != 0 {
                    out.push((w << 6 | word.trailing_zeros() as usize) as Trigram);
                    word &= word - 1;
                }
            }
        }
    });
}

thread_local! {
    /// One bit per trigram (2 MiB), and one per non-zero word of those (32
    /// KiB), all clear between calls of `doc_trigrams`.
    static SEEN: RefCell<(Vec<u64>, Vec<u64>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
    static SCRATCH: RefCell<(Vec<u8>, Vec<Trigram>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

/// Scratch buffers above this size are released after use.
const SCRATCH_KEEP: usize = 8 << 20;

fn compress_frame(content: &[u8], level: i32, out: &mut Vec<u8>) {
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        let fresh = || {
            let mut z = zstd::bulk::Compressor::new(level).expect("zstd compressor");
            z.set_parameter(zstd_safe::CParameter::ChecksumFlag(true)).expect("zstd checksum flag");
            z.set_parameter(zstd_safe::CParameter::ContentSizeFlag(true)).expect("zstd size flag");
            (level, z)
        };
        let (lvl, z) = c.get_or_insert_with(fresh);
        if *lvl != level {
            z.set_compression_level(level).expect("zstd level");
            *lvl = level;
        }
        out.clear();
        out.reserve(zstd_safe::compress_bound(content.len()));
        z.compress_to_buffer(content, out).expect("zstd compression into a compress_bound buffer");
    })
}

impl PreparedDoc {
    /// Extracts the trigrams and compresses the content (one zstd frame with
    /// content size and checksum) at `zstd_level`. CPU-heavy; call it on
    /// worker threads.
    pub fn new(doc: DocInput<'_>, zstd_level: i32) -> PreparedDoc {
        SCRATCH.with(|s| {
            let (zbuf, tbuf) = &mut *s.borrow_mut();
            doc_trigrams(doc.content, tbuf);
            let trigrams = tbuf.clone(); // exact capacity
            compress_frame(doc.content, zstd_level, zbuf);
            let compressed = zbuf.clone();
            if zbuf.capacity() > SCRATCH_KEEP {
                *zbuf = Vec::new();
            }
            if tbuf.capacity() * 4 > SCRATCH_KEEP {
                *tbuf = Vec::new();
            }
            PreparedDoc {
                content_id: doc.content_id,
                git_oid: doc.git_oid,
                raw_len: doc.content.len() as u64,
                trigrams,
                compressed,
            }
        })
    }

    pub fn raw_len(&self) -> u64 {
        self.raw_len
    }

    pub fn compressed_len(&self) -> u64 {
        self.compressed.len() as u64
    }
}

impl fmt::Debug for PreparedDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedDoc")
            .field("content_id", &self.content_id)
            .field("raw_len", &self.raw_len)
            .field("trigrams", &self.trigrams.len())
            .field("compressed_len", &self.compressed.len())
            .finish()
    }
}

/// Accumulates prepared docs and serializes the segment.
pub struct SegmentWriter {
    /// Header placeholder followed by the content section, built in place.
    out: Vec<u8>,
    /// Doc table, built in place (offsets relative to the content section).
    docs: Vec<u8>,
    num_docs: u32,
    raw_bytes: u64,
    /// (trigram << 32 | doc id) for every distinct trigram of every doc,
    /// bucketed by the trigram's first byte so `finish` can sort and encode
    /// the buckets in parallel.
    buckets: Vec<Vec<u64>>,
}

impl Default for SegmentWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl SegmentWriter {
    pub fn new() -> Self {
        let mut out = Vec::new();
        out.extend_from_slice(&[0u8; HEADER_LEN]);
        SegmentWriter { out, docs: Vec::new(), num_docs: 0, raw_bytes: 0, buckets: vec![Vec::new(); 256] }
    }

    /// Appends a doc and returns its id (0, 1, 2, … in call order).
    pub fn add(&mut self, doc: PreparedDoc) -> u32 {
        let id = self.num_docs;
        self.num_docs = id.checked_add(1).expect("more than u32::MAX docs in one segment");
        let entry = DocEntry { content_id: doc.content_id, git_oid: doc.git_oid, size: doc.raw_len };
        push_doc(&mut self.out, &mut self.docs, &entry, &doc.compressed);
        self.raw_bytes += doc.raw_len;
        for &t in &doc.trigrams {
            self.buckets[(t >> 16) as usize].push((t as u64) << 32 | id as u64);
        }
        id
    }

    pub fn len(&self) -> u32 {
        self.num_docs
    }

    pub fn is_empty(&self) -> bool {
        self.num_docs == 0
    }

    /// Sum of the raw content lengths added so far.
    pub fn raw_bytes(&self) -> u64 {
        self.raw_bytes
    }

    /// Serializes the whole segment file.
    pub fn finish(self) -> Vec<u8> {
        let SegmentWriter { out, docs, num_docs, raw_bytes: _, buckets } = self;

        // Each bucket (one first byte) is sorted and encoded on its own
        // thread; sorting the packed pairs orders them by trigram, then doc.
        let encode_bucket = |mut pairs: Vec<u64>| {
            sort_pairs(&mut pairs);
            let mut post: Vec<u8> = Vec::new();
            let mut entries = Vec::new();
            let mut ids: Vec<u32> = Vec::new();
            for group in pairs.chunk_by(|a, b| a >> 32 == b >> 32) {
                let t = (group[0] >> 32) as Trigram;
                ids.clear();
                ids.extend(group.iter().map(|&p| p as u32));
                entries.push((t, encode_list(&ids, &mut post)));
            }
            (entries, post)
        };
        // Small segments (one commit's new files) are not worth the threads.
        let total: usize = buckets.iter().map(Vec::len).sum();
        let encoded: Vec<EncodedBucket> = if total < 1 << 18 {
            buckets.into_iter().map(encode_bucket).collect()
        } else {
            buckets.into_par_iter().map(encode_bucket).collect()
        };
        let mut post: Vec<u8> = Vec::with_capacity(encoded.iter().map(|e| e.1.len()).sum());
        let mut dict = DictWriter::default();
        for (entries, bucket_post) in encoded {
            let base = post.len() as u64;
            for (t, value) in entries {
                let value = if value & 3 == TAG_RECORD { value + (base << 2) } else { value };
                dict.insert(t, value);
            }
            post.extend_from_slice(&bucket_post);
        }
        let dict = dict.finish();
        assemble(out, &docs, &dict, &post, num_docs)
    }
}

/// One bucket's dictionary entries and its postings bytes.
type EncodedBucket = (Vec<(Trigram, u64)>, Vec<u8>);

/// Sorts one bucket's (trigram << 32 | doc) pairs. They arrive in doc
/// order and the bucket fixes the trigram's high byte, so a stable radix
/// sort on the trigram's two low bytes orders them by (trigram, doc): two
/// linear passes instead of a comparison sort, which dominated finishing a
/// segment of many docs.
fn sort_pairs(pairs: &mut Vec<u64>) {
    if pairs.len() < 1024 {
        pairs.sort_unstable();
        return;
    }
    let mut tmp = vec![0u64; pairs.len()];
    for shift in [32, 40] {
        let mut start = [0usize; 257];
        for &p in pairs.iter() {
            start[((p >> shift) & 0xff) as usize + 1] += 1;
        }
        for i in 0..256 {
            start[i + 1] += start[i];
        }
        for &p in pairs.iter() {
            let b = ((p >> shift) & 0xff) as usize;
            tmp[start[b]] = p;
            start[b] += 1;
        }
        std::mem::swap(pairs, &mut tmp);
    }
}

/// The dictionary value of a posting list (`ids` increasing, not empty):
/// one or two ids inline, else the offset of a record appended to `post`.
fn encode_list(ids: &[u32], post: &mut Vec<u8>) -> u64 {
    match *ids {
        [a] => (a as u64) << 2 | TAG_ONE,
        [a, b] if b < 1 << 31 => (b as u64) << 33 | (a as u64) << 2 | TAG_TWO,
        _ => {
            let off = post.len() as u64;
            postings::encode(ids, post);
            off << 2 | TAG_RECORD
        }
    }
}

/// Completes a segment file: `out` holds the header placeholder and the
/// content section; appends the other sections and the footer.
fn assemble(mut out: Vec<u8>, docs: &[u8], dict: &[u8], post: &[u8], num_docs: u32) -> Vec<u8> {
    let content = HEADER_LEN..out.len();
    out.reserve(docs.len() + dict.len() + post.len() + FOOTER_LEN);
    let docs_r = append(&mut out, docs);
    let dict_r = append(&mut out, dict);
    let post_r = append(&mut out, post);

    let mut footer = [0u8; FOOTER_LEN];
    for (i, r) in [content, docs_r, dict_r, post_r].into_iter().enumerate() {
        let d = &mut footer[i * 24..i * 24 + 24];
        d[0..8].copy_from_slice(&(r.start as u64).to_le_bytes());
        d[8..16].copy_from_slice(&(r.len() as u64).to_le_bytes());
        d[16..20].copy_from_slice(&crc32fast::hash(&out[r]).to_le_bytes());
    }
    footer[96..100].copy_from_slice(&num_docs.to_le_bytes());
    let fcrc = crc32fast::hash(&footer[..100]);
    footer[100..104].copy_from_slice(&fcrc.to_le_bytes());
    footer[104..112].copy_from_slice(&TRAILER_MAGIC);
    out.extend_from_slice(&footer);

    out[0..8].copy_from_slice(&HEADER_MAGIC);
    out[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[12..16].copy_from_slice(&0u32.to_le_bytes());
    out
}

/// Appends a doc's frame to the content section being built in `out` and
/// its record to the doc table `docs`.
fn push_doc(out: &mut Vec<u8>, docs: &mut Vec<u8>, e: &DocEntry, frame: &[u8]) {
    let content_off = (out.len() - HEADER_LEN) as u64;
    out.extend_from_slice(frame);
    docs.extend_from_slice(&e.content_id.0);
    docs.extend_from_slice(&e.git_oid.0);
    docs.extend_from_slice(&e.size.to_le_bytes());
    docs.extend_from_slice(&content_off.to_le_bytes());
    docs.extend_from_slice(&(frame.len() as u64).to_le_bytes());
    docs.extend_from_slice(&0u32.to_le_bytes());
}

/// Merges documents of several segments into one new segment file, for
/// compaction. `parts` lists each source with the ids of the docs to keep,
/// strictly increasing; they get new ids in that order. Nothing is
/// decompressed or indexed again: each doc's zstd frame is copied as it is
/// (its checksum still guards it), and each trigram's posting lists are
/// concatenated and renumbered, so the cost is that of reading the sources'
/// dictionaries and postings. The result is byte for byte the segment that
/// indexing the kept contents afresh, in that order, writes. An error comes
/// with the index of the part it is about.
pub fn merge_segments(parts: &[(&Segment, &[u32])]) -> Result<Vec<u8>, (usize, SegmentError)> {
    const ABSENT: u32 = u32::MAX;
    let mut out = vec![0u8; HEADER_LEN];
    let mut docs = Vec::new();
    let mut num_docs: u32 = 0;
    // Per part: old doc id → new doc id (ABSENT if dropped).
    let mut remaps: Vec<Vec<u32>> = Vec::with_capacity(parts.len());
    for (k, (seg, keep)) in parts.iter().enumerate() {
        let mut remap = vec![ABSENT; if keep.is_empty() { 0 } else { seg.num_docs as usize }];
        let mut prev = None;
        for &id in keep.iter() {
            if prev.is_some_and(|p| id <= p) {
                return Err((k, corrupt(format!("docs to merge are not increasing at {id}"))));
            }
            prev = Some(id);
            let (entry, frame) = seg.frame(id).map_err(|e| (k, e))?;
            remap[id as usize] = num_docs;
            num_docs = num_docs.checked_add(1).expect("more than u32::MAX docs in one segment");
            push_doc(&mut out, &mut docs, &entry, frame);
        }
        remaps.push(remap);
    }
    // Each part's dictionary in key order, then a k-way merge by trigram;
    // equal trigrams come out in part order, so renumbered ids stay sorted.
    let mut dicts: Vec<Vec<(Trigram, u64)>> = Vec::with_capacity(parts.len());
    for (k, (seg, keep)) in parts.iter().enumerate() {
        let mut d = Vec::new();
        if !keep.is_empty() {
            seg.check_postings().map_err(|e| (k, e))?;
            d.reserve(seg.dict().map_err(|e| (k, e))?.len() as usize);
            seg.walk_dict(&mut |t, v| {
                d.push((t, v));
                Ok(())
            })
            .map_err(|e| (k, e))?;
        }
        dicts.push(d);
    }
    // Each part's next key (u32::MAX past its end; trigrams are 24-bit). A
    // linear scan for the smallest beats a heap for the few parts a merge has.
    let mut at = vec![0usize; parts.len()];
    let mut heads: Vec<u32> = dicts.iter().map(|d| d.first().map_or(u32::MAX, |e| e.0)).collect();
    let mut post = Vec::new();
    let mut dict = DictWriter::default();
    let mut ids: Vec<u32> = Vec::new();
    loop {
        let t = heads.iter().copied().min().unwrap_or(u32::MAX);
        if t == u32::MAX {
            break;
        }
        ids.clear();
        for k in 0..parts.len() {
            if heads[k] != t {
                continue;
            }
            let remap = &remaps[k];
            let value = dicts[k][at[k]].1;
            // Most lists of small segments are one inline doc.
            if value & 3 == TAG_ONE && value >> 2 < remap.len() as u64 {
                let n = remap[(value >> 2) as usize];
                if n != ABSENT {
                    ids.push(n);
                }
            } else {
                parts[k]
                    .0
                    .for_each_doc(value, &mut |d| {
                        let n = remap[d as usize];
                        if n != ABSENT {
                            ids.push(n);
                        }
                    })
                    .map_err(|e| (k, e))?;
            }
            at[k] += 1;
            heads[k] = dicts[k].get(at[k]).map_or(u32::MAX, |e| e.0);
        }
        if !ids.is_empty() {
            let value = encode_list(&ids, &mut post);
            dict.insert(t, value);
        }
    }
    Ok(assemble(out, &docs, &dict.finish(), &post, num_docs))
}

fn append(out: &mut Vec<u8>, bytes: &[u8]) -> Range<usize> {
    let start = out.len();
    out.extend_from_slice(bytes);
    start..out.len()
}

#[inline]
fn trigram_key(t: Trigram) -> [u8; 3] {
    [(t >> 16) as u8, (t >> 8) as u8, t as u8]
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// One doc table record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocEntry {
    pub content_id: ContentId,
    pub git_oid: GitOid,
    /// Raw (uncompressed) content length in bytes.
    pub size: u64,
}

/// Sizes of a segment, for `grove stats`/`grove check` and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentStats {
    pub num_docs: u32,
    /// Sum of the raw content lengths.
    pub raw_bytes: u64,
    /// Number of distinct trigrams (dictionary entries).
    pub num_trigrams: u64,
    /// Whole file, header and footer included.
    pub file_bytes: u64,
    pub docs_bytes: u64,
    pub dict_bytes: u64,
    pub postings_bytes: u64,
    pub content_bytes: u64,
}

type Bytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// A checked sub-range of the segment bytes, owning a share of them (so a
/// version-1 fst can hold it).
#[derive(Clone)]
struct Slice {
    bytes: Bytes,
    range: Range<usize>,
}

impl AsRef<[u8]> for Slice {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        &(*self.bytes).as_ref()[self.range.clone()]
    }
}

/// A read-only view of one segment. `Send + Sync`; share it in an `Arc`.
pub struct Segment {
    bytes: Bytes,
    num_docs: u32,
    raw_bytes: u64,
    sections: [Range<usize>; 4],
    crcs: [u32; 4],
    /// Format version (1: fst dictionary, 2: block table).
    version: u32,
    /// Built (after its crc is checked) on first use: opening a segment to
    /// read its doc table — the indexer's memo — never touches the
    /// dictionary or postings.
    dict: OnceLock<Dictionary>,
    /// Set once the postings section's crc has been checked.
    postings_checked: OnceLock<()>,
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment").field("stats", &self.stats()).finish()
    }
}

#[inline]
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
#[inline]
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// A doc record's fields (offsets relative to the content section).
struct Record {
    entry: DocEntry,
    off: u64,
    len: u64,
    reserved: u32,
}

fn parse_record(r: &[u8]) -> Record {
    Record {
        entry: DocEntry {
            content_id: ContentId(r[0..32].try_into().unwrap()),
            git_oid: GitOid(r[32..52].try_into().unwrap()),
            size: u64_at(r, 52),
        },
        off: u64_at(r, 60),
        len: u64_at(r, 68),
        reserved: u32_at(r, 76),
    }
}

impl Segment {
    /// Opens a segment over its bytes. Cheap but safe: checks magic, version,
    /// footer crc, section bounds and the doc table (crc and every record's
    /// content range). The dictionary's and postings' crcs are checked before
    /// their first use, content per doc when read.
    pub fn open(bytes: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Result<Segment, SegmentError> {
        let b: &[u8] = (*bytes).as_ref();
        if b.len() < HEADER_LEN {
            return Err(if b.len() >= 8 && b[..8] != HEADER_MAGIC {
                SegmentError::BadMagic
            } else {
                SegmentError::Truncated
            });
        }
        if b[..8] != HEADER_MAGIC {
            return Err(SegmentError::BadMagic);
        }
        let version = u32_at(b, 8);
        if !(1..=FORMAT_VERSION).contains(&version) {
            return Err(SegmentError::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
        }
        if u32_at(b, 12) != 0 {
            return Err(corrupt("unknown header flags"));
        }
        if b.len() < HEADER_LEN + FOOTER_LEN || b[b.len() - 8..] != TRAILER_MAGIC {
            return Err(SegmentError::Truncated);
        }
        let footer_at = b.len() - FOOTER_LEN;
        let footer = &b[footer_at..];
        if crc32fast::hash(&footer[..100]) != u32_at(footer, 100) {
            return Err(SegmentError::ChecksumMismatch { section: "footer" });
        }
        let num_docs = u32_at(footer, 96);

        // Sections must tile the file between header and footer, in order.
        let mut sections: [Range<usize>; 4] = Default::default();
        let mut crcs = [0u32; 4];
        let mut expect = HEADER_LEN as u64;
        for i in 0..4 {
            let d = &footer[i * 24..i * 24 + 24];
            let (off, len, crc, reserved) = (u64_at(d, 0), u64_at(d, 8), u32_at(d, 16), u32_at(d, 20));
            if off != expect || reserved != 0 {
                return Err(corrupt(format!("bad {} section descriptor", SECTION_NAMES[i])));
            }
            let end = off.checked_add(len).filter(|&e| e <= footer_at as u64);
            let end = end.ok_or_else(|| corrupt(format!("{} section out of bounds", SECTION_NAMES[i])))?;
            sections[i] = off as usize..end as usize;
            crcs[i] = crc;
            expect = end;
        }
        if expect != footer_at as u64 {
            return Err(corrupt("sections do not reach the footer"));
        }
        // The doc table is checked now; dictionary and postings on first use.
        if crc32fast::hash(&b[sections[S_DOCS].clone()]) != crcs[S_DOCS] {
            return Err(SegmentError::ChecksumMismatch { section: SECTION_NAMES[S_DOCS] });
        }

        // Doc table: fixed records whose content frames tile the content section.
        let docs = &b[sections[S_DOCS].clone()];
        if docs.len() as u64 != num_docs as u64 * DOC_RECORD_LEN as u64 {
            return Err(corrupt("doc table length does not match the doc count"));
        }
        let mut raw_bytes: u64 = 0;
        let mut content_pos: u64 = 0;
        for (i, r) in docs.chunks_exact(DOC_RECORD_LEN).enumerate() {
            let r = parse_record(r);
            if r.off != content_pos || r.reserved != 0 {
                return Err(corrupt(format!("bad doc record {i}")));
            }
            content_pos = r.off.checked_add(r.len).ok_or_else(|| corrupt(format!("bad doc record {i}")))?;
            if r.entry.size as u128 > r.len as u128 * MAX_ZSTD_RATIO || usize::try_from(r.entry.size).is_err() {
                return Err(corrupt(format!("doc {i}: impossible size")));
            }
            raw_bytes = raw_bytes.checked_add(r.entry.size).ok_or_else(|| corrupt("raw size overflow"))?;
        }
        if content_pos != sections[S_CONTENT].len() as u64 {
            return Err(corrupt("doc records do not cover the content section"));
        }

        Ok(Segment {
            bytes,
            num_docs,
            raw_bytes,
            sections,
            crcs,
            version,
            dict: OnceLock::new(),
            postings_checked: OnceLock::new(),
        })
    }

    /// The trigram dictionary, its crc checked and its index (version 2) or
    /// fst (version 1) parsed on first use.
    fn dict(&self) -> Result<&Dictionary, SegmentError> {
        if let Some(d) = self.dict.get() {
            return Ok(d);
        }
        if crc32fast::hash(self.section(S_DICT)) != self.crcs[S_DICT] {
            return Err(SegmentError::ChecksumMismatch { section: SECTION_NAMES[S_DICT] });
        }
        let dict = if self.version == 1 {
            let dict_bytes = Slice { bytes: self.bytes.clone(), range: self.sections[S_DICT].clone() };
            let fst = catch_unwind(AssertUnwindSafe(|| fst::Map::new(dict_bytes)))
                .map_err(|_| corrupt("malformed dictionary"))?
                .map_err(|e| corrupt(format!("dictionary: {e}")))?;
            Dictionary::Fst(fst)
        } else {
            Dictionary::Blocks(Dict::parse(self.section(S_DICT)).map_err(corrupt)?)
        };
        Ok(self.dict.get_or_init(|| dict))
    }

    /// Checks the postings section's crc once, before the first posting list
    /// is decoded.
    fn check_postings(&self) -> Result<(), SegmentError> {
        if self.postings_checked.get().is_some() {
            return Ok(());
        }
        if crc32fast::hash(self.section(S_POSTINGS)) != self.crcs[S_POSTINGS] {
            return Err(SegmentError::ChecksumMismatch { section: SECTION_NAMES[S_POSTINGS] });
        }
        let _ = self.postings_checked.set(());
        Ok(())
    }

    #[inline]
    fn data(&self) -> &[u8] {
        (*self.bytes).as_ref()
    }

    #[inline]
    fn section(&self, i: usize) -> &[u8] {
        &self.data()[self.sections[i].clone()]
    }

    pub fn num_docs(&self) -> u32 {
        self.num_docs
    }

    fn record(&self, id: u32) -> Record {
        let at = id as usize * DOC_RECORD_LEN;
        parse_record(&self.section(S_DOCS)[at..at + DOC_RECORD_LEN])
    }

    /// The doc table entry of `id`. Panics if `id >= num_docs()`.
    pub fn doc(&self, id: u32) -> DocEntry {
        assert!(id < self.num_docs, "doc id {id} out of range (segment has {} docs)", self.num_docs);
        self.record(id).entry
    }

    /// The ids of the docs containing trigram `t` (empty if none).
    pub fn postings(&self, t: Trigram) -> Result<RoaringBitmap, SegmentError> {
        if t > 0x00ff_ffff {
            return Ok(RoaringBitmap::new());
        }
        match self.dict_get(t)? {
            None => Ok(RoaringBitmap::new()),
            Some(v) => {
                self.check_postings()?;
                self.decode(v).map(|(bm, _)| bm)
            }
        }
    }

    /// fst lookups assume a well-formed automaton and panic otherwise. The
    /// dictionary's crc is checked before its first use, so only a crafted
    /// file (one with matching checksums) could get here malformed; turn that
    /// into an error rather than a crash. Block tables check every read.
    fn dict_get(&self, t: Trigram) -> Result<Option<u64>, SegmentError> {
        match self.dict()? {
            Dictionary::Fst(fst) => {
                catch_unwind(AssertUnwindSafe(|| fst.get(trigram_key(t)))).map_err(|_| corrupt("malformed dictionary"))
            }
            Dictionary::Blocks(d) => d.get(self.section(S_DICT), t).map_err(corrupt),
        }
    }

    /// Visits every dictionary entry in key order: a block table block by
    /// block; a version-1 fst with a walk bounded to depth 3 (a crafted fst
    /// could hold cycles, which a stream would follow forever), checking that
    /// every key is exactly 3 bytes.
    fn walk_dict(&self, f: &mut dyn FnMut(Trigram, u64) -> Result<(), SegmentError>) -> Result<(), SegmentError> {
        let fst = match self.dict()? {
            Dictionary::Fst(fst) => fst.as_fst(),
            Dictionary::Blocks(d) => {
                // The callback's own error, kept aside from the table's.
                let mut failed = None;
                let res = d.for_each(self.section(S_DICT), &mut |t, v| {
                    f(t, v).map_err(|e| {
                        failed = Some(e);
                        "callback"
                    })
                });
                return match (failed, res) {
                    (Some(e), _) => Err(e),
                    (None, Err(e)) => Err(corrupt(format!("dictionary: {e}"))),
                    (None, Ok(())) => Ok(()),
                };
            }
        };
        fn walk(
            fst: &fst::raw::Fst<Slice>,
            node: fst::raw::Node<'_>,
            depth: u32,
            key: u32,
            out: u64,
            f: &mut dyn FnMut(Trigram, u64) -> Result<(), SegmentError>,
            count: &mut u64,
        ) -> Result<(), SegmentError> {
            let bad = || corrupt("dictionary has a key that is not a trigram");
            if depth == 3 {
                if !node.is_final() || !node.is_empty() {
                    return Err(bad());
                }
                *count += 1;
                let v = out.checked_add(node.final_output().value()).ok_or_else(bad)?;
                return f(key, v);
            }
            if node.is_final() || node.is_empty() {
                return Err(bad());
            }
            let mut last: Option<u8> = None;
            for t in node.transitions() {
                if last.is_some_and(|l| t.inp <= l) {
                    return Err(corrupt("dictionary transitions out of order"));
                }
                last = Some(t.inp);
                let out = out.checked_add(t.out.value()).ok_or_else(bad)?;
                walk(fst, fst.node(t.addr), depth + 1, key << 8 | t.inp as u32, out, f, count)?;
            }
            Ok(())
        }
        let mut count = 0u64;
        let res = catch_unwind(AssertUnwindSafe(|| {
            if fst.is_empty() {
                // An empty map's root is a non-final node without transitions.
                let root = fst.root();
                return if root.is_final() || !root.is_empty() {
                    Err(corrupt("malformed empty dictionary"))
                } else {
                    Ok(())
                };
            }
            walk(fst, fst.root(), 0, 0, 0, f, &mut count)
        }));
        match res {
            Err(_) => Err(corrupt("malformed dictionary")),
            Ok(Err(e)) => Err(e),
            Ok(Ok(())) if count != fst.len() as u64 => Err(corrupt("dictionary length differs from its entries")),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Decodes a dictionary value; also returns the byte range of its record
    /// in the postings section, if it has one.
    fn decode(&self, v: u64) -> Result<(RoaringBitmap, Option<Range<usize>>), SegmentError> {
        if v & 3 != TAG_RECORD {
            // Inline values: one or two doc ids.
            let mut bm = RoaringBitmap::new();
            self.for_each_doc(v, &mut |d| {
                bm.insert(d);
            })?;
            return Ok((bm, None));
        }
        let post = self.section(S_POSTINGS);
        let off = usize::try_from(v >> 2).ok().filter(|&o| o < post.len());
        let off = off.ok_or_else(|| corrupt("posting offset out of bounds"))?;
        let (bm, len) = postings::decode(&post[off..], self.num_docs)
            .map_err(|e| corrupt(format!("posting list at {off}: {e}")))?;
        Ok((bm, Some(off..off + len)))
    }

    /// The given docs as [`PreparedDoc`]s for another segment (compaction),
    /// without decompressing, re-reading or recompressing anything: each
    /// doc's zstd frame is copied as it is (its checksum still guards it) and
    /// its trigrams are recovered by inverting this segment's postings. Far
    /// cheaper than preparing the contents again; same result, because a
    /// doc's postings are exactly its trigrams.
    pub fn reuse_docs(&self, docs: &[u32]) -> Result<Vec<PreparedDoc>, SegmentError> {
        const ABSENT: u32 = u32::MAX;
        let mut slot = vec![ABSENT; self.num_docs as usize];
        let mut out = Vec::with_capacity(docs.len());
        for (i, &id) in docs.iter().enumerate() {
            if id >= self.num_docs {
                return Err(SegmentError::NoSuchDoc { doc: id, num_docs: self.num_docs });
            }
            if slot[id as usize] != ABSENT {
                return Err(corrupt(format!("doc {id} asked for twice")));
            }
            slot[id as usize] = i as u32;
            let (entry, frame) = self.frame(id)?;
            out.push(PreparedDoc {
                content_id: entry.content_id,
                git_oid: entry.git_oid,
                raw_len: entry.size,
                trigrams: Vec::new(),
                compressed: frame.to_vec(),
            });
        }
        if docs.is_empty() {
            return Ok(out);
        }
        self.check_postings()?;
        // The walk visits trigrams in increasing order, so every doc's list
        // comes out sorted, as `doc_trigrams` makes it.
        self.walk_dict(&mut |t, v| {
            let (bm, _) = self.decode(v)?;
            for doc in bm {
                let i = slot[doc as usize];
                if i != ABSENT {
                    out[i as usize].trigrams.push(t);
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Doc `id`'s entry and zstd frame, checked short of decoding: one
    /// checksummed zstd frame recording the doc's size (what `content_into`
    /// decodes and `reuse_docs` copies).
    fn frame(&self, id: u32) -> Result<(DocEntry, &[u8]), SegmentError> {
        if id >= self.num_docs {
            return Err(SegmentError::NoSuchDoc { doc: id, num_docs: self.num_docs });
        }
        let r = self.record(id);
        let frame = &self.section(S_CONTENT)[r.off as usize..(r.off + r.len) as usize];
        if frame.len() < 5 || frame[..4] != [0x28, 0xb5, 0x2f, 0xfd] || frame[4] & 0x04 == 0 {
            return Err(SegmentError::BadContent { doc: id, reason: "not a checksummed zstd frame".into() });
        }
        if !matches!(zstd_safe::get_frame_content_size(frame), Ok(Some(s)) if s == r.entry.size) {
            return Err(SegmentError::BadContent {
                doc: id,
                reason: "frame content size differs from the doc size".into(),
            });
        }
        Ok((r.entry, frame))
    }

    /// Calls `f` with each doc id of a dictionary value, increasing, after
    /// the checks of `decode` (postings crc checked by the caller).
    fn for_each_doc(&self, v: u64, f: &mut impl FnMut(u32)) -> Result<(), SegmentError> {
        let n = self.num_docs as u64;
        match v & 3 {
            TAG_ONE if v >> 2 < n => f((v >> 2) as u32),
            TAG_ONE => return Err(corrupt("posting doc id out of range")),
            TAG_TWO => {
                let (a, b) = ((v >> 2) & 0x7fff_ffff, v >> 33);
                if a >= b || b >= n {
                    return Err(corrupt("bad inline posting pair"));
                }
                f(a as u32);
                f(b as u32);
            }
            TAG_RECORD => {
                let post = self.section(S_POSTINGS);
                let off = usize::try_from(v >> 2).ok().filter(|&o| o < post.len());
                let off = off.ok_or_else(|| corrupt("posting offset out of bounds"))?;
                postings::visit(&post[off..], self.num_docs, f)
                    .map_err(|e| corrupt(format!("posting list at {off}: {e}")))?;
            }
            _ => return Err(corrupt("unknown dictionary value tag")),
        }
        Ok(())
    }

    /// Decompresses doc `id` into `buf` (cleared first). Checks the zstd
    /// frame checksum and that the length equals the doc's size.
    pub fn content_into(&self, id: u32, buf: &mut Vec<u8>) -> Result<(), SegmentError> {
        buf.clear();
        // One checksummed zstd frame recording the doc's size (bounds were
        // checked by `open`), and nothing after it.
        let (entry, frame) = self.frame(id)?;
        let bad = |reason: &str| SegmentError::BadContent { doc: id, reason: reason.to_string() };
        match zstd_safe::find_frame_compressed_size(frame) {
            Ok(l) if l == frame.len() => {}
            _ => return Err(bad("frame length differs from the doc record")),
        }
        let size = entry.size as usize; // fits: checked by `open`
        buf.reserve_exact(size);
        let res = DECOMPRESSOR.with(|d| {
            let mut d = d.borrow_mut();
            if d.is_none() {
                *d = Some(zstd::bulk::Decompressor::new().map_err(|e| bad(&e.to_string()))?);
            }
            d.as_mut().unwrap().decompress_to_buffer(frame, buf).map_err(|e| bad(&e.to_string()))
        });
        match res {
            Ok(n) if n == size && buf.len() == size => Ok(()),
            Ok(_) => {
                buf.clear();
                Err(bad("decompressed length differs from the doc size"))
            }
            Err(e) => {
                buf.clear();
                Err(e)
            }
        }
    }

    /// Deep check (`grove check`): every section crc, the fst's own checksum,
    /// every posting list (decodes, non-empty, ids < num_docs, lists tile the
    /// postings section), every doc (decompresses, blake3 equals its content
    /// id) and that postings equal the trigrams of the contents (compared by
    /// an order-independent fingerprint of all (trigram, doc) pairs).
    pub fn verify(&self) -> Result<SegmentStats, SegmentError> {
        for (i, &section) in SECTION_NAMES.iter().enumerate() {
            if crc32fast::hash(self.section(i)) != self.crcs[i] {
                return Err(SegmentError::ChecksumMismatch { section });
            }
        }
        if let Dictionary::Fst(fst) = self.dict()? {
            fst.as_fst().verify().map_err(|e| corrupt(format!("dictionary: {e}")))?;
        }

        let mut index_print = Fingerprint::default();
        let mut post_pos = 0usize;
        self.walk_dict(&mut |t, v| {
            let (bm, range) = self.decode(v)?;
            if let Some(range) = range {
                if range.start != post_pos {
                    return Err(corrupt("posting lists do not tile the postings section"));
                }
                post_pos = range.end;
            }
            for d in &bm {
                index_print.add(t, d);
            }
            Ok(())
        })?;
        if post_pos != self.sections[S_POSTINGS].len() {
            return Err(corrupt("posting lists do not tile the postings section"));
        }

        let mut content_print = Fingerprint::default();
        let mut buf = Vec::new();
        let mut tris = Vec::new();
        for id in 0..self.num_docs {
            self.content_into(id, &mut buf)?;
            if ContentId::of(&buf) != self.record(id).entry.content_id {
                return Err(SegmentError::BadContent { doc: id, reason: "blake3 differs from the content id".into() });
            }
            doc_trigrams(&buf, &mut tris);
            for &t in &tris {
                content_print.add(t, id);
            }
        }
        if index_print != content_print {
            return Err(corrupt("postings do not match the trigrams of the contents"));
        }
        Ok(self.stats())
    }

    pub fn stats(&self) -> SegmentStats {
        let len = |i: usize| self.sections[i].len() as u64;
        SegmentStats {
            num_docs: self.num_docs,
            raw_bytes: self.raw_bytes,
            num_trigrams: self.dict().map_or(0, Dictionary::len),
            file_bytes: self.data().len() as u64,
            docs_bytes: len(S_DOCS),
            dict_bytes: len(S_DICT),
            postings_bytes: len(S_POSTINGS),
            content_bytes: len(S_CONTENT),
        }
    }
}

/// A segment's trigram dictionary: a block table (version 2) or an fst
/// (version 1, still read).
enum Dictionary {
    Fst(fst::Map<Slice>),
    Blocks(Dict),
}

impl Dictionary {
    fn len(&self) -> u64 {
        match self {
            Dictionary::Fst(f) => f.len() as u64,
            Dictionary::Blocks(d) => d.len(),
        }
    }
}

/// Order-independent fingerprint of a set of (trigram, doc) pairs.
#[derive(Default, PartialEq, Eq)]
struct Fingerprint {
    count: u64,
    sum: u64,
    xor: u64,
}

impl Fingerprint {
    #[inline]
    fn add(&mut self, t: Trigram, doc: u32) {
        let mut x = (t as u64) << 32 | doc as u64;
        // splitmix64 finalizer
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        self.count += 1;
        self.sum = self.sum.wrapping_add(x);
        self.xor ^= x.rotate_left(17);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn doc_trigrams_equals_trigrams_of() {
        let mut docs: Vec<Vec<u8>> = vec![vec![], b"a".to_vec(), b"ab".to_vec(), b"abc".to_vec(), b"aBcAbC".to_vec()];
        let mut x: u64 = 0x1234_5678;
        for len in [3usize, 10, 100, 5000, 70_000] {
            for alphabet in [2u64, 4, 30, 256] {
                docs.push(
                    (0..len)
                        .map(|_| {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            b'A'.wrapping_add((x % alphabet) as u8)
                        })
                        .collect(),
                );
            }
        }
        docs.push(include_bytes!("lib.rs").to_vec());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for d in &docs {
            grove_ngram::trigrams_of(d, &mut a);
            doc_trigrams(d, &mut b);
            assert_eq!(a, b);
        }
    }

    #[test]
    fn radix_sorted_pairs_equal_sorted_ones() {
        let mut x: u64 = 0x9e37_79b9;
        for n in [0usize, 5, 1023, 1024, 5000] {
            // Pairs as `add` makes them: docs in order, one bucket.
            let mut pairs = Vec::new();
            let mut doc = 0u64;
            while pairs.len() < n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let t = 0x42_0000 | (x & 0xffff);
                pairs.push(t << 32 | doc);
                if x.is_multiple_of(7) {
                    doc += 1;
                }
            }
            pairs.dedup();
            let mut want = pairs.clone();
            want.sort_unstable();
            want.dedup();
            let mut got = pairs;
            sort_pairs(&mut got);
            got.dedup();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn types_are_shareable() {
        assert_send_sync::<Segment>();
        assert_send::<PreparedDoc>();
        assert_send::<SegmentWriter>();
    }

    #[test]
    fn footer_layout_is_fixed() {
        let seg = SegmentWriter::new().finish();
        // An empty dictionary is its trailer: no entries, no blocks.
        assert_eq!(seg.len(), HEADER_LEN + FOOTER_LEN + 8);
        assert_eq!(&seg[..8], b"GROVESEG");
        assert_eq!(&seg[seg.len() - 8..], b"GSEG_END");
    }
}
