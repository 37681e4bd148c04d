//! Developer tasks for grove. Run as `cargo xtask <task>` (alias in .cargo/config.toml).
//!
//! `cargo xtask bench --repo PATH [options]`: whole-process benchmarks of the `grove`
//! binary against the anchors (ripgrep, git grep, codesearch's cindex/csearch) on a real
//! repository, in the same run, plus a check that match counts agree. Prints a Markdown
//! report. Never asserts on wall-clock times.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

mod eval;

type Result<T> = std::result::Result<T, String>;

const USAGE: &str = "\
usage: cargo xtask bench --repo PATH [options]

Benchmarks grove (indexing one revision, `grove search -c` queries, peak RSS) against
ripgrep, git grep and codesearch (cindex/csearch) on PATH at REV, and checks that the
match counts of grove, git grep and rg agree.

options:
  --repo PATH        git repository (bare or not) to benchmark on (required)
  --rev REV          revision to index and search (default HEAD)
  --runs N           measured runs per command (default 5); median and min are reported
  --warmup N         unmeasured warm-up runs per command (default 1)
  --out FILE         also write the Markdown report to FILE
  --query K:PATTERN  replace the default queries (repeatable); K is F (literal),
                     E (regex) or i (case-insensitive regex)
  --grove BIN        use this grove binary instead of building it
  --no-build         use <target-dir>/release/grove without running cargo build
  --anchors-only     do not run grove at all (measure only the anchors)
  --allow-missing    skip anchors whose tools are not installed instead of failing
  --keep             keep the temporary directory (checkout, indexes, outputs)
  --strict           exit 1 when counts disagree (timings never affect the exit status)
  -h, --help         this help

tools: git; rg (Debian package ripgrep); cindex and csearch (package codesearch).
";

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some(task) = args.first().and_then(|a| a.to_str().map(str::to_owned)) else {
        eprint!("usage: cargo xtask <task>\n\ntasks:\n  bench   whole-process benchmarks against the anchors (see `cargo xtask bench --help`)\n  eval    retrieval quality of `grove find` on real history (see `cargo xtask eval --help`)\n");
        return ExitCode::from(2);
    };
    let result = match task.as_str() {
        "bench" => match parse_bench_args(&args[1..]) {
            Ok(Some(opts)) => bench(opts),
            Ok(None) => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("error: {e}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        "eval" => {
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            match eval::parse(&args[1..], &workspace) {
                Ok(Some(opts)) => eval::eval(opts),
                Ok(None) => {
                    print!("{}", eval::USAGE);
                    return ExitCode::SUCCESS;
                }
                Err(e) => {
                    eprintln!("error: {e}\n\n{}", eval::USAGE);
                    return ExitCode::from(2);
                }
            }
        }
        "-h" | "--help" | "help" => {
            print!("tasks:\n  bench   whole-process benchmarks against the anchors\n\n{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(format!("unknown task `{other}` (known: bench, eval)")),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

// ------------------------------------------------------------------ options

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Literal,
    Regex,
    IcaseRegex,
}

#[derive(Clone, Debug)]
struct Query {
    label: String,
    kind: Kind,
    pattern: String,
}

struct BenchOpts {
    repo: PathBuf,
    rev: String,
    runs: usize,
    warmup: usize,
    out: Option<PathBuf>,
    queries: Vec<Query>,
    grove: Option<PathBuf>,
    no_build: bool,
    anchors_only: bool,
    allow_missing: bool,
    keep: bool,
    strict: bool,
}

fn default_queries() -> Vec<Query> {
    let q = |label: &str, kind, pattern: &str| Query { label: label.into(), kind, pattern: pattern.into() };
    vec![
        q("selective literal", Kind::Literal, "strbuf_addf"),
        q("regex", Kind::Regex, r#"die\(_\("[a-z]+"#),
        q("case-insensitive", Kind::IcaseRegex, "signed-off-by"),
        q("rare identifier", Kind::Literal, "tmp_objdir_migrate"),
        q("common word", Kind::Literal, "return"),
    ]
}

fn parse_bench_args(args: &[OsString]) -> Result<Option<BenchOpts>> {
    let mut o = BenchOpts {
        repo: PathBuf::new(),
        rev: "HEAD".into(),
        runs: 5,
        warmup: 1,
        out: None,
        queries: Vec::new(),
        grove: None,
        no_build: false,
        anchors_only: false,
        allow_missing: false,
        keep: false,
        strict: false,
    };
    let mut repo = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let a = a.to_str().ok_or_else(|| format!("argument {a:?} is not UTF-8"))?;
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(OsString::from(v))),
            _ => (a, None),
        };
        let mut value = |name: &str| -> Result<OsString> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it.next().cloned().ok_or_else(|| format!("{name} needs a value")),
            }
        };
        let num = |v: OsString, name: &str| -> Result<usize> {
            v.to_str().and_then(|s| s.parse().ok()).ok_or_else(|| format!("{name}: not a number: {v:?}"))
        };
        match name {
            "-h" | "--help" => return Ok(None),
            "--repo" => repo = Some(PathBuf::from(value(name)?)),
            "--rev" => o.rev = value(name)?.to_string_lossy().into_owned(),
            "--runs" => o.runs = num(value(name)?, name)?.max(1),
            "--warmup" => o.warmup = num(value(name)?, name)?,
            "--out" => o.out = Some(PathBuf::from(value(name)?)),
            "--grove" => o.grove = Some(PathBuf::from(value(name)?)),
            "--query" => {
                let v = value(name)?.to_string_lossy().into_owned();
                let (k, p) = v.split_once(':').ok_or("--query wants K:PATTERN (K = F, E or i)")?;
                let kind = match k {
                    "F" => Kind::Literal,
                    "E" => Kind::Regex,
                    "i" => Kind::IcaseRegex,
                    _ => return Err(format!("--query: unknown kind `{k}` (F, E or i)")),
                };
                if p.is_empty() {
                    return Err("--query: empty pattern".into());
                }
                o.queries.push(Query { label: format!("query {}", o.queries.len() + 1), kind, pattern: p.into() });
            }
            "--no-build" => o.no_build = true,
            "--anchors-only" => o.anchors_only = true,
            "--allow-missing" => o.allow_missing = true,
            "--keep" => o.keep = true,
            "--strict" => o.strict = true,
            _ => return Err(format!("unknown option `{a}`")),
        }
    }
    o.repo = repo.ok_or("--repo PATH is required")?;
    if o.queries.is_empty() {
        o.queries = default_queries();
    }
    Ok(Some(o))
}

