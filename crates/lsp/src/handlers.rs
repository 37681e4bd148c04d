//! The requests: parameters in, LSP-shaped results out (file URIs, 0-based
//! lines, UTF-16 columns). The work itself is the engine's and the
//! service's.

use grove_engine::{lossy, NoProgress, Overlay, ResolvedRev, SymbolQuery, WORKTREE_NAME};
use grove_service::{FindRequest, RevisionSpec, SearchRequest, Service};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::text::{utf16_column, utf16_len};
use crate::{lock, Cancel, RpcError, Server};

/// The requests that read the workspace (and so the open buffers).
pub(crate) fn reads_workspace(method: &str) -> bool {
    matches!(method, "grove/search" | "grove/find" | "grove/readFile" | "workspace/symbol")
}

pub(crate) fn handle(
    server: &Server,
    method: &str,
    params: Value,
    overlay: &Overlay,
    cancel: &Cancel,
) -> Result<Value, RpcError> {
    match method {
        "grove/search" => search(server, parse(params)?, overlay, cancel),
        "grove/find" => find(server, parse(params)?, overlay, cancel),
        "grove/revisions" => revisions(server, params),
        "grove/readFile" => read_file(server, parse(params)?, overlay),
        "workspace/symbol" => symbols(server, parse(params)?, overlay, cancel),
        _ => Err(RpcError { code: crate::codes::METHOD_NOT_FOUND, message: format!("unknown method '{method}'") }),
    }
}

