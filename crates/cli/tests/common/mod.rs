//! Shared helpers of grove's CLI integration tests: one way to run `grove`,
//! one way to run `git` (isolated from the user's configuration), and the
//! fixture repositories built by `fixtures/*` once per test binary.
//!
//! Everything is written under `$CARGO_TARGET_TMPDIR/grove-cli-tests/<test
//! binary>/`, which each test binary empties when it starts, so nothing leaks
//! into /tmp and reruns start clean.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::LazyLock;

pub const GROVE: &str = env!("CARGO_BIN_EXE_grove");

/// `fixtures/` at the root of the workspace.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// This test binary's scratch directory (emptied once per process).
pub fn scratch() -> &'static Path {
    static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("grove-cli-tests").join(env!("CARGO_CRATE_NAME"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        dir
    });
    &DIR
}

/// A fresh directory under the scratch directory, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::TempDir::new_in(scratch()).expect("tempdir")
}

/// A home directory with no configuration, for git and grove alike.
fn empty_home() -> &'static Path {
    static HOME: LazyLock<PathBuf> = LazyLock::new(|| {
        let h = scratch().join("home");
        std::fs::create_dir_all(&h).unwrap();
        h
    });
    &HOME
}

/// The environment every child process gets: no user or system git config,
/// a UTF-8 locale (so `git grep -i` folds Unicode), no colour preferences.
pub fn isolate(cmd: &mut Command) {
    cmd.env("HOME", empty_home())
        .env("XDG_CONFIG_HOME", empty_home().join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("LC_ALL", "C.UTF-8")
        .env("TZ", "UTC")
        .env_remove("GROVE_INDEX_DIR")
        .env_remove("GROVE_MODEL_DIR")
        .env_remove("HF_HOME")
        .env_remove("HF_HUB_CACHE")
        .env_remove("NO_COLOR")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_CEILING_DIRECTORIES")
        .env_remove("GIT_CONFIG_PARAMETERS")
        .env_remove("GIT_CONFIG_COUNT")
        .stdin(Stdio::null());
}

/// A `grove` command with an isolated environment (add args, cwd, env).
pub fn grove_cmd() -> Command {
    let mut cmd = Command::new(GROVE);
    isolate(&mut cmd);
    cmd
}

/// Runs `grove ARGS...`.
pub fn grove<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Output {
    grove_cmd().args(args).output().expect("run grove")
}

/// A `git -C REPO` command with an isolated environment.
pub fn git_cmd(repo: &Path) -> Command {
    let mut cmd = Command::new("git");
    isolate(&mut cmd);
    cmd.arg("-C").arg(repo).arg("-c").arg("core.quotePath=false");
    cmd
}

/// Runs `git -C REPO ARGS...`.
pub fn git<S: AsRef<OsStr>>(repo: &Path, args: impl IntoIterator<Item = S>) -> Output {
    git_cmd(repo).args(args).output().expect("run git")
}

/// Runs git and returns its stdout, panicking unless it exits 0.
pub fn git_ok<S: AsRef<OsStr>>(repo: &Path, args: impl IntoIterator<Item = S>) -> Vec<u8> {
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_os_string()).collect();
    let out = git(repo, &args);
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Exit code (panics on death by signal, e.g. a crash).
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or_else(|| panic!("killed by a signal: {}", describe(out)))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Everything about a finished command, for assertion messages.
pub fn describe(out: &Output) -> String {
    let so = stdout(out);
    let so: String = so.chars().take(3000).collect();
    format!("status {:?}\n--- stdout ---\n{so}\n--- stderr ---\n{}", out.status, stderr(out))
}

/// Asserts the exit code and that nothing panicked.
#[track_caller]
pub fn assert_code(out: &Output, want: i32) {
    assert!(!stderr(out).contains("panicked"), "grove panicked:\n{}", describe(out));
    assert_eq!(code(out), want, "unexpected exit code:\n{}", describe(out));
}

/// Lines of a byte output (split on `\n`, the empty tail dropped).
pub fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(|l| l.to_vec()).collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

/// Renders byte lines for a diff-like assertion message.
pub fn show(lines: &[Vec<u8>]) -> String {
    lines.iter().map(|l| format!("  {}\n", String::from_utf8_lossy(l))).collect()
}

fn run_builder(mut cmd: Command) {
    isolate(&mut cmd);
    let out = cmd.output().expect("run fixture builder");
    assert!(out.status.success(), "fixture builder failed: {}", describe(&out));
}

/// Builds `fixtures/build-basic.sh` into a new directory under `parent`.
pub fn build_basic(dest: &Path) {
    let mut cmd = Command::new(fixtures_dir().join("build-basic.sh"));
    cmd.arg(dest);
    run_builder(cmd);
}

/// Builds `fixtures/build-random.py DEST SEED NFILES NCOMMITS`.
pub fn build_random(dest: &Path, seed: u64, nfiles: u32, ncommits: u32) {
    let mut cmd = Command::new("python3");
    cmd.arg(fixtures_dir().join("build-random.py"))
        .arg(dest)
        .arg(seed.to_string())
        .arg(nfiles.to_string())
        .arg(ncommits.to_string());
    run_builder(cmd);
}

/// The basic fixture, built once per test binary. Treat it as read-only:
/// always pass `--index-dir` (see [`Indexed`]) so that nothing is written
/// into its `.git`.
pub fn basic() -> &'static Path {
    static REPO: LazyLock<PathBuf> = LazyLock::new(|| {
        let dest = scratch().join("basic");
        build_basic(&dest);
        dest
    });
    &REPO
}

