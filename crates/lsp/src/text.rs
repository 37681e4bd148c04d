//! The LSP's ways of naming places: `file://` URIs and positions counted in
//! UTF-16 code units, and the incremental edits expressed in them.

use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub struct Range {
    pub start: Position,
    pub end: Position,
}

/// Length of `s` in UTF-16 code units.
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// The UTF-16 column of byte offset `byte` of `line` (rounded down to a
/// character boundary, clamped to the line).
pub fn utf16_column(line: &str, byte: usize) -> usize {
    let mut b = byte.min(line.len());
    while !line.is_char_boundary(b) {
        b -= 1;
    }
    utf16_len(&line[..b])
}

/// The byte offset in `text` of an LSP position. A character past the end
/// of its line means the end of the line and a line past the end of the
/// text means the end of the text, as the specification asks; a position
/// inside a surrogate pair rounds down to the character.
pub fn byte_offset(text: &str, pos: Position) -> usize {
    let bytes = text.as_bytes();
    let mut start = 0;
    for _ in 0..pos.line {
        // Lines end at "\n", "\r\n" or a lone "\r".
        match bytes[start..].iter().position(|&b| b == b'\n' || b == b'\r') {
            None => return text.len(),
            Some(i) => {
                start += i + 1;
                if bytes[start - 1] == b'\r' && bytes.get(start) == Some(&b'\n') {
                    start += 1;
                }
            }
        }
    }
    let line_end = bytes[start..].iter().position(|&b| b == b'\n' || b == b'\r').map_or(text.len(), |i| start + i);
    let mut units = 0;
    for (i, c) in text[start..line_end].char_indices() {
        if units + c.len_utf16() > pos.character as usize {
            return start + i;
        }
        units += c.len_utf16();
    }
    line_end
}

/// Applies one `textDocument/didChange` content change: a range replaced,
/// or (without a range) the whole text.
pub fn apply_change(text: &mut String, range: Option<Range>, new_text: &str) {
    match range {
        None => {
            text.clear();
            text.push_str(new_text);
        }
        Some(r) => {
            let start = byte_offset(text, r.start);
            let end = byte_offset(text, r.end).max(start);
            text.replace_range(start..end, new_text);
        }
    }
}

