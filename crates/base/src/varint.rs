//! LEB128 unsigned varints, shared by every on-disk format of grove.

/// Bytes `put` will use for `v`.
#[inline]
pub fn len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

#[inline]
pub fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a value of at most 10 bytes at `*pos`, advancing it; `None` if the
/// buffer is truncated or the value overflows 64 bits.
#[inline]
pub fn get(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= ((b & 0x7f) as u64).checked_shl(shift)?;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_truncation() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut b = Vec::new();
            super::put(&mut b, v);
            assert_eq!(b.len(), super::len(v));
            let mut pos = 0;
            assert_eq!(super::get(&b, &mut pos), Some(v));
            assert_eq!(pos, b.len());
            let mut pos = 0;
            assert_eq!(super::get(&b[..b.len() - 1], &mut pos), None);
        }
    }
}