/// The expected ids of the basic fixture (fixtures/README.md).
pub const BASIC_MAIN: &str = "21ca42392ba26c47771edcb26390c6934abac2db";

/// A repository and an index directory of its own.
pub struct Indexed {
    pub repo: PathBuf,
    pub index: PathBuf,
    _keep: Option<tempfile::TempDir>,
}

impl Indexed {
    /// A fresh, empty index for `repo` (removed when dropped).
    pub fn new(repo: &Path) -> Indexed {
        let t = tempdir();
        Indexed { repo: repo.to_path_buf(), index: t.path().join("index"), _keep: Some(t) }
    }

    /// An index at a fixed place that lives as long as the process (for
    /// indexes shared by all tests of a binary).
    pub fn shared(repo: &Path, name: &str) -> Indexed {
        Indexed { repo: repo.to_path_buf(), index: scratch().join(name), _keep: None }
    }

    /// `grove SUBCOMMAND --repo R --index-dir I ARGS...`
    pub fn run<S: AsRef<OsStr>>(&self, subcommand: &str, args: impl IntoIterator<Item = S>) -> Output {
        grove_cmd()
            .arg(subcommand)
            .arg("--repo")
            .arg(&self.repo)
            .arg("--index-dir")
            .arg(&self.index)
            .args(args)
            .output()
            .expect("run grove")
    }

    /// `grove search --repo R --index-dir I ARGS...`
    pub fn search<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Output {
        self.run("search", args)
    }

    /// `grove index ...`, which must succeed.
    #[track_caller]
    pub fn index<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) {
        let out = self.run("index", args);
        assert_code(&out, 0);
    }

    /// `grove check`.
    pub fn check(&self) -> Output {
        self.run("check", std::iter::empty::<&str>())
    }

    /// The paths grove skipped (binary / too large) at these revisions, from
    /// the `--json` summary: `(rev, path)`.
    pub fn skipped(&self, revs: &[&str]) -> Vec<(String, String)> {
        let mut args: Vec<String> = vec!["--json".into(), "-l".into()];
        for r in revs {
            args.push("--rev".into());
            args.push(r.to_string());
        }
        // Any pattern: the skipped list does not depend on it.
        args.push("--".into());
        args.push("needle".into());
        let out = self.search(&args);
        assert!(code(&out) <= 1, "{}", describe(&out));
        let text = stdout(&out);
        let last = text.lines().last().expect("a summary line");
        let v: serde_json::Value = serde_json::from_str(last).expect("summary is JSON");
        assert_eq!(v["type"], "summary");
        v["skipped"]
            .as_array()
            .expect("skipped array")
            .iter()
            .map(|s| (s["rev"].as_str().unwrap().to_string(), s["path"].as_str().unwrap().to_string()))
            .collect()
    }
}

/// Writes `text` to `repo/path`, creating directories.
pub fn write_file(repo: &Path, path: &str, text: &str) {
    let p = repo.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// `git add -A && git commit -m MSG` with a fixed identity.
pub fn commit_all(repo: &Path, msg: &str) {
    git_ok(repo, ["add", "-A"]);
    git_ok(repo, ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", msg]);
}