// ------------------------------------------------------------------ commands

/// A command line, runnable and printable.
#[derive(Clone)]
struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(String, OsString)>,
    cwd: Option<PathBuf>,
}

impl Cmd {
    fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd { program: program.as_ref().to_owned(), args: Vec::new(), env: Vec::new(), cwd: None }
    }
    fn arg(mut self, a: impl AsRef<OsStr>) -> Cmd {
        self.args.push(a.as_ref().to_owned());
        self
    }
    fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, a: I) -> Cmd {
        self.args.extend(a.into_iter().map(|s| s.as_ref().to_owned()));
        self
    }
    fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Cmd {
        self.env.push((k.to_owned(), v.as_ref().to_owned()));
        self
    }
    fn cwd(mut self, d: &Path) -> Cmd {
        self.cwd = Some(d.to_owned());
        self
    }
    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        if let Some(d) = &self.cwd {
            c.current_dir(d);
        }
        c
    }
    /// Shell-ready rendering: `(cd DIR && K=V prog args...)`.
    fn display(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.env {
            let _ = write!(s, "{k}={} ", shell_quote(v));
        }
        s.push_str(&shell_quote(&self.program));
        for a in &self.args {
            s.push(' ');
            s.push_str(&shell_quote(a));
        }
        match &self.cwd {
            Some(d) => format!("(cd {} && {s})", shell_quote(d.as_os_str())),
            None => s,
        }
    }
    /// Runs to completion, capturing stdout; fails on a non-zero exit.
    fn output(&self) -> Result<Vec<u8>> {
        let out = self
            .command()
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run `{}`: {e}", self.display()))?;
        if !out.status.success() {
            return Err(format!(
                "`{}` failed ({}): {}",
                self.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(out.stdout)
    }
    fn output_string(&self) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.output()?).trim().to_owned())
    }
}

fn shell_quote(s: &OsStr) -> String {
    let b = s.as_bytes();
    if !b.is_empty() && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_./=:,+@%^".contains(c)) {
        return s.to_string_lossy().into_owned();
    }
    format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"))
}

// ------------------------------------------------------------------ measuring

#[derive(Clone, Copy)]
struct Sample {
    ms: f64,
    rss_kib: u64,
    code: i32,
}

/// Runs `cmd` once with stdout/stderr redirected to files; wall time from spawn to reap
/// and the child's peak RSS (wait4's ru_maxrss).
fn measure_once(cmd: &Cmd, stdout: &Path, stderr: &Path) -> Result<Sample> {
    let out = fs::File::create(stdout).map_err(|e| format!("{}: {e}", stdout.display()))?;
    let err = fs::File::create(stderr).map_err(|e| format!("{}: {e}", stderr.display()))?;
    let mut c = cmd.command();
    c.stdin(Stdio::null()).stdout(out).stderr(err);
    let start = Instant::now();
    let child = c.spawn().map_err(|e| format!("cannot run `{}`: {e}", cmd.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; wait4 fills it in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own un-reaped child; status and ru are valid pointers.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("wait4 on `{}`: {e}", cmd.display()));
        }
    }
    let ms = start.elapsed().as_secs_f64() * 1e3;
    drop(child); // already reaped by wait4; Child's drop does not wait
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        -1
    };
    Ok(Sample { ms, rss_kib: ru.ru_maxrss as u64, code })
}

struct Bench {
    samples: Vec<Sample>,
    stdout: PathBuf,
}

impl Bench {
    fn median_ms(&self) -> f64 {
        let mut v: Vec<f64> = self.samples.iter().map(|s| s.ms).collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    }
    fn min_ms(&self) -> f64 {
        self.samples.iter().map(|s| s.ms).fold(f64::INFINITY, f64::min)
    }
    fn max_rss_kib(&self) -> u64 {
        self.samples.iter().map(|s| s.rss_kib).max().unwrap_or(0)
    }
}

