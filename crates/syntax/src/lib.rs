//! Languages, definition-level chunks and symbols, from tree-sitter.
//!
//! This is the only crate that uses tree-sitter. It knows no embedding
//! model, no storage and no git: [`analyze`] takes a path and a file's bytes
//! and returns its [`Symbol`]s and [`Chunk`]s; everything else is the
//! caller's. Output depends only on (path, bytes, limits, enabled features),
//! so it can be stored per blob and shared across revisions.
//!
//! # Languages
//!
//! [`Lang::from_path`] picks the language by extension. Each grammar is
//! behind a cargo feature (`lang-rust`, `lang-python`, `lang-javascript`,
//! `lang-typescript` for TS and TSX, `lang-go`, `lang-java`, `lang-c`,
//! `lang-cpp`; all on by default). Definitions come from our own tags-style
//! queries in `grammars/<lang>/tags.scm` (see `grammars/README.md`), because
//! the ones shipped with the grammars miss many definitions.
//!
//! # Symbols
//!
//! Every `@definition.<kind>` capture is a [`Symbol`]: name, [`SymbolKind`],
//! container path and range. The range covers the definition with its
//! decorators, `export`, or `template<...>` wrapper, but not its doc
//! comment. Containers join enclosing definitions' names with `::` in every
//! language (`Outer::Inner` for a Python nested class, `ns::Foo` for a C++
//! method defined as `void ns::Foo::bar()` or inside `namespace ns`), and a
//! Go method's receiver type is its container. Functions directly inside a
//! class, struct, impl, trait or interface are methods. Values and type
//! aliases are never containers. [`symbol_match_score`] ranks names for
//! `grove symbols QUERY`.
//!
//! # Chunking rules
//!
//! 1. A definition's unit is its node, grown to wrappers that hold only it
//!    and decorations (Python decorators, JS/TS `export`, C++ `template<>`,
//!    Go `type`/`const`/`var`), plus the comment and attribute siblings
//!    directly above it (doc comments, `#[...]`, Javadoc, JSDoc, Go
//!    comments) that start their own line with no blank line between.
//!    Units start and end on line boundaries when only whitespace shares
//!    the line.
//! 2. The file (then each definition that is split) is tiled into its
//!    direct child definitions and the gaps between them (imports, top-level
//!    statements, a class's header and fields, closing braces). Nothing is
//!    dropped except whitespace: every non-blank line is in some chunk.
//! 3. A piece whose tokens plus its header's fit `max_tokens` is atomic.
//!    Adjacent atomic pieces are merged, in order, while one of the two
//!    sides is under `min_tokens` and the merged chunk (with header) fits.
//!    A merged chunk is named after its definition when it holds exactly one
//!    and not its container's own header; otherwise after the container
//!    (`None` at top level).
//! 4. A definition over budget is split: when it has child definitions it is
//!    tiled by rule 2 with itself as the owner (`Class` for the class header,
//!    `Class::method` for each method); otherwise, like an over-budget gap,
//!    it is cut into windows of whole lines within the budget, each carrying
//!    the definition's name. A single line over budget is cut inside the line.
//! 5. Files without a usable tree (no language, feature off, over 1 MiB,
//!    parse over 2 s, ERROR nodes over 25% and over 256 of the bytes) are cut into line
//!    windows of at most `window_lines` lines and `max_tokens`, overlapping
//!    by `overlap_lines`.
//!
//! Chunk text for embedding is `"<path> :: <symbol>\n<body>"` (just the path
//! when there is no symbol), see [`chunk_text`]; the header counts toward
//! `max_tokens` (unless a header alone takes over three quarters of it).
//!
//! # Token estimate
//!
//! Budgets use [`estimate_tokens`], a model-independent rule: ASCII words
//! (letters and digits) cost one token per four bytes rounded up, other
//! ASCII punctuation one each, non-ASCII characters one each, whitespace
//! nothing. It never undercounts a split: pieces sum to at least the whole.
//! Against all-MiniLM-L6-v2's WordPiece it overestimates slightly (estimate /
//! actual = 1.02 on git's C, 1.03 on grove's Rust and git's shell scripts;
//! `tools/calibrate_tokens.py`), so a 256 budget fits a 256-token model
//! once the two special tokens are allowed for by a margin.

mod chunk;
mod defs;
mod kind;
mod lang;
mod matcher;
mod tokens;

/// Version of the analysis rules (queries, chunking, token estimate,
/// lexical tokens). Stored results carry it; bump it whenever any of these
/// changes what `analyze` or `lexical_tokens` returns for some input.
pub const RULES_VERSION: u32 = 2;

