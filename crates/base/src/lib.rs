//! Shared vocabulary of grove: content ids, git object ids, byte paths.
//!
//! Architecture invariant: this crate does no I/O and knows nothing of git,
//! the on-disk format or search. Everything else depends on it; it depends on
//! nothing of ours.

use std::fmt;

pub mod varint;

/// Identity of a file's bytes: blake3(content). A blob is indexed once per
/// index however many revisions or paths hold it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ContentId(pub [u8; 32]);

impl ContentId {
    pub fn of(bytes: &[u8]) -> ContentId {
        ContentId(*blake3::hash(bytes).as_bytes())
    }
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
    pub fn from_hex(s: &str) -> Option<ContentId> {
        let mut out = [0u8; 32];
        unhex(s, &mut out)?;
        Some(ContentId(out))
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentId({})", &self.to_hex()[..16])
    }
}
impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A git object id (SHA-1, 20 bytes). All-zero means "none".
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct GitOid(pub [u8; 20]);

impl GitOid {
    pub const NULL: GitOid = GitOid([0; 20]);
    pub fn is_null(&self) -> bool {
        self.0 == [0; 20]
    }
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
    pub fn from_hex(s: &str) -> Option<GitOid> {
        let mut out = [0u8; 20];
        unhex(s, &mut out)?;
        Some(GitOid(out))
    }
}

impl fmt::Debug for GitOid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GitOid({})", self.to_hex())
    }
}
impl fmt::Display for GitOid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Parses exactly `2 * out.len()` hex digits into `out`.
pub fn unhex(s: &str, out: &mut [u8]) -> Option<()> {
    let s = s.as_bytes();
    if s.len() != out.len() * 2 {
        return None;
    }
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = digit(s[2 * i])? << 4 | digit(s[2 * i + 1])?;
    }
    Some(())
}

/// Paths inside a repository are bytes (git does not promise UTF-8).
/// Display them lossily, search and store them exactly.
pub type RepoPath = Vec<u8>;

/// Lossy display of a byte path or line.
pub fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// The offset in `lossy(bytes)` of byte offset `i` of `bytes` (they differ
/// once an invalid sequence has become U+FFFD).
pub fn lossy_offset(bytes: &[u8], i: usize) -> usize {
    let i = i.min(bytes.len());
    if std::str::from_utf8(bytes).is_ok() {
        return i;
    }
    lossy(&bytes[..i]).len()
}

/// The kind of a tracked entry, as git records it in a tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryMode {
    File,
    Executable,
    Symlink,
}

impl EntryMode {
    pub fn to_byte(self) -> u8 {
        match self {
            EntryMode::File => 0,
            EntryMode::Executable => 1,
            EntryMode::Symlink => 2,
        }
    }
    pub fn from_byte(b: u8) -> Option<EntryMode> {
        Some(match b {
            0 => EntryMode::File,
            1 => EntryMode::Executable,
            2 => EntryMode::Symlink,
            _ => return None,
        })
    }
}

/// Why a tracked file is not searchable. Reported, never silent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// Contains a NUL byte.
    Binary,
    /// Larger than the configured size limit.
    TooLarge,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Binary => "binary",
            SkipReason::TooLarge => "too large",
        }
    }
    pub fn to_byte(self) -> u8 {
        match self {
            SkipReason::Binary => 1,
            SkipReason::TooLarge => 2,
        }
    }
    pub fn from_byte(b: u8) -> Option<SkipReason> {
        Some(match b {
            1 => SkipReason::Binary,
            2 => SkipReason::TooLarge,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn hex_round_trip() {
        let id = ContentId::of(b"hello");
        assert_eq!(ContentId::from_hex(&id.to_hex()), Some(id));
        assert_eq!(ContentId::from_hex("zz"), None);
        let oid = GitOid([0xab; 20]);
        assert_eq!(GitOid::from_hex(&oid.to_hex()), Some(oid));
    }
}
