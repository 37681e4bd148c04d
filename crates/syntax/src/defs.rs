//! Parsing a file and extracting its definitions with our tags queries.

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, ParseOptions, Parser, Query, QueryCursor};

use crate::lang::{AttachRules, Grammar, Lang};
use crate::SymbolKind;

/// Files above this size are not parsed (line windows instead): generated
/// code and data, where parse time grows and definitions mean little.
pub(crate) const MAX_PARSE_BYTES: usize = 1 << 20;
/// Safety net against pathological grammar behaviour. Generous so that the
/// outcome does not depend on machine load in practice.
const PARSE_TIME_BUDGET: Duration = Duration::from_secs(2);
/// A tree whose ERROR nodes cover more than this fraction of the file is
/// treated as a parse failure: its definitions would be unreliable...
const MAX_ERROR_FRACTION: f64 = 0.25;
/// ... unless they are this small: one broken line in a short file (an
/// editor's buffer mid-edit) must not hide the file's other definitions.
const TOLERATED_ERROR_BYTES: usize = 256;
/// Longest symbol name kept (`impl` blocks on complex types name the type as written).
const MAX_NAME_BYTES: usize = 160;

/// One definition found in a file.
#[derive(Clone, Debug)]
pub(crate) struct Def {
    pub name: String,
    pub kind: SymbolKind,
    /// Range of the definition, including decorators, `export`, `template<>`.
    pub start: usize,
    pub end: usize,
    /// Start including the doc comments and attributes directly above.
    pub chunk_start: usize,
    /// Index of the innermost enclosing definition in the sorted list.
    pub parent: Option<usize>,
    /// Enclosing symbol path, e.g. `a::Foo`.
    pub container: Option<String>,
    /// This definition's path for chunk headers: `Foo::bar`, `impl Display for Foo`.
    pub path: String,
    /// Container and name: what definitions inside this one are "in".
    qualified: String,
}

impl Def {
    fn qualified(&self) -> &str {
        &self.qualified
    }
}

/// Why tree-sitter's result was not used.
#[derive(Debug)]
pub(crate) enum ParseFailure {
    TooLarge,
    Cancelled,
    TooManyErrors,
    /// Our query does not compile against the grammar (a bug, caught by tests).
    BadQuery,
}

struct CompiledQuery {
    query: Query,
    roles: Vec<Role>,
}

#[derive(Copy, Clone)]
enum Role {
    Definition(SymbolKind),
    Name,
    QualifiedName,
    Container,
    Ignored,
}

fn compiled_query(lang: Lang, grammar: &Grammar) -> Option<&'static CompiledQuery> {
    static QUERIES: [OnceLock<Option<CompiledQuery>>; 9] = [const { OnceLock::new() }; 9];
    let slot = &QUERIES[usize::from(lang.code() - 1)];
    slot.get_or_init(|| compile_query(grammar).ok()).as_ref()
}

/// Compiles a tags query and checks its capture names.
pub(crate) fn compile_query_checked(lang: Lang) -> Result<(), String> {
    let grammar = lang.grammar().ok_or_else(|| format!("{lang} is not compiled in"))?;
    compile_query(&grammar).map(|_| ())
}

fn compile_query(grammar: &Grammar) -> Result<CompiledQuery, String> {
    let query = Query::new(&grammar.language, grammar.tags).map_err(|e| e.to_string())?;
    let mut roles = Vec::new();
    for name in query.capture_names() {
        let role = if let Some(kind) = name.strip_prefix("definition.") {
            Role::Definition(SymbolKind::parse(kind).ok_or_else(|| format!("unknown kind @{name}"))?)
        } else {
            match *name {
                "name" => Role::Name,
                "qualified.name" => Role::QualifiedName,
                "container" => Role::Container,
                _ if name.starts_with('_') => Role::Ignored,
                other => return Err(format!("unknown capture @{other}")),
            }
        };
        roles.push(role);
    }
    Ok(CompiledQuery { query, roles })
}

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new(Parser::new());
}

