//! Cutting a file into chunks: definitions, merged when small, split when
//! large; line windows where there is no syntax tree. The rules are in the
//! crate docs.

use crate::defs::Def;
use crate::tokens::{byte_cost, estimate_tokens, WORD_BYTES_PER_TOKEN};
use crate::{Chunk, ChunkLimits};

/// Byte offsets of line starts, for 1-based line numbers.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(content: &[u8]) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(content.iter().enumerate().filter(|(_, &b)| b == b'\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 1-based line of the byte at `offset`.
    pub fn line_of(&self, offset: usize) -> u32 {
        self.starts.partition_point(|&s| s <= offset) as u32
    }

    /// Index into `starts` of the line holding `offset`.
    fn line_index(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).saturating_sub(1)
    }
}

pub(crate) struct Chunker<'a> {
    content: &'a [u8],
    defs: &'a [Def],
    /// Direct children of each definition, in order.
    children: Vec<Vec<usize>>,
    max_tokens: usize,
    min_tokens: usize,
    path_tokens: usize,
    lines: &'a LineIndex,
}

/// Chunks of a run of merged siblings.
#[derive(Default)]
struct Group {
    start: usize,
    end: usize,
    tokens: usize,
    defs: usize,
    first_def: Option<usize>,
    has_prelude: bool,
}

