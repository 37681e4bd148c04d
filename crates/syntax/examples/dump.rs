//! Prints the symbols and chunks grove-syntax finds in files:
//! `cargo run -p grove-syntax --example dump -- FILE... [--max N] [--min N] [--text]`.

use std::process::ExitCode;

use grove_syntax::{analyze, chunk_text, ChunkLimits};

fn main() -> ExitCode {
    let mut limits = ChunkLimits::default();
    let mut files = Vec::new();
    let mut show_text = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--max" | "--min" => {
                let Some(n) = args.next().and_then(|v| v.parse().ok()) else {
                    eprintln!("{arg} needs a number");
                    return ExitCode::FAILURE;
                };
                if arg == "--max" {
                    limits.max_tokens = n;
                } else {
                    limits.min_tokens = n;
                }
            }
            "--text" => show_text = true,
            _ => files.push(arg),
        }
    }
    for file in files {
        let content = match std::fs::read(&file) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{file}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let syntax = analyze(file.as_bytes(), &content, &limits);
        println!("{file}: {:?}", syntax.outcome);
        for s in &syntax.symbols {
            println!(
                "  symbol {:<12} {:<30} container={:<20} lines {}-{}",
                s.kind.as_str(),
                s.name,
                s.container.as_deref().unwrap_or("-"),
                s.start_line,
                s.end_line
            );
        }
        for c in &syntax.chunks {
            let text = chunk_text(file.as_bytes(), &content, c);
            println!(
                "  chunk lines {}-{} tokens {} symbol {}",
                c.start_line,
                c.end_line,
                grove_syntax::estimate_tokens(text.as_bytes()),
                c.symbol.as_deref().unwrap_or("-")
            );
            if show_text {
                for line in text.lines() {
                    println!("    | {line}");
                }
            }
        }
    }
    ExitCode::SUCCESS
}
