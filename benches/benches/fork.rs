//! `grove fork` in-process: resolving the source and writing one ref.
//!
//! By default a one-file repository is made in a temp dir; set
//! `GROVE_BENCH_REPO` (and optionally `GROVE_BENCH_INDEX`, `GROVE_BENCH_REV`)
//! to fork in a large index instead (e.g. one holding hundreds of tags) and
//! compare: the cost must not depend on how much is indexed.
//!
//! Two numbers: `durable` is `Engine::fork` (one ref file written with
//! temp → fsync → rename → fsync dir, so it is bounded below by the disk's
//! fsync latency), and `get_ref` is the lookup a search makes to find the
//! snapshot of a revision.

use std::path::PathBuf;
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion};
use grove_engine::{Engine, EngineOptions, NoProgress};

fn setup() -> (tempfile::TempDir, PathBuf, Option<PathBuf>, String) {
    let tmp = tempfile::tempdir().unwrap();
    if let Ok(repo) = std::env::var("GROVE_BENCH_REPO") {
        let index = std::env::var("GROVE_BENCH_INDEX").ok().map(PathBuf::from);
        let rev = std::env::var("GROVE_BENCH_REV").unwrap_or_else(|_| "HEAD".into());
        return (tmp, PathBuf::from(repo), index, rev);
    }
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let st = Command::new("git").arg("-C").arg(&repo).args(args).env("HOME", tmp.path()).status().unwrap();
        assert!(st.success());
    };
    git(&["init", "-q"]);
    std::fs::write(repo.join("f.txt"), "hello\n").unwrap();
    git(&["add", "f.txt"]);
    git(&["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "one"]);
    (tmp, repo, None, "HEAD".into())
}

fn bench_fork(c: &mut Criterion) {
    let (_tmp, repo, index, rev) = setup();
    let engine = Engine::open(&repo, EngineOptions { index_dir: index, ..Default::default() }).unwrap();
    engine.fork(&rev, "bench-fork", &NoProgress).unwrap(); // index once
    let store = grove_store::Store::open(engine.index_dir()).unwrap();
    let refs = grove_manifest::load_refs(&store).unwrap().len();
    eprintln!("refs: {refs}");
    let mut g = c.benchmark_group("fork");
    g.bench_function("durable", |b| b.iter(|| engine.fork(&rev, "bench-fork", &NoProgress).unwrap()));
    g.bench_function("get_ref", |b| {
        b.iter(|| std::hint::black_box(grove_manifest::get_ref(&store, "name/bench-fork").unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench_fork);
criterion_main!(benches);
