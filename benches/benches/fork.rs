//! `grove fork` in-process: resolving the source and writing one ref.
//!
//! By default a one-file repository is made in a temp dir; set
//! `GROVE_BENCH_REPO` (and optionally `GROVE_BENCH_INDEX`, `GROVE_BENCH_REV`)
//! to fork in a large index instead (e.g. one holding hundreds of tags) and
//! compare: the cost must not depend on how much is indexed.
//!
//! Two numbers: `durable` is `Engine::fork` (the ref table is rewritten with
//! temp → fsync → rename → fsync dir, so it is bounded below by the disk's
//! fsync latency), and `ref_update_in_memory` is the same work without the
//! disk: decode the ref table, set the ref, encode it.

use std::path::PathBuf;
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion};
use grove_engine::{Engine, EngineOptions, NoProgress};
use grove_manifest::Refs;
use grove_store::ObjectId;

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
    let refs_bytes = std::fs::read(engine.index_dir().join("refs")).unwrap();
    eprintln!("ref table: {} bytes", refs_bytes.len());
    let mut g = c.benchmark_group("fork");
    g.bench_function("durable", |b| b.iter(|| engine.fork(&rev, "bench-fork", &NoProgress).unwrap()));
    g.bench_function("ref_update_in_memory", |b| {
        b.iter(|| {
            let mut refs = Refs::decode(&refs_bytes, "refs".as_ref()).unwrap();
            refs.set("name/bench-fork".into(), ObjectId([7; 32]));
            std::hint::black_box(refs.encode())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_fork);
criterion_main!(benches);
