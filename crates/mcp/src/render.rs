//! Tool results as agents read them: dense text (git-grep-like lines, one
//! entry per line) within a token budget, with a last line that says what
//! was left out and how to get it. Each renderer also returns the service
//! response cut to what the text shows, for `structuredContent`.

use grove_service::*;

use crate::params::{BYTES_PER_TOKEN, DEFAULT_MAX_TOKENS};

/// Text that stops growing at a byte budget and remembers that it did.
pub struct TextBudget {
    text: String,
    limit: usize,
    cut: bool,
}

impl TextBudget {
    /// `max_tokens` as the caller gave it, bounded by what the server will
    /// return at all.
    pub fn new(max_tokens: Option<usize>, server_max_bytes: usize) -> TextBudget {
        let tokens = max_tokens.unwrap_or(DEFAULT_MAX_TOKENS).max(1);
        let limit = tokens.saturating_mul(BYTES_PER_TOKEN).min(server_max_bytes);
        TextBudget { text: String::new(), limit, cut: false }
    }

    /// Appends `line` and a newline if they fit; once one does not, nothing
    /// more is added (a result never skips ahead past a cut).
    pub fn line(&mut self, line: &str) -> bool {
        if self.cut || self.text.len() + line.len() + 1 > self.limit {
            self.cut = true;
            return false;
        }
        self.text.push_str(line);
        self.text.push('\n');
        true
    }

    pub fn remaining(&self) -> usize {
        if self.cut {
            0
        } else {
            self.limit.saturating_sub(self.text.len())
        }
    }

    #[cfg(test)]
    pub fn is_cut(&self) -> bool {
        self.cut
    }

    /// The text and its summary lines, which are always included (they are
    /// short and say how to get the rest).
    pub fn finish(mut self, summary: &[String]) -> String {
        for s in summary {
            self.text.push_str(s);
            self.text.push('\n');
        }
        if self.text.ends_with('\n') {
            self.text.pop();
        }
        self.text
    }
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(10)]
}

fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn search(mut resp: SearchResponse, budget: &mut TextBudget, pattern: &str) -> (Vec<String>, SearchResponse) {
    let mut shown = 0;
    let mut current_rev: Option<&str> = None;
    let several = resp.revisions.len() > 1;
    'matches: for m in &resp.matches {
        if several && current_rev != Some(m.rev.as_str()) {
            let commit = resp.revisions.iter().find(|r| r.label == m.rev).map_or("", |r| short(&r.commit));
            if !budget.line(&format!("[{} {commit}]", m.rev)) {
                break;
            }
            current_rev = Some(&m.rev);
        }
        let first_before = m.line.saturating_sub(m.before.len() as u64);
        for (i, text) in m.before.iter().enumerate() {
            if !budget.line(&format!("{}-{}-{text}", m.path, first_before + i as u64)) {
                break 'matches;
            }
        }
        if !budget.line(&format!("{}:{}:{}", m.path, m.line, m.text)) {
            break;
        }
        shown += 1;
        for (i, text) in m.after.iter().enumerate() {
            if !budget.line(&format!("{}-{}-{text}", m.path, m.line + 1 + i as u64)) {
                break 'matches;
            }
        }
    }
    // A tag glob can name dozens of revisions; the groups above say which matched.
    let mut revs: Vec<String> =
        resp.revisions.iter().take(3).map(|r| format!("{} {}", r.label, short(&r.commit))).collect();
    if resp.revisions.len() > 3 {
        revs.push(format!("+{} more revisions", resp.revisions.len() - 3));
    }
    let mut summary = Vec::new();
    if resp.total_matches == 0 {
        summary.push(format!("no matches for /{pattern}/ in {}", revs.join(", ")));
    } else {
        summary.push(format!(
            "{} in {} ({})",
            plural(resp.total_matches, "matching line", "matching lines"),
            plural(resp.files as u64, "file", "files"),
            revs.join(", ")
        ));
    }
    let truncated = resp.truncated || shown < resp.matches.len();
    if truncated {
        summary.push(format!(
            "truncated: showing {shown} of {} matching lines (narrow the pattern, add globs, or raise max_tokens{})",
            resp.total_matches,
            if resp.truncated { "/max_results" } else { "" }
        ));
    }
    if !resp.skipped.is_empty() {
        let examples: Vec<String> = resp.skipped.iter().take(3).map(|s| format!("{} ({})", s.path, s.reason)).collect();
        summary.push(format!(
            "not searched: {} (e.g. {})",
            plural(resp.skipped.len() as u64, "file", "files"),
            examples.join(", ")
        ));
    }
    resp.matches.truncate(shown);
    resp.truncated = truncated;
    (summary, resp)
}

