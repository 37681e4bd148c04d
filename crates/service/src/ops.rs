//! Executing requests: resolve what the client named, call the engine, and
//! bound what goes back.

use std::path::Path;

use grove_engine::search::{
    CaseMode, CompiledPattern, LineKind, OutputMode, PathFilter, PatternOptions, SearchOptions, SearchOutput,
};
use grove_engine::{
    lossy, lossy_offset, Engine, EngineOptions, FindMode, FindOptions, Overlay, Progress, ResolvedRev, RevSelection,
    SymbolKind, SymbolQuery,
};

use crate::types::*;
use crate::ServiceError;

/// Bounds on what one request may cost and return. Clients may ask for less,
/// never for more.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Matching lines, symbols, files or changes per response.
    pub max_results: usize,
    /// Bytes of text (lines, file contents) per response.
    pub max_text_bytes: usize,
    /// A longer matching line is cut (minified files).
    pub max_line_bytes: usize,
    /// Token budget of `find` when the client gives none.
    pub default_find_budget: usize,
    /// Largest accepted patch.
    pub max_patch_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_results: 1000,
            max_text_bytes: 1 << 20,
            max_line_bytes: 1000,
            default_find_budget: 4000,
            max_patch_bytes: 8 << 20,
        }
    }
}

/// One repository served: its engine and the limits its clients get.
pub struct Service {
    engine: Engine,
    limits: Limits,
}

impl Service {
    pub fn open(repo: &Path, opts: EngineOptions, limits: Limits) -> Result<Service, ServiceError> {
        Ok(Service { engine: Engine::open(repo, opts)?, limits })
    }

