//! Applying one file's hunks to its old content.

use crate::{FilePatch, Hunk, HunkLine, PatchError};

/// At most this many sought lines are shown in [`PatchError::HunkFailed`].
const SHOWN_LINES: usize = 40;

/// Applies one file's hunks to its old content (`None` for a file that does
/// not exist); returns the new content (`None` if the patch deletes it).
///
/// Like `git apply` without fuzz:
/// * the context and removed lines of each hunk must match exactly (bytes,
///   CR and missing final newline included);
/// * a hunk is sought at its stated line, shifted by the offset at which the
///   previous hunk matched, then at increasing distances before and after
///   (before first), never overlapping the previous hunk's match;
/// * a hunk that has context but no leading context and starts at line 1 (or
///   0) must match at the start of the file; a hunk whose new side ends
///   without a newline must match at the end;
/// * a hunk that matches nowhere is [`PatchError::HunkFailed`].
///
/// A new file (`old_path` is `None`) requires `old == None`
/// ([`PatchError::FileExists`]); any other patch requires `old` to be present
/// ([`PatchError::MissingFile`]), unless all its hunks add to an empty file
/// (`@@ -0,0 +1,N @@`), which then creates it. A deletion must remove all the content
/// ([`PatchError::DeletionIncomplete`]). A binary patch is
/// [`PatchError::Binary`], except a binary deletion, which needs no content.
/// Renames, copies and mode changes without hunks return the old content.
pub fn apply_file(fp: &FilePatch, old: Option<&[u8]>) -> Result<Option<Vec<u8>>, PatchError> {
    let path = || fp.display_path();
    // A patch that only adds lines to an empty file (`@@ -0,0 +1,N @@`)
    // creates a missing file even when its old side is not /dev/null, as
    // GNU patch does (agents write `--- a/new.rs`).
    let creates = !fp.hunks.is_empty()
        && !fp.binary
        && fp.hunks.iter().all(|h| h.old_start == 0 && h.old_len == 0 && h.lines.iter().all(|l| !l.is_old()));
    let old = match (fp.is_new(), old) {
        (true, Some(_)) => return Err(PatchError::FileExists { path: path() }),
        (false, None) if creates => &[][..],
        (false, None) => return Err(PatchError::MissingFile { path: path() }),
        (true, None) => &[][..],
        (false, Some(old)) => old,
    };
    if fp.binary {
        if fp.is_deletion() && !fp.is_new() {
            return Ok(None);
        }
        return Err(PatchError::Binary { path: path() });
    }

    let lines: Vec<&[u8]> = old.split_inclusive(|&b| b == b'\n').collect();
    let mut out: Vec<u8> = Vec::with_capacity(old.len());
    // Lines before `cursor` have been copied or replaced.
    let mut cursor = 0usize;
    let mut offset: i64 = 0;

    for (k, hunk) in fp.hunks.iter().enumerate() {
        let pre: Vec<&[u8]> = hunk.lines.iter().filter(|l| l.is_old()).map(HunkLine::bytes).collect();
        let post = hunk.lines.iter().filter(|l| l.is_new()).map(HunkLine::bytes);

        let leading = hunk.lines.iter().take_while(|l| matches!(l, HunkLine::Context(_))).count();
        let has_context = hunk.lines.iter().any(|l| matches!(l, HunkLine::Context(_)));
        let must_begin = has_context && leading == 0 && hunk.old_start <= 1;
        let must_end = hunk.lines.iter().rev().find(|l| l.is_new()).is_some_and(HunkLine::missing_newline);

        // The stated position in the old content, in lines.
        let stated =
            if pre.is_empty() { i64::from(hunk.old_start) } else { i64::from(hunk.old_start).saturating_sub(1) };
        let expected = stated.saturating_add(offset);
        let accept = |p: usize| (!must_begin || p == 0) && (!must_end || p + pre.len() == lines.len());
        let Some(at) = find(&lines, &pre, cursor, expected, accept) else {
            return Err(failure(fp, k, hunk, &lines, &pre, must_begin, must_end));
        };
        for l in &lines[cursor..at] {
            out.extend_from_slice(l);
        }
        for l in post {
            out.extend_from_slice(l);
        }
        cursor = at + pre.len();
        offset = at as i64 - stated;
    }
    for l in &lines[cursor..] {
        out.extend_from_slice(l);
    }

    if fp.is_deletion() {
        if !out.is_empty() {
            return Err(PatchError::DeletionIncomplete { path: path(), remaining: out.len() });
        }
        return Ok(None);
    }
    Ok(Some(out))
}

/// The position nearest to `expected` (trying before, then after, at each
/// distance) in `lo..=lines.len() - pre.len()` where `pre` matches and
/// `accept` agrees.
fn find(lines: &[&[u8]], pre: &[&[u8]], lo: usize, expected: i64, accept: impl Fn(usize) -> bool) -> Option<usize> {
    let hi = lines.len().checked_sub(pre.len())?;
    if hi < lo {
        return None;
    }
    let matches = |p: usize| accept(p) && lines[p..p + pre.len()] == *pre;
    let start = expected.clamp(lo as i64, hi as i64) as usize;
    if matches(start) {
        return Some(start);
    }
    let max = (start - lo).max(hi - start);
    for d in 1..=max {
        if d <= start - lo && matches(start - d) {
            return Some(start - d);
        }
        if d <= hi - start && matches(start + d) {
            return Some(start + d);
        }
    }
    None
}

fn failure(
    fp: &FilePatch,
    k: usize,
    hunk: &Hunk,
    lines: &[&[u8]],
    pre: &[&[u8]],
    must_begin: bool,
    must_end: bool,
) -> PatchError {
    let mut expected = String::new();
    let old_side: Vec<&HunkLine> = hunk.lines.iter().filter(|l| l.is_old()).collect();
    for l in old_side.iter().take(SHOWN_LINES) {
        expected.push(if matches!(l, HunkLine::Remove(_)) { '-' } else { ' ' });
        expected.push_str(&String::from_utf8_lossy(l.text()));
        expected.push('\n');
        if l.missing_newline() {
            expected.push_str("\\ No newline at end of file\n");
        }
    }
    if old_side.len() > SHOWN_LINES {
        expected.push_str(&format!("… and {} more line(s)\n", old_side.len() - SHOWN_LINES));
    }
    // Say why lines that do exist were refused.
    let anywhere = !pre.is_empty()
        && lines.len() >= pre.len()
        && (0..=lines.len() - pre.len()).any(|p| lines[p..p + pre.len()] == *pre);
    if anywhere {
        if must_begin {
            expected.push_str(
                "(these lines exist, but the hunk has no leading context and starts at line 1, \
                 so it must match at the start of the file)\n",
            );
        } else if must_end {
            expected.push_str(
                "(these lines exist, but the hunk ends the file without a final newline, \
                 so it must match at the end of the file)\n",
            );
        } else {
            expected.push_str(
                "(these lines exist, but only before the end of the previous hunk: hunks must apply in order)\n",
            );
        }
    }
    if expected.ends_with('\n') {
        expected.pop();
    }
    PatchError::HunkFailed { path: fp.display_path(), hunk: k + 1, header: hunk.header.clone(), expected }
}