impl<'a> Chunker<'a> {
    pub fn new(
        path: &[u8],
        content: &'a [u8],
        defs: &'a [Def],
        lines: &'a LineIndex,
        limits: &ChunkLimits,
    ) -> Chunker<'a> {
        let mut children = vec![Vec::new(); defs.len()];
        for (i, def) in defs.iter().enumerate() {
            if let Some(p) = def.parent {
                children[p].push(i);
            }
        }
        Chunker {
            content,
            defs,
            children,
            max_tokens: limits.max_tokens.max(1),
            min_tokens: limits.min_tokens,
            path_tokens: estimate_tokens(path),
            lines,
        }
    }

    /// Chunks of a parsed file.
    pub fn file(&self, out: &mut Vec<Chunk>) {
        let top: Vec<usize> = (0..self.defs.len()).filter(|&i| self.defs[i].parent.is_none()).collect();
        self.container(0, self.content.len(), &top, None, false, out);
    }

    /// Line windows over the whole file (no syntax tree).
    pub fn windows_only(&self, window_lines: usize, overlap: usize, out: &mut Vec<Chunk>) {
        let max_lines = (window_lines > 0).then_some(window_lines);
        self.windows(0, self.content.len(), None, max_lines, overlap, out);
    }

    fn header_tokens(&self, symbol: Option<&str>) -> usize {
        // "<path> :: <symbol>\n": the two colons cost 2.
        self.path_tokens + symbol.map_or(0, |s| 2 + estimate_tokens(s.as_bytes()))
    }

    /// Tokens left for the body under `symbol`'s header; never less than a
    /// quarter of the budget, so an absurdly long path still makes progress.
    fn body_budget(&self, symbol: Option<&str>) -> usize {
        self.max_tokens.saturating_sub(self.header_tokens(symbol)).max((self.max_tokens / 4).max(1))
    }

    /// Chunks `[start, end)`, whose direct child definitions are `kids`;
    /// text between them belongs to `owner` (the enclosing definition's path).
    fn container(
        &self,
        start: usize,
        end: usize,
        kids: &[usize],
        owner: Option<&str>,
        owner_is_def: bool,
        out: &mut Vec<Chunk>,
    ) {
        // Tile [start, end) with definition and gap segments, on line
        // boundaries where the text allows.
        let mut segments: Vec<(usize, usize, Option<usize>)> = Vec::with_capacity(kids.len() * 2 + 1);
        let mut cursor = start;
        for &kid in kids {
            let def = &self.defs[kid];
            let def_start = self.align_start(def.chunk_start.clamp(cursor, end), cursor);
            let def_end = self.align_end(def.end.clamp(def_start, end), end);
            if def_start > cursor {
                segments.push((cursor, def_start, None));
            }
            if def_end > def_start {
                segments.push((def_start, def_end, Some(kid)));
            }
            cursor = def_end;
        }
        if cursor < end {
            segments.push((cursor, end, None));
        }

        let mut group: Option<Group> = None;
        for (seg_start, seg_end, def) in segments {
            let text = &self.content[seg_start..seg_end];
            if is_blank(text) {
                continue; // whitespace: covered by whichever chunk spans it
            }
            let tokens = estimate_tokens(text);
            let symbol = match def {
                Some(d) => Some(self.defs[d].path.as_str()),
                None => owner,
            };
            // A container's own header names a merged chunk after the
            // container, unless it is a bare opening line (`impl Foo {`).
            let is_prelude = def.is_none()
                && owner_is_def
                && seg_start == start
                && self.content[seg_start..seg_end].trim_ascii().contains(&b'\n');
            if tokens + self.header_tokens(symbol) > self.max_tokens {
                self.flush(group.take(), owner, out);
                match def {
                    Some(d) if !self.children[d].is_empty() => {
                        self.container(seg_start, seg_end, &self.children[d], symbol, true, out)
                    }
                    _ => self.windows(seg_start, seg_end, symbol, None, 0, out),
                }
                continue;
            }
            if let Some(g) = group.as_mut() {
                if g.tokens < self.min_tokens || tokens < self.min_tokens {
                    let defs = g.defs + usize::from(def.is_some());
                    let first_def = g.first_def.or(def);
                    let has_prelude = g.has_prelude || is_prelude;
                    let merged_symbol = self.group_symbol(defs, first_def, has_prelude, owner);
                    if g.tokens + tokens + self.header_tokens(merged_symbol) <= self.max_tokens {
                        g.end = seg_end;
                        g.tokens += tokens;
                        g.defs = defs;
                        g.first_def = first_def;
                        g.has_prelude = has_prelude;
                        continue;
                    }
                }
            }
            self.flush(group.take(), owner, out);
            group = Some(Group {
                start: seg_start,
                end: seg_end,
                tokens,
                defs: usize::from(def.is_some()),
                first_def: def,
                has_prelude: is_prelude,
            });
        }
        self.flush(group, owner, out);
    }

    /// A merged chunk is named after its definition when it holds exactly
    /// one (and not its container's own header), else after the container.
    fn group_symbol<'s>(
        &'s self,
        defs: usize,
        first_def: Option<usize>,
        has_prelude: bool,
        owner: Option<&'s str>,
    ) -> Option<&'s str> {
        match first_def {
            Some(d) if defs == 1 && !has_prelude => Some(self.defs[d].path.as_str()),
            _ => owner,
        }
    }

    fn flush(&self, group: Option<Group>, owner: Option<&str>, out: &mut Vec<Chunk>) {
        if let Some(g) = group {
            let symbol = self.group_symbol(g.defs, g.first_def, g.has_prelude, owner);
            self.emit(g.start, g.end, symbol, out);
        }
    }

    /// Splits `[start, end)` into windows of whole lines within the token
    /// budget (and at most `max_lines` lines), each repeating up to `overlap`
    /// lines of the previous one. A line alone over budget is cut within
    /// the line.
    fn windows(
        &self,
        start: usize,
        end: usize,
        symbol: Option<&str>,
        max_lines: Option<usize>,
        overlap: usize,
        out: &mut Vec<Chunk>,
    ) {
        if start >= end {
            return;
        }
        let budget = self.body_budget(symbol);
        let first = self.lines.line_index(start);
        let last = self.lines.line_index(end - 1);
        let lines: Vec<(usize, usize, usize, bool)> = (first..=last)
            .map(|l| {
                let ls = self.lines.starts[l].max(start);
                let le = self.lines.starts.get(l + 1).copied().unwrap_or(self.content.len()).min(end);
                let text = &self.content[ls..le];
                (ls, le, estimate_tokens(text), is_blank(text))
            })
            .collect();
        let mut i = 0;
        while i < lines.len() {
            while i < lines.len() && lines[i].3 {
                i += 1;
            }
            if i == lines.len() {
                break;
            }
            if lines[i].2 > budget {
                self.split_line(lines[i].0, lines[i].1, symbol, budget, out);
                i += 1;
                continue;
            }
            let mut j = i;
            let mut tokens = 0;
            while j < lines.len() && tokens + lines[j].2 <= budget && max_lines.is_none_or(|m| j - i < m) {
                tokens += lines[j].2;
                j += 1;
            }
            self.emit(lines[i].0, lines[j - 1].1, symbol, out);
            if j >= lines.len() {
                break;
            }
            i = if overlap > 0 { j.saturating_sub(overlap).max(i + 1) } else { j };
        }
    }

    /// Cuts one long line into pieces within `budget`, at character and
    /// word-unit boundaries that keep the estimate exact.
    fn split_line(&self, start: usize, end: usize, symbol: Option<&str>, budget: usize, out: &mut Vec<Chunk>) {
        let bytes = &self.content[..end];
        let mut piece_start = start;
        let mut tokens = 0;
        let mut at = start;
        while at < end {
            let (len, cost) = unit_at(bytes, at);
            if tokens + cost > budget && tokens > 0 {
                self.emit(piece_start, at, symbol, out);
                piece_start = at;
                tokens = 0;
            }
            tokens += cost;
            at += len;
        }
        self.emit(piece_start, end, symbol, out);
    }

    /// Emits `[start, end)` without leading blank lines and trailing
    /// whitespace (keeping the first line's indentation and the last newline).
    fn emit(&self, start: usize, end: usize, symbol: Option<&str>, out: &mut Vec<Chunk>) {
        let text = &self.content[start..end];
        let Some(first) = text.iter().position(|b| !b.is_ascii_whitespace()) else {
            return;
        };
        let last = text.iter().rposition(|b| !b.is_ascii_whitespace()).unwrap_or(first);
        let mut chunk_start = start + first;
        while chunk_start > start && matches!(self.content[chunk_start - 1], b' ' | b'\t') {
            chunk_start -= 1;
        }
        let mut chunk_end = start + last + 1;
        while chunk_end < end && matches!(self.content[chunk_end], b' ' | b'\t' | b'\r') {
            chunk_end += 1;
        }
        if chunk_end < end && self.content[chunk_end] == b'\n' {
            chunk_end += 1;
        }
        out.push(Chunk {
            start_byte: chunk_start as u32,
            end_byte: chunk_end as u32,
            start_line: self.lines.line_of(chunk_start),
            end_line: self.lines.line_of(chunk_end - 1),
            symbol: symbol.map(str::to_owned),
        });
    }

    /// Moves `at` back to its line start when only spaces and tabs precede
    /// it there (not before `floor`).
    fn align_start(&self, at: usize, floor: usize) -> usize {
        let mut s = at;
        while s > floor && matches!(self.content[s - 1], b' ' | b'\t') {
            s -= 1;
        }
        if s == 0 || self.content[s - 1] == b'\n' {
            s
        } else {
            at
        }
    }

    /// Moves `at` past trailing spaces, `;` and `,` and the newline when
    /// nothing else follows on its line (not after `ceiling`): the `;` after
    /// a C struct belongs to it.
    fn align_end(&self, at: usize, ceiling: usize) -> usize {
        let mut e = at;
        while e < ceiling && matches!(self.content[e], b' ' | b'\t' | b'\r' | b';' | b',') {
            e += 1;
        }
        // A comment after the definition on its last line (`}  // namespace x`).
        let rest = &self.content[e..ceiling];
        if rest.starts_with(b"//") || rest.starts_with(b"/*") || rest.starts_with(b"#") {
            let line_end = rest.iter().position(|&b| b == b'\n');
            let comment_closed =
                !rest.starts_with(b"/*") || line_end.is_some_and(|n| rest[..n].windows(2).any(|w| w == b"*/"));
            if comment_closed {
                e = line_end.map_or(ceiling, |n| e + n);
            }
        }
        if e < ceiling && self.content[e] == b'\n' {
            e + 1
        } else if e == ceiling {
            e
        } else {
            at
        }
    }
}

fn is_blank(text: &[u8]) -> bool {
    text.iter().all(u8::is_ascii_whitespace)
}

/// The smallest piece at `at` whose cost is exact under [`estimate_tokens`]:
/// up to four bytes of an ASCII word, a whole UTF-8 character, or one byte.
fn unit_at(bytes: &[u8], at: usize) -> (usize, usize) {
    let b = bytes[at];
    if b.is_ascii_alphanumeric() {
        let run = bytes[at..].iter().take(WORD_BYTES_PER_TOKEN).take_while(|c| c.is_ascii_alphanumeric()).count();
        return (run, 1);
    }
    if b >= 0xc0 {
        let cont = bytes[at + 1..].iter().take(3).take_while(|&&c| (0x80..0xc0).contains(&c)).count();
        return (1 + cont, 1);
    }
    (1, byte_cost(b))
}
