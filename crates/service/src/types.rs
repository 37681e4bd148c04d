//! Requests and responses. Field names are snake_case JSON; every optional
//! field has the default a client would expect, and unknown fields are
//! refused so a misspelt option is an error rather than silently ignored.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which state of the repository a request reads.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RevisionSpec {
    /// A revision git understands (`main`, `v1.2`, `HEAD~3`, a sha) or a grove
    /// snapshot name (from `fork` or `apply_patch`). Default: HEAD.
    #[serde(default)]
    pub rev: Option<String>,
    /// Read the working tree as it is now (uncommitted and untracked files
    /// included) instead of a revision.
    #[serde(default)]
    pub worktree: bool,
}

/// Regex search over one or more revisions (or the working tree).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// A regular expression (Rust/ripgrep syntax), or a literal with `fixed_strings`.
    pub pattern: String,
    /// Revisions to search (several: each match says which). Default: HEAD.
    #[serde(default)]
    pub revs: Vec<String>,
    /// Also every tag matching this glob (`v*`).
    #[serde(default)]
    pub tags: Option<String>,
    /// Also every local branch matching this glob.
    #[serde(default)]
    pub branches: Option<String>,
    /// Search the working tree instead of revisions.
    #[serde(default)]
    pub worktree: bool,
    /// Only matching lines that the same path does not have in this revision
    /// ("did this change introduce X?").
    #[serde(default)]
    pub since: Option<String>,
    /// Path globs (`*.rs`, `src/**`; `!` excludes), as ripgrep's `-g`.
    #[serde(default)]
    pub globs: Vec<String>,
    /// Match letters of either case.
    #[serde(default)]
    pub ignore_case: bool,
    /// Take `pattern` as a literal string, not a regex.
    #[serde(default)]
    pub fixed_strings: bool,
    /// Whole words only.
    #[serde(default)]
    pub word: bool,
    /// Lines of context before and after each match (at most 10).
    #[serde(default)]
    pub context: usize,
    /// At most this many matching lines (default and cap: the server's limit).
    #[serde(default)]
    pub max_results: Option<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Span {
    /// Byte offsets into `text` (UTF-8; invalid bytes were replaced by U+FFFD).
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct MatchLine {
    /// The revision label as requested (`worktree` for the working tree).
    pub rev: String,
    pub path: String,
    /// 1-based.
    pub line: u64,
    /// 1-based byte column of the first match.
    pub column: usize,
    pub text: String,
    pub submatches: Vec<Span>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct RevisionInfo {
    pub label: String,
    pub commit: String,
}

/// Matching lines, bounded by the server's limits; `truncated` says whether any were left out.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SearchResponse {
    pub matches: Vec<MatchLine>,
    /// Matching lines found, including those left out by the limits.
    pub total_matches: u64,
    /// Files (per revision) with a match.
    pub files: usize,
    /// True when matches were left out (count or size limit).
    pub truncated: bool,
    pub revisions: Vec<RevisionInfo>,
    /// Files that were not searched (binary, too large), by reason.
    pub skipped: Vec<SkippedFile>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SkippedFile {
    pub rev: String,
    pub path: String,
    pub reason: String,
}

/// Search by meaning or identifiers: BM25 over identifier-split terms and embeddings, fused.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindRequest {
    /// What to look for, in words or identifiers ("where are retries with backoff configured").
    pub query: String,
    #[serde(flatten)]
    pub at: RevisionSpec,
    /// Results wanted (default 10, at most the server's limit).
    #[serde(default)]
    pub k: Option<usize>,
    /// `hybrid` (default), `lexical` (no model needed) or `dense`.
    #[serde(default)]
    pub mode: Option<String>,
    /// Token budget for the returned text (default: the server's).
    #[serde(default)]
    pub budget: Option<usize>,
    /// One result per file, without text.
    #[serde(default)]
    pub files: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct FindHitOut {
    pub path: String,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    pub symbol: Option<String>,
    pub score: f32,
    pub lexical_rank: Option<u32>,
    pub dense_rank: Option<u32>,
    pub text: String,
    /// The text was cut to fit the budget.
    pub truncated: bool,
}

/// The best chunks, their text cut to the token budget.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct FindResponse {
    pub hits: Vec<FindHitOut>,
    pub mode: String,
    /// `identifier`, `prose` or `mixed`: how the query was read.
    pub shape: String,
    pub chunks: usize,
    /// Chunks without a vector, ranked lexically only.
    pub unembedded: usize,
    pub tokens: usize,
    /// Results were left out because the budget was spent.
    pub truncated: bool,
}

/// Definitions by name.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SymbolsRequest {
    /// A name: exact matches first, then prefixes, then fuzzy.
    pub query: String,
    #[serde(flatten)]
    pub at: RevisionSpec,
    /// Only these kinds (`function`, `method`, `class`, `struct`, ...).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// At most this many symbols (default and cap: the server's limit).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SymbolOut {
    pub name: String,
    pub kind: String,
    pub container: Option<String>,
    pub path: String,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    /// `exact`, `prefix` or `fuzzy`.
    pub match_kind: String,
}

