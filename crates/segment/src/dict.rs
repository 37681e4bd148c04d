//! The trigram dictionary of a version-2 segment: a block table (see
//! docs/format.md, "Dictionary"). Entries are (trigram, tagged value) in
//! increasing trigram order, in blocks of [`BLOCK`]: a block's first key is
//! written in full, the next ones as gaps, every value as a varint; an index
//! of each block's first key and offset ends the section. Writing and reading
//! everything costs a few instructions per entry (an fst costs ~100 to build
//! and as much to walk, and per-commit segments and compaction do both); a
//! lookup is a binary search over the index and a scan of one block.
//!
//! Every read is bounds-checked: a malformed table (one whose crc matches,
//! so crafted) yields an error, never a panic.

use grove_ngram::Trigram;

use crate::postings::{get_varint, put_varint};

/// Entries per block.
pub(crate) const BLOCK: usize = 64;
/// Index record: first trigram (u32), block offset (u32).
const INDEX_RECORD: usize = 8;
/// Trailer: entry count (u32), block count (u32).
const TRAILER: usize = 8;

/// Builds a dictionary from entries given in increasing trigram order.
#[derive(Default)]
pub(crate) struct DictWriter {
    out: Vec<u8>,
    index: Vec<u8>,
    count: u32,
    prev: Trigram,
}

impl DictWriter {
    pub(crate) fn insert(&mut self, t: Trigram, value: u64) {
        debug_assert!(t <= 0x00ff_ffff && (self.count == 0 || t > self.prev), "trigrams in increasing order");
        if (self.count as usize).is_multiple_of(BLOCK) {
            let off = u32::try_from(self.out.len()).expect("dictionary under 4 GiB");
            self.index.extend_from_slice(&t.to_le_bytes());
            self.index.extend_from_slice(&off.to_le_bytes());
            self.out.extend_from_slice(&[(t >> 16) as u8, (t >> 8) as u8, t as u8]);
        } else {
            put_varint(&mut self.out, (t - self.prev) as u64);
        }
        put_varint(&mut self.out, value);
        self.prev = t;
        self.count += 1;
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        let DictWriter { mut out, index, count, .. } = self;
        let blocks = (index.len() / INDEX_RECORD) as u32;
        out.extend_from_slice(&index);
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&blocks.to_le_bytes());
        out
    }
}

/// A checked view of a dictionary section's layout (offsets within it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dict {
    /// Bytes of the blocks: `0..entries_end`; the index follows.
    entries_end: usize,
    blocks: usize,
    count: u64,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