/// Warm-up + measured runs. `ok_codes` are the exit codes that count as success;
/// `prepare` runs before every run (not timed), e.g. to empty an index directory.
fn run_bench(
    name: &str,
    cmd: &Cmd,
    o: &BenchOpts,
    tmp: &Path,
    ok_codes: &[i32],
    prepare: &dyn Fn() -> Result<()>,
) -> Result<Bench> {
    let stem: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let stdout = tmp.join(format!("out-{stem}.txt"));
    let stderr = tmp.join(format!("err-{stem}.txt"));
    let mut samples = Vec::new();
    eprint!("  {name}: ");
    for i in 0..o.warmup + o.runs {
        prepare()?;
        let s = measure_once(cmd, &stdout, &stderr)?;
        if !ok_codes.contains(&s.code) {
            eprintln!("failed");
            let mut err = String::new();
            let _ = fs::File::open(&stderr).and_then(|mut f| f.read_to_string(&mut err));
            let tail: Vec<&str> = err.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            let last = tail.iter().rev().find(|l| !l.trim().is_empty()).copied().unwrap_or("(no stderr)");
            return Err(format!(
                "exit status {}: {}\n  command: {}\n  stderr:\n    {}",
                s.code,
                last.trim(),
                cmd.display(),
                tail.join("\n    ")
            ));
        }
        if i >= o.warmup {
            samples.push(s);
        }
        eprint!("{:.0}ms ", s.ms);
    }
    eprintln!();
    Ok(Bench { samples, stdout })
}

// ------------------------------------------------------------------ helpers

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(tool)).find(|p| {
        fs::metadata(p)
            .map(|m| m.is_file() && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
            .unwrap_or(false)
    })
}

fn dir_size(p: &Path) -> u64 {
    let Ok(md) = fs::symlink_metadata(p) else { return 0 };
    if md.is_dir() {
        fs::read_dir(p).map(|rd| rd.flatten().map(|e| dir_size(&e.path())).sum()).unwrap_or(0)
    } else {
        md.len()
    }
}