    pub fn new(engine: Engine, limits: Limits) -> Service {
        Service { engine, limits }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn cap(&self, asked: Option<usize>) -> usize {
        asked.unwrap_or(self.limits.max_results).clamp(1, self.limits.max_results)
    }

    /// The state a request reads: the working tree (refreshed now), a named
    /// snapshot or a revision.
    pub fn resolve(&self, at: &RevisionSpec, progress: &dyn Progress) -> Result<ResolvedRev, ServiceError> {
        if at.worktree {
            if at.rev.is_some() {
                return Err(ServiceError::invalid("give either `rev` or `worktree`, not both"));
            }
            return Ok(self.engine.worktree(progress)?);
        }
        let rev = at.rev.as_deref().unwrap_or("HEAD");
        check_name(rev, "revision")?;
        Ok(self.engine.resolve_one(rev)?)
    }

    /// A search request's pattern, compiled, with its globs checked: bad
    /// input fails before anything is resolved or indexed.
    pub fn compile(req: &SearchRequest) -> Result<CompiledPattern, ServiceError> {
        if req.pattern.is_empty() {
            return Err(ServiceError::invalid("`pattern` is empty"));
        }
        let popts = PatternOptions {
            case: if req.ignore_case { CaseMode::Insensitive } else { CaseMode::Sensitive },
            fixed_strings: req.fixed_strings,
            word: req.word,
            multiline: false,
        };
        let pattern = CompiledPattern::new(&req.pattern, &popts).map_err(grove_engine::EngineError::from)?;
        PathFilter::new(&req.globs).map_err(grove_engine::EngineError::from)?;
        Ok(pattern)
    }

    /// What the engine is asked for a request, and its context length.
    fn search_options(req: &SearchRequest) -> (SearchOptions, usize) {
        let context = req.context.min(10);
        let sopts = SearchOptions {
            mode: OutputMode::Lines,
            before_context: context,
            after_context: context,
            max_count: None,
            globs: req.globs.clone(),
            max_filesize: None,
        };
        (sopts, context)
    }

    pub fn search(&self, req: &SearchRequest, progress: &dyn Progress) -> Result<SearchResponse, ServiceError> {
        let pattern = Self::compile(req)?;
        let revs = if req.worktree {
            if !req.revs.is_empty() || req.tags.is_some() || req.branches.is_some() {
                return Err(ServiceError::invalid("give either revisions or `worktree`, not both"));
            }
            vec![self.engine.worktree(progress)?]
        } else {
            self.engine.resolve(&selection(&req.revs, &req.tags, &req.branches)?)?
        };
        let since = match &req.since {
            Some(s) => {
                check_name(s, "revision")?;
                Some(self.engine.resolve_one(s)?)
            }
            None => None,
        };
        let (sopts, context) = Self::search_options(req);
        let out = self.engine.search(&revs, since.as_ref(), &pattern, &sopts, progress)?;
        Ok(self.bound_matches(&revs, &out, self.cap(req.max_results), context))
    }

    /// [`Service::search`] of one resolved state with an editor's unsaved
    /// buffers laid over it (see `Engine::search_overlay`); the request's
    /// revision fields are not read. `pattern` is [`Service::compile`]'s.
    pub fn search_overlay(
        &self,
        rev: &ResolvedRev,
        overlay: &Overlay,
        pattern: &CompiledPattern,
        req: &SearchRequest,
        progress: &dyn Progress,
    ) -> Result<SearchResponse, ServiceError> {
        let (sopts, context) = Self::search_options(req);
        let out = self.engine.search_overlay(rev, overlay, pattern, &sopts, progress)?;
        Ok(self.bound_matches(std::slice::from_ref(rev), &out, self.cap(req.max_results), context))
    }

    /// Turns engine results into match lines with their context, stopping at
    /// the count and byte limits.
    fn bound_matches(&self, revs: &[ResolvedRev], out: &SearchOutput, max: usize, context: usize) -> SearchResponse {
        let mut matches: Vec<MatchLine> = Vec::new();
        let mut total = 0u64;
        let mut bytes = 0usize;
        let mut truncated = false;
        for f in &out.files {
            total += f.matches.count;
            if truncated {
                continue;
            }
            let rev = &revs[f.target].label;
            let path = lossy(&f.path).into_owned();
            let mut before: Vec<String> = Vec::new();
            let mut last: Option<usize> = None;
            for hit in &f.matches.lines {
                match hit.kind {
                    LineKind::Break => {
                        before.clear();
                        last = None;
                    }
                    LineKind::Context => {
                        let text = self.cut_line(&hit.bytes);
                        bytes += text.len();
                        // A context line follows the previous match (up to
                        // `context` of them), or leads the next one.
                        match last {
                            Some(i)
                                if matches[i].after.len() < context
                                    && matches[i].line + matches[i].after.len() as u64 + 1 == hit.line_number =>
                            {
                                matches[i].after.push(text)
                            }
                            _ => before.push(text),
                        }
                    }
                    LineKind::Match => {
                        if matches.len() >= max || bytes >= self.limits.max_text_bytes {
                            truncated = true;
                            break;
                        }
                        let full = lossy(&hit.bytes);
                        let text = self.cut_line(&hit.bytes);
                        let at = |i: usize| lossy_offset(&hit.bytes, i).min(text.len());
                        let submatches: Vec<Span> = hit
                            .submatches
                            .iter()
                            .map(|&(s, e)| Span { start: at(s), end: at(e) })
                            .filter(|s| s.start < s.end || full.is_empty())
                            .collect();
                        bytes += text.len();
                        matches.push(MatchLine {
                            rev: rev.clone(),
                            path: path.clone(),
                            line: hit.line_number,
                            column: submatches.first().map_or(1, |s| s.start + 1),
                            text,
                            submatches,
                            before: std::mem::take(&mut before),
                            after: Vec::new(),
                        });
                        last = Some(matches.len() - 1);
                    }
                }
            }
        }
        SearchResponse {
            matches,
            total_matches: total,
            files: out.files.len(),
            truncated,
            revisions: revs.iter().map(rev_info).collect(),
            skipped: out
                .skipped
                .iter()
                .map(|s| SkippedFile {
                    rev: revs[s.target].label.clone(),
                    path: lossy(&s.path).into_owned(),
                    reason: s.reason.as_str().to_string(),
                })
                .collect(),
        }
    }

    fn cut_line(&self, bytes: &[u8]) -> String {
        let text = lossy(bytes);
        if text.len() <= self.limits.max_line_bytes {
            return text.into_owned();
        }
        let mut end = self.limits.max_line_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &text[..end])
    }

