//! The incremental target measured in one process: a full index of
//! `HEAD~N`, then the next N first-parent commits indexed one at a time,
//! each its own `Engine::index` call published durably (segments, snapshot,
//! fsyncs, refs, automatic compaction) — what `grove serve`, `grove lsp` or
//! `grove mcp` do when requests name new commits one after another.
//! `benches/commits.sh` measures the same with one process per commit, which
//! adds process start and opening git's pack indexes to every commit.
//!
//!   GROVE_BENCH_REPO=/path/to/repo.git [GROVE_BENCH_COMMITS=100] \
//!   [GROVE_BENCH_RUNS=3] cargo bench -p grove-benches --bench commits_in_process
//!
//! With `GROVE_BENCH_SEED_INDEX=DIR`, each run starts from a copy of the
//! index at DIR (e.g. every tag indexed) instead of an empty one: the same
//! commits, but compaction and lookups among many refs and segments.
//!
//! Every run uses a fresh index; the ratio is taken within a run (the
//! machine is shared and noisy) and the median over runs is reported.
//! Prints timings only; never asserts on them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use grove_engine::{Engine, EngineOptions, NoProgress};

fn first_parent_chain(repo: &Path, n: usize) -> Vec<String> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(repo)
        .args(["rev-list", "--first-parent", "-n", &(n + 1).to_string(), "HEAD"])
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git rev-list failed in {}", repo.display());
    let mut revs: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    revs.reverse();
    revs
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() { dir_size(&entry.path()) } else { meta.len() };
    }
    total
}

/// CPU time (user + system, all threads) this process has used so far, from
/// /proc/self/stat (clock ticks of 10 ms: enough for totals of a second).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
    Duration::from_millis(f.iter().sum::<u64>() * 10)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    // `cargo bench` passes `--bench`; there are no other arguments.
    let Ok(repo) = std::env::var("GROVE_BENCH_REPO") else {
        eprintln!("commits_in_process: set GROVE_BENCH_REPO to a git repository with history (e.g. git/git)");
        return;
    };
    let repo = PathBuf::from(repo);
    let n: usize = std::env::var("GROVE_BENCH_COMMITS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let runs: usize = std::env::var("GROVE_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let chain = first_parent_chain(&repo, n);
    let (first, rest) = chain.split_first().expect("at least one commit");

    println!("## {} consecutive commits of {}, one process", rest.len(), repo.display());
    println!();
    println!(
        "| run | full index of HEAD~{n} | {n} commits one at a time | ratio | CPU time: commits / full | median | p90 | max | index growth |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    // Each `grove index -v` phase of the one-at-a-time commits, summed.
    let mut phases: Vec<(&'static str, Duration)> = Vec::new();
    // Indexes are kept until every run is done, and measured (gc, then
    // size) only then: deleting files just before a run slows its file
    // creations on ext4 without a journal, which skips inodes freed in the
    // last 60 s (360 s while the inode table block is dirty), and
    // per-commit indexing creates a few files each commit.
    let mut kept = Vec::new();
    // A full index first, untimed, so that every run reads git's packs from
    // the page cache (the first cold one would flatter the ratio).
    let _warm = {
        let warm = tempfile::tempdir().unwrap();
        let opts = EngineOptions { index_dir: Some(warm.path().join("index")), ..Default::default() };
        let engine = Engine::open(&repo, opts).unwrap();
        engine.index(&[engine.resolve_one(first).unwrap()], &NoProgress).unwrap();
        warm
    };
    let mut rows = Vec::new();
    for run in 1..=runs {
        let tmp = tempfile::tempdir().unwrap();
        if let Some(seed) = std::env::var_os("GROVE_BENCH_SEED_INDEX") {
            copy_dir(Path::new(&seed), &tmp.path().join("index"));
        }
        let opts = EngineOptions { index_dir: Some(tmp.path().join("index")), ..Default::default() };
        let engine = Engine::open(&repo, opts).unwrap();

        let (t, c) = (Instant::now(), cpu_time());
        let base = engine.resolve_one(first).unwrap();
        engine.index(&[base], &NoProgress).unwrap();
        let (full, full_cpu) = (t.elapsed(), cpu_time() - c);
        let size0 = dir_size(engine.index_dir());

        let mut per: Vec<Duration> = Vec::with_capacity(rest.len());
        let c = cpu_time();
        for rev in rest {
            let t = Instant::now();
            let r = engine.resolve_one(rev).unwrap();
            let summary = engine.index(&[r], &NoProgress).unwrap();
            per.push(t.elapsed());
            for (name, d) in summary.phases {
                match phases.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, total)) => *total += d,
                    None => phases.push((name, d)),
                }
            }
        }
        let per_cpu = cpu_time() - c;
        let total: Duration = per.iter().sum();
        per.sort();
        let pick = |q: f64| per[((per.len() as f64 * q).ceil() as usize).clamp(1, per.len()) - 1];
        let ratio = total.as_secs_f64() / full.as_secs_f64();
        ratios.push(ratio);
        rows.push(format!(
            "| {run} | {:.0} ms | {:.0} ms | {ratio:.2}× | {:.2} s / {:.2} s = {:.2}× | {:.1} ms | {:.1} ms | {:.1} ms |",
            ms(full),
            ms(total),
            per_cpu.as_secs_f64(),
            full_cpu.as_secs_f64(),
            per_cpu.as_secs_f64() / full_cpu.as_secs_f64(),
            ms(pick(0.5)),
            ms(pick(0.9)),
            ms(*per.last().unwrap()),
        ));
        kept.push((tmp, engine, size0));
    }
    for (row, (_tmp, engine, size0)) in rows.iter().zip(&kept) {
        engine.gc(Duration::ZERO).unwrap();
        let growth = dir_size(engine.index_dir()).saturating_sub(*size0);
        println!("{row} {} KiB |", growth / 1024);
    }
    ratios.sort_by(f64::total_cmp);
    println!();
    println!("Median ratio over {runs} runs: {:.2}×", ratios[(ratios.len() - 1) / 2]);
    println!();
    println!("Mean per commit of each phase (all runs):");
    println!();
    let commits = (rest.len() * runs) as f64;
    for (name, d) in &phases {
        println!("- {name}: {:.2} ms", ms(*d) / commits);
    }
}
