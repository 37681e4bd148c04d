//! `cargo xtask eval`: retrieval quality of `grove find` on real history.
//!
//! File localization: for a commit C with parent P, the query is C's message
//! (subject and body, trailers removed) and the answer is the set of source
//! files C modified that exist at P. Each query is run at P, so every query
//! searches a different revision (forks and the shared side index at work).
//! Lexical, dense and hybrid modes are compared on Recall@1/5/10 and MRR.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use crate::Result;

pub const USAGE: &str = "\
usage: cargo xtask eval --repo PATH [options]

Builds queries from PATH's history (commit message -> files it changed, searched at the
parent revision), embeds the parents' chunks, and reports Recall@1/5/10 and MRR of
`grove find --files` in lexical, dense and hybrid mode, as Markdown.

options:
  --repo PATH        git repository (bare or not) with history (required)
  --queries N        number of queries (default 100)
  --max-files N      skip commits that modify more than N source files (default 4)
  --scan N           first-parent commits of HEAD to consider (default 3000)
  --grove BIN        grove binary (default target/release/grove)
  --model-dir DIR    embedding model (default ../shared/models/all-MiniLM-L6-v2)
  --index-dir DIR    keep the index here (default a temporary directory)
  --out FILE         also write the report to FILE
  --dump FILE        write per-query ranks as JSON Lines
";

pub struct EvalOpts {
    repo: PathBuf,
    queries: usize,
    max_files: usize,
    scan: usize,
    grove: PathBuf,
    model_dir: PathBuf,
    index_dir: Option<PathBuf>,
    out: Option<PathBuf>,
    dump: Option<PathBuf>,
}

