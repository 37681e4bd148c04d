use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// grove: regex search over any revision of a git repository, from a
/// content-addressed index that is shared between revisions.
#[derive(Parser, Debug)]
#[command(name = "grove", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "Examples:
  grove search 'fn main'                     search HEAD (indexing it first if needed)
  grove search -i 'todo|fixme' --rev v2.0    search a tag, case-insensitively
  grove search -c unsafe --tags 'v*'         count per file across every v* tag
  grove search --since main 'unwrap\\('        matches this branch added over main
  grove search --worktree TODO               the working tree, unsaved-to-git edits included
  grove apply wip --patch change.diff        a snapshot of HEAD + a patch, on no disk
  grove search --rev wip 'fn new_api'        ... and search it
  grove index --branches '*'                 index every local branch
  grove index --watch --branches '*'         keep indexing each branch's new commits (Ctrl-C stops)
  grove symbols parse_expr --kind function   definitions by name (exact, prefix, fuzzy)
  grove index --semantic                     embed HEAD's chunks (slow on a CPU; resumable)
  grove find 'where do we retry failed connections'   hybrid lexical + semantic search
  grove check                                verify the index";

#[derive(Args, Debug)]
pub struct Global {
    /// The repository (default: the one containing the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Where the index lives (default: <git-dir>/grove).
    #[arg(long, global = true, value_name = "DIR", env = "GROVE_INDEX_DIR")]
    pub index_dir: Option<PathBuf>,
    /// Embedding model directory (config.json, tokenizer.json, model.safetensors) for
    /// `find` and `index --semantic`; default: $GROVE_MODEL_DIR, then the Hugging Face cache.
    #[arg(long, global = true, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Index revisions (default HEAD). Blobs already indexed are never re-read.
    Index(IndexArgs),
    /// Search revisions for a regex (ripgrep syntax); indexes them first if needed.
    #[command(visible_alias = "s")]
    Search(SearchArgs),
    /// Verify the whole index (checksums and references) and say what is wrong.
    Check,
    /// Create a named snapshot sharing everything with SRC (a revision or a snapshot name).
    Fork(ForkArgs),
    /// Point a named snapshot at the working tree, a patch, or another revision.
    Apply(ApplyArgs),
    /// List snapshots: the refs they serve, their size and how much they share.
    List(ListArgs),
    /// Remove a named snapshot (or a revision's snapshot); `grove gc` reclaims its space.
    Drop(DropArgs),
    /// Delete index files no snapshot uses (after a grace period for running readers).
    Gc(GcArgs),
    /// Merge small delta segments and reclaim dead documents now.
    Compact,
    /// Find definitions (functions, types, ...) by name: exact, then prefix, then fuzzy.
    Symbols(SymbolsArgs),
    /// Find code by meaning or identifiers: BM25 + embeddings, fused (see --mode).
    Find(FindArgs),
    /// Serve an editor over stdio: the Language Server Protocol (docs/lsp.md).
    Lsp,
    /// Serve AI agents over stdio: the Model Context Protocol (docs/mcp.md).
    Mcp,
    /// Serve an HTTP/JSON API over one or more repositories (docs/http.md).
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The address to listen on (loopback unless you say otherwise).
    #[arg(long = "http", value_name = "ADDR", default_value = "127.0.0.1:7878")]
    pub addr: std::net::SocketAddr,
    /// Repositories to serve, as NAME=DIR or DIR (named after its directory);
    /// default: the repository given by --repo or containing the current directory.
    #[arg(value_name = "[NAME=]DIR")]
    pub repos: Vec<String>,
    /// Require `Authorization: Bearer TOKEN` on every request but /healthz.
    /// Prefer the environment variable: a command line is visible to other users.
    #[arg(long, env = "GROVE_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Seconds a request may run before it is answered 503 (timeout).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Largest request body accepted (413 beyond).
    #[arg(long, value_name = "SIZE", default_value = "1M")]
    pub max_body: Size,
    /// Requests doing engine work at the same time; others wait their turn
    /// (default: twice the number of cores).
    #[arg(long, value_name = "N")]
    pub max_concurrent: Option<usize>,
    /// Matching lines, symbols, files or changes per response, at most.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_results: usize,
}

/// The one state `symbols` and `find` look at.
#[derive(Args, Debug)]
pub struct TargetArgs {
    /// The revision or snapshot (default HEAD).
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// The working tree as it is now.
    #[arg(long, conflicts_with = "rev")]
    pub worktree: bool,
}

#[derive(Args, Debug)]
pub struct SymbolsArgs {
    /// A name, a prefix, or letters in order (fuzzy).
    #[arg(value_name = "QUERY")]
    pub query: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Only this kind (repeatable): function, method, class, struct, enum, interface, trait, ...
    #[arg(long, value_name = "KIND")]
    pub kind: Vec<String>,
    /// At most this many results.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
    /// JSON Lines, one object per symbol.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum FindModeArg {
    Lexical,
    Dense,
    Hybrid,
}