fn parse<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    serde_json::from_value(params).map_err(|e| RpcError::invalid(format!("invalid params: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchParams {
    pattern: String,
    #[serde(default)]
    rev: Option<String>,
    #[serde(default)]
    ignore_case: bool,
    #[serde(default)]
    fixed_strings: bool,
    #[serde(default)]
    word_regexp: bool,
    #[serde(default)]
    globs: Vec<String>,
    #[serde(default)]
    max_results: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FindParams {
    query: String,
    #[serde(default)]
    rev: Option<String>,
    #[serde(default)]
    k: Option<usize>,
    #[serde(default)]
    mode: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadFileParams {
    path: String,
    #[serde(default)]
    rev: Option<String>,
}

#[derive(Deserialize)]
struct SymbolParams {
    query: String,
}

/// An empty `rev` means the workspace, as an absent one does.
fn given(rev: Option<String>) -> Option<String> {
    rev.filter(|r| !r.is_empty())
}

impl Server {
    /// The working tree's snapshot, brought up to date with the disk (the
    /// cost of a `git status`). While the watcher indexes a new HEAD, the
    /// last one is used rather than waiting for it.
    pub(crate) fn workspace_rev(&self) -> Result<ResolvedRev, RpcError> {
        let engine = self.service.engine();
        if self.indexing_head.load(std::sync::atomic::Ordering::SeqCst) {
            if let Ok(r) = engine.resolve_one(WORKTREE_NAME) {
                if r.snapshot.is_some() {
                    return Ok(r);
                }
            }
        }
        let _serial = lock(&self.refresh);
        self.refresh_worktree(&NoProgress)
    }

    /// Re-derives the working tree's snapshot; the caller holds `refresh`.
    pub(crate) fn refresh_worktree(&self, progress: &dyn grove_engine::Progress) -> Result<ResolvedRev, RpcError> {
        Ok(self.service.engine().worktree(progress)?)
    }

    /// A revision the client named.
    fn named_rev(&self, rev: &str) -> Result<ResolvedRev, RpcError> {
        Ok(self.service.resolve(&RevisionSpec { rev: Some(rev.to_string()), worktree: false }, &NoProgress)?)
    }
}

fn search(server: &Server, p: SearchParams, overlay: &Overlay, cancel: &Cancel) -> Result<Value, RpcError> {
    let req = SearchRequest {
        pattern: p.pattern,
        ignore_case: p.ignore_case,
        fixed_strings: p.fixed_strings,
        word: p.word_regexp,
        globs: p.globs,
        max_results: Some(p.max_results.unwrap_or(500)),
        ..Default::default()
    };
    // Bad input fails before anything is resolved or indexed.
    let pattern = Service::compile(&req)?;
    let rev_label = given(p.rev);
    let nothing = Overlay::new();
    let (rev, overlay) = match &rev_label {
        Some(r) => (server.named_rev(r)?, &nothing),
        None => (server.workspace_rev()?, overlay),
    };
    cancel.check()?;
    let out = server.service.search_overlay(&rev, overlay, &pattern, &req, &NoProgress)?;
    cancel.check()?;
    let matches: Vec<Value> = out
        .matches
        .iter()
        .map(|m| {
            let column = |b: usize| utf16_column(&m.text, b);
            let submatches: Vec<(usize, usize)> =
                m.submatches.iter().map(|s| (column(s.start), column(s.end))).collect();
            let line = m.line.saturating_sub(1);
            let (start, end) = submatches.first().copied().unwrap_or((0, 0));
            json!({
                "uri": server.work_tree.uri_of(&m.path),
                "path": m.path,
                "rev": rev_label,
                "range": {
                    "start": { "line": line, "character": start },
                    "end": { "line": line, "character": end },
                },
                "line": line,
                "text": m.text,
                "submatches": submatches.iter().map(|(s, e)| json!({ "start": s, "end": e })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json!({ "matches": matches, "truncated": out.truncated, "rev": rev_label }))
}

fn find(server: &Server, p: FindParams, overlay: &Overlay, cancel: &Cancel) -> Result<Value, RpcError> {
    let rev_label = given(p.rev);
    // The workspace is the working tree's snapshot, brought up to date,
    // with the unsaved buffers laid over it in memory.
    let none = Overlay::default();
    let (rev, overlay) = match &rev_label {
        Some(r) => (r.clone(), &none),
        None => {
            server.workspace_rev()?;
            (WORKTREE_NAME.to_string(), overlay)
        }
    };
    cancel.check()?;
    let req = FindRequest {
        query: p.query,
        at: RevisionSpec { rev: Some(rev), worktree: false },
        k: Some(p.k.unwrap_or(20)),
        mode: p.mode,
        budget: None,
        files: false,
    };
    let out = server.service.find_overlay(&req, overlay, &NoProgress)?;
    cancel.check()?;
    let hits: Vec<Value> = out
        .hits
        .iter()
        .map(|h| {
            let last = h.end_line.saturating_sub(1);
            // The chunk's text ends with its last line (unless it was cut).
            let end_character = if h.truncated { 0 } else { h.text.lines().last().map_or(0, utf16_len) };
            let end = if h.truncated {
                json!({ "line": last + 1, "character": 0 })
            } else {
                json!({ "line": last, "character": end_character })
            };
            json!({
                "uri": server.work_tree.uri_of(&h.path),
                "path": h.path,
                "rev": rev_label,
                "range": { "start": { "line": h.start_line.saturating_sub(1), "character": 0 }, "end": end },
                "symbol": h.symbol,
                "score": h.score,
                "text": h.text,
            })
        })
        .collect();
    Ok(json!({ "hits": hits, "mode": out.mode, "unembedded": out.unembedded, "truncated": out.truncated }))
}

fn revisions(server: &Server, params: Value) -> Result<Value, RpcError> {
    if !(params.is_null() || params.is_object()) {
        return Err(RpcError::invalid("invalid params: expected an object"));
    }
    let mut r = server.service.revisions()?;
    // The working tree's snapshot is this server's own: "the workspace".
    r.snapshots.retain(|s| s != WORKTREE_NAME);
    Ok(json!({ "head": r.head, "branches": r.branches, "tags": r.tags, "snapshots": r.snapshots }))
}

/// Largest file `grove/readFile` returns.
const MAX_READ_BYTES: usize = 64 << 20;

fn read_file(server: &Server, p: ReadFileParams, overlay: &Overlay) -> Result<Value, RpcError> {
    let bad = p.path.is_empty()
        || p.path.starts_with('/')
        || p.path.contains(['\\', '\0'])
        || p.path.split('/').any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(RpcError::invalid(format!(
            "invalid path '{}': give a path relative to the repository root, '/'-separated, without '.' or '..'",
            p.path.escape_debug()
        )));
    }
    let rev_label = given(p.rev);
    let bytes = match &rev_label {
        Some(r) => {
            let rev = server.named_rev(r)?;
            server.service.engine().read_file(&rev, p.path.as_bytes(), &NoProgress)?
        }
        None => match overlay.get(p.path.as_bytes()) {
            Some(buffer) => Some(buffer.to_vec()),
            None => {
                let rev = server.workspace_rev()?;
                server.service.engine().read_file(&rev, p.path.as_bytes(), &NoProgress)?
            }
        },
    };
    let Some(bytes) = bytes else {
        let at = rev_label.as_deref().unwrap_or("the workspace");
        return Err(RpcError::invalid(format!("no file '{}' in {at}", p.path)));
    };
    if bytes.len() > MAX_READ_BYTES {
        return Err(RpcError::failed(format!(
            "'{}' is {} bytes; at most {MAX_READ_BYTES} are returned",
            p.path,
            bytes.len()
        )));
    }
    Ok(json!({ "path": p.path, "rev": rev_label, "text": lossy(&bytes) }))
}

/// LSP's `SymbolKind` numbers for grove's kinds.
fn symbol_kind(kind: &str) -> lsp_types::SymbolKind {
    use lsp_types::SymbolKind as K;
    match kind {
        "function" => K::FUNCTION,
        "method" => K::METHOD,
        "constructor" => K::CONSTRUCTOR,
        "class" => K::CLASS,
        "struct" | "union" => K::STRUCT,
        "enum" => K::ENUM,
        "interface" | "trait" => K::INTERFACE,
        "impl" => K::OBJECT,
        "module" => K::MODULE,
        "namespace" => K::NAMESPACE,
        "type" => K::TYPE_PARAMETER,
        "constant" => K::CONSTANT,
        "variable" => K::VARIABLE,
        "field" => K::FIELD,
        "macro" => K::FUNCTION,
        _ => K::NULL,
    }
}

/// Most symbols one `workspace/symbol` answer lists (best first).
const MAX_SYMBOLS: usize = 500;

fn symbols(server: &Server, p: SymbolParams, overlay: &Overlay, cancel: &Cancel) -> Result<Value, RpcError> {
    if p.query.trim().is_empty() {
        return Ok(json!([]));
    }
    let rev = server.workspace_rev()?;
    cancel.check()?;
    let q = SymbolQuery { query: p.query, kinds: Vec::new(), limit: MAX_SYMBOLS };
    let hits = server.service.engine().symbols_overlay(&rev, overlay, &q, &NoProgress)?;
    let out: Vec<Value> = hits
        .iter()
        .map(|h| {
            let path = lossy(&h.path);
            json!({
                "name": h.name,
                "kind": symbol_kind(h.kind),
                "location": {
                    "uri": server.work_tree.uri_of(&path),
                    "range": {
                        "start": { "line": h.start_line.saturating_sub(1), "character": 0 },
                        "end": { "line": h.end_line, "character": 0 },
                    },
                },
                "containerName": h.container,
            })
        })
        .collect();
    Ok(Value::Array(out))
}