pub fn find(mut resp: FindResponse, budget: &mut TextBudget) -> (Vec<String>, FindResponse) {
    let mut shown = 0;
    for h in &resp.hits {
        let symbol = h.symbol.as_deref().map(|s| format!(" {s}")).unwrap_or_default();
        let head = format!("== {}:{}-{}{symbol} (score {:.3})", h.path, h.start_line, h.end_line, h.score);
        if !budget.line(&head) {
            break;
        }
        if !h.text.is_empty() {
            let body = h.text.strip_suffix('\n').unwrap_or(&h.text);
            if body.len() + 1 > budget.remaining() {
                // A hit without its text still tells where to read.
                budget.line(&format!("[text left out: read_file path={} start_line={}]", h.path, h.start_line));
                shown += 1;
                break;
            }
            budget.line(body);
            if h.truncated {
                budget.line(&format!(
                    "[cut to the budget: read_file path={} start_line={} end_line={} for all of it]",
                    h.path, h.start_line, h.end_line
                ));
            }
        }
        shown += 1;
    }
    let mut summary = Vec::new();
    summary.push(format!(
        "{} ({} mode, query read as {}; {} chunks ranked{})",
        plural(resp.hits.len() as u64, "result", "results"),
        resp.mode,
        resp.shape,
        resp.chunks,
        if resp.unembedded > 0 { format!(", {} without vectors", resp.unembedded) } else { String::new() }
    ));
    let truncated = resp.truncated || shown < resp.hits.len();
    if truncated {
        summary.push(format!(
            "truncated: showing {shown} results within the budget (raise max_tokens, lower k, or set files=true for paths only)"
        ));
    }
    resp.hits.truncate(shown);
    resp.truncated = truncated;
    (summary, resp)
}

pub fn symbols(mut resp: SymbolsResponse, budget: &mut TextBudget, query: &str) -> (Vec<String>, SymbolsResponse) {
    let mut shown = 0;
    for s in &resp.symbols {
        let name = match &s.container {
            Some(c) => format!("{c}.{}", s.name),
            None => s.name.clone(),
        };
        if !budget.line(&format!("{}:{}-{}  {} {name}  ({})", s.path, s.start_line, s.end_line, s.kind, s.match_kind)) {
            break;
        }
        shown += 1;
    }
    let mut summary = Vec::new();
    if resp.symbols.is_empty() {
        summary.push(format!("no symbols match '{query}' (search finds any text; find finds concepts)"));
    } else {
        summary.push(plural(resp.symbols.len() as u64, "symbol", "symbols"));
    }
    let truncated = resp.truncated || shown < resp.symbols.len();
    if truncated {
        summary.push(format!(
            "truncated: showing {shown}; more match (a longer query, `kinds`, or raise limit/max_tokens)"
        ));
    }
    resp.symbols.truncate(shown);
    resp.truncated = truncated;
    (summary, resp)
}

pub fn read_file(mut resp: ReadFileResponse, budget: &mut TextBudget) -> (Vec<String>, ReadFileResponse) {
    let at = format!("{} @ {} {}", resp.path, resp.rev, short(&resp.commit));
    if resp.binary {
        return (vec![format!("{at}: a binary file ({} lines); not shown", resp.total_lines)], resp);
    }
    if resp.total_lines == 0 {
        return (vec![format!("{at}: empty file")], resp);
    }
    if resp.end_line < resp.start_line {
        return (
            vec![format!(
                "{at}: no lines in range (start_line {} is past the end; the file has {} lines)",
                resp.start_line, resp.total_lines
            )],
            resp,
        );
    }
    let width = resp.end_line.to_string().len();
    let mut last = resp.start_line - 1;
    let mut kept = 0;
    for (i, line) in resp.text.lines().enumerate() {
        let n = resp.start_line + i as u64;
        if !budget.line(&format!("{n:>width$}\t{line}")) {
            break;
        }
        last = n;
        kept += line.len() + 1;
    }
    let mut summary = vec![format!("{at}: lines {}-{last} of {}", resp.start_line, resp.total_lines)];
    let cut = last < resp.end_line || resp.truncated;
    if cut {
        summary.push(format!(
            "truncated: lines {}-{last} of {}; call again with start_line={} for more (or raise max_tokens)",
            resp.start_line,
            resp.total_lines,
            last + 1
        ));
    }
    resp.text.truncate(kept.min(resp.text.len()));
    resp.end_line = last;
    resp.truncated = cut;
    (summary, resp)
}

