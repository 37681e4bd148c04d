//! Chunk and symbol extraction speed over a directory tree:
//! `cargo run --release -p grove-syntax --example throughput -- DIR [--lang c]`.
//! Reads every file (recursively) whose language is known (or only `--lang`),
//! then times `analyze` over all of them on one thread.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use grove_syntax::{analyze, ChunkLimits, Lang, ParseOutcome};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: throughput DIR [--lang NAME]");
        return ExitCode::FAILURE;
    };
    let only = match args.iter().position(|a| a == "--lang") {
        Some(i) => match args.get(i + 1).and_then(|n| Lang::from_name(n)) {
            Some(l) => Some(l),
            None => {
                eprintln!("--lang needs one of rust python javascript typescript tsx go java c cpp");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let mut paths = Vec::new();
    if let Err(e) = collect(Path::new(dir), &mut paths) {
        eprintln!("{dir}: {e}");
        return ExitCode::FAILURE;
    }
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let name = path.to_string_lossy().into_owned();
        let Some(lang) = Lang::from_path(name.as_bytes()) else {
            continue;
        };
        if only.is_some_and(|l| l != lang) {
            continue;
        }
        match std::fs::read(&path) {
            Ok(content) => files.push((name, content)),
            Err(e) => eprintln!("{name}: {e}"),
        }
    }
    let bytes: usize = files.iter().map(|(_, c)| c.len()).sum();
    let limits = ChunkLimits::default();
    let (mut chunks, mut symbols, mut failed) = (0usize, 0usize, 0usize);
    let started = Instant::now();
    for (name, content) in &files {
        let syntax = analyze(name.as_bytes(), content, &limits);
        chunks += syntax.chunks.len();
        symbols += syntax.symbols.len();
        if !matches!(syntax.outcome, ParseOutcome::Parsed(_)) {
            failed += 1;
            eprintln!("not parsed: {name} ({} bytes, {:?})", content.len(), syntax.outcome);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let mb = bytes as f64 / 1e6;
    println!(
        "files {} (not parsed {failed}), {mb:.2} MB, {seconds:.3} s, {:.2} MB/s, chunks {chunks}, symbols {symbols}",
        files.len(),
        mb / seconds
    );
    let started = Instant::now();
    let mut tokens = Vec::new();
    let mut token_count = 0usize;
    for (_, content) in &files {
        tokens.clear();
        grove_syntax::lexical_tokens(content, &mut tokens);
        token_count += tokens.len();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("lexical_tokens: {token_count} tokens, {seconds:.3} s, {:.1} MB/s", mb / seconds);
    ExitCode::SUCCESS
}