fn reset_dir(p: &Path) -> Result<()> {
    if fs::symlink_metadata(p).is_ok() {
        fs::remove_dir_all(p).or_else(|_| fs::remove_file(p)).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_owned()
}

fn quote_regex_meta(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

struct TempDir {
    pub(crate) path: PathBuf,
    keep: bool,
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept temporary directory {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

fn make_temp_dir(keep: bool) -> Result<TempDir> {
    let base = std::env::temp_dir();
    for i in 0..1000u32 {
        let p = base.join(format!("grove-bench-{}-{i}", std::process::id()));
        if fs::create_dir(&p).is_ok() {
            return Ok(TempDir { path: p, keep });
        }
    }
    Err(format!("cannot create a temporary directory under {}", base.display()))
}

// ------------------------------------------------------------------ corpus

#[derive(Default)]
struct Corpus {
    files: u64,
    bytes: u64,
    symlinks: u64,
    gitlinks: u64,
    /// path -> git mode ("100644", "120000", ...)
    modes: BTreeMap<Vec<u8>, String>,
}

fn corpus(repo: &Path, sha: &str) -> Result<Corpus> {
    let out = Cmd::new("git").arg("-C").arg(repo).args(["ls-tree", "-r", "-l", "-z", sha]).output()?;
    let mut c = Corpus::default();
    for rec in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        // "<mode> <type> <oid> <size>\t<path>"
        let Some(tab) = rec.iter().position(|&b| b == b'\t') else { continue };
        let meta = String::from_utf8_lossy(&rec[..tab]);
        let path = rec[tab + 1..].to_vec();
        let mut f = meta.split_whitespace();
        let (mode, _ty, _oid, size) = (f.next().unwrap_or(""), f.next(), f.next(), f.next().unwrap_or("-"));
        match mode {
            "160000" => c.gitlinks += 1,
            "120000" => c.symlinks += 1,
            _ => {
                c.files += 1;
                c.bytes += size.parse::<u64>().unwrap_or(0);
            }
        }
        c.modes.insert(path, mode.to_owned());
    }
    Ok(c)
}

// ------------------------------------------------------------------ counts

type Counts = BTreeMap<Vec<u8>, u64>;

/// Parses `-c` output: one `[PREFIX]path<sep>count` per line. `prefixes` are stripped
/// from the front (a revision, an absolute checkout path); the count is after the last
/// colon (csearch writes `path: N`).
fn parse_counts(out: &[u8], prefixes: &[Vec<u8>]) -> Counts {
    let mut m = Counts::new();
    for line in out.split(|&b| b == b'\n') {
        let mut line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        for p in prefixes {
            if let Some(rest) = line.strip_prefix(p.as_slice()) {
                line = rest;
                break;
            }
        }
        let Some(colon) = line.iter().rposition(|&b| b == b':') else { continue };
        let Ok(n) = std::str::from_utf8(&line[colon + 1..]).unwrap_or("").trim().parse::<u64>() else { continue };
        *m.entry(line[..colon].to_vec()).or_default() += n;
    }
    m
}

fn totals(c: &Counts) -> (u64, usize) {
    (c.values().sum(), c.values().filter(|&&n| n > 0).count())
}

/// Why two tools may disagree about one path.
fn classify(path: &[u8], checkout: &Path, corpus: &Corpus) -> String {
    match corpus.modes.get(path).map(String::as_str) {
        None => return "path not in the tree at REV: an output parsing problem?".into(),
        Some("120000") => return "symlink: rg does not follow links, git grep skips symlink blobs".into(),
        Some("160000") => return "submodule".into(),
        _ => {}
    }
    let file = checkout.join(OsStr::from_bytes(path));
    let mut data = Vec::new();
    if fs::File::open(&file).and_then(|mut f| f.read_to_end(&mut data)).is_err() {
        return "missing from the checkout".into();
    }
    if let Some(i) = data.iter().position(|&b| b == 0) {
        return if i < 8000 {
            "binary: NUL in the first 8000 bytes; git grep counts matches in binary files, rg's binary detection differs".into()
        } else {
            format!("NUL at byte {i}: text for git (checks the first 8000 bytes), binary for rg")
        };
    }
    if std::str::from_utf8(&data).is_err() {
        return "invalid UTF-8: regex semantics on non-UTF-8 bytes differ".into();
    }
    UNEXPLAINED.into()
}

const UNEXPLAINED: &str = "no known reason: plain UTF-8 text";

// ------------------------------------------------------------------ bench

fn bench(o: BenchOpts) -> Result<ExitCode> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();

    // Tools.
    let mut missing = Vec::new();
    if which("git").is_none() {
        return Err("git is not installed (Debian package: git)".into());
    }
    let have_rg = which("rg").is_some();
    if !have_rg {
        missing.push(("rg", "ripgrep"));
    }
    let have_cs = which("cindex").is_some() && which("csearch").is_some();
    if !have_cs {
        missing.push(("cindex/csearch", "codesearch"));
    }
    if !missing.is_empty() {
        let tools: Vec<&str> = missing.iter().map(|m| m.0).collect();
        let pkgs: Vec<&str> = missing.iter().map(|m| m.1).collect();
        let msg = format!(
            "missing anchor tools: {} (install with `apt-get install -y {}`)",
            tools.join(", "),
            pkgs.join(" ")
        );
        if !o.allow_missing {
            return Err(format!("{msg}; or pass --allow-missing to skip them"));
        }
        eprintln!("warning: {msg}; skipping them");
    }

    // Repository and revision.
    let repo = fs::canonicalize(&o.repo).map_err(|e| format!("--repo {}: {e}", o.repo.display()))?;
    let git = || Cmd::new("git").arg("-C").arg(&repo);
    git()
        .args(["rev-parse", "--git-dir"])
        .output()
        .map_err(|e| format!("{} is not a git repository: {e}", repo.display()))?;
    let sha = git()
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("{}^{{commit}}", o.rev))
        .output_string()
        .map_err(|_| format!("cannot resolve --rev {} to a commit in {}", o.rev, repo.display()))?;
    let short = &sha[..12.min(sha.len())];
    let corpus = corpus(&repo, &sha)?;

    // grove binary.
    let mut grove_error: Option<String> = None;
    let grove: Option<PathBuf> = if o.anchors_only {
        None
    } else if let Some(g) = &o.grove {
        Some(fs::canonicalize(g).map_err(|e| format!("--grove {}: {e}", g.display()))?)
    } else {
        match build_grove(&workspace, o.no_build) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("error: {e}");
                grove_error = Some(e);
                None
            }
        }
    };

    let tmp = make_temp_dir(o.keep)?;
    let t = tmp.path.clone();

    // Checkout for the anchors that need files: git archive | tar -x, with in-tree
    // attributes ignored (attr-source = the empty tree) so files are the blobs' bytes.
    let checkout = t.join("checkout");
    fs::create_dir(&checkout).map_err(|e| e.to_string())?;
    eprintln!("extracting {short} into {}", checkout.display());
    let t0 = Instant::now();
    extract(&repo, &sha, &checkout)?;
    let extract_ms = t0.elapsed().as_secs_f64() * 1e3;

    let mut report = String::new();
    let mut warnings = 0usize;
    let mut commands: Vec<(String, String)> = Vec::new();
    header(&mut report, &o, &repo, &sha, &corpus, grove.as_deref(), &workspace, extract_ms);

    // ---------------------------------------------------------------- 1. indexing
    eprintln!("indexing ({} runs + {} warm-up)", o.runs, o.warmup);
    let grove_index = t.join("grove-index");
    let cs_index = t.join("csearchindex");
    let mut rows: Vec<Row> = Vec::new();
    let mut grove_index_ok = false;
    let mut index_note: Option<String> = None;
    if let Some(g) = &grove {
        let cmd = Cmd::new(g)
            .arg("index")
            .arg("--repo")
            .arg(&repo)
            .arg("--rev")
            .arg(&sha)
            .arg("--index-dir")
            .arg(&grove_index);
        commands.push(("grove index".into(), cmd.display()));
        match run_bench("grove index", &cmd, &o, &t, &[0], &|| reset_dir(&grove_index)) {
            Ok(b) => {
                grove_index_ok = true;
                let size = dir_size(&grove_index);
                if size == 0 {
                    warnings += 1;
                    eprintln!("WARNING: `grove index` exited 0 but wrote nothing to {}", grove_index.display());
                    index_note =
                        Some("WARNING: `grove index` exited 0 but wrote nothing to `--index-dir`.".to_string());
                }
                rows.push(Row::ok("grove index", &b, Some(size)));
            }
            Err(e) => {
                eprintln!("error: grove index failed: {e}");
                rows.push(Row::failed("grove index", &e));
                grove_error.get_or_insert(e);
            }
        }
    } else {
        rows.push(Row::failed("grove index", grove_error.as_deref().unwrap_or("not run (--anchors-only)")));
    }
    if have_cs {
        let cmd = Cmd::new("cindex").env("CSEARCHINDEX", &cs_index).arg(&checkout);
        commands.push(("cindex".into(), cmd.display()));
        let prep = || {
            let _ = fs::remove_file(&cs_index);
            Ok(())
        };
        match run_bench("cindex", &cmd, &o, &t, &[0], &prep) {
            Ok(b) => rows.push(Row::ok("cindex (on the checkout)", &b, Some(dir_size(&cs_index)))),
            Err(e) => rows.push(Row::failed("cindex", &e)),
        }
    }
    let _ = writeln!(report, "\n### 1. Indexing one revision\n");
    let _ = writeln!(
        report,
        "Fresh index directory / `CSEARCHINDEX` file for every run. Corpus: {} MiB of blobs. \
         cindex needs a checkout, which took {:.0} ms to extract (not included).\n",
        mib(corpus.bytes),
        extract_ms
    );
    table(&mut report, &rows, &["index MiB", "index / corpus"], |r| match r.index_bytes {
        Some(b) => vec![mib(b), format!("{:.2}", b as f64 / corpus.bytes.max(1) as f64)],
        None => vec!["".into(), "".into()],
    });
    if let Some(n) = &index_note {
        let _ = writeln!(report, "{n}\n");
    }

    // ---------------------------------------------------------------- 2. queries
    let _ = writeln!(report, "\n### 2. Queries (`-c`: matching lines per file)\n");
    let _ = writeln!(
        report,
        "Counts are compared per file between grove, `git grep` (the tree at REV, the reference) and \
         `rg -uuu` (the checkout, binary files included). csearch is timed but not compared per file: \
         cindex skips files with long lines, invalid UTF-8, NUL bytes or names starting with a dot.\n"
    );
    let mut grove_rss: Vec<(String, u64)> = Vec::new();
    let sha_prefix = format!("{sha}:").into_bytes();
    let rev_prefix = format!("{}:", o.rev).into_bytes();
    let checkout_prefix = {
        let mut p = checkout.as_os_str().as_bytes().to_vec();
        p.push(b'/');
        p
    };
    for q in &o.queries {
        eprintln!("query `{}` ({})", q.pattern, q.label);
        let kind_desc = match q.kind {
            Kind::Literal => "literal",
            Kind::Regex => "regex",
            Kind::IcaseRegex => "case-insensitive regex",
        };
        let _ = writeln!(report, "#### `{}` ({}; {})\n", q.pattern.replace('`', "'"), q.label, kind_desc);
        let mut rows = Vec::new();
        let mut counts: BTreeMap<&str, Counts> = BTreeMap::new();
        let mut exit_note: Option<String> = None;

        let flag: Option<&str> = match q.kind {
            Kind::Literal => Some("-F"),
            Kind::Regex => None,
            Kind::IcaseRegex => Some("-i"),
        };
        if let (Some(g), true) = (&grove, grove_index_ok) {
            let cmd = Cmd::new(g)
                .args(["search", "-c"])
                .args(flag)
                .arg("--repo")
                .arg(&repo)
                .arg("--rev")
                .arg(&sha)
                .arg("--index-dir")
                .arg(&grove_index)
                .args(q.pattern.starts_with('-').then_some("--"))
                .arg(&q.pattern);
            commands.push((format!("grove search: {}", q.label), cmd.display()));
            match run_bench("grove search", &cmd, &o, &t, &[0, 1], &|| Ok(())) {
                Ok(b) => {
                    grove_rss.push((q.pattern.clone(), b.max_rss_kib()));
                    let c = parse_counts(&read(&b.stdout), &[sha_prefix.clone(), rev_prefix.clone()]);
                    let codes: BTreeSet<i32> = b.samples.iter().map(|s| s.code).collect();
                    let expect = if totals(&c).0 > 0 { 0 } else { 1 };
                    if codes.len() > 1 || !codes.contains(&expect) {
                        exit_note = Some(format!(
                            "WARNING: `grove search` exit status {codes:?} but {} lines counted (expected {expect}: 0 = match, 1 = none)",
                            totals(&c).0
                        ));
                    }
                    counts.insert("grove", c);
                    rows.push(Row::ok("grove search -c", &b, None));
                }
                Err(e) => {
                    eprintln!("error: grove search failed: {e}");
                    rows.push(Row::failed("grove search -c", &e));
                    grove_error.get_or_insert(e);
                }
            }
        } else {
            rows.push(Row::failed("grove search -c", "not run (no grove index)"));
        }
        if have_rg {
            let cmd = Cmd::new("rg").args(["-c", "-uuu"]).args(flag).arg("-e").arg(&q.pattern).cwd(&checkout);
            commands.push((format!("rg: {}", q.label), cmd.display()));
            match run_bench("rg", &cmd, &o, &t, &[0, 1], &|| Ok(())) {
                Ok(b) => {
                    counts.insert("rg", parse_counts(&read(&b.stdout), &[]));
                    rows.push(Row::ok("rg -c -uuu", &b, None));
                }
                Err(e) => rows.push(Row::failed("rg", &e)),
            }
        }
        {
            let cmd = Cmd::new("git")
                .env("LC_ALL", "C.UTF-8")
                .arg("-C")
                .arg(&repo)
                .args(["-c", "core.quotePath=false", "grep", "-c"])
                .arg(flag.unwrap_or("-E"))
                .args((q.kind == Kind::IcaseRegex).then_some("-E"))
                .arg("-e")
                .arg(&q.pattern)
                .arg(&sha);
            commands.push((format!("git grep: {}", q.label), cmd.display()));
            match run_bench("git grep", &cmd, &o, &t, &[0, 1], &|| Ok(())) {
                Ok(b) => {
                    counts.insert("git grep", parse_counts(&read(&b.stdout), std::slice::from_ref(&sha_prefix)));
                    rows.push(Row::ok("git grep -c", &b, None));
                }
                Err(e) => rows.push(Row::failed("git grep", &e)),
            }
        }
        if have_cs && cs_index.exists() {
            let pat = if q.kind == Kind::Literal { quote_regex_meta(&q.pattern) } else { q.pattern.clone() };
            let cmd = Cmd::new("csearch")
                .env("CSEARCHINDEX", &cs_index)
                .arg("-c")
                .args((q.kind == Kind::IcaseRegex).then_some("-i"))
                .args(pat.starts_with('-').then_some("--"))
                .arg(&pat);
            commands.push((format!("csearch: {}", q.label), cmd.display()));
            match run_bench("csearch", &cmd, &o, &t, &[0, 1], &|| Ok(())) {
                Ok(b) => {
                    counts.insert("csearch", parse_counts(&read(&b.stdout), std::slice::from_ref(&checkout_prefix)));
                    rows.push(Row::ok("csearch -c", &b, None));
                }
                Err(e) => rows.push(Row::failed("csearch", &e)),
            }
        }
        for r in rows.iter_mut() {
            let key = match r.tool.split_whitespace().next().unwrap_or("") {
                "git" => "git grep",
                k => k,
            };
            if let Some(c) = counts.get(key) {
                let (l, f) = totals(c);
                r.extra = vec![l.to_string(), f.to_string()];
            }
        }
        table(&mut report, &rows, &["lines", "files"], |r| {
            if r.extra.is_empty() {
                vec!["".into(), "".into()]
            } else {
                r.extra.clone()
            }
        });
        warnings += compare(&mut report, &counts, &checkout, &corpus);
        if let Some(n) = exit_note {
            warnings += 1;
            let _ = writeln!(report, "\n{n}");
        }
        report.push('\n');
    }

    // ---------------------------------------------------------------- 3. search RSS
    let _ = writeln!(report, "### 3. Peak RSS of `grove search`\n");
    if grove_rss.is_empty() {
        let _ = writeln!(report, "not measured (grove did not run).\n");
    } else {
        let _ = writeln!(report, "| query | peak RSS MiB (max over runs) |\n|---|---:|");
        for (p, kib) in &grove_rss {
            let _ = writeln!(report, "| `{}` | {} |", p.replace('|', "\\|"), mib(kib * 1024));
        }
        report.push('\n');
    }

    // ---------------------------------------------------------------- commands
    let _ = writeln!(report, "### Commands\n\n```sh");
    let _ = writeln!(
        report,
        "# checkout for rg and cindex\ngit -C {} --attr-source=4b825dc642cb6eb9a060e54bf8d69288fbee4904 -c core.autocrlf=false archive --format=tar {sha} | tar -x -C {}",
        shell_quote(repo.as_os_str()),
        shell_quote(checkout.as_os_str())
    );
    let mut seen = BTreeSet::new();
    for (what, c) in &commands {
        if seen.insert(c.clone()) {
            let _ = writeln!(report, "# {what}\n{c}");
        }
    }
    let _ = writeln!(report, "```\n");
    if let Some(e) = &grove_error {
        let _ = writeln!(report, "**grove failed**:\n\n```\n{}\n```\n", e.trim_end());
    }
    if warnings > 0 {
        let _ = writeln!(report, "**{warnings} count WARNING(s) above.**\n");
        eprintln!("{warnings} count WARNING(s): grove, git grep and rg disagree; see the report");
    }

    print!("{report}");
    std::io::stdout().flush().ok();
    if let Some(out) = &o.out {
        fs::write(out, &report).map_err(|e| format!("--out {}: {e}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    drop(tmp);
    if let Some(e) = grove_error {
        if !o.anchors_only {
            eprintln!("error: grove failed (the anchor measurements above are still valid): {}", first_line(&e));
            return Ok(ExitCode::from(1));
        }
    }
    if o.strict && warnings > 0 {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn read(p: &Path) -> Vec<u8> {
    fs::read(p).unwrap_or_default()
}

fn build_grove(workspace: &Path, no_build: bool) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    if !no_build {
        eprintln!("building grove: cargo build --release -p grove-cli");
        let st = Command::new(&cargo)
            .args(["build", "--release", "-p", "grove-cli"])
            .current_dir(workspace)
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !st.success() {
            return Err(format!(
                "`cargo build --release -p grove-cli` failed ({st}); fix the build, or pass --grove BIN, \
                 or --anchors-only to measure only the anchors"
            ));
        }
    }
    let meta = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    let text = String::from_utf8_lossy(&meta.stdout);
    let target =
        json_string_field(&text, "target_directory").map(PathBuf::from).unwrap_or_else(|| workspace.join("target"));
    let bin = target.join("release").join("grove");
    if !bin.is_file() {
        return Err(format!(
            "{} does not exist (is the bin target of grove-cli named `grove`?); pass --grove BIN or --anchors-only",
            bin.display()
        ));
    }
    Ok(bin)
}

/// The value of `"key":"..."` in a JSON text (enough for cargo metadata's paths).
fn json_string_field(json: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":\"");
    let start = json.find(&pat)? + pat.len();
    let mut out = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                c => out.push(c),
            },
            c => out.push(c),
        }
    }
    None
}

