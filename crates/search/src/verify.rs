//! Verification: ripgrep's searcher over each candidate blob, in parallel,
//! each blob once however many revisions and paths hold it.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use grep_matcher::Matcher;
use grep_regex::RegexMatcher;
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkContext, SinkContextKind, SinkMatch};
use grove_segment::Segment;
use grove_store::ObjectId;
use rayon::prelude::*;

use crate::{CompiledPattern, OutputMode, SearchError, SearchOptions};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    Match,
    Context,
    /// A gap between non-adjacent context groups (`--`).
    Break,
}

#[derive(Clone, Debug)]
pub struct LineHit {
    pub kind: LineKind,
    /// 1-based line number of the first line.
    pub line_number: u64,
    /// Byte offset of the line in the file.
    pub offset: u64,
    /// The line(s), without the final line terminator.
    pub bytes: Vec<u8>,
    /// Byte ranges of the matches within `bytes` (match lines only).
    pub submatches: Vec<(usize, usize)>,
}

/// Everything found in one blob.
#[derive(Clone, Debug, Default)]
pub struct DocMatches {
    /// Matching lines (what `-c` counts).
    pub count: u64,
    /// Empty in `Count` and `FilesWithMatches` modes.
    pub lines: Vec<LineHit>,
}

pub(crate) fn verify_all(
    pattern: &CompiledPattern,
    segments: &[(ObjectId, Arc<Segment>)],
    cands: &[(usize, u32)],
    opts: &SearchOptions,
) -> Result<HashMap<(ObjectId, u32), Arc<DocMatches>>, SearchError> {
    let verify = |(searcher, buf): &mut (Searcher, Vec<u8>), &(seg, doc): &(usize, u32)| {
        let (seg_id, segment) = &segments[seg];
        segment.content_into(doc, buf).map_err(|source| SearchError::Segment { segment: seg_id.to_hex(), source })?;
        let m = search_one(searcher, &pattern.matcher, buf, opts);
        Ok((m.count > 0).then_some(((*seg_id, doc), m)))
    };
    // A few candidates are verified on this thread: waking the pool costs
    // more than the work (and its idle spinning competes for the cores).
    type Verified = Result<Option<((ObjectId, u32), DocMatches)>, SearchError>;
    let results: Vec<Verified> = if cands.len() <= 4 {
        let mut state = (searcher(pattern, opts), Vec::new());
        cands.iter().map(|c| verify(&mut state, c)).collect()
    } else {
        cands.par_iter().map_init(|| (searcher(pattern, opts), Vec::new()), verify).collect()
    };
    let mut found = HashMap::new();
    for r in results {
        if let Some((k, m)) = r? {
            found.insert(k, Arc::new(m));
        }
    }
    Ok(found)
}

/// Runs the verifier over one in-memory file (an editor's unsaved buffer,
/// say): exactly what a search reports for a document with these bytes and
/// the same pattern and options, without any index. Path globs and size
/// limits are the caller's to apply, as they are for indexed documents.
pub fn search_bytes(pattern: &CompiledPattern, content: &[u8], opts: &SearchOptions) -> DocMatches {
    search_one(&mut searcher(pattern, opts), &pattern.matcher, content, opts)
}

fn searcher(pattern: &CompiledPattern, opts: &SearchOptions) -> Searcher {
    let lines = opts.mode == OutputMode::Lines;
    SearcherBuilder::new()
        .line_number(true)
        .multi_line(pattern.multiline)
        .before_context(if lines { opts.before_context } else { 0 })
        .after_context(if lines { opts.after_context } else { 0 })
        // Binary blobs were set aside at index time; search bytes as they are
        // (no BOM transcoding), like git grep.
        .binary_detection(BinaryDetection::none())
        .bom_sniffing(false)
        .build()
}

fn search_one(searcher: &mut Searcher, matcher: &RegexMatcher, content: &[u8], opts: &SearchOptions) -> DocMatches {
    let mut sink = Collect { matcher, opts, out: DocMatches::default(), limit_reached: false, after_emitted: 0 };
    // Searching an in-memory slice cannot fail with I/O errors, and our sink
    // never returns an error.
    let _ = searcher.search_slice(matcher, content, &mut sink);
    sink.out
}

struct Collect<'a> {
    matcher: &'a RegexMatcher,
    opts: &'a SearchOptions,
    out: DocMatches,
    /// `-m` reached: only the last match's after-context is still wanted.
    limit_reached: bool,
    /// After-context lines emitted since the limit was reached.
    after_emitted: usize,
}

fn strip_terminator(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\n").unwrap_or(b)
}