impl Dict {
    /// Checks the trailer and the index (keys and offsets strictly
    /// increasing, in bounds), not the blocks: those are checked as read.
    pub(crate) fn parse(section: &[u8]) -> Result<Dict, &'static str> {
        if section.len() < TRAILER {
            return Err("dictionary truncated");
        }
        let count = u32_at(section, section.len() - 8) as u64;
        let blocks = u32_at(section, section.len() - 4) as usize;
        if blocks as u64 != count.div_ceil(BLOCK as u64) {
            return Err("dictionary block count does not match its entry count");
        }
        let index_len = blocks.checked_mul(INDEX_RECORD).ok_or("dictionary index out of bounds")?;
        let entries_end = section.len().checked_sub(TRAILER + index_len).ok_or("dictionary index out of bounds")?;
        let d = Dict { entries_end, blocks, count };
        let mut prev: Option<(u32, u32)> = None;
        for i in 0..blocks {
            let (key, off) = d.block(section, i);
            let ok = key <= 0x00ff_ffff
                && (off as usize) < entries_end
                && match prev {
                    None => off == 0,
                    Some((k, o)) => key > k && off > o,
                };
            if !ok {
                return Err("dictionary index out of order");
            }
            prev = Some((key, off));
        }
        if blocks == 0 && entries_end != 0 {
            return Err("dictionary has bytes but no entries");
        }
        Ok(d)
    }

    pub(crate) fn len(&self) -> u64 {
        self.count
    }

    /// Block `i`'s first key and offset, from the index.
    fn block(&self, section: &[u8], i: usize) -> (u32, u32) {
        let at = self.entries_end + i * INDEX_RECORD;
        (u32_at(section, at), u32_at(section, at + 4))
    }

    /// Where block `i`'s bytes end.
    fn block_end(&self, section: &[u8], i: usize) -> usize {
        if i + 1 < self.blocks {
            self.block(section, i + 1).1 as usize
        } else {
            self.entries_end
        }
    }

    /// Entries in block `i`.
    fn block_len(&self, i: usize) -> usize {
        if i + 1 < self.blocks {
            BLOCK
        } else {
            (self.count - (i * BLOCK) as u64) as usize
        }
    }

    /// Decodes block `i`, calling `f` per entry until it returns false.
    /// Checks that keys increase, stay trigrams and fill the block exactly.
    fn scan_block(
        &self,
        section: &[u8],
        i: usize,
        f: &mut dyn FnMut(Trigram, u64) -> Result<bool, &'static str>,
    ) -> Result<(), &'static str> {
        let (first, off) = self.block(section, i);
        let end = self.block_end(section, i);
        let bytes = &section[..end];
        let mut pos = off as usize;
        let key = bytes.get(pos..pos + 3).ok_or("dictionary block out of bounds")?;
        let mut t = (key[0] as u32) << 16 | (key[1] as u32) << 8 | key[2] as u32;
        if t != first {
            return Err("dictionary block differs from its index");
        }
        pos += 3;
        let n = self.block_len(i);
        for k in 0..n {
            if k > 0 {
                let gap = get_varint(bytes, &mut pos).ok_or("dictionary block truncated")?;
                t = (t as u64)
                    .checked_add(gap)
                    .filter(|&t| gap > 0 && t <= 0x00ff_ffff)
                    .ok_or("dictionary keys out of order")? as u32;
            }
            let v = get_varint(bytes, &mut pos).ok_or("dictionary block truncated")?;
            if !f(t, v)? {
                return Ok(());
            }
        }
        if pos != end {
            return Err("dictionary block length differs from its entries");
        }
        Ok(())
    }

    /// The value of trigram `t`, if present.
    pub(crate) fn get(&self, section: &[u8], t: Trigram) -> Result<Option<u64>, &'static str> {
        // The last block whose first key is <= t.
        let (mut lo, mut hi) = (0usize, self.blocks);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.block(section, mid).0 <= t {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == 0 {
            return Ok(None);
        }
        let mut found = None;
        self.scan_block(section, lo - 1, &mut |k, v| {
            if k == t {
                found = Some(v);
            }
            Ok(k < t)
        })?;
        Ok(found)
    }

    /// Every entry in key order. Checks every block.
    pub(crate) fn for_each(
        &self,
        section: &[u8],
        f: &mut dyn FnMut(Trigram, u64) -> Result<(), &'static str>,
    ) -> Result<(), &'static str> {
        let mut last: Option<Trigram> = None;
        for i in 0..self.blocks {
            self.scan_block(section, i, &mut |t, v| {
                if last.is_some_and(|l| t <= l) {
                    return Err("dictionary keys out of order");
                }
                last = Some(t);
                f(t, v)?;
                Ok(true)
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(entries: &[(Trigram, u64)]) -> Vec<u8> {
        let mut w = DictWriter::default();
        for &(t, v) in entries {
            w.insert(t, v);
        }
        w.finish()
    }

    #[test]
    fn round_trip_and_lookups() {
        for n in [0usize, 1, 63, 64, 65, 1000] {
            let entries: Vec<(Trigram, u64)> =
                (0..n).map(|i| ((i * 16_411 % 0x00ff_ffff) as u32, i as u64 * 977)).collect();
            let mut entries = entries;
            entries.sort();
            entries.dedup_by_key(|e| e.0);
            let bytes = build(&entries);
            let d = Dict::parse(&bytes).unwrap();
            assert_eq!(d.len(), entries.len() as u64);
            let mut seen = Vec::new();
            d.for_each(&bytes, &mut |t, v| {
                seen.push((t, v));
                Ok(())
            })
            .unwrap();
            assert_eq!(seen, entries);
            for &(t, v) in &entries {
                assert_eq!(d.get(&bytes, t).unwrap(), Some(v));
                if t > 0 && !entries.iter().any(|e| e.0 == t - 1) {
                    assert_eq!(d.get(&bytes, t - 1).unwrap(), None);
                }
            }
            assert_eq!(d.get(&bytes, 0x00ff_ffff).unwrap(), entries.last().filter(|e| e.0 == 0x00ff_ffff).map(|e| e.1));
        }
    }

    #[test]
    fn malformed_tables_are_errors() {
        let entries: Vec<(Trigram, u64)> = (0..200).map(|i| (i * 7, i as u64)).collect();
        let bytes = build(&entries);
        for cut in 0..bytes.len() {
            if let Ok(d) = Dict::parse(&bytes[..cut]) {
                let _ = d.for_each(&bytes[..cut], &mut |_, _| Ok(()));
                let _ = d.get(&bytes[..cut], 700);
            }
        }
        for i in 0..bytes.len() {
            for x in [1u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= x;
                if let Ok(d) = Dict::parse(&b) {
                    let _ = d.for_each(&b, &mut |_, _| Ok(()));
                    let _ = d.get(&b, 700);
                }
            }
        }
        assert!(Dict::parse(&[]).is_err());
    }
}