fn extract(repo: &Path, sha: &str, dest: &Path) -> Result<()> {
    let run = |attr_source: bool| -> Result<()> {
        let mut g = Command::new("git");
        if attr_source {
            // in-tree .gitattributes (export-ignore, eol=crlf...) must not change the bytes
            g.arg("--attr-source=4b825dc642cb6eb9a060e54bf8d69288fbee4904");
        }
        let mut git = g
            .arg("-C")
            .arg(repo)
            .args(["-c", "core.autocrlf=false", "archive", "--format=tar", sha])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run git archive: {e}"))?;
        let tar_st = Command::new("tar")
            .arg("-x")
            .arg("-C")
            .arg(dest)
            .stdin(git.stdout.take().unwrap())
            .status()
            .map_err(|e| format!("cannot run tar: {e}"))?;
        let out = git.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("git archive failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        if !tar_st.success() {
            return Err(format!("tar -x failed ({tar_st})"));
        }
        Ok(())
    };
    run(true).or_else(|e| {
        eprintln!("warning: {e}; retrying without --attr-source (git < 2.40?)");
        reset_dir(dest)?;
        run(false)
    })
}

// ------------------------------------------------------------------ report

struct Row {
    tool: String,
    median: Option<f64>,
    min: Option<f64>,
    rss_kib: u64,
    index_bytes: Option<u64>,
    error: Option<String>,
    extra: Vec<String>,
}

