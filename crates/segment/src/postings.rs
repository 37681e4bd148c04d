//! Posting list encodings (see docs/format.md, "Postings").
//!
//! Lists of one or two docs live inline in the dictionary value. Longer lists
//! are records in the postings section: a kind byte, then whichever of three
//! encodings is smallest for that list:
//!
//! * `KIND_DELTA`: LEB128 count, then LEB128 first id and `gap - 1` for the
//!   rest (sparse lists: ~1 byte per doc in a few-thousand-doc segment, half
//!   of a roaring array container's 2 bytes);
//! * `KIND_BITSET`: LEB128 first byte index, LEB128 byte count, then an LSB0
//!   bitset (dense lists: 1 bit per doc in the span);
//! * `KIND_ROARING`: a serialized, `optimize()`d `RoaringBitmap` (lists with
//!   long runs).
//!
//! Every decoder is bounds-checked and refuses ids `>= num_docs`.

use roaring::RoaringBitmap;

pub(crate) const KIND_ROARING: u8 = 0;
pub(crate) const KIND_DELTA: u8 = 1;
pub(crate) const KIND_BITSET: u8 = 2;

pub(crate) use grove_base::varint::{get as get_varint, len as varint_len, put as put_varint};

/// Appends the record for `ids` (strictly increasing, at least one) to `out`.
pub(crate) fn encode(ids: &[u32], out: &mut Vec<u8>) {
    let first = ids[0];
    let last = *ids.last().unwrap();
    let mut delta_len = varint_len(ids.len() as u64) + varint_len(first as u64);
    let mut runs = 1usize;
    for w in ids.windows(2) {
        let gap = w[1] - w[0] - 1;
        delta_len += varint_len(gap as u64);
        runs += (gap != 0) as usize;
    }
    let (start_byte, end_byte) = (first / 8, last / 8);
    let nbytes = (end_byte - start_byte + 1) as usize;
    let bitset_len = varint_len(start_byte as u64) + varint_len(nbytes as u64) + nbytes;
    let best = delta_len.min(bitset_len);

    // A run-container roaring bitmap costs about 4 bytes per run plus headers;
    // only build it when that could win.
    let containers = (last >> 16) - (first >> 16) + 1;
    if runs * 4 + containers as usize * 10 + 8 < best {
        let mut bm = RoaringBitmap::from_sorted_iter(ids.iter().copied()).expect("ids are increasing");
        bm.optimize();
        if bm.serialized_size() < best {
            out.push(KIND_ROARING);
            bm.serialize_into(&mut *out).expect("write to Vec");
            return;
        }
    }
    if delta_len <= bitset_len {
        out.push(KIND_DELTA);
        put_varint(out, ids.len() as u64);
        put_varint(out, first as u64);
        for w in ids.windows(2) {
            put_varint(out, (w[1] - w[0] - 1) as u64);
        }
    } else {
        out.push(KIND_BITSET);
        put_varint(out, start_byte as u64);
        put_varint(out, nbytes as u64);
        let at = out.len();
        out.resize(at + nbytes, 0);
        let bits = &mut out[at..];
        for &id in ids {
            let i = id as usize - start_byte as usize * 8;
            bits[i / 8] |= 1 << (i % 8);
        }
    }
}

/// Decodes the record at the start of `buf`. Returns the list and the
/// record's length in bytes, or a reason for refusing it.
pub(crate) fn decode(buf: &[u8], num_docs: u32) -> Result<(RoaringBitmap, usize), &'static str> {
    match *buf.first().ok_or("posting record out of bounds")? {
        KIND_DELTA => {
            let mut bm = RoaringBitmap::new();
            // `visit_delta` checks that ids increase: `try_push` cannot refuse one.
            let len = visit_delta(buf, num_docs, &mut |id| {
                let _ = bm.try_push(id);
            })?;
            Ok((bm, len))
        }
        KIND_BITSET => {
            let (start, bytes, len) = bitset(buf, num_docs)?;
            Ok((RoaringBitmap::from_lsb0_bytes((start * 8) as u32, bytes), len))
        }
        KIND_ROARING => decode_roaring(buf, num_docs),
        _ => Err("unknown posting list kind"),
    }
}

/// Calls `f` with each id of the record at the start of `buf`, in increasing
/// order, after the same checks as [`decode`] (without building a bitmap:
/// this is how compaction renumbers postings). Returns the record's length.
pub(crate) fn visit(buf: &[u8], num_docs: u32, f: &mut impl FnMut(u32)) -> Result<usize, &'static str> {
    match *buf.first().ok_or("posting record out of bounds")? {
        KIND_DELTA => visit_delta(buf, num_docs, f),
        KIND_BITSET => {
            let (start, bytes, len) = bitset(buf, num_docs)?;
            for (i, &byte) in bytes.iter().enumerate() {
                let mut b = byte;
                while b != 0 {
                    f(((start + i as u64) * 8 + b.trailing_zeros() as u64) as u32);
                    b &= b - 1;
                }
            }
            Ok(len)
        }
        KIND_ROARING => {
            let (bm, len) = decode_roaring(buf, num_docs)?;
            bm.iter().for_each(&mut *f);
            Ok(len)
        }
        _ => Err("unknown posting list kind"),
    }
}