    pub fn find(&self, req: &FindRequest, progress: &dyn Progress) -> Result<FindResponse, ServiceError> {
        self.find_overlay(req, &Overlay::default(), progress)
    }

    /// [`Service::find`] with an editor's unsaved buffers in place of the
    /// files at their paths (held in memory only; see `Engine::find_overlay`).
    pub fn find_overlay(
        &self,
        req: &FindRequest,
        overlay: &Overlay,
        progress: &dyn Progress,
    ) -> Result<FindResponse, ServiceError> {
        if req.query.trim().is_empty() {
            return Err(ServiceError::invalid("`query` is empty"));
        }
        let mode = match req.mode.as_deref() {
            None | Some("hybrid") => FindMode::Hybrid,
            Some("lexical") => FindMode::Lexical,
            Some("dense") => FindMode::Dense,
            Some(other) => {
                return Err(ServiceError::invalid(format!("unknown mode '{other}': use hybrid, lexical or dense")))
            }
        };
        let rev = self.resolve(&req.at, progress)?;
        let budget = req.budget.unwrap_or(self.limits.default_find_budget).min(self.limits.max_text_bytes / 4);
        let opts = FindOptions {
            mode,
            k: req.k.unwrap_or(10).clamp(1, self.limits.max_results),
            files: req.files,
            budget: Some(budget),
            ..Default::default()
        };
        let out = self.engine.find_overlay(&rev, overlay, &req.query, &opts, progress)?;
        Ok(FindResponse {
            hits: out
                .hits
                .into_iter()
                .map(|h| FindHitOut {
                    path: lossy(&h.path).into_owned(),
                    start_line: h.start_line,
                    end_line: h.end_line,
                    symbol: h.symbol,
                    score: h.score,
                    lexical_rank: h.lexical_rank,
                    dense_rank: h.dense_rank,
                    text: h.text,
                    truncated: h.truncated,
                })
                .collect(),
            mode: match out.mode {
                FindMode::Hybrid => "hybrid",
                FindMode::Lexical => "lexical",
                FindMode::Dense => "dense",
            }
            .into(),
            shape: format!("{:?}", out.shape).to_lowercase(),
            chunks: out.chunks,
            unembedded: out.unembedded,
            tokens: out.tokens,
            truncated: out.budget_exhausted,
        })
    }

    pub fn symbols(&self, req: &SymbolsRequest, progress: &dyn Progress) -> Result<SymbolsResponse, ServiceError> {
        if req.query.trim().is_empty() {
            return Err(ServiceError::invalid("`query` is empty"));
        }
        let mut kinds = Vec::new();
        for k in &req.kinds {
            kinds
                .push(SymbolKind::parse(k).ok_or_else(|| ServiceError::invalid(format!("unknown symbol kind '{k}'")))?);
        }
        let rev = self.resolve(&req.at, progress)?;
        let limit = self.cap(req.limit);
        // One more than asked tells whether the list was cut.
        let q = SymbolQuery { query: req.query.clone(), kinds, limit: limit + 1 };
        let mut hits = self.engine.symbols(&rev, &q, progress)?;
        let truncated = hits.len() > limit;
        hits.truncate(limit);
        Ok(SymbolsResponse {
            symbols: hits
                .into_iter()
                .map(|h| SymbolOut {
                    name: h.name,
                    kind: h.kind.to_string(),
                    container: h.container,
                    path: lossy(&h.path).into_owned(),
                    start_line: h.start_line,
                    end_line: h.end_line,
                    match_kind: h.match_kind.to_string(),
                })
                .collect(),
            truncated,
        })
    }