impl Row {
    fn ok(tool: &str, b: &Bench, index_bytes: Option<u64>) -> Row {
        Row {
            tool: tool.into(),
            median: Some(b.median_ms()),
            min: Some(b.min_ms()),
            rss_kib: b.max_rss_kib(),
            index_bytes,
            error: None,
            extra: Vec::new(),
        }
    }
    fn failed(tool: &str, e: &str) -> Row {
        Row {
            tool: tool.into(),
            median: None,
            min: None,
            rss_kib: 0,
            index_bytes: None,
            error: Some(first_line(e)),
            extra: Vec::new(),
        }
    }
}

/// Table: tool | median ms | min ms | ratio to grove | peak RSS MiB | extra columns.
/// The ratio is the tool's median over grove's (> 1: grove is faster).
fn table(out: &mut String, rows: &[Row], extra: &[&str], extra_of: impl Fn(&Row) -> Vec<String>) {
    let grove_median = rows.first().filter(|r| r.tool.starts_with("grove")).and_then(|r| r.median);
    let _ = write!(out, "| tool | median ms | min ms | ratio to grove | peak RSS MiB |");
    for e in extra {
        let _ = write!(out, " {e} |");
    }
    let _ = write!(out, "\n|---|---:|---:|---:|---:|");
    for _ in extra {
        out.push_str("---:|");
    }
    out.push('\n');
    for r in rows {
        match (r.median, r.min) {
            (Some(med), Some(min)) => {
                let ratio = match grove_median {
                    Some(g) if g > 0.0 => format!("{:.2}", med / g),
                    _ => "n/a".into(),
                };
                let _ = write!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    r.tool,
                    fmt_ms(med),
                    fmt_ms(min),
                    ratio,
                    mib(r.rss_kib * 1024)
                );
                for v in extra_of(r) {
                    let _ = write!(out, " {v} |");
                }
            }
            _ => {
                let e = r.error.clone().unwrap_or_default().replace('|', "\\|").replace('`', "'");
                let _ = write!(out, "| {} | failed: {} | | | |", r.tool, e);
                for _ in extra {
                    out.push_str(" |");
                }
            }
        }
        out.push('\n');
    }
    out.push('\n');
}