#[derive(Args, Debug)]
pub struct FindArgs {
    /// Natural language, identifiers, or both.
    #[arg(value_name = "QUERY")]
    pub query: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Number of results.
    #[arg(short = 'k', long, value_name = "N", default_value_t = 10)]
    pub k: usize,
    /// One result per file (best chunk), paths only unless --budget.
    #[arg(long)]
    pub files: bool,
    /// Assemble at most this many tokens of text (for agents); later results are cut.
    #[arg(long, value_name = "TOKENS")]
    pub budget: Option<usize>,
    /// lexical (BM25 over identifier-split terms), dense (embeddings) or hybrid (both, fused).
    #[arg(long, value_enum, default_value_t = FindModeArg::Hybrid)]
    pub mode: FindModeArg,
    /// At most this many results from one file.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub per_file: usize,
    /// JSON Lines: one object per result, then a summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ForkArgs {
    /// The revision or snapshot to fork.
    #[arg(value_name = "SRC")]
    pub src: String,
    /// The new snapshot's name (usable with --rev).
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["worktree", "patch", "rev"])))]
pub struct ApplyArgs {
    /// The snapshot to create or move.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Reflect the working tree: uncommitted changes, deletions, untracked files not ignored.
    #[arg(long)]
    pub worktree: bool,
    /// Apply a unified diff (a file, or - for stdin) without touching any file on disk.
    #[arg(long, value_name = "FILE")]
    pub patch: Option<PathBuf>,
    /// Move NAME to this revision.
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// With --patch: the snapshot or revision to apply it to when NAME does not exist yet (default HEAD).
    #[arg(long, value_name = "SRC", requires = "patch")]
    pub base: Option<String>,
    /// Skip files larger than this (e.g. 2M, 512K); they are reported.
    #[arg(long, value_name = "SIZE", default_value = "2M")]
    pub max_filesize: Size,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// JSON Lines, one object per snapshot.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DropArgs {
    /// A snapshot name, or a revision whose snapshot to drop.
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Args, Debug)]
pub struct GcArgs {
    /// Keep unreferenced files younger than this many seconds (readers may still use them).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub grace: u64,
    /// No grace period: delete every unreferenced file now.
    #[arg(long)]
    pub now: bool,
}

/// Which revisions to index or search; none means HEAD.
#[derive(Args, Debug)]
pub struct RevArgs {
    /// A revision or snapshot name (repeatable): branch, tag, sha, HEAD~3, a fork.
    #[arg(long, value_name = "REV")]
    pub rev: Vec<String>,
    /// Every tag matching the glob (repeatable), e.g. 'v*'.
    #[arg(long, value_name = "GLOB")]
    pub tags: Vec<String>,
    /// Every local branch matching the glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub branches: Vec<String>,
    /// Every tag and every local branch.
    #[arg(long)]
    pub all_refs: bool,
}

impl RevArgs {
    pub fn selection(&self) -> grove_engine::RevSelection {
        grove_engine::RevSelection {
            revs: self.rev.clone(),
            tags: self.tags.clone(),
            branches: self.branches.clone(),
            all_refs: self.all_refs,
        }
    }
}

