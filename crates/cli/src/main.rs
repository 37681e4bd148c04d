//! `grove`: a thin command line over `grove-engine`.
//!
//! This crate owns argument parsing, progress bars, colours and the output
//! formats (git-grep-like text, JSON Lines); nothing else.

mod args;
mod interrupt;
mod lifecycle;
mod output;
mod progress;
mod semantic;
mod serve;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use grove_engine::search::{CaseMode, CompiledPattern, OutputMode, PatternOptions, SearchOptions};
use grove_engine::{Engine, EngineOptions};

use args::{Cli, Command, IndexArgs, SearchArgs};

/// glibc's malloc maps and unmaps every large temporary tensor of the
/// embedding model, page-faulting on each (about half of embedding time,
/// measured in grove-embed's throughput example); mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`grove list | head`), as grep does,
    // instead of panicking in println!.
    // SAFETY: setting a signal disposition before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Each error's message already includes its cause; `{:#}` would
            // print the cause a second time.
            eprintln!("grove: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let repo_dir = match &cli.global.repo {
        Some(d) => d.clone(),
        None => std::env::current_dir()?,
    };
    let mut opts = EngineOptions {
        index_dir: cli.global.index_dir.clone(),
        model_dir: cli.global.model_dir.clone(),
        ..Default::default()
    };
    match cli.command {
        Command::Index(a) => {
            opts.index.max_file_size = a.max_filesize.0;
            let engine = Engine::open(&repo_dir, opts)?;
            index(&engine, &a)
        }
        Command::Search(a) => {
            opts.index.max_file_size = a.max_filesize.0;
            let engine = Engine::open(&repo_dir, opts)?;
            search(&engine, &a)
        }
        Command::Fork(a) => {
            let engine = Engine::open(&repo_dir, opts)?;
            let id = engine.fork(&a.src, &a.name, &progress::Bar::new())?;
            println!("{} -> snapshot {}", a.name, id.short());
            Ok(ExitCode::SUCCESS)
        }
        Command::Apply(a) => {
            opts.index.max_file_size = a.max_filesize.0;
            let engine = Engine::open(&repo_dir, opts)?;
            lifecycle::apply(&engine, &a)
        }
        Command::List(a) => lifecycle::list(&Engine::open(&repo_dir, opts)?, a.json),
        Command::Drop(a) => {
            let engine = Engine::open(&repo_dir, opts)?;
            let key = engine.drop_snapshot(&a.name)?;
            println!("dropped {key}; run `grove gc` to reclaim space");
            Ok(ExitCode::SUCCESS)
        }
        Command::Gc(a) => {
            let engine = Engine::open(&repo_dir, opts)?;
            let grace = std::time::Duration::from_secs(if a.now { 0 } else { a.grace });
            let g = engine.gc(grace)?;
            let r = &g.index;
            println!(
                "removed {} segments and {} snapshots ({}), {} temp files; {} unreferenced kept for the grace period",
                r.segments_removed,
                r.snapshots_removed,
                output::human_bytes(r.bytes_freed),
                r.temp_removed,
                r.pending
            );
            let s = &g.side;
            if s.files_removed > 0 {
                println!(
                    "side index: dropped {} syntax records and {} vectors no snapshot uses; {} files rewritten into {} ({} freed)",
                    s.records_dropped,
                    s.vectors_dropped,
                    s.files_removed,
                    s.files_written,
                    output::human_bytes(s.bytes_freed)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Compact => {
            let engine = Engine::open(&repo_dir, opts)?;
            let r = engine.compact()?;
            match r.new_segment {
                Some(id) => println!(
                    "merged {} segments into {} ({} live docs kept, {} dead dropped; {} snapshots rewritten)",
                    r.merged_segments,
                    id.short(),
                    r.live_docs,
                    r.dead_docs,
                    r.snapshots_rewritten
                ),
                None => println!("nothing to compact"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Symbols(a) => semantic::symbols(&Engine::open(&repo_dir, opts)?, &a),
        Command::Find(a) => semantic::find(&Engine::open(&repo_dir, opts)?, &a),
        Command::Lsp => {
            grove_lsp::serve_stdio(&repo_dir, opts).map_err(|e| anyhow::anyhow!("lsp: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Mcp => {
            grove_mcp::serve_stdio(&repo_dir, opts).map_err(|e| anyhow::anyhow!("mcp: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(a) => serve::run(&repo_dir, opts, &a),
        Command::Check => {
            let engine = Engine::open(&repo_dir, opts)?;
            let r = engine.check()?;
            println!(
                "checked {} refs, {} snapshots, {} segments, {} side-index files; {} unreferenced objects",
                r.refs, r.snapshots, r.segments, r.side_files, r.unreferenced
            );
            if r.problems.is_empty() {
                println!("index OK: {}", engine.index_dir().display());
                Ok(ExitCode::SUCCESS)
            } else {
                for p in &r.problems {
                    println!("problem: {p}");
                }
                println!("{} problems; rebuild with `grove index --rebuild`", r.problems.len());
                Ok(ExitCode::from(1))
            }
        }
    }
}

fn index(engine: &Engine, a: &IndexArgs) -> anyhow::Result<ExitCode> {
    if a.rebuild {
        engine.remove_index()?;
    }
    if a.watch {
        return watch(engine, a);
    }
    let t = Instant::now();
    let revs = engine.resolve(&a.revs.selection())?;
    let resolved = t.elapsed();
    let s = engine.index(&revs, &progress::Bar::new())?;
    print_indexed(&revs, &s, a.verbose.then_some(resolved));
    if a.semantic {
        return semantic::semantic_index(engine, &revs);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_indexed(
    revs: &[grove_engine::ResolvedRev],
    s: &grove_engine::IndexSummary,
    phases_after: Option<std::time::Duration>,
) {
    println!(
        "indexed {} revision{} ({} already indexed): {} files, {} new blobs ({}), {} skipped, {} segment{} written, {:.2}s",
        revs.len(),
        if revs.len() == 1 { "" } else { "s" },
        s.already_indexed,
        s.files,
        s.new_blobs,
        output::human_bytes(s.new_bytes),
        s.skipped,
        s.segments_written,
        if s.segments_written == 1 { "" } else { "s" },
        s.elapsed.as_secs_f64()
    );
    if let Some(resolved) = phases_after {
        eprintln!("  {:<16} {:>8.1} ms", "resolve", resolved.as_secs_f64() * 1000.0);
        for (name, d) in &s.phases {
            eprintln!("  {name:<16} {:>8.1} ms", d.as_secs_f64() * 1000.0);
        }
    }
}

/// The selection as `Engine::resolve` gives it, except that a glob matching
/// nothing yet is no error: the tag or branch a watch waits for may come.
fn resolve_watched(
    engine: &Engine,
    selection: &grove_engine::RevSelection,
) -> anyhow::Result<Vec<grove_engine::ResolvedRev>> {
    use grove_engine::{EngineError, RevSelection};
    let mut parts =
        vec![RevSelection { revs: selection.revs.clone(), all_refs: selection.all_refs, ..Default::default() }];
    parts.extend(selection.tags.iter().map(|g| RevSelection { tags: vec![g.clone()], ..Default::default() }));
    parts.extend(selection.branches.iter().map(|g| RevSelection { branches: vec![g.clone()], ..Default::default() }));
    let mut out = Vec::new();
    for (k, part) in parts.iter().enumerate() {
        // An empty first part is HEAD only when nothing else was asked for.
        if part.is_empty() && (k > 0 || !selection.is_empty()) {
            continue;
        }
        match engine.resolve(part) {
            Ok(revs) => out.extend(revs),
            Err(EngineError::NoRevisions(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// `grove index --watch`: resolve the selection every interval and index it
/// whenever it names commits it did not name before. One process for every
/// commit keeps the engine's caches warm (see docs/benchmarks.md, "100
/// commits"). A failure (git mid-operation, a revision deleted) is reported
/// and the next look tries again; Ctrl-C or SIGTERM stops between looks.
fn watch(engine: &Engine, a: &IndexArgs) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let stop = interrupt::install();
    let interval = a.interval.0;
    let selection = a.revs.selection();
    let mut seen: Vec<grove_base::GitOid> = Vec::new();
    let mut first = true;
    let mut last_error: Option<String> = None;
    eprintln!("grove: watching every {interval:?}; Ctrl-C stops");
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let t = Instant::now();
        let looked = resolve_watched(engine, &selection).and_then(|revs| {
            let resolved = t.elapsed();
            let oids: Vec<grove_base::GitOid> = revs.iter().map(|r| r.commit.oid).collect();
            if oids != seen {
                let s = engine.index(&revs, &progress::Bar::new())?;
                if first || s.already_indexed < revs.len() {
                    let mut at: Vec<String> =
                        revs.iter().take(3).map(|r| format!("{} {}", r.label, &r.commit.oid.to_hex()[..10])).collect();
                    if revs.len() > 3 {
                        at.push(format!("and {} more", revs.len() - 3));
                    }
                    print!("{}: ", at.join(", "));
                    print_indexed(&revs, &s, a.verbose.then_some(resolved));
                }
                seen = oids;
            }
            Ok(())
        });
        // A failure that lasts (an unborn HEAD, a deleted branch) is said
        // once, not every interval.
        match looked {
            Err(e) => {
                let text = e.to_string();
                if last_error.as_deref() != Some(text.as_str()) {
                    eprintln!("grove: {text} (watching: trying again every {interval:?})");
                    last_error = Some(text);
                }
            }
            Ok(()) => last_error = None,
        }
        first = false;
        let _ = std::io::stdout().flush();
        // Sleep in short steps so that a signal stops the watch promptly.
        while t.elapsed() < interval && !stop.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::sleep((interval.saturating_sub(t.elapsed())).min(std::time::Duration::from_millis(50)));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn search(engine: &Engine, a: &SearchArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let case = if a.ignore_case {
        CaseMode::Insensitive
    } else if a.smart_case {
        CaseMode::Smart
    } else {
        CaseMode::Sensitive
    };
    let popts = PatternOptions { case, fixed_strings: a.fixed_strings, word: a.word_regexp, multiline: a.multiline };
    // Compile before resolving or indexing: a bad pattern fails fast.
    // With -e, a positional argument is not a pattern: refuse rather than guess.
    let text = match (&a.regexp, &a.pattern) {
        (Some(e), None) => e,
        (None, Some(p)) => p,
        (Some(_), Some(p)) => anyhow::bail!("unexpected argument '{p}' (the pattern was given with -e)"),
        (None, None) => unreachable!("clap requires a pattern"),
    };
    let pattern = CompiledPattern::new(text, &popts)?;
    let progress = progress::Bar::new();
    let revs = if a.worktree { vec![engine.worktree(&progress)?] } else { engine.resolve(&a.revs.selection())? };
    let since = a.since.as_deref().map(|s| engine.resolve_one(s)).transpose()?;
    let mode = if a.files_with_matches {
        OutputMode::FilesWithMatches
    } else if a.count {
        OutputMode::Count
    } else {
        OutputMode::Lines
    };
    let sopts = SearchOptions {
        mode,
        before_context: a.before_context.or(a.context).unwrap_or(0),
        after_context: a.after_context.or(a.context).unwrap_or(0),
        max_count: a.max_count,
        globs: a.glob.clone(),
        max_filesize: Some(a.max_filesize.0),
    };
    let out = if a.max_count == Some(0) {
        Default::default()
    } else {
        engine.search(&revs, since.as_ref(), &pattern, &sopts, &progress)?
    };
    let color = match a.color {
        args::Color::Always => true,
        args::Color::Never => false,
        args::Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let printer = output::Printer { revs: &revs, mode, color, context: sopts.before_context + sopts.after_context > 0 };
    let any = match a.format() {
        args::Format::Json => printer.json(&out, started.elapsed())?,
        args::Format::Github => {
            let any = printer.github(&out, text, a.annotation_level)?;
            output::report_skipped(&out, &revs, a.max_filesize.0);
            any
        }
        args::Format::Text => {
            let any = printer.text(&out)?;
            output::report_skipped(&out, &revs, a.max_filesize.0);
            any
        }
    };
    Ok(if any { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
