//! Rough timings of the diff applier's inputs on a real repository.
//!
//! `cargo run --release -p grove-vcs --example diff_bench -- REPO [REV] [PAIRS]`
//!
//! * `diff_trees` between each of the first PAIRS first-parent commits of REV and their
//!   parent (median and max per pair, and the number of changes);
//! * `ancestors(REV, 1000)`;
//! * `worktree_changes` (when REPO has a work tree), several times.

use std::time::{Duration, Instant};

use grove_vcs::Repo;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| ".".into());
    let rev = args.next().unwrap_or_else(|| "HEAD".into());
    let pairs: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(200);

    let repo = Repo::discover(path.as_ref()).unwrap_or_else(|e| panic!("{e}"));
    let head = repo.resolve(&rev).unwrap_or_else(|e| panic!("{e}"));

    let t = Instant::now();
    let anc = repo.ancestors(head.oid, 1000).unwrap();
    println!("ancestors(1000): {} commits in {:?}", anc.len(), t.elapsed());

    // First-parent chain.
    let mut chain = vec![head];
    for i in 1..=pairs {
        match repo.resolve(&format!("{rev}~{i}")) {
            Ok(c) => chain.push(c),
            Err(_) => break,
        }
    }
    let mut times: Vec<Duration> = Vec::new();
    let mut changes = 0usize;
    for w in chain.windows(2) {
        let t = Instant::now();
        let d = repo.diff_trees(w[1].tree, w[0].tree).unwrap();
        times.push(t.elapsed());
        changes += d.len();
    }
    times.sort();
    if !times.is_empty() {
        println!(
            "diff_trees over {} adjacent pairs: median {:?}, p90 {:?}, max {:?}, total {:?}, {} changes",
            times.len(),
            times[times.len() / 2],
            times[times.len() * 9 / 10],
            times[times.len() - 1],
            times.iter().sum::<Duration>(),
            changes
        );
    }
    if let Some(far) = chain.last() {
        let t = Instant::now();
        let d = repo.diff_trees(far.tree, head.tree).unwrap();
        println!("diff_trees {rev}~{} -> {rev}: {} changes in {:?}", chain.len() - 1, d.len(), t.elapsed());
    }

    if repo.work_dir().is_some() {
        for i in 0..5 {
            let t = Instant::now();
            let wc = repo.worktree_changes().unwrap();
            println!("worktree_changes #{i}: {} changes in {:?}", wc.changes.len(), t.elapsed());
            if i == 0 {
                for c in wc.changes.iter().take(10) {
                    println!("  {:?}", String::from_utf8_lossy(c.path()));
                }
            }
        }
    }
}
