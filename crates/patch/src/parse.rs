//! The patch parser: a line-oriented state machine over the raw bytes.

use crate::{FileMode, FilePatch, Hunk, HunkLine, Patch, PatchError};

/// Parses a unified diff (see the crate documentation for the accepted
/// formats). Text before the first file header and between files is
/// ignored; a patch without any file header is [`PatchError::Empty`].
pub fn parse(input: &[u8]) -> Result<Patch, PatchError> {
    let mut parser = Parser { lines: split_lines(input), i: 0, files: Vec::new() };
    parser.run()?;
    if parser.files.is_empty() {
        return Err(PatchError::Empty);
    }
    Ok(Patch { files: parser.files })
}

/// The input's lines without their `'\n'`. A final line without `'\n'` is
/// read as if it had one.
fn split_lines(input: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    if input.is_empty() || input.ends_with(b"\n") {
        lines.pop();
    }
    lines
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, PatchError> {
    Err(PatchError::Parse { line, message: message.into() })
}

struct Parser<'a> {
    lines: Vec<&'a [u8]>,
    /// Index of the current line (0-based; messages say `i + 1`).
    i: usize,
    files: Vec<FilePatch>,
}

/// A path from a `---`/`+++` header: `None` for `/dev/null`, with the text
/// after the name (a `diff -u` timestamp).
struct HeaderPath {
    path: Option<Vec<u8>>,
    stamp: Vec<u8>,
}

/// Whether a side of the file ended with `\ No newline at end of file`, so
/// no further line of that side may follow.
#[derive(Default)]
struct Ended {
    old: bool,
    new: bool,
}

