//! `grove symbols`, `grove find` and `grove index --semantic`: argument
//! mapping and output (text and JSON Lines).

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use grove_engine::{Engine, FindMode, FindOptions, QueryShape, ResolvedRev, SymbolKind, SymbolQuery};
use serde_json::json;

use crate::args::{FindArgs, FindModeArg, SymbolsArgs, TargetArgs};
use crate::output::write_or_quiet;
use crate::progress;

pub fn semantic_index(engine: &Engine, revs: &[ResolvedRev]) -> anyhow::Result<ExitCode> {
    // Ctrl-C: the engine stops between batches and keeps what is finished.
    let s = engine.index_semantic(revs, &progress::Bar::new(), crate::interrupt::install())?;
    println!(
        "semantic: {} revision{}, {} files, {} chunks; embedded {} new chunks with {} ({:.0} tokens/s est.), {:.1}s{}",
        s.revisions,
        if s.revisions == 1 { "" } else { "s" },
        s.files_analysed,
        s.chunks,
        s.embedded,
        s.model,
        if s.seconds > 0.0 { s.tokens as f64 / s.seconds } else { 0.0 },
        s.seconds,
        if s.interrupted { " (interrupted: run again to resume)" } else { "" }
    );
    Ok(if s.interrupted { ExitCode::from(130) } else { ExitCode::SUCCESS })
}

fn resolve_target(engine: &Engine, t: &TargetArgs) -> anyhow::Result<ResolvedRev> {
    if t.worktree {
        return Ok(engine.worktree(&progress::Bar::new())?);
    }
    Ok(engine.resolve_one(t.rev.as_deref().unwrap_or("HEAD"))?)
}

pub fn symbols(engine: &Engine, a: &SymbolsArgs) -> anyhow::Result<ExitCode> {
    let mut kinds = Vec::new();
    for k in &a.kind {
        kinds.push(SymbolKind::parse(k).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown symbol kind '{k}' (known: {})",
                SymbolKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            )
        })?);
    }
    let rev = resolve_target(engine, &a.target)?;
    let q = SymbolQuery { query: a.query.clone(), kinds, limit: a.limit };
    let hits = engine.symbols(&rev, &q, &progress::Bar::new())?;
    let mut out = Vec::new();
    for h in &hits {
        let path = grove_base::lossy(&h.path);
        if a.json {
            let v = json!({
                "type": "symbol", "name": h.name, "kind": h.kind, "container": h.container,
                "path": path, "start_line": h.start_line, "end_line": h.end_line, "match": h.match_kind,
            });
            writeln!(out, "{v}")?;
        } else {
            let container = h.container.as_deref().map(|c| format!(" (in {c})")).unwrap_or_default();
            writeln!(out, "{path}:{}: {} {}{container}", h.start_line, h.kind, h.name)?;
        }
    }
    write_or_quiet(&out)?;
    Ok(if hits.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

pub fn find(engine: &Engine, a: &FindArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if a.query.trim().is_empty() {
        anyhow::bail!("empty query");
    }
    let rev = resolve_target(engine, &a.target)?;
    let opts = FindOptions {
        mode: match a.mode {
            FindModeArg::Lexical => FindMode::Lexical,
            FindModeArg::Dense => FindMode::Dense,
            FindModeArg::Hybrid => FindMode::Hybrid,
        },
        k: a.k,
        files: a.files,
        budget: a.budget,
        per_file: a.per_file,
        ..FindOptions::default()
    };
    let r = engine.find(&rev, &a.query, &opts, &progress::Bar::new())?;
    let mut out = Vec::new();
    for h in &r.hits {
        let path = grove_base::lossy(&h.path);
        if a.json {
            let v = json!({
                "type": "hit", "path": path, "start_line": h.start_line, "end_line": h.end_line,
                "symbol": h.symbol, "score": h.score, "lexical_rank": h.lexical_rank, "dense_rank": h.dense_rank,
                "text": if h.text.is_empty() { None } else { Some(&h.text) }, "truncated": h.truncated,
            });
            writeln!(out, "{v}")?;
        } else if a.files && h.text.is_empty() {
            writeln!(out, "{path}")?;
        } else {
            let symbol = h.symbol.as_deref().map(|s| format!("  {s}")).unwrap_or_default();
            writeln!(out, "{path}:{}-{}{symbol}  [{:.4}]", h.start_line, h.end_line, h.score)?;
            let first = if a.files { 1 } else { h.start_line };
            for (i, line) in h.text.lines().enumerate() {
                writeln!(out, "{:>6}  {line}", first as usize + i)?;
            }
            if h.truncated {
                writeln!(out, "        [... cut to the token budget]")?;
            }
            writeln!(out)?;
        }
    }
    if a.json {
        let v = json!({
            "type": "summary", "mode": format!("{:?}", r.mode).to_lowercase(),
            "query_shape": match r.shape { QueryShape::Identifier => "identifier", QueryShape::Prose => "prose", QueryShape::Mixed => "mixed" },
            "results": r.hits.len(), "chunks": r.chunks, "unembedded": r.unembedded, "tokens": r.tokens,
            "budget_exhausted": r.budget_exhausted, "elapsed_ms": started.elapsed().as_secs_f64() * 1000.0,
        });
        writeln!(out, "{v}")?;
    }
    write_or_quiet(&out)?;
    if r.unembedded > 0 && !a.json {
        eprintln!(
            "grove: {} of {} chunks have no embedding yet and ranked lexically only; run `grove index --semantic{}`",
            r.unembedded,
            r.chunks,
            a.target.rev.as_deref().map(|r| format!(" --rev {r}")).unwrap_or_default()
        );
    }
    if r.budget_exhausted && !a.json {
        eprintln!("grove: output cut at the budget of {} tokens", a.budget.unwrap_or(0));
    }
    Ok(if r.hits.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
