//! Rough timings of grove-vcs on a real repository.
//!
//! `cargo run -p grove-vcs --example vcs_bench -- REPO [REV] [THREADS]`

use std::time::Instant;

use grove_vcs::{RefKind, Repo};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| ".".into());
    let rev = args.next().unwrap_or_else(|| "HEAD".into());
    let threads: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(2);

    let t = Instant::now();
    let repo = match Repo::discover(path.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!("discover: {:?} ({:?})", t.elapsed(), repo);

    let t = Instant::now();
    let commit = repo.resolve(&rev).unwrap_or_else(|e| panic!("{e}"));
    println!("resolve {rev}: {:?} -> {}", t.elapsed(), commit.oid);

    for i in 0..3 {
        let t = Instant::now();
        let entries = repo.tree_entries(commit.tree).unwrap();
        println!("tree_entries #{i}: {} files in {:?}", entries.len(), t.elapsed());
    }
    let entries = repo.tree_entries(commit.tree).unwrap();

    let t = Instant::now();
    let tags = repo.refs_matching(RefKind::Tag, "*").unwrap();
    println!("refs_matching(Tag, *): {} tags in {:?}", tags.len(), t.elapsed());

    let t = Instant::now();
    for _ in 0..1000 {
        std::hint::black_box(repo.local());
    }
    println!("local() x1000: {:?}", t.elapsed());

    let t = Instant::now();
    let local = repo.local();
    let mut total = 0u64;
    for e in &entries {
        total += local.blob_size(e.oid).unwrap();
    }
    println!("blob_size x{}: {:?} ({} bytes)", entries.len(), t.elapsed(), total);

    let t = Instant::now();
    let mut buf = Vec::new();
    let mut total = 0usize;
    for e in &entries {
        local.read_blob(e.oid, &mut buf).unwrap();
        total += buf.len();
    }
    let el = t.elapsed();
    println!(
        "read_blob x{} (1 thread): {:?}, {} MB, {:.0} MB/s",
        entries.len(),
        el,
        total / 1_000_000,
        total as f64 / 1e6 / el.as_secs_f64()
    );

    let t = Instant::now();
    let total: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (repo, entries) = (&repo, &entries);
                s.spawn(move || {
                    let local = repo.local();
                    let mut buf = Vec::new();
                    let mut total = 0;
                    for e in entries.iter().skip(i).step_by(threads) {
                        local.read_blob(e.oid, &mut buf).unwrap();
                        total += buf.len();
                    }
                    total
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let el = t.elapsed();
    println!(
        "read_blob x{} ({threads} threads): {:?}, {:.0} MB/s",
        entries.len(),
        el,
        total as f64 / 1e6 / el.as_secs_f64()
    );

    // Error messages, as a user would see them.
    for bad in [
        "no-such-rev",
        "HEAD:Makefile",
        "HEAD^{tree}",
        "a..b",
        "",
        "HEAD~999999",
        "abcd",
        "HEAD@{99999}",
        "v2.0.0..HEAD",
        "v2.0.0^{blob}",
        "HEAD:no/such/file",
        "@{u}",
        "HEAD^3",
        "refs/heads/nope",
    ] {
        if let Err(e) = repo.resolve(bad) {
            println!("resolve({bad:?}) -> {e}");
        }
    }
    if let Err(e) = repo.refs_matching(RefKind::Tag, "[v") {
        println!("refs_matching([v) -> {e}");
    }
    if let Err(e) = Repo::discover("/".as_ref()) {
        println!("discover(/) -> {e}");
    }
}