impl Sink for Collect<'_> {
    type Error = io::Error;

    fn matched(&mut self, _: &Searcher, m: &SinkMatch<'_>) -> Result<bool, io::Error> {
        if self.limit_reached {
            // A match inside the last reported match's after-context is shown
            // as context (as grep does); past that window, stop.
            if self.after_emitted < self.opts.after_context && m.lines().count() == 1 {
                self.after_emitted += 1;
                self.out.lines.push(LineHit {
                    kind: LineKind::Context,
                    line_number: m.line_number().unwrap_or(0),
                    offset: m.absolute_byte_offset(),
                    bytes: strip_terminator(m.bytes()).to_vec(),
                    submatches: Vec::new(),
                });
                return Ok(self.after_emitted < self.opts.after_context);
            }
            return Ok(false);
        }
        self.out.count += 1;
        match self.opts.mode {
            OutputMode::FilesWithMatches => return Ok(false),
            OutputMode::Count => {}
            OutputMode::Lines => {
                let bytes = strip_terminator(m.bytes());
                let mut subs = Vec::new();
                let _ = self.matcher.find_iter(bytes, |r| {
                    subs.push((r.start(), r.end()));
                    true
                });
                self.out.lines.push(LineHit {
                    kind: LineKind::Match,
                    line_number: m.line_number().unwrap_or(0),
                    offset: m.absolute_byte_offset(),
                    bytes: bytes.to_vec(),
                    submatches: subs,
                });
            }
        }
        if self.opts.max_count.is_some_and(|max| self.out.count >= max) {
            // Like grep and rg, -m still prints the last match's after-context.
            self.limit_reached = true;
            return Ok(self.opts.mode == OutputMode::Lines && self.opts.after_context > 0);
        }
        Ok(true)
    }

    fn context(&mut self, _: &Searcher, c: &SinkContext<'_>) -> Result<bool, io::Error> {
        if self.limit_reached {
            if !matches!(c.kind(), SinkContextKind::After) {
                return Ok(false);
            }
            self.after_emitted += 1;
        }
        if !matches!(c.kind(), SinkContextKind::Other) {
            self.out.lines.push(LineHit {
                kind: LineKind::Context,
                line_number: c.line_number().unwrap_or(0),
                offset: c.absolute_byte_offset(),
                bytes: strip_terminator(c.bytes()).to_vec(),
                submatches: Vec::new(),
            });
        }
        Ok(true)
    }

    fn context_break(&mut self, _: &Searcher) -> Result<bool, io::Error> {
        if self.limit_reached {
            return Ok(false);
        }
        self.out.lines.push(LineHit {
            kind: LineKind::Break,
            line_number: 0,
            offset: 0,
            bytes: Vec::new(),
            submatches: Vec::new(),
        });
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CaseMode, PatternOptions};

    fn pattern(p: &str) -> CompiledPattern {
        let opts = PatternOptions { case: CaseMode::Sensitive, fixed_strings: false, word: false, multiline: false };
        CompiledPattern::new(p, &opts).unwrap()
    }

    #[test]
    fn search_bytes_reports_lines_offsets_and_submatches() {
        let content = b"alpha\nbeta gamma beta\n\nbeta";
        let m = search_bytes(&pattern("beta"), content, &SearchOptions::default());
        assert_eq!(m.count, 2);
        let first = &m.lines[0];
        assert_eq!((first.line_number, first.offset, &first.bytes[..]), (2, 6, &b"beta gamma beta"[..]));
        assert_eq!(first.submatches, vec![(0, 4), (11, 15)]);
        let last = &m.lines[1];
        assert_eq!((last.line_number, last.offset, &last.bytes[..]), (4, 23, &b"beta"[..]));
        assert_eq!(last.submatches, vec![(0, 4)]);
        assert_eq!(m.lines.len(), 2);
    }

    #[test]
    fn search_bytes_honours_mode_count_and_context() {
        let content = b"x1\ny\nx2\nx3\n";
        let count =
            search_bytes(&pattern("x"), content, &SearchOptions { mode: OutputMode::Count, ..Default::default() });
        assert_eq!((count.count, count.lines.len()), (3, 0));
        let capped = search_bytes(
            &pattern("x"),
            content,
            &SearchOptions { max_count: Some(1), after_context: 1, ..Default::default() },
        );
        let kinds: Vec<LineKind> = capped.lines.iter().map(|l| l.kind).collect();
        assert_eq!((capped.count, kinds), (1, vec![LineKind::Match, LineKind::Context]));
        assert_eq!(search_bytes(&pattern("zzz"), content, &SearchOptions::default()).count, 0);
    }
}