fn visit_delta(buf: &[u8], num_docs: u32, f: &mut impl FnMut(u32)) -> Result<usize, &'static str> {
    let n = num_docs as u64;
    let mut pos = 1usize;
    let count = get_varint(buf, &mut pos).ok_or("truncated posting list")?;
    if count == 0 || count > n {
        return Err("bad posting list length");
    }
    let mut next: u64 = 0; // smallest id the next entry may have
    for _ in 0..count {
        let gap = get_varint(buf, &mut pos).ok_or("truncated posting list")?;
        let id = next.checked_add(gap).filter(|&id| id < n).ok_or("posting doc id out of range")?;
        f(id as u32);
        next = id + 1;
    }
    Ok(pos)
}

/// A bitset record's first byte index, its bytes and the record's length.
fn bitset(buf: &[u8], num_docs: u32) -> Result<(u64, &[u8], usize), &'static str> {
    let n = num_docs as u64;
    let mut pos = 1usize;
    let start = get_varint(buf, &mut pos).ok_or("truncated posting list")?;
    let len = get_varint(buf, &mut pos).ok_or("truncated posting list")?;
    // Every bit must name a doc < num_docs: the span ends within the last doc's byte.
    let end = start.checked_add(len).ok_or("bad bitset span")?;
    if len == 0 || end > n.div_ceil(8) || end * 8 > 1 << 32 {
        return Err("bad bitset span");
    }
    let bytes = buf.get(pos..pos + len as usize).ok_or("truncated posting list")?;
    pos += len as usize;
    let last = bytes[bytes.len() - 1];
    let last_bit = (end - 1) * 8 + 7 - last.leading_zeros() as u64;
    if bytes[0] == 0 || last == 0 || last_bit >= n {
        return Err("bad bitset bounds");
    }
    Ok((start, bytes, pos))
}

fn decode_roaring(buf: &[u8], num_docs: u32) -> Result<(RoaringBitmap, usize), &'static str> {
    let mut r = &buf[1..];
    let bm = RoaringBitmap::deserialize_from(&mut r).map_err(|_| "undecodable roaring posting list")?;
    match bm.max() {
        Some(m) if m < num_docs => {}
        _ => return Err("roaring posting list empty or doc id out of range"),
    }
    Ok((bm, buf.len() - r.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(ids: &[u32], num_docs: u32) -> u8 {
        let mut out = vec![0xEE];
        encode(ids, &mut out);
        let (bm, len) = decode(&out[1..], num_docs).unwrap();
        assert_eq!(len, out.len() - 1);
        assert_eq!(bm.iter().collect::<Vec<_>>(), ids);
        out[1]
    }

    #[test]
    fn picks_each_kind() {
        assert_eq!(round_trip(&[1, 500, 90_000], 100_000), KIND_DELTA);
        let dense: Vec<u32> = (0..4000).filter(|i| i % 3 != 0).collect();
        assert_eq!(round_trip(&dense, 4000), KIND_BITSET);
        let runs: Vec<u32> = (0..100_000).filter(|i| *i < 40_000 || *i > 60_000).collect();
        assert_eq!(round_trip(&runs, 200_000), KIND_ROARING);
        // Bitset edges: ids in the first and last bit of a byte, last doc.
        assert_eq!(round_trip(&(8..16).collect::<Vec<_>>(), 16), KIND_BITSET);
        round_trip(&[7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24], 25);
    }

    #[test]
    fn varints() {
        for v in [0u64, 1, 127, 128, 16_383, 16_384, u32::MAX as u64, u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v));
            let mut p = 0;
            assert_eq!(get_varint(&b, &mut p), Some(v));
            assert_eq!(p, b.len());
            assert_eq!(get_varint(&b[..b.len() - 1], &mut 0), None);
        }
        assert_eq!(get_varint(&[0xff; 11], &mut 0), None);
    }

    #[test]
    fn refuses_out_of_range_ids() {
        let mut out = Vec::new();
        encode(&[3, 9, 500], &mut out);
        assert!(decode(&out, 500).is_err());
        assert!(decode(&out, 501).is_ok());
        let mut out = Vec::new();
        let dense: Vec<u32> = (0..64).collect();
        encode(&dense, &mut out);
        assert_eq!(out[0], KIND_BITSET);
        assert!(decode(&out, 63).is_err());
        assert!(decode(&out, 64).is_ok());
        assert!(decode(&[], 10).is_err());
        assert!(decode(&[9], 10).is_err());
    }
}