/// Definitions, best match first.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SymbolsResponse {
    pub symbols: Vec<SymbolOut>,
    pub truncated: bool,
}

/// A file (or a line range of it) at a revision.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadFileRequest {
    /// Repository-relative, '/'-separated.
    pub path: String,
    #[serde(flatten)]
    pub at: RevisionSpec,
    /// 1-based first line (default 1).
    #[serde(default)]
    pub start_line: Option<u64>,
    /// 1-based last line, inclusive (default: the end, within the size limit).
    #[serde(default)]
    pub end_line: Option<u64>,
}

/// The requested lines; `truncated` when the size limit cut the range.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ReadFileResponse {
    pub path: String,
    pub rev: String,
    pub commit: String,
    /// The requested lines (UTF-8; invalid bytes replaced by U+FFFD).
    pub text: String,
    pub start_line: u64,
    /// Last line included (0 when the range is empty).
    pub end_line: u64,
    pub total_lines: u64,
    /// Lines were left out: the range was cut to the size limit.
    pub truncated: bool,
    /// The file looks binary; `text` is empty.
    pub binary: bool,
}

/// The files of a revision, optionally filtered by globs.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListFilesRequest {
    #[serde(flatten)]
    pub at: RevisionSpec,
    /// Path globs (`*.py`, `src/**`; `!` excludes).
    #[serde(default)]
    pub globs: Vec<String>,
    /// At most this many paths (default and cap: the server's limit).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// File paths in git's order.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ListFilesResponse {
    pub files: Vec<String>,
    /// Files matching, including those left out by the limit.
    pub total: usize,
    pub truncated: bool,
}

/// What can be searched.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Default)]
pub struct RevisionsResponse {
    /// The branch HEAD is on, or its commit when detached.
    pub head: Option<String>,
    pub branches: Vec<String>,
    pub tags: Vec<String>,
    /// grove's named snapshots (forks, patch and working-tree states).
    pub snapshots: Vec<String>,
}

/// The files that differ between two states.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffRequest {
    /// The old state: a revision or snapshot name.
    pub from: String,
    /// The new state (default: HEAD).
    #[serde(default)]
    pub to: Option<String>,
    /// Compare with the working tree instead of `to`.
    #[serde(default)]
    pub worktree: bool,
    /// At most this many changed files (default and cap: the server's limit).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ChangedFile {
    /// `added`, `deleted`, `modified` or `renamed`.
    pub status: String,
    pub path: String,
    /// The old path of a rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
}

/// Changed files, sorted by path.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct DiffResponse {
    pub from: RevisionInfo,
    pub to: RevisionInfo,
    pub changes: Vec<ChangedFile>,
    pub total: usize,
    pub truncated: bool,
}

/// Names a snapshot of a revision: one ref write, nothing copied.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForkRequest {
    /// A revision or snapshot name to fork.
    pub src: String,
    /// The new snapshot's name (no spaces; replaces an existing one).
    pub name: String,
}

/// Applies a unified diff to a snapshot in the index, never to files on disk.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyPatchRequest {
    /// The snapshot to create or update.
    pub name: String,
    /// A unified diff (`git diff` output, or `---`/`+++` hunks).
    pub patch: String,
    /// Apply on top of this revision or snapshot instead of NAME's current
    /// state (default: NAME if it exists, else HEAD).
    #[serde(default)]
    pub base: Option<String>,
}

/// The named snapshot a fork or patch produced.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SnapshotResponse {
    pub name: String,
    /// The snapshot's content id.
    pub snapshot: String,
    pub commit: String,
    /// Files the operation changed (0 for a fork).
    pub changed_files: usize,
    /// Blobs indexed because the index had never seen them.
    pub new_blobs: u64,
}

/// Index revisions now (default HEAD).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexRequest {
    #[serde(default)]
    pub revs: Vec<String>,
    #[serde(default)]
    pub tags: Option<String>,
    #[serde(default)]
    pub branches: Option<String>,
}

/// What indexing did.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct IndexResponse {
    pub revisions: Vec<RevisionInfo>,
    pub already_indexed: usize,
    pub files: u64,
    pub new_blobs: u64,
    pub seconds: f64,
}