    pub fn read_file(&self, req: &ReadFileRequest, progress: &dyn Progress) -> Result<ReadFileResponse, ServiceError> {
        check_path(&req.path)?;
        let rev = self.resolve(&req.at, progress)?;
        let Some(bytes) = self.engine.read_file(&rev, req.path.as_bytes(), progress)? else {
            return Err(ServiceError::not_found(format!("no file '{}' in {}", req.path, rev.label)));
        };
        let binary = bytes[..bytes.len().min(8000)].contains(&0);
        let lines: Vec<&[u8]> = if bytes.is_empty() {
            Vec::new()
        } else {
            let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
            body.split(|&b| b == b'\n').collect()
        };
        let total = lines.len() as u64;
        let start = req.start_line.unwrap_or(1).max(1);
        let end = req.end_line.unwrap_or(total).min(total);
        if let (Some(s), Some(e)) = (req.start_line, req.end_line) {
            if e < s {
                return Err(ServiceError::invalid(format!("end_line {e} is before start_line {s}")));
            }
        }
        let mut text = String::new();
        let mut last = start.saturating_sub(1);
        let mut truncated = false;
        if !binary {
            for n in start..=end {
                let line = lossy(lines[(n - 1) as usize]);
                if text.len() + line.len() + 1 > self.limits.max_text_bytes {
                    truncated = true;
                    break;
                }
                text.push_str(&line);
                text.push('\n');
                last = n;
            }
        }
        Ok(ReadFileResponse {
            path: req.path.clone(),
            rev: rev.label.clone(),
            commit: rev.commit.oid.to_hex(),
            text,
            start_line: start,
            end_line: if binary { 0 } else { last },
            total_lines: total,
            truncated,
            binary,
        })
    }

    pub fn list_files(
        &self,
        req: &ListFilesRequest,
        progress: &dyn Progress,
    ) -> Result<ListFilesResponse, ServiceError> {
        let filter = PathFilter::new(&req.globs).map_err(grove_engine::EngineError::from)?;
        let rev = self.resolve(&req.at, progress)?;
        let limit = self.cap(req.limit);
        let mut files = Vec::new();
        let mut total = 0;
        for f in self.engine.files(&rev, progress)? {
            if filter.accepts(&f.path) {
                total += 1;
                if files.len() < limit {
                    files.push(lossy(&f.path).into_owned());
                }
            }
        }
        Ok(ListFilesResponse { truncated: total > files.len(), files, total })
    }

    pub fn revisions(&self) -> Result<RevisionsResponse, ServiceError> {
        let r = self.engine.revisions()?;
        Ok(RevisionsResponse { head: r.head, branches: r.branches, tags: r.tags, snapshots: r.snapshots })
    }

    pub fn diff(&self, req: &DiffRequest, progress: &dyn Progress) -> Result<DiffResponse, ServiceError> {
        check_name(&req.from, "revision")?;
        let from = self.engine.resolve_one(&req.from)?;
        let to = self.resolve(&RevisionSpec { rev: req.to.clone(), worktree: req.worktree }, progress)?;
        let limit = self.cap(req.limit);
        let all = self.engine.diff(&from, &to, progress)?;
        let total = all.len();
        let changes = all
            .into_iter()
            .take(limit)
            .map(|c| ChangedFile {
                status: c.status().to_string(),
                path: lossy(c.path()).into_owned(),
                old_path: match &c {
                    grove_engine::FileChange::Renamed { from, .. } => Some(lossy(from).into_owned()),
                    _ => None,
                },
            })
            .collect::<Vec<_>>();
        Ok(DiffResponse { from: rev_info(&from), to: rev_info(&to), truncated: total > changes.len(), changes, total })
    }