/// Per-file comparison of grove, git grep and rg. Returns the number of WARNING lines.
fn compare(out: &mut String, counts: &BTreeMap<&str, Counts>, checkout: &Path, corpus: &Corpus) -> usize {
    let git = counts.get("git grep");
    let rg = counts.get("rg");
    let grove = counts.get("grove");
    let mut warnings = 0;
    let mut notes: Vec<String> = Vec::new();
    let show = |p: &[u8]| String::from_utf8_lossy(p).into_owned();
    let mut paths: BTreeSet<&Vec<u8>> = BTreeSet::new();
    for c in [git, rg, grove].into_iter().flatten() {
        paths.extend(c.keys());
    }
    let get = |c: Option<&Counts>, p: &Vec<u8>| c.map(|c| *c.get(p).unwrap_or(&0));
    for p in paths {
        let (g, r, v) = (get(git, p), get(rg, p), get(grove, p));
        let anchors_agree = match (g, r) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        let reference = g.or(r);
        if !anchors_agree {
            let why = classify(p, checkout, corpus);
            if why == UNEXPLAINED {
                warnings += 1;
                notes.push(format!(
                    "WARNING: git grep and rg disagree on `{}`: git grep {}, rg {} (unexplained)",
                    show(p),
                    g.unwrap(),
                    r.unwrap()
                ));
            } else {
                notes.push(format!("note: git grep {} vs rg {} on `{}`: {why}", g.unwrap(), r.unwrap(), show(p)));
            }
        }
        if let (Some(v), Some(reference)) = (v, reference) {
            let ok = v == reference || (!anchors_agree && Some(v) == r);
            if !ok {
                warnings += 1;
                notes.push(format!(
                    "WARNING: grove {v} vs git grep {}{} on `{}` ({})",
                    g.map_or("-".into(), |x| x.to_string()),
                    r.map_or(String::new(), |x| format!(", rg {x}")),
                    show(p),
                    classify(p, checkout, corpus)
                ));
            }
        }
    }
    let (tl, tf) = git.or(rg).map(totals).unwrap_or((0, 0));
    let present: Vec<&str> = ["grove", "git grep", "rg"].into_iter().filter(|k| counts.contains_key(k)).collect();
    if notes.is_empty() {
        let _ = writeln!(out, "Counts agree: {} ({tl} lines in {tf} files).", present.join(" = "));
    } else {
        let shown = 20;
        for n in notes.iter().take(shown) {
            let _ = writeln!(out, "- {n}");
        }
        if notes.len() > shown {
            let _ = writeln!(out, "- ... and {} more", notes.len() - shown);
        }
        if warnings == 0 {
            let _ = writeln!(out, "\nCounts agree apart from the explained differences above.");
        }
    }
    if let (Some(cs), Some(g)) = (counts.get("csearch"), git) {
        let (cl, cf) = totals(cs);
        let (gl, gf) = totals(g);
        if (cl, cf) != (gl, gf) {
            let _ = writeln!(
                out,
                "\n(csearch: {cl} lines in {cf} files vs git grep {gl} in {gf}; cindex skips some files, see above.)"
            );
        }
    }
    warnings
}