pub use kind::SymbolKind;
pub use lang::Lang;
pub use matcher::{symbol_match_score, MatchKind};
pub use tokens::{estimate_tokens, lexical_tokens};

use chunk::{Chunker, LineIndex};

/// A definition in a file. Lines are 1-based and inclusive; bytes are a
/// half-open range.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
    /// Enclosing symbol path: `Foo` for method `Foo::bar`, `a::b` when nested.
    pub container: Option<String>,
    pub start_line: u32,
    pub end_line: u32,
    pub start_byte: u32,
    pub end_byte: u32,
}

/// A piece of a file to embed. Lines are 1-based and inclusive; bytes are a
/// half-open range.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Chunk {
    pub start_byte: u32,
    pub end_byte: u32,
    pub start_line: u32,
    pub end_line: u32,
    /// Enclosing symbol path, e.g. `Parser::parse_expr` or `impl Foo`.
    pub symbol: Option<String>,
}

/// What happened to a file's syntax.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ParseOutcome {
    /// Definitions and chunks come from the syntax tree.
    Parsed(Lang),
    /// The language's feature is off: line windows.
    NotCompiledIn(Lang),
    /// Too large, too slow or too many errors to trust: line windows.
    Failed(Lang),
    /// No known language: line windows.
    PlainText,
}

/// Symbols and chunks of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSyntax {
    pub outcome: ParseOutcome,
    /// Sorted by start (outer before inner).
    pub symbols: Vec<Symbol>,
    /// In file order; they may overlap only in line-window fallbacks.
    pub chunks: Vec<Chunk>,
}

/// Chunk size rules, in [`estimate_tokens`] tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Most tokens of a chunk, header included.
    pub max_tokens: usize,
    /// Adjacent pieces merge while one of them is smaller than this.
    pub min_tokens: usize,
    /// Most lines of a fallback window (0: no line limit).
    pub window_lines: usize,
    /// Lines a fallback window repeats from the previous one.
    pub overlap_lines: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits { max_tokens: 256, min_tokens: 48, window_lines: 40, overlap_lines: 5 }
    }
}

/// Symbols and chunks of the file at `path` with bytes `content`. Never
/// fails: a file that cannot be parsed still gets line-window chunks.
pub fn analyze(path: &[u8], content: &[u8], limits: &ChunkLimits) -> FileSyntax {
    let lines = LineIndex::new(content);
    let mut chunks = Vec::new();
    let lang = Lang::from_path(path);
    let grammar = lang.and_then(Lang::grammar);
    let (outcome, defs) = match (lang, grammar) {
        (None, _) => (ParseOutcome::PlainText, None),
        (Some(lang), None) => (ParseOutcome::NotCompiledIn(lang), None),
        (Some(lang), Some(grammar)) => match defs::extract(lang, &grammar, content) {
            Ok(defs) => (ParseOutcome::Parsed(lang), Some(defs)),
            Err(_) => (ParseOutcome::Failed(lang), None),
        },
    };
    let defs = defs.unwrap_or_default();
    let chunker = Chunker::new(path, content, &defs, &lines, limits);
    if matches!(outcome, ParseOutcome::Parsed(_)) {
        chunker.file(&mut chunks);
    } else {
        chunker.windows_only(limits.window_lines, limits.overlap_lines, &mut chunks);
    }
    let symbols = defs
        .into_iter()
        .map(|d| Symbol {
            start_line: lines.line_of(d.start),
            end_line: lines.line_of(d.end.saturating_sub(1).max(d.start)),
            start_byte: d.start as u32,
            end_byte: d.end as u32,
            name: d.name,
            kind: d.kind,
            container: d.container,
        })
        .collect();
    FileSyntax { outcome, symbols, chunks }
}

/// The text to embed for `chunk`: a header line `"<path> :: <symbol>"` (or
/// just the path) and the chunk's bytes, as lossy UTF-8. A chunk outside
/// `content` yields the header alone.
pub fn chunk_text(path: &[u8], content: &[u8], chunk: &Chunk) -> String {
    let body = content.get(chunk.start_byte as usize..chunk.end_byte as usize).unwrap_or(&[]);
    let path = String::from_utf8_lossy(path);
    let mut text = String::with_capacity(path.len() + body.len() + 32);
    text.push_str(&path);
    if let Some(symbol) = &chunk.symbol {
        text.push_str(" :: ");
        text.push_str(symbol);
    }
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(body));
    text
}

/// Compiles `lang`'s tags query and checks its captures (for tests and
/// `grove doctor`-style checks). `Err` names the problem.
pub fn check_query(lang: Lang) -> Result<(), String> {
    defs::compile_query_checked(lang)
}
