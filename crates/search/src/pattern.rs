//! Turning the user's pattern into two things that must agree: the verifier
//! (grep-regex, ripgrep's matcher) and the trigram plan. Both are built from
//! the same pattern text with the same flags; the plan is computed from the
//! HIR regex-syntax produces for exactly those flags, so case folding in the
//! planner can never differ from the verifier's.

use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grove_ngram::{plan, PlanLimits, Query};
use regex_syntax::ast::{self, Ast};
use regex_syntax::hir::translate::TranslatorBuilder;

use crate::SearchError;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaseMode {
    #[default]
    Sensitive,
    Insensitive,
    /// Insensitive unless the pattern has an uppercase literal (ripgrep's -S).
    Smart,
}

#[derive(Clone, Debug, Default)]
pub struct PatternOptions {
    pub case: CaseMode,
    /// Treat the pattern as a literal string (-F).
    pub fixed_strings: bool,
    /// Only whole-word matches (-w).
    pub word: bool,
    /// Let matches span lines (-U).
    pub multiline: bool,
}

/// A compiled pattern: the verifier and the superset filter planned from it.
#[derive(Clone, Debug)]
pub struct CompiledPattern {
    pub matcher: RegexMatcher,
    pub query: Query,
    pub case_insensitive: bool,
    pub multiline: bool,
}

impl CompiledPattern {
    pub fn new(pattern: &str, opts: &PatternOptions) -> Result<CompiledPattern, SearchError> {
        let text = if opts.fixed_strings { regex_syntax::escape(pattern) } else { pattern.to_string() };
        let ast = ast::parse::ParserBuilder::new()
            .build()
            .parse(&text)
            .map_err(|e| SearchError::InvalidPattern(e.to_string()))?;
        let case_insensitive = match opts.case {
            CaseMode::Sensitive => false,
            CaseMode::Insensitive => true,
            CaseMode::Smart => {
                let (any_literal, any_upper) = literal_case(&ast);
                any_literal && !any_upper
            }
        };
        // The same translation grep-regex performs (utf8(false), multi_line),
        // with the case decision made once, here.
        let hir = TranslatorBuilder::new()
            .utf8(false)
            .case_insensitive(case_insensitive)
            .multi_line(true)
            .build()
            .translate(&text, &ast)
            .map_err(|e| SearchError::InvalidPattern(e.to_string()))?;
        let query = plan(&hir, PlanLimits::default());

        let mut builder = RegexMatcherBuilder::new();
        builder.case_insensitive(case_insensitive).multi_line(true).word(opts.word);
        if opts.multiline {
            builder.line_terminator(None);
        } else {
            builder.line_terminator(Some(b'\n'));
        }
        let matcher = builder.build(&text).map_err(|e| {
            let mut msg = e.to_string();
            if !opts.multiline && msg.contains("is not allowed") {
                msg.push_str(" (use -U to let matches span lines)");
            }
            SearchError::InvalidPattern(msg)
        })?;
        Ok(CompiledPattern { matcher, query, case_insensitive, multiline: opts.multiline })
    }
}

/// (has any literal, has an uppercase literal) — ripgrep's smart-case rule.
fn literal_case(ast: &Ast) -> (bool, bool) {
    fn walk(ast: &Ast, lit: &mut bool, upper: &mut bool) {
        match ast {
            Ast::Literal(l) => {
                *lit = true;
                *upper |= l.c.is_uppercase();
            }
            Ast::ClassBracketed(c) => walk_set(&c.kind, lit, upper),
            Ast::Repetition(r) => walk(&r.ast, lit, upper),
            Ast::Group(g) => walk(&g.ast, lit, upper),
            Ast::Alternation(a) => a.asts.iter().for_each(|a| walk(a, lit, upper)),
            Ast::Concat(c) => c.asts.iter().for_each(|a| walk(a, lit, upper)),
            _ => {}
        }
    }
    fn walk_set(set: &ast::ClassSet, lit: &mut bool, upper: &mut bool) {
        match set {
            ast::ClassSet::Item(item) => walk_item(item, lit, upper),
            ast::ClassSet::BinaryOp(op) => {
                walk_set(&op.lhs, lit, upper);
                walk_set(&op.rhs, lit, upper);
            }
        }
    }
    fn walk_item(item: &ast::ClassSetItem, lit: &mut bool, upper: &mut bool) {
        match item {
            ast::ClassSetItem::Literal(l) => {
                *lit = true;
                *upper |= l.c.is_uppercase();
            }
            ast::ClassSetItem::Range(r) => {
                *lit = true;
                *upper |= r.start.c.is_uppercase() || r.end.c.is_uppercase();
            }
            ast::ClassSetItem::Bracketed(b) => walk_set(&b.kind, lit, upper),
            ast::ClassSetItem::Union(u) => u.items.iter().for_each(|i| walk_item(i, lit, upper)),
            _ => {}
        }
    }
    let (mut lit, mut upper) = (false, false);
    walk(ast, &mut lit, &mut upper);
    (lit, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_case_follows_ripgrep() {
        let smart = PatternOptions { case: CaseMode::Smart, ..Default::default() };
        assert!(CompiledPattern::new("foo", &smart).unwrap().case_insensitive);
        assert!(!CompiledPattern::new("Foo", &smart).unwrap().case_insensitive);
        assert!(CompiledPattern::new(r"foo\W", &smart).unwrap().case_insensitive);
        assert!(!CompiledPattern::new("[A-Z]x", &smart).unwrap().case_insensitive);
    }

    #[test]
    fn invalid_pattern_reports_position() {
        let err = CompiledPattern::new("foo(bar", &PatternOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unclosed group"), "{msg}");
    }
}