/// Parses `content` and returns its definitions sorted by start (outer
/// before inner), with parents, containers and paths filled in.
pub(crate) fn extract(lang: Lang, grammar: &Grammar, content: &[u8]) -> Result<Vec<Def>, ParseFailure> {
    if content.len() > MAX_PARSE_BYTES {
        return Err(ParseFailure::TooLarge);
    }
    let query = compiled_query(lang, grammar).ok_or(ParseFailure::BadQuery)?;
    let tree = PARSER.with(|parser| {
        let mut parser = parser.borrow_mut();
        parser.set_language(&grammar.language).map_err(|_| ParseFailure::BadQuery)?;
        let started = Instant::now();
        let mut over_budget = |_: &tree_sitter::ParseState| {
            if started.elapsed() > PARSE_TIME_BUDGET {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let len = content.len();
        let tree = parser.parse_with_options(
            &mut |offset, _| {
                if offset < len {
                    &content[offset..]
                } else {
                    &[]
                }
            },
            None,
            Some(ParseOptions::new().progress_callback(&mut over_budget)),
        );
        // A cancelled parse leaves state behind; the next parse must start clean.
        parser.reset();
        tree.ok_or(ParseFailure::Cancelled)
    })?;
    let root = tree.root_node();
    let errors = if root.has_error() { error_bytes(root) } else { 0 };
    if errors > TOLERATED_ERROR_BYTES && errors as f64 > MAX_ERROR_FRACTION * content.len() as f64 {
        return Err(ParseFailure::TooManyErrors);
    }

    struct Raw<'t> {
        node: Node<'t>,
        start: usize,
        end: usize,
        pattern: usize,
        kind: SymbolKind,
        name: String,
        containers: Vec<String>,
    }
    let mut raws: Vec<Raw> = Vec::new();
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(&query.query, root, content);
    while let Some(m) = matches.next() {
        let mut def = None;
        let mut name = None;
        let mut containers = Vec::new();
        for capture in m.captures {
            match query.roles[capture.index as usize] {
                Role::Definition(kind) => def = Some((capture.node, kind)),
                Role::Name => name = Some(node_text(capture.node, content)),
                Role::QualifiedName => {
                    let text = node_text(capture.node, content);
                    match text.rsplit_once("::") {
                        Some((scope, last)) if !last.is_empty() => {
                            if !scope.is_empty() {
                                containers.push(scope.to_string());
                            }
                            name = Some(last.to_string());
                        }
                        _ => name = Some(text),
                    }
                }
                Role::Container => containers.push(node_text(capture.node, content)),
                Role::Ignored => {}
            }
        }
        let (Some((node, kind)), Some(name)) = (def, name) else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let node = grow_to_wrappers(node, grammar.rules);
        raws.push(Raw {
            node,
            start: node.start_byte(),
            end: node.end_byte(),
            pattern: m.pattern_index,
            kind,
            name,
            containers,
        });
    }
    // Outer definitions first; for the same range the first pattern wins.
    raws.sort_by(|a, b| {
        (a.start, std::cmp::Reverse(a.end), a.pattern).cmp(&(b.start, std::cmp::Reverse(b.end), b.pattern))
    });
    raws.dedup_by(|later, first| later.start == first.start && later.end == first.end);

    let mut defs: Vec<Def> = Vec::with_capacity(raws.len());
    let mut open: Vec<usize> = Vec::new();
    for raw in raws {
        while let Some(&top) = open.last() {
            if raw.start >= defs[top].end || raw.end > defs[top].end {
                open.pop();
            } else {
                break;
            }
        }
        let parent = open.last().copied();
        let mut kind = raw.kind;
        if kind == SymbolKind::Function && parent.is_some_and(|p| defs[p].kind.has_methods()) {
            kind = SymbolKind::Method;
        }
        // The nearest enclosing container's own qualified name, then any
        // scope the definition names itself (receiver, `Foo::` qualifier).
        let mut ancestor = parent;
        while let Some(a) = ancestor {
            if defs[a].kind.is_container() {
                break;
            }
            ancestor = defs[a].parent;
        }
        let mut scope: Vec<&str> = Vec::new();
        if let Some(a) = ancestor {
            scope.push(defs[a].qualified());
        }
        scope.extend(raw.containers.iter().map(String::as_str));
        if kind == SymbolKind::Function && !raw.containers.is_empty() {
            // `void Foo::bar() {}` is a method of Foo, `Foo::Foo()` its constructor.
            let owner = raw.containers.last().map(|c| c.rsplit("::").next().unwrap_or(c));
            kind = if owner == Some(raw.name.as_str()) { SymbolKind::Constructor } else { SymbolKind::Method };
        }
        let is_constructor = match lang {
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => raw.name == "constructor",
            Lang::Cpp => parent.is_some_and(|p| defs[p].name == raw.name),
            _ => false,
        };
        if kind == SymbolKind::Method && is_constructor {
            kind = SymbolKind::Constructor;
        }
        let container = (!scope.is_empty()).then(|| scope.join("::"));
        let own = if kind == SymbolKind::Impl {
            match raw.node.child_by_field_name("trait") {
                Some(t) => format!("impl {} for {}", node_text(t, content), raw.name),
                None => format!("impl {}", raw.name),
            }
        } else {
            raw.name.clone()
        };
        let path = match &container {
            Some(c) => format!("{c}::{own}"),
            None => own,
        };
        let chunk_start = leading_start(raw.node, content, grammar.rules);
        let qualified = match &container {
            Some(c) => format!("{c}::{}", raw.name),
            None => raw.name.clone(),
        };
        open.push(defs.len());
        defs.push(Def {
            name: raw.name,
            kind,
            start: raw.start,
            end: raw.end,
            chunk_start,
            parent,
            qualified,
            container,
            path,
        });
    }
    Ok(defs)
}

/// Total bytes under ERROR nodes (outermost only).
fn error_bytes(root: Node) -> usize {
    let mut total = 0;
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        let descend = if node.is_error() {
            total += node.end_byte() - node.start_byte();
            false
        } else {
            node.has_error()
        };
        if descend && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return total;
            }
        }
    }
}