impl<'a> Parser<'a> {
    fn line(&self, i: usize) -> Option<&'a [u8]> {
        self.lines.get(i).copied()
    }

    fn run(&mut self) -> Result<(), PatchError> {
        while let Some(raw) = self.line(self.i) {
            let line = trim_cr(raw);
            if line.starts_with(b"diff --git ") {
                self.git_file()?;
            } else if line.starts_with(b"diff --cc ") || line.starts_with(b"diff --combined ") {
                return err(
                    self.i + 1,
                    "combined (merge) diffs are not supported; export the change with `git diff` or `git format-patch` instead",
                );
            } else if line.starts_with(b"--- ")
                && self.line(self.i + 1).is_some_and(|l| l.starts_with(b"+++ "))
                && self.line(self.i + 2).is_some_and(|l| l.starts_with(b"@@ -"))
            {
                self.plain_file()?;
            } else if line.starts_with(b"@@ -") {
                return err(
                    self.i + 1,
                    "hunk without a file header (the `---`/`+++` lines naming the file are missing)",
                );
            } else if let Some(fp) = plain_binary(line) {
                self.files.push(fp);
                self.i += 1;
            } else {
                self.i += 1;
            }
        }
        Ok(())
    }

    /// A `diff --git` section, from its first line to the end of its hunks.
    fn git_file(&mut self) -> Result<(), PatchError> {
        let header_line = self.i + 1;
        let rest = &trim_cr(self.lines[self.i])[b"diff --git ".len()..];
        let names = git_header_names(rest);
        self.i += 1;

        let mut fp = FilePatch::default();
        let (mut is_new, mut is_delete) = (false, false);
        let (mut from, mut to): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
        let mut minus: Option<HeaderPath> = None;
        let mut plus: Option<HeaderPath> = None;

        while let Some(raw) = self.line(self.i) {
            let line = trim_cr(raw);
            let n = self.i + 1;
            if let Some(m) = line.strip_prefix(b"old mode ") {
                fp.old_mode = Some(mode(n, m)?);
            } else if let Some(m) = line.strip_prefix(b"new mode ") {
                fp.new_mode = Some(mode(n, m)?);
            } else if let Some(m) = line.strip_prefix(b"deleted file mode ") {
                fp.old_mode = Some(mode(n, m)?);
                is_delete = true;
            } else if let Some(m) = line.strip_prefix(b"new file mode ") {
                fp.new_mode = Some(mode(n, m)?);
                is_new = true;
            } else if let Some(p) = line.strip_prefix(b"rename from ").or_else(|| line.strip_prefix(b"rename old ")) {
                from = Some(plain_path(n, p)?);
                fp.is_rename = true;
            } else if let Some(p) = line.strip_prefix(b"rename to ").or_else(|| line.strip_prefix(b"rename new ")) {
                to = Some(plain_path(n, p)?);
                fp.is_rename = true;
            } else if let Some(p) = line.strip_prefix(b"copy from ") {
                from = Some(plain_path(n, p)?);
                fp.is_copy = true;
            } else if let Some(p) = line.strip_prefix(b"copy to ") {
                to = Some(plain_path(n, p)?);
                fp.is_copy = true;
            } else if line.starts_with(b"similarity index ")
                || line.starts_with(b"dissimilarity index ")
                || line.starts_with(b"index ")
            {
            } else if line.starts_with(b"Binary files ") && line.ends_with(b" differ") {
                fp.binary = true;
                self.i += 1;
                break;
            } else if line == b"GIT binary patch" {
                fp.binary = true;
                self.i += 1;
                self.skip_binary_data();
                break;
            } else if line.starts_with(b"--- ") {
                minus = Some(header_path(n, &line[4..], true)?);
                let Some(next) = self.line(self.i + 1).map(trim_cr) else {
                    return err(n, "`---` line is not followed by a `+++` line");
                };
                let Some(p) = next.strip_prefix(b"+++ ") else {
                    return err(n + 1, "`---` line is not followed by a `+++` line");
                };
                plus = Some(header_path(n + 1, p, true)?);
                self.i += 2;
                break;
            } else {
                break;
            }
            self.i += 1;
        }

        let hunks = self.hunks()?;
        fp.hunks = hunks;

        let lacks = |side: &str| {
            err(
                header_line,
                format!("git diff header lacks the {side} file name (no `---`/`+++` or rename lines, and the `diff --git` names differ)"),
            )
        };
        fp.old_path = if is_new || minus.as_ref().is_some_and(|m| m.path.is_none()) {
            None
        } else if let Some(p) = from {
            Some(p)
        } else if let Some(HeaderPath { path: Some(p), .. }) = minus {
            Some(p)
        } else if let Some((a, _)) = &names {
            Some(a.clone())
        } else {
            return lacks("old");
        };
        fp.new_path = if is_delete || plus.as_ref().is_some_and(|p| p.path.is_none()) {
            None
        } else if let Some(p) = to {
            Some(p)
        } else if let Some(HeaderPath { path: Some(p), .. }) = plus {
            Some(p)
        } else if let Some((_, b)) = &names {
            Some(b.clone())
        } else {
            return lacks("new");
        };
        if fp.old_path.is_none() && fp.new_path.is_none() {
            return err(header_line, "the file is both created and deleted");
        }
        self.files.push(fp);
        Ok(())
    }

    /// Skips the `literal N`/`delta N` blocks of base85 lines after
    /// `GIT binary patch`.
    fn skip_binary_data(&mut self) {
        while let Some(raw) = self.line(self.i) {
            let line = trim_cr(raw);
            let data = line.is_empty()
                || line.starts_with(b"literal ")
                || line.starts_with(b"delta ")
                || (line.len() >= 2 && line[0].is_ascii_alphabetic() && line.iter().all(|&b| is_base85(b)));
            if !data {
                break;
            }
            self.i += 1;
        }
    }

    /// A `---`/`+++` pair outside a `diff --git` section (`diff -u`, agents).
    fn plain_file(&mut self) -> Result<(), PatchError> {
        let n = self.i + 1;
        let minus = header_path(n, &trim_cr(self.lines[self.i])[4..], false)?;
        let plus = header_path(n + 1, &trim_cr(self.lines[self.i + 1])[4..], false)?;
        self.i += 2;
        let hunks = self.hunks()?;

        let mut old_path = minus.path;
        let mut new_path = plus.path;
        // `diff -N` writes a missing side as an empty file with an epoch
        // timestamp; GNU patch reads that as /dev/null.
        if old_path.is_some() && is_epoch(&minus.stamp) && hunks.iter().all(|h| h.old_start == 0 && h.old_len == 0) {
            old_path = None;
        }
        if new_path.is_some() && is_epoch(&plus.stamp) && hunks.iter().all(|h| h.new_start == 0 && h.new_len == 0) {
            new_path = None;
        }
        // The `a/`, `b/` prefixes of agent-written patches.
        let a_ok = old_path.as_ref().is_none_or(|p| p.starts_with(b"a/"));
        let b_ok = new_path.as_ref().is_none_or(|p| p.starts_with(b"b/"));
        if a_ok && b_ok {
            for p in [&mut old_path, &mut new_path].into_iter().flatten() {
                p.drain(..2);
            }
        }
        if old_path.is_none() && new_path.is_none() {
            return err(n, "both sides of the file are /dev/null");
        }
        self.files.push(FilePatch { old_path, new_path, hunks, ..FilePatch::default() });
        Ok(())
    }

    /// The hunks following a file header.
    fn hunks(&mut self) -> Result<Vec<Hunk>, PatchError> {
        let mut hunks = Vec::new();
        let mut ended = Ended::default();
        while let Some(raw) = self.line(self.i) {
            if !raw.starts_with(b"@@ -") {
                break;
            }
            hunks.push(self.hunk(&mut ended)?);
        }
        Ok(hunks)
    }

    fn hunk(&mut self, ended: &mut Ended) -> Result<Hunk, PatchError> {
        let header_no = self.i + 1;
        let header_line = trim_cr(self.lines[self.i]);
        let Some((old_start, old_len, new_start, new_len)) = hunk_header(header_line) else {
            return err(
                header_no,
                format!("malformed hunk header `{}` (expected `@@ -start,count +start,count @@`)", lossy(header_line)),
            );
        };
        let header = lossy(header_line);
        self.i += 1;

        let mut lines: Vec<HunkLine> = Vec::new();
        let (mut old_left, mut new_left) = (old_len, new_len);
        let short = |n: usize, what: &str, old_left: u32, new_left: u32| {
            err(
                n,
                format!(
                    "{what} inside hunk `{header}` (line {header_no}): its header promises \
                     {old_len} old and {new_len} new line(s), {old_left} old and {new_left} new are missing \
                     (the hunk's line counts are wrong, or the hunk was cut)"
                ),
            )
        };
        while old_left > 0 || new_left > 0 {
            let n = self.i + 1;
            let Some(raw) = self.line(self.i) else {
                return short(n.saturating_sub(1).max(header_no), "the patch ends", old_left, new_left);
            };
            let (kind, body) = match raw.first() {
                // An empty line is a context line whose leading space was
                // stripped (as GNU patch reads it); likewise a lone CR.
                None | Some(b'\r') if raw.len() <= 1 => (b' ', raw),
                Some(&k @ (b' ' | b'-' | b'+')) => (k, &raw[1..]),
                Some(b'\\') => {
                    self.no_newline(&mut lines, ended, header_no)?;
                    self.i += 1;
                    continue;
                }
                _ => return short(n, &format!("unexpected line `{}`", lossy(trim_cr(raw))), old_left, new_left),
            };
            let (old_side, new_side) = match kind {
                b' ' => (true, true),
                b'-' => (true, false),
                _ => (false, true),
            };
            if (old_side && old_left == 0) || (new_side && new_left == 0) {
                let what = match kind {
                    b' ' => "context line",
                    b'-' => "removed line",
                    _ => "added line",
                };
                return err(
                    n,
                    format!(
                        "hunk `{header}` (line {header_no}) has more lines than its header promises \
                         ({old_len} old, {new_len} new): an extra {what}"
                    ),
                );
            }
            if (old_side && ended.old) || (new_side && ended.new) {
                return err(n, "a line follows `\\ No newline at end of file` on the same side of the file");
            }
            let mut bytes = Vec::with_capacity(body.len() + 1);
            bytes.extend_from_slice(body);
            bytes.push(b'\n');
            if old_side {
                old_left -= 1;
            }
            if new_side {
                new_left -= 1;
            }
            lines.push(match kind {
                b' ' => HunkLine::Context(bytes),
                b'-' => HunkLine::Remove(bytes),
                _ => HunkLine::Add(bytes),
            });
            self.i += 1;
        }
        // The marker for the hunk's last line comes after the counts are met.
        if self.line(self.i).is_some_and(|l| l.starts_with(b"\\")) {
            self.no_newline(&mut lines, ended, header_no)?;
            self.i += 1;
        }
        // A hunk line right after a complete hunk means the header's counts
        // are too small; taking the rest as junk would drop changes silently.
        if let Some(next) = self.line(self.i) {
            let t = trim_cr(next);
            let extra = (t.starts_with(b"+") && !t.starts_with(b"+++ "))
                || t.starts_with(b" ")
                || (t.starts_with(b"-") && !t.starts_with(b"--- ") && t != b"-- " && t != b"--");
            if extra {
                return err(
                    self.i + 1,
                    format!(
                        "hunk `{header}` (line {header_no}) has more lines than its header promises \
                         ({old_len} old, {new_len} new)"
                    ),
                );
            }
        }
        Ok(Hunk { old_start, old_len, new_start, new_len, header, lines })
    }

    /// Applies `\ No newline at end of file` to the previous line.
    fn no_newline(&self, lines: &mut [HunkLine], ended: &mut Ended, header_no: usize) -> Result<(), PatchError> {
        let Some(last) = lines.last_mut() else {
            return err(
                self.i + 1,
                format!("`\\ No newline at end of file` without a preceding line in the hunk at line {header_no}"),
            );
        };
        if last.is_old() {
            ended.old = true;
        }
        if last.is_new() {
            ended.new = true;
        }
        let (HunkLine::Context(b) | HunkLine::Remove(b) | HunkLine::Add(b)) = last;
        if b.ends_with(b"\n") {
            b.pop();
        }
        Ok(())
    }
}