#[allow(clippy::too_many_arguments)]
fn header(
    out: &mut String,
    o: &BenchOpts,
    repo: &Path,
    sha: &str,
    corpus: &Corpus,
    grove: Option<&Path>,
    workspace: &Path,
    _extract_ms: f64,
) {
    // a bare mirror like .../git+git/repo or a .git dir: name it after its parent
    let name_of = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut name = name_of(repo);
    if name == ".git" || name == "repo" {
        name = repo.parent().map(name_of).unwrap_or(name);
    }
    let _ = writeln!(out, "## grove benchmark: {} at {} (`{}`)\n", name, &sha[..12.min(sha.len())], o.rev);
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find(|l| l.starts_with("MemTotal")).map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|k| k.parse::<u64>().ok())
        .map(|k| format!("{:.1} GiB", k as f64 / 1048576.0))
        .unwrap_or_else(|| "?".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let date = Cmd::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]).output_string().unwrap_or_default();
    let version = |c: Cmd| c.output_string().map(|s| first_line(&s)).unwrap_or_else(|_| "not available".into());
    let grove_v = match grove {
        Some(g) => {
            let v = version(Cmd::new(g).arg("--version"));
            let rev = Cmd::new("git")
                .arg("-C")
                .arg(workspace)
                .args(["describe", "--always", "--dirty"])
                .output_string()
                .unwrap_or_else(|_| "no commit".into());
            format!("{v} (workspace {rev}; {})", g.display())
        }
        None => "not run".into(),
    };
    let _ = writeln!(out, "- date: {date}; repository `{}`, revision `{}` = {sha}", repo.display(), o.rev);
    let _ = writeln!(
        out,
        "- corpus: {} files, {} MiB of blobs (+ {} symlinks, {} submodules)",
        corpus.files,
        mib(corpus.bytes),
        corpus.symlinks,
        corpus.gitlinks
    );
    let _ = writeln!(
        out,
        "- machine: {nproc} CPUs (nproc), {model}, {mem} RAM, Linux {}, load average at start {}",
        kernel.trim(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    let _ = writeln!(out, "- grove: {grove_v}");
    let _ = writeln!(out, "- git: {}", version(Cmd::new("git").arg("--version")));
    let _ = writeln!(out, "- rg: {}", version(Cmd::new("rg").arg("--version")));
    let _ = writeln!(
        out,
        "- codesearch (cindex/csearch): {}",
        version(Cmd::new("dpkg-query").args(["-W", "-f=${Version}", "codesearch"]))
    );
    let _ = writeln!(
        out,
        "- method: whole-process wall time from spawn to exit, stdout to a file; {} measured runs after {} warm-up run(s); \
         median and min; peak RSS = max `ru_maxrss` over the measured runs (wait4); \
         ratio to grove = tool median / grove median (> 1: grove is faster). Times on a shared machine are noisy: \
         compare within one run only.",
        o.runs,
        o.warmup
    );
}
