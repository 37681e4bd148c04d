//! Durability and concurrency of the on-disk index.
//!
//! The commit protocol (segments → snapshots → ref swap, each write temp →
//! fsync → rename) must leave every previously committed snapshot intact and
//! searchable whatever instant the writer dies at, and the next run must
//! resume without redoing finished work. Writers and readers may run at once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn grove(repo: &Path, index: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_grove"));
    cmd.args(args).arg("--repo").arg(repo).arg("--index-dir").arg(index);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn random_repo(dir: &Path, seed: u32, files: u32, commits: u32) -> PathBuf {
    let repo = dir.join(format!("repo-{seed}"));
    let out = Command::new("python3")
        .arg(root().join("fixtures/build-random.py"))
        .arg(&repo)
        .args([seed.to_string(), files.to_string(), commits.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    repo
}

fn tags(repo: &Path) -> Vec<String> {
    let out = Command::new("git").arg("-C").arg(repo).args(["tag", "-l", "r*"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

const PATTERNS: &[&str] = &["foo_?bar", "(?i)quux", r"\bx\w+", "return"];

/// `grove search -c` for each pattern over `revs`, concatenated.
fn answers(repo: &Path, index: &Path, revs: &[String]) -> String {
    let mut all = String::new();
    for p in PATTERNS {
        let mut args = vec!["search", "-c", *p];
        for r in revs {
            args.push("--rev");
            args.push(r);
        }
        let out = grove(repo, index, &args, &[]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
        all.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    all
}

/// Tiny deterministic PRNG (no dependency needed for a test schedule).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn killed_writers_never_damage_committed_snapshots_and_work_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = random_repo(tmp.path(), 11, 120, 80);
    let all_tags = tags(&repo);
    assert!(all_tags.len() >= 6, "fixture has tags {all_tags:?}");

    // The oracle: a fresh, uninterrupted index.
    let fresh = tmp.path().join("fresh");
    let expected = answers(&repo, &fresh, &all_tags);

    let index = tmp.path().join("crashy");
    let points = ["before-rename", "after-segment", "after-snapshot", "before-refs-swap", "after-refs-swap"];
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut committed: Vec<String> = Vec::new();
    let mut crashes = 0;
    for round in 0..32 {
        // Index a few revisions not committed yet (tags, or any commit of
        // main) and die somewhere on the way.
        let revs: Vec<String> = (0..1 + rng.below(3))
            .map(|_| {
                if rng.below(2) == 0 {
                    all_tags[rng.below(all_tags.len() as u64) as usize].clone()
                } else {
                    format!("main~{}", rng.below(79))
                }
            })
            .filter(|r| !committed.contains(r))
            .collect();
        if revs.is_empty() {
            continue;
        }
        let mut args = vec!["index".to_string()];
        for r in &revs {
            args.push("--rev".into());
            args.push(r.clone());
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_grove"));
        cmd.args(&args).arg("--repo").arg(&repo).arg("--index-dir").arg(&index);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        if round % 2 == 0 {
            cmd.env("GROVE_FAILPOINT", points[rng.below(points.len() as u64) as usize]);
            let status = cmd.status().unwrap();
            if status.success() {
                committed.extend(revs);
            } else {
                crashes += 1;
            }
        } else {
            // A SIGKILL at a random instant.
            let mut child = cmd.spawn().unwrap();
            std::thread::sleep(Duration::from_millis(rng.below(25)));
            let _ = child.kill();
            let status = child.wait().unwrap();
            if status.success() {
                committed.extend(revs);
            } else {
                crashes += 1;
            }
        }
        // Whatever happened, the index verifies (if it exists yet) ...
        if index.join("FORMAT").exists() {
            let check = grove(&repo, &index, &["check"], &[]);
            assert_eq!(check.status.code(), Some(0), "round {round}: {}", String::from_utf8_lossy(&check.stdout));
        }
        // ... and what was committed answers exactly as a fresh index does.
        if !committed.is_empty() {
            committed.sort();
            committed.dedup();
            assert_eq!(answers(&repo, &index, &committed), answers(&repo, &fresh, &committed), "round {round}");
        }
    }

    eprintln!("{crashes} of 32 writers died");
    assert!(crashes >= 6, "only {crashes} of 32 writers died: the test exercises too little");

    // Resume: the same work again completes and equals the fresh build.
    ok(&grove(&repo, &index, &["index", "--tags", "r*"], &[]));
    assert_eq!(answers(&repo, &index, &all_tags), expected);
    ok(&grove(&repo, &index, &["check"], &[]));
    ok(&grove(&repo, &index, &["gc", "--now"], &[]));
    ok(&grove(&repo, &index, &["check"], &[]));
    assert_eq!(answers(&repo, &index, &all_tags), expected);
}

#[test]
fn a_crash_before_the_ref_swap_leaves_work_that_the_next_run_reuses() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = random_repo(tmp.path(), 5, 60, 20);
    let index = tmp.path().join("index");
    let crashed = grove(&repo, &index, &["index", "--rev", "main"], &[("GROVE_FAILPOINT", "before-refs-swap")]);
    assert!(!crashed.status.success());
    let segments = std::fs::read_dir(index.join("segments")).unwrap().count();
    assert_eq!(segments, 1, "the segment was written before the crash");
    let out = ok(&grove(&repo, &index, &["index", "--rev", "main"], &[]));
    assert!(out.contains(" 0 new blobs"), "the resumed run re-indexed finished work: {out}");
    ok(&grove(&repo, &index, &["check"], &[]));
}

#[test]
fn concurrent_writers_and_readers_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = random_repo(tmp.path(), 23, 100, 90);
    let all_tags = tags(&repo);
    let index = tmp.path().join("index");
    ok(&grove(&repo, &index, &["index", "--rev", "main"], &[]));
    let baseline = answers(&repo, &index, &["main".to_string()]);

    // Three writers on disjoint tag sets, readers and a gc running meanwhile.
    let spawn = |args: Vec<String>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_grove"));
        cmd.args(&args).arg("--repo").arg(&repo).arg("--index-dir").arg(&index);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    let mut writers = Vec::new();
    for chunk in all_tags.chunks(all_tags.len().div_ceil(3)) {
        let mut args = vec!["index".to_string()];
        for t in chunk {
            args.push("--rev".into());
            args.push(t.clone());
        }
        writers.push(spawn(args));
    }
    for _ in 0..6 {
        assert_eq!(answers(&repo, &index, &["main".to_string()]), baseline, "a reader saw an inconsistent state");
        ok(&grove(&repo, &index, &["gc"], &[]));
    }
    for w in writers {
        let out = w.wait_with_output().unwrap();
        ok(&out);
    }
    // Every writer's refs survived.
    let list = ok(&grove(&repo, &index, &["list", "--json"], &[]));
    let commits: std::collections::HashSet<String> = list
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["commit"].as_str().unwrap().to_string())
        .collect();
    for t in &all_tags {
        let out =
            Command::new("git").arg("-C").arg(&repo).args(["rev-parse", &format!("{t}^{{commit}}")]).output().unwrap();
        let sha = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(commits.contains(&sha), "tag {t} ({sha}) lost its snapshot");
    }
    ok(&grove(&repo, &index, &["check"], &[]));
    let fresh = tmp.path().join("fresh");
    assert_eq!(answers(&repo, &index, &all_tags), answers(&repo, &fresh, &all_tags));
}