fn mode(line: usize, text: &[u8]) -> Result<FileMode, PatchError> {
    FileMode::from_octal(text.trim_ascii())
        .map_or_else(|| err(line, format!("invalid file mode `{}`", lossy(text))), Ok)
}

fn is_base85(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&()*+-;<=>?@^_`{|}~".contains(&b)
}

/// `@@ -a[,b] +c[,d] @@…` → (a, b, c, d); an omitted count is 1.
fn hunk_header(line: &[u8]) -> Option<(u32, u32, u32, u32)> {
    let rest = line.strip_prefix(b"@@ -")?;
    let (old_start, old_len, rest) = range(rest)?;
    let rest = rest.strip_prefix(b" +")?;
    let (new_start, new_len, rest) = range(rest)?;
    if !rest.starts_with(b" @@") {
        return None;
    }
    Some((old_start, old_len, new_start, new_len))
}

fn range(s: &[u8]) -> Option<(u32, u32, &[u8])> {
    let (start, rest) = number(s)?;
    if let Some(rest) = rest.strip_prefix(b",") {
        let (len, rest) = number(rest)?;
        Some((start, len, rest))
    } else {
        Some((start, 1, rest))
    }
}

fn number(s: &[u8]) -> Option<(u32, &[u8])> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut v: u32 = 0;
    for &b in &s[..digits] {
        v = v.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some((v, &s[digits..]))
}

/// Reads a C-quoted name starting at `s[0] == b'"'`; returns the name and
/// the number of bytes consumed (both quotes included).
fn unquote(s: &[u8]) -> Option<(Vec<u8>, usize)> {
    if s.first() != Some(&b'"') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'"' => return Some((out, i + 1)),
            b'\\' => {
                let c = *s.get(i + 1)?;
                i += 2;
                out.push(match c {
                    b'a' => 0x07,
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'v' => 0x0b,
                    b'\\' => b'\\',
                    b'"' => b'"',
                    b'0'..=b'3' => {
                        let d1 = *s.get(i)?;
                        let d2 = *s.get(i + 1)?;
                        if !(b'0'..=b'7').contains(&d1) || !(b'0'..=b'7').contains(&d2) {
                            return None;
                        }
                        i += 2;
                        (c - b'0') * 64 + (d1 - b'0') * 8 + (d2 - b'0')
                    }
                    _ => return None,
                });
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

/// Strips the first path component (`a/`, `b/`), as `git apply -p1` does.
fn strip_component(p: &[u8]) -> Vec<u8> {
    match p.iter().position(|&b| b == b'/') {
        Some(i) => p[i + 1..].to_vec(),
        None => p.to_vec(),
    }
}

/// The two names of `diff --git A B`, prefixes stripped, when they can be
/// told apart: both quoted, one quoted, or unquoted and equal (git's rule;
/// a rename with spaces in unquoted names is named by its `rename` lines).
fn git_header_names(rest: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    if rest.first() == Some(&b'"') {
        let (a, used) = unquote(rest)?;
        let second = rest[used..].strip_prefix(b" ")?;
        let b = if second.first() == Some(&b'"') {
            let (b, used) = unquote(second)?;
            if used != second.len() {
                return None;
            }
            b
        } else {
            second.to_vec()
        };
        return Some((strip_component(&a), strip_component(&b)));
    }
    // Unquoted first name, quoted second.
    for (i, w) in rest.windows(2).enumerate() {
        if w == b" \"" {
            if let Some((b, used)) = unquote(&rest[i + 1..]) {
                if i + 1 + used == rest.len() {
                    return Some((strip_component(&rest[..i]), strip_component(&b)));
                }
            }
        }
    }
    // Both unquoted: the split where the names (without prefix) are equal.
    for (i, &c) in rest.iter().enumerate() {
        if c == b' ' {
            let (a, b) = (&rest[..i], &rest[i + 1..]);
            if a.contains(&b'/') && b.contains(&b'/') {
                let (a, b) = (strip_component(a), strip_component(b));
                if !a.is_empty() && a == b {
                    return Some((a, b));
                }
            }
        }
    }
    None
}

/// A `rename from`/`copy to` path: the whole rest of the line, unquoted if
/// quoted, without a prefix.
fn plain_path(line: usize, text: &[u8]) -> Result<Vec<u8>, PatchError> {
    if text.first() == Some(&b'"') {
        match unquote(text) {
            Some((p, used)) if used == text.len() => Ok(p),
            _ => err(line, format!("malformed quoted path `{}`", lossy(text))),
        }
    } else if text.is_empty() {
        err(line, "empty path")
    } else {
        Ok(text.to_vec())
    }
}

/// The path of a `---`/`+++` line (`text` is what follows the marker).
/// `git` strips the first component; otherwise the path is kept.
fn header_path(line: usize, text: &[u8], git: bool) -> Result<HeaderPath, PatchError> {
    let (name, stamp) = if text.first() == Some(&b'"') {
        match unquote(text) {
            Some((p, used)) => (p, text[used..].trim_ascii().to_vec()),
            None => return err(line, format!("malformed quoted path `{}`", lossy(text))),
        }
    } else if let Some(tab) = text.iter().position(|&b| b == b'\t') {
        (text[..tab].to_vec(), text[tab + 1..].trim_ascii().to_vec())
    } else {
        (text.trim_ascii_end().to_vec(), Vec::new())
    };
    if name.is_empty() {
        return err(line, "missing file name");
    }
    if name == b"/dev/null" {
        return Ok(HeaderPath { path: None, stamp });
    }
    let path = if git { strip_component(&name) } else { name };
    if path.is_empty() {
        return err(line, "missing file name");
    }
    Ok(HeaderPath { path: Some(path), stamp })
}

/// `Binary files A and B differ` outside a git section (`diff -r`).
fn plain_binary(line: &[u8]) -> Option<FilePatch> {
    let mid = line.strip_prefix(b"Binary files ")?.strip_suffix(b" differ")?;
    let at = mid.windows(5).position(|w| w == b" and ")?;
    let side = |p: &[u8]| (p != b"/dev/null" && !p.is_empty()).then(|| p.to_vec());
    let mut old_path = side(&mid[..at]);
    let mut new_path = side(&mid[at + 5..]);
    if old_path.is_none() && new_path.is_none() {
        return None;
    }
    let a_ok = old_path.as_ref().is_none_or(|p| p.starts_with(b"a/"));
    let b_ok = new_path.as_ref().is_none_or(|p| p.starts_with(b"b/"));
    if a_ok && b_ok {
        for p in [&mut old_path, &mut new_path].into_iter().flatten() {
            p.drain(..2);
        }
    }
    Some(FilePatch { old_path, new_path, binary: true, ..FilePatch::default() })
}

/// Whether a `diff -u` timestamp is the Unix epoch (in any time zone):
/// `1970-01-01 00:00:00[.000000000] +0000`, `1969-12-31 19:00:00 -0500`.
fn is_epoch(stamp: &[u8]) -> bool {
    let s = stamp;
    let day: i64 = if s.starts_with(b"1970-01-01 ") {
        0
    } else if s.starts_with(b"1969-12-31 ") {
        -1
    } else {
        return false;
    };
    let s = &s[11..];
    let two = |b: &[u8]| -> Option<i64> {
        (b.len() == 2 && b.iter().all(u8::is_ascii_digit)).then(|| i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'))
    };
    if s.len() < 8 || s[2] != b':' || s[5] != b':' {
        return false;
    }
    let (Some(h), Some(m), Some(sec)) = (two(&s[0..2]), two(&s[3..5]), two(&s[6..8])) else {
        return false;
    };
    let mut rest = &s[8..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let digits = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if frac[..digits].iter().any(|&b| b != b'0') {
            return false;
        }
        rest = &frac[digits..];
    }
    let rest = rest.trim_ascii();
    let tz: i64 = if rest.is_empty() {
        0
    } else {
        if rest.len() != 5 || !(rest[0] == b'+' || rest[0] == b'-') {
            return false;
        }
        let (Some(th), Some(tm)) = (two(&rest[1..3]), two(&rest[3..5])) else {
            return false;
        };
        let v = th * 3600 + tm * 60;
        if rest[0] == b'-' {
            -v
        } else {
            v
        }
    };
    day * 86400 + h * 3600 + m * 60 + sec - tz == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_c_escapes() {
        let (p, used) = unquote(br#""a/caf\303\251 \"q\"\t\\.txt" rest"#).unwrap();
        assert_eq!(p, "a/café \"q\"\t\\.txt".as_bytes());
        assert_eq!(used, br#""a/caf\303\251 \"q\"\t\\.txt""#.len());
        assert!(unquote(br#""a\9""#).is_none());
        assert!(unquote(br#""unterminated"#).is_none());
        assert!(unquote(br#""a\4"#).is_none());
    }

    #[test]
    fn git_header_name_splits() {
        assert_eq!(
            git_header_names(b"a/sp ace.txt b/sp ace.txt"),
            Some((b"sp ace.txt".to_vec(), b"sp ace.txt".to_vec()))
        );
        assert_eq!(git_header_names(br#""a/caf\303\251" "b/caf\303\251""#), Some(("café".into(), "café".into())));
        assert_eq!(git_header_names(br#"a/x "b/caf\303\251""#), Some((b"x".to_vec(), "café".into())));
        assert_eq!(git_header_names(b"a/x y b/z w"), None);
    }

    #[test]
    fn hunk_headers() {
        assert_eq!(hunk_header(b"@@ -1 +1 @@"), Some((1, 1, 1, 1)));
        assert_eq!(hunk_header(b"@@ -0,0 +1,3 @@ fn x()"), Some((0, 0, 1, 3)));
        assert_eq!(hunk_header(b"@@ -1,2 +3 @@"), Some((1, 2, 3, 1)));
        assert_eq!(hunk_header(b"@@ -1,2 +3"), None);
        assert_eq!(hunk_header(b"@@ -99999999999 +1 @@"), None);
        assert_eq!(hunk_header(b"@@ -a +1 @@"), None);
    }

    #[test]
    fn epoch_stamps() {
        assert!(is_epoch(b"1970-01-01 00:00:00.000000000 +0000"));
        assert!(is_epoch(b"1969-12-31 19:00:00.000000000 -0500"));
        assert!(is_epoch(b"1970-01-01 01:00:00 +0100"));
        assert!(!is_epoch(b"1970-01-01 00:00:01 +0000"));
        assert!(!is_epoch(b"2024-05-01 10:00:00.123 +0200"));
        assert!(!is_epoch(b""));
    }
}