/// The outermost wrapper (`export`, decorators, `template<...>`, Go `type`)
/// that holds only this definition and its decorations.
fn grow_to_wrappers<'t>(mut node: Node<'t>, rules: &AttachRules) -> Node<'t> {
    while let Some(parent) = node.parent() {
        if !rules.wrappers.contains(&parent.kind()) {
            break;
        }
        let mut walk = parent.walk();
        let only_decorations = parent
            .named_children(&mut walk)
            .all(|child| child.id() == node.id() || rules.decorations.contains(&child.kind()));
        if !only_decorations {
            break;
        }
        node = parent;
    }
    node
}

/// Start of the doc comments and attributes directly above `node`: sibling
/// comments/attributes that start their own line, with no blank line
/// between them and the definition. Inner doc comments (`//!`, `/*!`) belong
/// to the enclosing item and stop the walk.
fn leading_start(node: Node, content: &[u8], rules: &AttachRules) -> usize {
    let mut start = node.start_byte();
    let mut sibling = node.prev_sibling();
    while let Some(s) = sibling {
        if !rules.leading.contains(&s.kind()) {
            break;
        }
        let gap = &content[s.end_byte().min(start)..start];
        if gap.iter().filter(|&&b| b == b'\n').count() > 1 || !gap.iter().all(u8::is_ascii_whitespace) {
            break;
        }
        let text = &content[s.start_byte()..s.end_byte()];
        if text.starts_with(b"//!") || text.starts_with(b"/*!") {
            break;
        }
        if !starts_line(content, s.start_byte()) {
            break;
        }
        start = s.start_byte();
        sibling = s.prev_sibling();
    }
    start
}

/// Whether only spaces and tabs precede `at` on its line.
pub(crate) fn starts_line(content: &[u8], at: usize) -> bool {
    content[..at].iter().rev().take_while(|&&b| b != b'\n').all(|&b| b == b' ' || b == b'\t')
}

/// A node's text as a one-line name: lossy UTF-8, whitespace collapsed,
/// capped at [`MAX_NAME_BYTES`].
fn node_text(node: Node, content: &[u8]) -> String {
    let bytes = content.get(node.start_byte()..node.end_byte()).unwrap_or(&[]);
    let lossy = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(lossy.len().min(MAX_NAME_BYTES));
    for word in lossy.split_whitespace() {
        if out.len() + word.len() + 1 > MAX_NAME_BYTES {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() && !lossy.trim().is_empty() {
        // A single word longer than the cap: cut at a character boundary.
        let word = lossy.trim();
        let mut cut = MAX_NAME_BYTES.min(word.len());
        while !word.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&word[..cut]);
    }
    out
}