pub fn parse(args: &[OsString], workspace: &Path) -> Result<Option<EvalOpts>> {
    let mut o = EvalOpts {
        repo: PathBuf::new(),
        queries: 100,
        max_files: 4,
        scan: 3000,
        grove: workspace.join("target/release/grove"),
        model_dir: workspace.join("../shared/models/all-MiniLM-L6-v2"),
        index_dir: None,
        out: None,
        dump: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let a = a.to_str().ok_or("non-UTF-8 argument")?;
        let mut val = || it.next().map(PathBuf::from).ok_or_else(|| format!("{a} needs a value"));
        match a {
            "--repo" => o.repo = val()?,
            "--queries" => o.queries = num(&val()?)?,
            "--max-files" => o.max_files = num(&val()?)?,
            "--scan" => o.scan = num(&val()?)?,
            "--grove" => o.grove = val()?,
            "--model-dir" => o.model_dir = val()?,
            "--index-dir" => o.index_dir = Some(val()?),
            "--out" => o.out = Some(val()?),
            "--dump" => o.dump = Some(val()?),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if o.repo.as_os_str().is_empty() {
        return Err("--repo is required".into());
    }
    Ok(Some(o))
}

fn num(p: &Path) -> Result<usize> {
    p.to_str().and_then(|s| s.parse().ok()).ok_or_else(|| format!("not a number: {}", p.display()))
}

fn git(repo: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(format!("git {} failed", args.join(" ")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Extensions grove-syntax parses: the answers are source files.
fn is_source(path: &str) -> bool {
    const EXT: &[&str] = &[
        "rs", "py", "pyi", "js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx", "go", "java", "c", "h", "cc", "cpp",
        "cxx", "hpp", "hh", "hxx",
    ];
    path.rsplit_once('.').is_some_and(|(_, e)| EXT.contains(&e))
}

struct Case {
    commit: String,
    parent: String,
    query: String,
    answers: BTreeSet<String>,
}

/// The message without trailers (Signed-off-by:, Co-authored-by:, ...),
/// issue references and URLs-only lines, capped.
fn clean_message(msg: &str) -> String {
    let mut lines = Vec::new();
    for l in msg.lines() {
        let t = l.trim();
        let trailer = t.split_once(':').is_some_and(|(k, _)| {
            !k.is_empty() && k.len() < 30 && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && k.contains('-')
        });
        if trailer || t.starts_with("Fixes #") || t.starts_with("Closes #") || t.starts_with("http") {
            continue;
        }
        lines.push(t);
    }
    let mut s = lines.join(" ").split_whitespace().collect::<Vec<_>>().join(" ");
    if s.len() > 600 {
        let mut cut = 600;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

fn cases(o: &EvalOpts) -> Result<Vec<Case>> {
    let log = git(&o.repo, &["log", "--first-parent", "--no-merges", "-n", &o.scan.to_string(), "--format=%H %P"])?;
    let mut out = Vec::new();
    for line in log.lines() {
        let mut parts = line.split_whitespace();
        let (Some(c), Some(p)) = (parts.next(), parts.next()) else {
            continue;
        };
        let msg = git(&o.repo, &["log", "-1", "--format=%B", c])?;
        let query = clean_message(&msg);
        // Release bumps and one-word messages carry no intent to find.
        if query.split_whitespace().count() < 4 {
            continue;
        }
        let diff = git(&o.repo, &["diff", "--name-status", "--no-renames", p, c])?;
        let mut answers = BTreeSet::new();
        let mut touched_source = 0;
        for d in diff.lines() {
            let Some((status, path)) = d.split_once('\t') else {
                continue;
            };
            if !is_source(path) {
                continue;
            }
            touched_source += 1;
            if status == "M" {
                answers.insert(path.to_string());
            }
        }
        if answers.is_empty() || touched_source > o.max_files {
            continue;
        }
        out.push(Case { commit: c.to_string(), parent: p.to_string(), query, answers });
        if out.len() >= o.queries {
            break;
        }
    }
    Ok(out)
}

fn grove(o: &EvalOpts, index: &Path, args: &[&str]) -> Result<std::process::Output> {
    Command::new(&o.grove)
        .arg("--repo")
        .arg(&o.repo)
        .arg("--index-dir")
        .arg(index)
        .arg("--model-dir")
        .arg(&o.model_dir)
        .args(args)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{}: {e}", o.grove.display()))
}

/// Paths in rank order from `grove find --json` output.
fn ranked_paths(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.contains("\"type\":\"hit\""))
        .filter_map(|l| crate::json_string_field(l, "path"))
        .collect()
}

#[derive(Default, Clone, Copy)]
struct Score {
    r1: f64,
    r5: f64,
    r10: f64,
    mrr: f64,
    ms: f64,
}

fn score(ranked: &[String], answers: &BTreeSet<String>) -> Score {
    let recall =
        |k: usize| ranked.iter().take(k).filter(|p| answers.contains(*p)).count() as f64 / answers.len() as f64;
    let first = ranked.iter().position(|p| answers.contains(p));
    Score { r1: recall(1), r5: recall(5), r10: recall(10), mrr: first.map_or(0.0, |i| 1.0 / (i as f64 + 1.0)), ms: 0.0 }
}

pub fn eval(o: EvalOpts) -> Result<ExitCode> {
    if !o.grove.is_file() {
        return Err(format!(
            "{} not found; build it with `cargo build --release -p grove-cli` or pass --grove",
            o.grove.display()
        ));
    }
    let tmp;
    let index = match &o.index_dir {
        Some(d) => d.clone(),
        None => {
            tmp = crate::make_temp_dir(false)?;
            tmp.path.join("index")
        }
    };
    let cases = cases(&o)?;
    if cases.is_empty() {
        return Err("no usable commits found".into());
    }
    let parents: BTreeSet<&str> = cases.iter().map(|c| c.parent.as_str()).collect();
    eprintln!("{} queries over {} parent revisions; embedding them (slow on a CPU) ...", cases.len(), parents.len());
    let t = Instant::now();
    let mut args: Vec<&str> = vec!["index", "--semantic"];
    for p in &parents {
        args.push("--rev");
        args.push(p);
    }
    let out = grove(&o, &index, &args)?;
    if !out.status.success() {
        return Err(format!("grove index --semantic failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let index_summary = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let index_secs = t.elapsed().as_secs_f64();
    let modes = ["lexical", "dense", "hybrid"];
    let mut totals = [Score::default(); 3];
    let mut dump = String::new();
    for (qi, c) in cases.iter().enumerate() {
        let mut line = format!("{{\"commit\":\"{}\",\"answers\":{}", c.commit, c.answers.len());
        for (mi, mode) in modes.iter().enumerate() {
            let t = Instant::now();
            let out = grove(
                &o,
                &index,
                &["find", "--files", "--json", "-k", "10", "--mode", mode, "--rev", &c.parent, &c.query],
            )?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if !out.status.success() && out.status.code() != Some(1) {
                return Err(format!("grove find failed on {}: {}", c.commit, String::from_utf8_lossy(&out.stderr)));
            }
            let s = score(&ranked_paths(&out.stdout), &c.answers);
            let tot = &mut totals[mi];
            tot.r1 += s.r1;
            tot.r5 += s.r5;
            tot.r10 += s.r10;
            tot.mrr += s.mrr;
            tot.ms += ms;
            let _ = write!(line, ",\"{mode}_mrr\":{:.3}", s.mrr);
        }
        dump.push_str(&line);
        dump.push_str("}\n");
        eprint!("\r{}/{} queries", qi + 1, cases.len());
    }
    eprintln!();
    let n = cases.len() as f64;
    let name = o.repo.canonicalize().unwrap_or(o.repo.clone());
    let mut md = String::new();
    let _ = writeln!(md, "### File localization on {}", name.display());
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "{} queries (commit message → source files it modified, searched at the parent; {} distinct parent revisions; commits touching ≤ {} source files). Embedding the parents: {:.0} s (`{}`).",
        cases.len(),
        parents.len(),
        o.max_files,
        index_secs,
        index_summary
    );
    let _ = writeln!(md);
    let _ = writeln!(md, "| mode | Recall@1 | Recall@5 | Recall@10 | MRR | mean ms per query (whole process) |");
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for (mi, mode) in modes.iter().enumerate() {
        let t = totals[mi];
        let _ = writeln!(
            md,
            "| {mode} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} |",
            t.r1 / n,
            t.r5 / n,
            t.r10 / n,
            t.mrr / n,
            t.ms / n
        );
    }
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "Reproduce: `cargo xtask eval --repo {} --queries {} --max-files {}`",
        o.repo.display(),
        o.queries,
        o.max_files
    );
    print!("{md}");
    if let Some(p) = &o.out {
        std::fs::write(p, &md).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if let Some(p) = &o.dump {
        std::fs::write(p, &dump).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