/// Percent-encodes a path for a `file://` URI: everything but RFC 3986's
/// unreserved characters and '/' (as VS Code's `Uri.file` does).
pub fn file_uri(path: &Path) -> String {
    let mut out = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The local path a `file://` URI names (`None` for other schemes, remote
/// hosts and malformed escapes).
pub fn uri_path(uri: &str) -> Option<PathBuf> {
    let (scheme, rest) = uri.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("file") {
        return None;
    }
    let rest = rest.strip_prefix("//")?;
    let slash = rest.find('/')?;
    let (host, path) = rest.split_at(slash);
    if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
        return None;
    }
    // A query or fragment is not part of the path.
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut bytes = Vec::with_capacity(path.len());
    let mut it = path.bytes();
    while let Some(b) = it.next() {
        if b == b'%' {
            let hex = [it.next()?, it.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

/// Normalizes a path lexically: drops `.` components and resolves `..`
/// against what precedes it (the way a URI's path is resolved).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Where the repository's work tree is, as the client spells it and as the
/// file system resolves it; maps absolute paths to repository paths.
#[derive(Clone, Debug)]
pub struct WorkTree {
    /// How URIs are written (the client's spelling when it named the folder).
    shown: PathBuf,
    canonical: PathBuf,
}

impl WorkTree {
    pub fn new(dir: &Path) -> WorkTree {
        let shown = normalize(dir);
        let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| shown.clone());
        WorkTree { shown, canonical }
    }

    /// Prefer the client's spelling of the work tree (say, through a
    /// symlink) for the URIs the server writes, if it is the same directory.
    pub fn spelled_by_client(&mut self, client_dir: &Path) {
        if std::fs::canonicalize(client_dir).is_ok_and(|c| c == self.canonical) {
            self.shown = normalize(client_dir);
        }
    }

    /// The URI of a repository path ('/'-separated).
    pub fn uri_of(&self, rel: &str) -> String {
        file_uri(&self.shown.join(rel))
    }

    /// The repository path of a document, or `None` when it is outside the
    /// work tree or inside `.git` (those are not part of the workspace).
    pub fn relative(&self, abs: &Path) -> Option<Vec<u8>> {
        let abs = normalize(abs);
        let rel = match abs.strip_prefix(&self.shown).or_else(|_| abs.strip_prefix(&self.canonical)) {
            Ok(r) => r.to_path_buf(),
            // A spelling through a symlink: resolve the deepest existing ancestor.
            Err(_) => {
                let mut existing = abs.as_path();
                let mut tail = Vec::new();
                while std::fs::symlink_metadata(existing).is_err() {
                    tail.push(existing.file_name()?);
                    existing = existing.parent()?;
                }
                let mut real = std::fs::canonicalize(existing).ok()?;
                real.extend(tail.iter().rev());
                real.strip_prefix(&self.canonical).ok()?.to_path_buf()
            }
        };
        let parts: Vec<&[u8]> = rel.iter().map(|c| c.as_bytes()).collect();
        if parts.is_empty() || parts[0] == b".git" {
            return None;
        }
        Some(parts.join(&b'/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn byte_offsets_count_utf16_units_and_all_line_endings() {
        let text = "a😀b\r\nxé\ry\nlast";
        assert_eq!(byte_offset(text, pos(0, 0)), 0);
        assert_eq!(byte_offset(text, pos(0, 1)), 1);
        assert_eq!(byte_offset(text, pos(0, 2)), 1, "inside the surrogate pair: the character's start");
        assert_eq!(byte_offset(text, pos(0, 3)), 5);
        assert_eq!(byte_offset(text, pos(0, 99)), 6, "past the end of the line: its end, before \\r\\n");
        assert_eq!(byte_offset(text, pos(1, 2)), 11);
        assert_eq!(byte_offset(text, pos(2, 0)), 12, "a lone \\r ends a line");
        assert_eq!(byte_offset(text, pos(3, 4)), text.len());
        assert_eq!(byte_offset(text, pos(9, 0)), text.len());
    }

    #[test]
    fn incremental_changes_replace_ranges() {
        let mut text = String::from("def greet():\n    return 'hello'\nunsaved_marker = 1\n");
        apply_change(&mut text, Some(Range { start: pos(2, 0), end: pos(2, 7) }), "changed");
        assert_eq!(text, "def greet():\n    return 'hello'\nchanged_marker = 1\n");
        apply_change(&mut text, Some(Range { start: pos(3, 0), end: pos(3, 0) }), "x = '😀'\n");
        apply_change(&mut text, Some(Range { start: pos(3, 5), end: pos(3, 7) }), "ok");
        assert!(text.ends_with("x = 'ok'\n"), "{text:?}");
        apply_change(&mut text, None, "all new");
        assert_eq!(text, "all new");
    }

    #[test]
    fn uris_round_trip_through_percent_encoding() {
        let p = Path::new("/tmp/a b/é#1%.rs");
        let uri = file_uri(p);
        assert_eq!(uri, "file:///tmp/a%20b/%C3%A9%231%25.rs");
        assert_eq!(uri_path(&uri).as_deref(), Some(p));
        assert_eq!(uri_path("file://localhost/x/y").as_deref(), Some(Path::new("/x/y")));
        assert_eq!(uri_path("file:///x/%E2%82%AC").as_deref(), Some(Path::new("/x/€")));
        assert_eq!(uri_path("untitled:Untitled-1"), None);
        assert_eq!(uri_path("file://server/share/x"), None);
        assert_eq!(uri_path("file:///bad%2"), None);
    }

    #[test]
    fn work_tree_maps_paths_inside_only() {
        let dir = std::env::temp_dir().join(format!("grove-lsp-text-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        let wt = WorkTree::new(&dir);
        assert_eq!(wt.relative(&dir.join("src/a.rs")), Some(b"src/a.rs".to_vec()));
        assert_eq!(wt.relative(&dir.join("src/../new.txt")), Some(b"new.txt".to_vec()));
        assert_eq!(wt.relative(&dir.join(".git/config")), None);
        assert_eq!(wt.relative(&dir), None);
        assert_eq!(wt.relative(Path::new("/elsewhere/a.rs")), None);
        assert_eq!(wt.uri_of("src/a b.rs"), file_uri(&dir.join("src/a b.rs")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