#[derive(Args, Debug)]
pub struct IndexArgs {
    #[command(flatten)]
    pub revs: RevArgs,
    /// Skip files larger than this (e.g. 2M, 512K); they are reported.
    #[arg(long, value_name = "SIZE", default_value = "2M")]
    pub max_filesize: Size,
    /// Delete the index and build it again.
    #[arg(long)]
    pub rebuild: bool,
    /// Print the time spent in each phase.
    #[arg(short, long)]
    pub verbose: bool,
    /// Also embed the revisions' chunks for `grove find` (slow on a CPU; Ctrl-C keeps what is done).
    #[arg(long)]
    pub semantic: bool,
    /// Keep running: whenever the revisions move (a commit on HEAD or a
    /// branch, a new tag), index where they point now, one commit at a
    /// time in this process, whose caches stay warm. Ctrl-C stops.
    #[arg(long, conflicts_with_all = ["rebuild", "semantic"])]
    pub watch: bool,
    /// How often --watch looks at the revisions (e.g. 500ms, 2s, 1m).
    #[arg(long, value_name = "DURATION", default_value = "1s", requires = "watch")]
    pub interval: Interval,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// A regular expression (ripgrep/Rust regex syntax). Use -e for a
    /// pattern that starts with '-'.
    #[arg(value_name = "PATTERN", required_unless_present = "regexp")]
    pub pattern: Option<String>,
    /// The pattern, given as an option (for patterns starting with '-').
    #[arg(short = 'e', long = "regexp", value_name = "PATTERN", allow_hyphen_values = true)]
    pub regexp: Option<String>,
    #[command(flatten)]
    pub revs: RevArgs,
    /// Search the working tree as it is now (uncommitted and untracked files included).
    #[arg(long, conflicts_with_all = ["rev", "tags", "branches", "all_refs"])]
    pub worktree: bool,
    /// Only report matching lines that REV does not have at the same path.
    #[arg(long, value_name = "REV")]
    pub since: Option<String>,
    /// Case-insensitive search.
    #[arg(short = 'i', long, overrides_with_all = ["smart_case", "case_sensitive"])]
    pub ignore_case: bool,
    /// Case-insensitive unless the pattern contains an uppercase letter.
    #[arg(short = 'S', long, overrides_with_all = ["ignore_case", "case_sensitive"])]
    pub smart_case: bool,
    /// Case-sensitive search (the default).
    #[arg(short = 's', long, overrides_with_all = ["ignore_case", "smart_case"])]
    pub case_sensitive: bool,
    /// Treat the pattern as a literal string.
    #[arg(short = 'F', long)]
    pub fixed_strings: bool,
    /// Only match whole words.
    #[arg(short = 'w', long)]
    pub word_regexp: bool,
    /// Let matches span lines.
    #[arg(short = 'U', long)]
    pub multiline: bool,
    /// Only search paths matching the glob; '!GLOB' excludes (repeatable).
    #[arg(short = 'g', long = "glob", value_name = "GLOB")]
    pub glob: Vec<String>,
    /// Lines of context around each match.
    #[arg(short = 'C', long, value_name = "N")]
    pub context: Option<usize>,
    /// Lines of context after each match.
    #[arg(short = 'A', long, value_name = "N")]
    pub after_context: Option<usize>,
    /// Lines of context before each match.
    #[arg(short = 'B', long, value_name = "N")]
    pub before_context: Option<usize>,
    /// Print only the paths of matching files.
    #[arg(short = 'l', long)]
    pub files_with_matches: bool,
    /// Print the number of matching lines per file.
    #[arg(short = 'c', long)]
    pub count: bool,
    /// Stop after N matching lines per file.
    #[arg(short = 'm', long, value_name = "N")]
    pub max_count: Option<u64>,
    /// Accepted for git grep compatibility; line numbers are always shown.
    #[arg(short = 'n', long = "line-number", hide = true)]
    pub line_number: bool,
    /// JSON Lines: one object per matching line, then a summary object (docs/json.md).
    /// Same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Output format: `text` (git grep -n), `json` (JSON Lines), or `github`
    /// (workflow annotations `::error file=...,line=...::...`, one per match).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Annotation level with `--format github`.
    #[arg(long, value_enum, default_value_t = Level::Error, value_name = "LEVEL")]
    pub annotation_level: Level,
    /// When to use colours.
    #[arg(long, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    pub color: Color,
    /// Files larger than this are not searched (they are reported).
    #[arg(long, value_name = "SIZE", default_value = "2M")]
    pub max_filesize: Size,
}

impl SearchArgs {
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            self.format.unwrap_or(Format::Text)
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Github,
}

/// GitHub Actions' annotation commands.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// A byte size such as `2M`, `512K` or `1048576`.
#[derive(Clone, Copy, Debug)]
pub struct Size(pub u64);

impl std::str::FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Size, String> {
        let s = s.trim();
        let (num, mult) = match s.char_indices().last() {
            Some((i, 'K' | 'k')) => (&s[..i], 1u64 << 10),
            Some((i, 'M' | 'm')) => (&s[..i], 1 << 20),
            Some((i, 'G' | 'g')) => (&s[..i], 1 << 30),
            _ => (s, 1),
        };
        let n: u64 = num.parse().map_err(|_| format!("invalid size '{s}' (expected e.g. 2M, 512K, 1000)"))?;
        n.checked_mul(mult).map(Size).ok_or_else(|| format!("size '{s}' is too large"))
    }
}

/// A duration such as `500ms`, `2s` or `1m` (a bare number is seconds).
#[derive(Clone, Copy, Debug)]
pub struct Interval(pub std::time::Duration);

impl std::str::FromStr for Interval {
    type Err = String;
    fn from_str(s: &str) -> Result<Interval, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u64 = num.parse().map_err(|_| format!("invalid duration '{s}' (expected e.g. 500ms, 2s, 1m)"))?;
        let ms = match unit {
            "ms" => n,
            "" | "s" => n.saturating_mul(1000),
            "m" => n.saturating_mul(60_000),
            _ => return Err(format!("invalid duration '{s}' (units: ms, s, m)")),
        };
        if ms == 0 {
            return Err("the interval must be more than zero".into());
        }
        Ok(Interval(std::time::Duration::from_millis(ms)))
    }
}