pub fn list_files(mut resp: ListFilesResponse, budget: &mut TextBudget) -> (Vec<String>, ListFilesResponse) {
    let mut shown = 0;
    for f in &resp.files {
        if !budget.line(f) {
            break;
        }
        shown += 1;
    }
    let mut summary = vec![plural(resp.total as u64, "file", "files")];
    if shown < resp.total {
        summary.push(format!("truncated: showing {shown} of {} (add globs, or raise limit/max_tokens)", resp.total));
    }
    resp.files.truncate(shown);
    resp.truncated = shown < resp.total;
    (summary, resp)
}

pub fn revisions(resp: &RevisionsResponse, budget: &mut TextBudget) -> Vec<String> {
    budget.line(&format!("head: {}", resp.head.as_deref().unwrap_or("(unborn)")));
    let mut left_out = 0;
    for (title, names) in [("branches", &resp.branches), ("tags", &resp.tags), ("snapshots", &resp.snapshots)] {
        let mut line = format!("{title} ({}):", names.len());
        let mut shown = 0;
        for n in names {
            // Keep room for the count of what did not fit.
            if line.len() + n.len() + 24 > budget.remaining() {
                break;
            }
            line.push(' ');
            line.push_str(n);
            shown += 1;
        }
        if shown < names.len() {
            line.push_str(&format!(" … +{} more", names.len() - shown));
            left_out += names.len() - shown;
        }
        budget.line(&line);
    }
    if left_out > 0 {
        vec![format!("truncated: {left_out} names left out (raise max_tokens)")]
    } else {
        Vec::new()
    }
}

pub fn diff(mut resp: DiffResponse, budget: &mut TextBudget) -> (Vec<String>, DiffResponse) {
    let mut shown = 0;
    for c in &resp.changes {
        let line = match (&c.old_path, c.status.as_str()) {
            (Some(old), _) => format!("R {old} -> {}", c.path),
            (None, "added") => format!("A {}", c.path),
            (None, "deleted") => format!("D {}", c.path),
            (None, "modified") => format!("M {}", c.path),
            (None, other) => format!("{other} {}", c.path),
        };
        if !budget.line(&line) {
            break;
        }
        shown += 1;
    }
    let mut summary = vec![format!(
        "{} {} -> {} {}: {} changed",
        resp.from.label,
        short(&resp.from.commit),
        resp.to.label,
        short(&resp.to.commit),
        plural(resp.total as u64, "file", "files")
    )];
    if shown < resp.total {
        summary.push(format!(
            "truncated: showing {shown} of {} (raise limit/max_tokens; read_file at either revision shows a file)",
            resp.total
        ));
    }
    resp.changes.truncate(shown);
    resp.truncated = shown < resp.total;
    (summary, resp)
}

pub fn snapshot(resp: &SnapshotResponse, what: &str) -> String {
    format!(
        "{what} snapshot '{}' (commit {}, snapshot {}): {} changed, {} new blobs indexed.\n\
         Read it like a revision: search/find/symbols/read_file/list_files with rev=\"{}\" (search: revs=[\"{}\"]); \
         diff with from=\"HEAD\" to=\"{}\" lists its changes. Nothing on disk was modified.",
        resp.name,
        short(&resp.commit),
        short(&resp.snapshot),
        plural(resp.changed_files as u64, "file", "files"),
        resp.new_blobs,
        resp.name,
        resp.name,
        resp.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_stops_at_the_first_line_that_does_not_fit() {
        let mut b = TextBudget::new(Some(3), 1 << 20); // 12 bytes
        assert!(b.line("12345"));
        assert!(!b.line("1234567"));
        assert!(!b.line("1"), "nothing is added after a cut");
        assert!(b.is_cut());
        assert_eq!(b.finish(&["done".into()]), "12345\ndone");
    }

    #[test]
    fn read_file_states_where_to_continue() {
        let resp = ReadFileResponse {
            path: "a.txt".into(),
            rev: "HEAD".into(),
            commit: "0123456789abcdef".into(),
            text: "one\ntwo\nthree\n".into(),
            start_line: 1,
            end_line: 3,
            total_lines: 3,
            truncated: false,
            binary: false,
        };
        let mut b = TextBudget::new(Some(3), 1 << 20);
        let (summary, cut) = read_file(resp, &mut b);
        let text = b.finish(&summary);
        assert!(text.starts_with("1\tone\n2\ttwo\n"), "{text}");
        assert!(text.contains("lines 1-2 of 3; call again with start_line=3"), "{text}");
        assert_eq!(cut.text, "one\ntwo\n");
        assert!(cut.truncated);
    }
}
