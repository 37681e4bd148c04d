//! The MCP tools: each one a grove-service request, run on a blocking
//! thread, its result rendered as compact text within a token budget plus
//! the (equally cut) service response as structured content.

use std::sync::Arc;

use grove_engine::NoProgress;
use grove_service::*;
use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{tool, tool_handler, tool_router, ServerHandler};
use serde::Serialize;

use crate::params::{Budgeted, NoFields};
use crate::render::{self, TextBudget};

const INSTRUCTIONS: &str = "\
grove searches this git repository at any revision (branch, tag, commit) without checking it out, \
and at snapshots of proposed changes.
- search: exact text or a regex, like git grep; several revisions at once (revs, tags); path globs.
- find: concepts in words (\"where are retries configured\"); ranked code chunks (semantic with an embedding model).
- symbols: where a function/class/method is defined, by name.
- read_file: a file (or a line range) at a revision; list_files: paths at a revision, by glob.
- list_revisions: branches, tags, snapshots; diff: files changed between two revisions.
- fork + apply_patch: check a change before writing it: apply_patch(name, patch) makes a snapshot of HEAD \
plus your unified diff, then search/read_file/diff with rev=<name> see the result. Nothing on disk changes.
Results are compact text within max_tokens (default 4000); a last line says when they were cut and how to \
get the rest. Paths are repository-relative with '/'.";

#[derive(Clone)]
pub struct GroveTools {
    service: Arc<Service>,
    tool_router: ToolRouter<Self>,
}

/// What a tool call yields when the service refuses or fails: an error
/// result the agent reads and can act on.
fn tool_error(e: &ServiceError) -> CallToolResult {
    let hint = match e.kind {
        ErrorKind::NotFound => " (list_revisions shows the revisions and snapshots; list_files shows the paths)",
        ErrorKind::Unavailable => " (find with mode=\"lexical\" works without an embedding model)",
        ErrorKind::InvalidRequest | ErrorKind::Internal => "",
    };
    let kind = match e.kind {
        ErrorKind::InvalidRequest => "invalid request",
        ErrorKind::NotFound => "not found",
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::Internal => "internal error",
    };
    CallToolResult::error(vec![ContentBlock::text(format!("{kind}: {}{hint}", e.message))])
}

fn success<T: Serialize>(text: String, structured: &T) -> CallToolResult {
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = serde_json::to_value(structured).ok();
    result
}

impl GroveTools {
    pub fn new(service: Arc<Service>) -> GroveTools {
        GroveTools { service, tool_router: Self::tool_router() }
    }

    fn budget(&self, max_tokens: Option<usize>) -> TextBudget {
        TextBudget::new(max_tokens, self.service.limits().max_text_bytes)
    }

    /// Runs a service call on the blocking pool: the engine reads files and
    /// may index, and must not hold up the protocol loop. A panic in the
    /// engine becomes an error result; the server keeps serving.
    async fn call<R, F>(&self, op: F) -> Result<R, ServiceError>
    where
        R: Send + 'static,
        F: FnOnce(&Service) -> Result<R, ServiceError> + Send + 'static,
    {
        let service = self.service.clone();
        match tokio::task::spawn_blocking(move || op(&service)).await {
            Ok(r) => r,
            Err(e) => Err(ServiceError { kind: ErrorKind::Internal, message: format!("the request failed: {e}") }),
        }
    }
}

#[tool_router]
impl GroveTools {
    #[tool(
        description = "Search file contents with a regular expression (Rust/ripgrep syntax; fixed_strings for a \
literal), like `git grep`, at one or several revisions without checking them out. Default: HEAD. `revs` takes \
branches, tags, commits or snapshot names; `tags`/`branches` add every ref matching a glob; `globs` filter paths \
(`*.py`, `src/**`, `!tests/**`); `since` keeps only lines that revision did not have. Output: `path:line:text` \
per match (`path-line-text` for context lines), grouped under `[rev commit]` when several revisions are searched, \
then a summary line with totals and whether it was truncated.",
        output_schema = schema_for_output::<SearchResponse>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn search(&self, Parameters(p): Parameters<Budgeted<SearchRequest>>) -> CallToolResult {
        let req = p.request;
        let pattern = req.pattern.clone();
        let mut budget = self.budget(p.max_tokens);
        match self.call(move |s| s.search(&req, &NoProgress)).await {
            Ok(resp) => {
                let (summary, shown) = render::search(resp, &mut budget, &pattern);
                success(budget.finish(&summary), &shown)
            }
            Err(e) => tool_error(&e),
        }
    }

    #[tool(
        description = "Find code by meaning: a question or description in words (\"where are HTTP retries \
configured\") or identifiers; returns the best-matching code chunks with their text. `mode`: hybrid (default; \
lexical only when the server has no embedding model), lexical, dense (needs the model). `k` results (default 10); `files=true` \
for one path per file without text. Read one revision (`rev`, default HEAD, or a snapshot) or `worktree=true`. \
`max_tokens` bounds the whole answer (`budget`, if given, only the chunk text). For exact text use search; for \
a definition by name use symbols.",
        output_schema = schema_for_output::<FindResponse>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn find(&self, Parameters(p): Parameters<Budgeted<FindRequest>>) -> CallToolResult {
        let mut req = p.request;
        let mut budget = self.budget(p.max_tokens);
        // The engine fills its own token budget with chunk text; leave room
        // for the headers and the summary.
        if req.budget.is_none() {
            req.budget = Some(budget.remaining() / crate::params::BYTES_PER_TOKEN * 9 / 10);
        }
        // Without a model the default still answers: lexically, and says so.
        let fallback = req.mode.is_none();
        let outcome = self
            .call(move |s| match s.find(&req, &NoProgress) {
                Err(e) if fallback && e.kind == ErrorKind::Unavailable => {
                    let lexical = FindRequest { mode: Some("lexical".into()), ..req };
                    s.find(&lexical, &NoProgress).map(|r| (r, true))
                }
                other => other.map(|r| (r, false)),
            })
            .await;
        match outcome {
            Ok((resp, fell_back)) => {
                let (mut summary, shown) = render::find(resp, &mut budget);
                if fell_back {
                    summary.push("no embedding model on this server: ranked lexically only".into());
                }
                success(budget.finish(&summary), &shown)
            }
            Err(e) => tool_error(&e),
        }
    }

    #[tool(
        description = "Where symbols are defined (functions, methods, classes, structs, ...), by name: exact \
matches first, then prefixes, then fuzzy. `kinds` filters (`function`, `method`, `class`, `struct`, ...). \
Output: `path:start-end  kind Container.name  (exact|prefix|fuzzy)`; read_file with that range shows the code.",
        output_schema = schema_for_output::<SymbolsResponse>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn symbols(&self, Parameters(p): Parameters<Budgeted<SymbolsRequest>>) -> CallToolResult {
        let req = p.request;
        let query = req.query.clone();
        let mut budget = self.budget(p.max_tokens);
        match self.call(move |s| s.symbols(&req, &NoProgress)).await {
            Ok(resp) => {
                let (summary, shown) = render::symbols(resp, &mut budget, &query);
                success(budget.finish(&summary), &shown)
            }
            Err(e) => tool_error(&e),
        }
    }

    #[tool(
        description = "Read a file at a revision (default HEAD; a branch, tag, commit, snapshot, or \
`worktree=true`), optionally a line range (`start_line`, `end_line`, 1-based, inclusive). Output: numbered \
lines (`N<TAB>text`) and a line stating the range shown and the file's length; when cut to the budget it says \
which start_line to call again with.",
        output_schema = schema_for_output::<ReadFileResponse>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn read_file(&self, Parameters(p): Parameters<Budgeted<ReadFileRequest>>) -> CallToolResult {
        let req = p.request;
        let mut budget = self.budget(p.max_tokens);
        match self.call(move |s| s.read_file(&req, &NoProgress)).await {
            Ok(resp) => {
                let (summary, shown) = render::read_file(resp, &mut budget);
                success(budget.finish(&summary), &shown)
            }
            Err(e) => tool_error(&e),
        }
    }

    #[tool(
        description = "List the files of a revision (default HEAD, or `rev`, or `worktree=true`), filtered by \
path globs (`*.py`, `src/**`, `!tests/**`). One path per line, then the total.",
        output_schema = schema_for_output::<ListFilesResponse>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_files(&self, Parameters(p): Parameters<Budgeted<ListFilesRequest>>) -> CallToolResult {
        let req = p.request;
        let mut budget = self.budget(p.max_tokens);
        match self.call(move |s| s.list_files(&req, &NoProgress)).await {
            Ok(resp) => {
                let (summary, shown) = render::list_files(resp, &mut budget);
                success(budget.finish(&summary), &shown)
            }
            Err(e) => tool_error(&e),
        }
    }

    #[tool(
        description = "The revisions this repository has: the branch HEAD is on, local branches, tags, and \
grove snapshots (from fork/apply_patch). Any of these names works as `rev` in the other tools.",
        output_schema = schema_for_output::<RevisionsResponse>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_revisions(&self, Parameters(p): Parameters<Budgeted<NoFields>>) -> CallToolResult {
        let mut budget = self.budget(p.max_tokens);
        match self.call(|s| s.revisions()).await {
            Ok(resp) => {
                let summary = render::revisions(&resp, &mut budget);
                success(budget.finish(&summary), &resp)
            }
            Err(e) => tool_error(&e),
        }
    }

    #[tool(
        description = "The files changed between two revisions: `from` (required) and `to` (default HEAD; or \
`worktree=true` for uncommitted changes). One line per file: `A path`, `M path`, `D path`, `R old -> new`. Use \
read_file at each revision for the contents, or search with since=<from> for the lines added.",
        output_schema = schema_for_output::<DiffResponse>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn diff(&self, Parameters(p): Parameters<Budgeted<DiffRequest>>) -> CallToolResult {
        let req = p.request;
        let mut budget = self.budget(p.max_tokens);
        match self.call(move |s| s.diff(&req, &NoProgress)).await {
            Ok(resp) => {
                let (summary, shown) = render::diff(resp, &mut budget);
                success(budget.finish(&summary), &shown)
            }
            Err(e) => tool_error(&e),
        }
    }

    #[tool(
        description = "Create (or replace) a named snapshot: a copy of a revision or snapshot `src` under \
`name`, kept in grove's index (no git ref, no checkout, nothing on disk changes). Usually apply_patch alone is \
enough; fork is for starting several variants from one base.",
        output_schema = schema_for_output::<SnapshotResponse>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn fork(&self, Parameters(req): Parameters<ForkRequest>) -> CallToolResult {
        match self.call(move |s| s.fork(&req, &NoProgress)).await {
            Ok(resp) => success(render::snapshot(&resp, "created"), &resp),
            Err(e) => tool_error(&e),
        }
    }

    #[tool(
        description = "Apply a unified diff (`git diff` output, or `---`/`+++` hunks with repository-relative \
paths) to a snapshot `name` — on top of `base` if given, else on the snapshot's current state, else on HEAD — \
so you can search, read and diff your proposed change (rev=<name>) before writing it. Only grove's index \
changes, never the working tree. A patch that does not apply is an error naming the file and hunk.",
        output_schema = schema_for_output::<SnapshotResponse>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    async fn apply_patch(&self, Parameters(req): Parameters<ApplyPatchRequest>) -> CallToolResult {
        match self.call(move |s| s.apply_patch(&req, &NoProgress)).await {
            Ok(resp) => success(render::snapshot(&resp, "updated"), &resp),
            Err(e) => tool_error(&e),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for GroveTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("grove", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}