    pub fn fork(&self, req: &ForkRequest, progress: &dyn Progress) -> Result<SnapshotResponse, ServiceError> {
        check_name(&req.src, "revision")?;
        check_snapshot_name(&req.name)?;
        let id = self.engine.fork(&req.src, &req.name, progress)?;
        let r = self.engine.resolve_one(&req.name)?;
        Ok(SnapshotResponse {
            name: req.name.clone(),
            snapshot: id.to_hex(),
            commit: r.commit.oid.to_hex(),
            changed_files: 0,
            new_blobs: 0,
        })
    }

    pub fn apply_patch(
        &self,
        req: &ApplyPatchRequest,
        progress: &dyn Progress,
    ) -> Result<SnapshotResponse, ServiceError> {
        check_snapshot_name(&req.name)?;
        if let Some(b) = &req.base {
            check_name(b, "revision")?;
        }
        if req.patch.len() > self.limits.max_patch_bytes {
            return Err(ServiceError::invalid(format!(
                "the patch is {} bytes; this server accepts at most {}",
                req.patch.len(),
                self.limits.max_patch_bytes
            )));
        }
        let rep = self.engine.apply_patch(&req.name, req.patch.as_bytes(), req.base.as_deref(), progress)?;
        let r = self.engine.resolve_one(&req.name)?;
        Ok(SnapshotResponse {
            name: req.name.clone(),
            snapshot: rep.snapshot.to_hex(),
            commit: r.commit.oid.to_hex(),
            changed_files: rep.changed_files,
            new_blobs: rep.summary.new_blobs,
        })
    }

    pub fn index(&self, req: &IndexRequest, progress: &dyn Progress) -> Result<IndexResponse, ServiceError> {
        let revs = self.engine.resolve(&selection(&req.revs, &req.tags, &req.branches)?)?;
        let s = self.engine.index(&revs, progress)?;
        Ok(IndexResponse {
            revisions: revs.iter().map(rev_info).collect(),
            already_indexed: s.already_indexed,
            files: s.files,
            new_blobs: s.new_blobs,
            seconds: s.elapsed.as_secs_f64(),
        })
    }
}

/// Revisions and tag/branch globs a client named, checked.
fn selection(revs: &[String], tags: &Option<String>, branches: &Option<String>) -> Result<RevSelection, ServiceError> {
    for r in revs {
        check_name(r, "revision")?;
    }
    Ok(RevSelection {
        revs: revs.to_vec(),
        tags: tags.iter().cloned().collect(),
        branches: branches.iter().cloned().collect(),
        all_refs: false,
    })
}

fn rev_info(r: &ResolvedRev) -> RevisionInfo {
    RevisionInfo { label: r.label.clone(), commit: r.commit.oid.to_hex() }
}

/// A revision named by a client: git would read a leading '-' as an option
/// and control characters have no business in a name.
fn check_name(name: &str, what: &str) -> Result<(), ServiceError> {
    if name.is_empty() || name.starts_with('-') || name.chars().any(char::is_control) || name.len() > 1000 {
        return Err(ServiceError::invalid(format!("invalid {what} '{}'", name.escape_debug())));
    }
    Ok(())
}

/// Snapshot names become ref names inside the index; the working tree's own
/// snapshot is the server's to keep.
fn check_snapshot_name(name: &str) -> Result<(), ServiceError> {
    check_name(name, "snapshot name")?;
    if name.starts_with('.') || name.contains(['/', '\\']) || name.contains(char::is_whitespace) {
        return Err(ServiceError::invalid(format!(
            "invalid snapshot name '{}': use letters, digits, '-', '_' or '.', not starting with '.'",
            name.escape_debug()
        )));
    }
    Ok(())
}

/// A client-supplied path is repository-relative: no root, no `..`, no
/// empty or `.` components. Lookups only ever go through the snapshot, so
/// this is about a clear error, not the only line of defence.
pub(crate) fn check_path(path: &str) -> Result<(), ServiceError> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains('\0')
        || path.split('/').any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(ServiceError::invalid(format!(
            "invalid path '{}': give a path relative to the repository root, '/'-separated, without '.' or '..'",
            path.escape_debug()
        )));
    }
    Ok(())
}
