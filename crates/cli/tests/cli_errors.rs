//! The CLI's behaviour at its edges: bad input (regex, revision, repository,
//! globs), damaged indexes (never a panic: exit 2 with a message naming the
//! file and saying how to rebuild; `grove check` exits 1 naming it; `grove
//! index --rebuild` repairs), and the options around the search itself
//! (-m, --max-filesize, -l/-c exit codes, colour, running from a
//! subdirectory, option syntax).

mod common;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use common::*;

/// A shared read-only index of the basic fixture's main (for tests that do
/// not damage it).
static FIX: LazyLock<Indexed> = LazyLock::new(|| {
    let ix = Indexed::shared(basic(), "index");
    ix.index(["--rev", "main", "--rev", "v1.0"]);
    ix
});

fn files_in(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

fn file_stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

#[track_caller]
fn assert_error(out: &std::process::Output, needles: &[&str]) {
    assert_code(out, 2);
    let err = stderr(out);
    assert!(err.starts_with("grove: ") || err.starts_with("error: "), "stderr: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
}

// ------------------------------------------------------------ bad input

#[test]
fn invalid_regex_exits_2_and_points_at_the_error() {
    for (pat, msg, caret_line) in [
        ("foo(bar", "unclosed group", "       ^"),
        ("a{2,1}", "invalid repetition count range", "     ^^^^^"),
        ("[z-a]", "invalid character class range", "     ^^^"),
        ("\\p{NoSuchClass}", "Unicode property not found", "    ^^^^^^^^^^^^^^^"),
        ("x**", "", ""),
    ] {
        let out = FIX.search(["--", pat]);
        if pat == "x**" {
            // Valid in Rust's regex syntax? Either way: no panic, 0/1/2.
            assert!(code(&out) <= 2 && !stderr(&out).contains("panicked"), "{}", describe(&out));
            continue;
        }
        assert_error(&out, &["invalid pattern", msg]);
        let err = stderr(&out);
        assert!(err.lines().any(|l| l == format!("    {pat}")), "pattern not echoed:\n{err}");
        assert!(err.lines().any(|l| l == caret_line), "no caret under the error:\n{err}");
        assert!(stdout(&out).is_empty());
        // As a fixed string, the same text is fine.
        let out = FIX.search(["-F", "--", pat]);
        assert!(code(&out) <= 1, "{}", describe(&out));
    }
}

#[test]
fn unknown_revision_exits_2_naming_it() {
    for rev in ["no-such-branch", "HEAD~999", "v9.9", "0123456789abcdef0123456789abcdef01234567"] {
        let out = FIX.search(["needle", "--rev", "main", "--rev", rev]);
        assert_error(&out, &[rev]);
        assert!(stdout(&out).is_empty(), "{}", describe(&out));
    }
    let out = FIX.run("index", ["--rev", "no-such-branch"]);
    assert_error(&out, &["no-such-branch"]);
    // Objects that are not commits: a tree, a blob (the empty blob).
    for rev in ["HEAD^{tree}", "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"] {
        let out = FIX.search(["needle", "--rev", rev]);
        assert_error(&out, &[rev, "commit"]);
    }
}

#[test]
fn newline_in_pattern_needs_multiline() {
    let out = FIX.search(["--", "fn main\\(\\) \\{\n"]);
    assert_error(&out, &["invalid pattern", "-U"]);
    let out = FIX.search(["-c", "-U", "--", "fn main\\(\\) \\{\n"]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "src/main.rs:1\n");
}

#[test]
fn not_a_repository_exits_2() {
    // Under the system temp dir, not inside any repository (the scratch dir
    // may be inside the workspace's checkout).
    let dir = tempfile::tempdir().unwrap();
    let out = grove_cmd()
        .args(["search", "needle", "--repo"])
        .arg(dir.path())
        .arg("--index-dir")
        .arg(dir.path().join("index"))
        .output()
        .unwrap();
    assert_error(&out, &["not a git repository"]);
    let out = grove_cmd().args(["search", "needle"]).current_dir(dir.path()).output().unwrap();
    assert_error(&out, &["not a git repository"]);
    let out = grove_cmd().args(["search", "needle", "--repo", "/nonexistent/grove/repo"]).output().unwrap();
    assert_code(&out, 2);
}

#[test]
fn unmatched_tag_or_branch_glob_exits_2() {
    let out = FIX.search(["needle", "--tags", "zz*"]);
    assert_error(&out, &["--tags", "zz*"]);
    let out = FIX.search(["needle", "--branches", "nope/*"]);
    assert_error(&out, &["--branches", "nope/*"]);
    let out = FIX.run("index", ["--tags", "zz*"]);
    assert_error(&out, &["zz*"]);
}

#[test]
fn invalid_glob_and_size_exit_2() {
    let out = FIX.search(["-g", "[", "needle"]);
    assert_error(&out, &["glob"]);
    let out = FIX.search(["--max-filesize", "12Q", "needle"]);
    assert_error(&out, &["12Q"]);
}

// ------------------------------------------------------------ damaged indexes

/// A fresh index of main for a test that damages it, and the correct
/// answer to `-c x*` (which reads every indexed document).
fn damaged_setup() -> (Indexed, Vec<u8>) {
    let ix = Indexed::new(basic());
    ix.index(["--rev", "main"]);
    let good = ix.search(["-c", "--rev", "main", "x*"]);
    assert_code(&good, 0);
    (ix, good.stdout)
}

fn segment_of(ix: &Indexed) -> PathBuf {
    let segs = files_in(&ix.index.join("segments"), "seg");
    assert_eq!(segs.len(), 1, "{segs:?}");
    segs.into_iter().next().unwrap()
}

/// After damage: search either fails cleanly (exit 2, naming the damaged
/// file and saying how to rebuild) or, if the damaged bytes were never
/// read, still answers correctly; `grove check` must always exit 1 naming
/// the file. Then `grove index --rebuild` repairs everything.
#[track_caller]
fn assert_damage_detected(ix: &Indexed, good: &[u8], damaged: &Path, search_may_succeed: bool) {
    assert_damage_detected_hint(ix, good, damaged, search_may_succeed, true)
}

#[track_caller]
fn assert_damage_detected_hint(ix: &Indexed, good: &[u8], damaged: &Path, search_may_succeed: bool, hint: bool) {
    let name = file_stem(damaged);
    for pattern in ["x*", "needle", "MARKER_LIB_V1"] {
        let out = ix.search(["-c", "--rev", "main", pattern]);
        assert!(!stderr(&out).contains("panicked"), "panic:\n{}", describe(&out));
        match code(&out) {
            2 => {
                let err = stderr(&out);
                assert!(err.starts_with("grove: "), "{err}");
                assert!(err.contains(&name), "error does not name {name}:\n{err}");
                if hint {
                    assert!(err.contains("grove index --rebuild"), "error does not say how to rebuild:\n{err}");
                }
                assert!(stdout(&out).is_empty(), "partial output on error:\n{}", describe(&out));
            }
            0 | 1 if search_may_succeed => {
                if pattern == "x*" {
                    assert_eq!(out.stdout, good, "a damaged index gave a wrong answer:\n{}", describe(&out));
                }
            }
            c => panic!("exit {c} after damaging {}:\n{}", damaged.display(), describe(&out)),
        }
    }
    let check = ix.check();
    assert_code(&check, 1);
    let text = stdout(&check);
    assert!(
        text.lines().any(|l| l.starts_with("problem: ") && l.contains(&name)),
        "check does not name {name}:\n{text}"
    );

    ix.index(["--rebuild", "--rev", "main"]);
    let after = ix.search(["-c", "--rev", "main", "x*"]);
    assert_code(&after, 0);
    assert_eq!(after.stdout, good, "wrong answer after --rebuild");
    assert_code(&ix.check(), 0);
}

#[test]
fn flipped_bytes_in_a_segment() {
    // Header, a quarter in, the middle, three quarters in, the footer.
    for frac in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let (ix, good) = damaged_setup();
        let seg = segment_of(&ix);
        let mut bytes = std::fs::read(&seg).unwrap();
        let at = ((bytes.len() - 1) as f64 * frac) as usize;
        for i in at.saturating_sub(2)..(at + 2).min(bytes.len()) {
            bytes[i] ^= 0xa5;
        }
        std::fs::write(&seg, &bytes).unwrap();
        assert_damage_detected(&ix, &good, &seg, true);
    }
}

#[test]
fn truncated_segment() {
    for keep in [0.0, 0.1, 0.5, 0.999] {
        let (ix, good) = damaged_setup();
        let seg = segment_of(&ix);
        let bytes = std::fs::read(&seg).unwrap();
        let n = (bytes.len() as f64 * keep) as usize;
        std::fs::write(&seg, &bytes[..n]).unwrap();
        assert_damage_detected(&ix, &good, &seg, false);
    }
}

#[test]
fn missing_segment() {
    let (ix, good) = damaged_setup();
    let seg = segment_of(&ix);
    std::fs::remove_file(&seg).unwrap();
    assert_damage_detected_hint(&ix, &good, &seg, false, false);
}

/// Like every other damage, a segment file that has gone missing should
/// come with the way out. Today: "grove: …/segments/<id>.seg: No such file
/// or directory (os error 2): No such file or directory (os error 2)".
#[test]
// (was ignored: fixed)
fn missing_segment_error_says_how_to_rebuild() {
    let (ix, good) = damaged_setup();
    let seg = segment_of(&ix);
    std::fs::remove_file(&seg).unwrap();
    assert_damage_detected(&ix, &good, &seg, false);
}

#[test]
fn corrupt_snapshot() {
    for frac in [0.0, 0.5, 1.0] {
        let (ix, good) = damaged_setup();
        let snaps = files_in(&ix.index.join("snapshots"), "snap");
        assert_eq!(snaps.len(), 1);
        let mut bytes = std::fs::read(&snaps[0]).unwrap();
        let at = ((bytes.len() - 1) as f64 * frac) as usize;
        bytes[at] ^= 0x10;
        std::fs::write(&snaps[0], &bytes).unwrap();
        assert_damage_detected(&ix, &good, &snaps[0], false);
    }
}

#[test]
fn corrupt_refs_file() {
    // Each ref is one file under refs.d/: "grove-ref 1 <snapshot hex> <crc32>".
    type Damage = (&'static str, fn(&mut Vec<u8>));
    let damages: &[Damage] = &[
        ("flipped hex digit", |b| {
            let i = "grove-ref 1 ".len();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
        }),
        ("truncated", |b| b.truncate(b.len() / 2)),
        ("empty", |b| b.clear()),
        ("garbage", |b| *b = vec![0xff, 0x00, 0x17, b'\n']),
        ("no checksum", |b| {
            let s = String::from_utf8(b.clone()).unwrap();
            let cut = s.trim_end().rfind(' ').unwrap();
            *b = format!("{}\n", &s[..cut]).into_bytes();
        }),
    ];
    for (what, damage) in damages {
        let (ix, good) = damaged_setup();
        let dir = ix.index.join("refs.d");
        let refs = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
        let mut bytes = std::fs::read(&refs).unwrap();
        damage(&mut bytes);
        std::fs::write(&refs, &bytes).unwrap();
        eprintln!("refs damage: {what}");
        assert_damage_detected(&ix, &good, &refs, false);
    }
}

#[test]
fn incompatible_format_file() {
    let (ix, good) = damaged_setup();
    std::fs::write(ix.index.join("FORMAT"), "grove-index layout 99\n").unwrap();
    for out in [ix.search(["needle"]), ix.run("index", ["--rev", "v1.0"]), ix.check()] {
        assert_error(&out, &["incompatible", "FORMAT", "layout 99", "--rebuild"]);
    }
    ix.index(["--rebuild", "--rev", "main"]);
    let after = ix.search(["-c", "--rev", "main", "x*"]);
    assert_eq!(after.stdout, good);
}

/// Error messages name their cause once (anyhow's `{:#}` prints the chain,
/// so an error whose Display already includes its source shows it twice:
/// "…seg: segment truncated; rebuild with `grove index --rebuild`: segment truncated").
#[test]
// (was ignored: fixed)
fn error_messages_do_not_repeat_their_cause() {
    let (ix, _) = damaged_setup();
    let seg = segment_of(&ix);
    let bytes = std::fs::read(&seg).unwrap();
    std::fs::write(&seg, &bytes[..bytes.len() / 2]).unwrap();
    let out = ix.search(["needle"]);
    assert_code(&out, 2);
    assert_eq!(stderr(&out).matches("segment truncated").count(), 1, "{}", stderr(&out));
    std::fs::remove_file(&seg).unwrap();
    let out = ix.search(["needle"]);
    assert_code(&out, 2);
    assert_eq!(stderr(&out).matches("segment file is missing").count(), 1, "{}", stderr(&out));
}

#[test]
fn concurrent_searches_on_a_fresh_index_agree() {
    let ix = Indexed::new(basic());
    let want = {
        let other = Indexed::new(basic());
        other.search(["-c", "--tags", "*", "--rev", "HEAD~1^2", "needle"]).stdout
    };
    let children: Vec<_> = (0..6)
        .map(|_| {
            grove_cmd()
                .args(["search", "-c", "--tags", "*", "--rev", "HEAD~1^2", "needle", "--repo"])
                .arg(&ix.repo)
                .arg("--index-dir")
                .arg(&ix.index)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_code(&out, 0);
        assert_eq!(out.stdout, want, "{}", describe(&out));
    }
    assert_code(&ix.check(), 0);
}

// ------------------------------------------------------------ search options

#[test]
fn max_count() {
    // -m 0: nothing is searched, nothing matches.
    for extra in [&[][..], &["-c"], &["-l"]] {
        let mut a = vec!["-m", "0"];
        a.extend(extra);
        a.push("needle");
        let out = FIX.search(&a);
        assert_code(&out, 1);
        assert!(out.stdout.is_empty(), "{}", describe(&out));
    }
    // -m 1: one line per file.
    let all = FIX.search(["-c", "needle"]);
    let one = FIX.search(["-c", "-m", "1", "needle"]);
    assert_code(&one, 0);
    let strip = |s: String| -> Vec<String> { s.lines().map(|l| l.rsplit_once(':').unwrap().0.to_string()).collect() };
    assert_eq!(strip(stdout(&all)), strip(stdout(&one)), "-m 1 must keep every file");
    assert!(stdout(&one).lines().all(|l| l.ends_with(":1")), "{}", stdout(&one));
    let lines_one = FIX.search(["-m", "1", "needle"]);
    assert_eq!(stdout(&lines_one).lines().count(), stdout(&one).lines().count());
    assert!(stdout(&lines_one).contains("src/main.rs:3:"), "{}", stdout(&lines_one));
    assert!(!stdout(&lines_one).contains("src/main.rs:8:"), "{}", stdout(&lines_one));
}

fn json_skipped(out: &std::process::Output) -> Vec<(String, String)> {
    let text = stdout(out);
    let v: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let mut s: Vec<(String, String)> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["path"].as_str().unwrap().to_string(), s["reason"].as_str().unwrap().to_string()))
        .collect();
    s.sort();
    s
}

/// Files over 1 KiB at main: app.min.js (16 KB), late-nul.txt (9 KB, also
/// binary), long-line.txt (400 KB), large.txt; blob.bin is binary.
const OVER_1K: &[&str] = &["big/large.txt", "data/app.min.js", "data/late-nul.txt", "data/long-line.txt"];

#[test]
fn max_filesize_on_a_fresh_index_skips_and_reports() {
    let ix = Indexed::new(basic());
    let out = ix.search(["--max-filesize", "1K", "needle"]);
    assert_code(&out, 0);
    assert!(!stdout(&out).contains("data/long-line.txt"), "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("grove: not searched") && err.contains("1.0 KiB"), "{err}");
    let out = ix.search(["--json", "--max-filesize", "1K", "needle"]);
    let skipped = json_skipped(&out);
    for p in OVER_1K {
        assert!(skipped.iter().any(|(sp, _)| sp == p), "{p} not skipped: {skipped:?}");
    }
    assert!(skipped.contains(&("data/blob.bin".into(), "binary".into())), "{skipped:?}");
    assert!(skipped.contains(&("data/long-line.txt".into(), "too large".into())), "{skipped:?}");
    // Larger than every file: nothing is too large (large.txt is 2.4 MB).
    let ix = Indexed::new(basic());
    let out = ix.search(["-c", "--max-filesize", "3M", "GROVE_LARGE_FILE_MARKER_5e1f"]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "big/large.txt:1\n");
}

/// The limit given to `search` applies to what is searched, whether or not
/// the revision was indexed before (with another limit).
#[test]
// (was ignored: fixed)
fn max_filesize_applies_to_already_indexed_revisions() {
    let ix = Indexed::new(basic());
    ix.index(["--rev", "HEAD"]); // default limit, 2M
    let out = ix.search(["--json", "--max-filesize", "1K", "needle"]);
    let skipped = json_skipped(&out);
    for p in OVER_1K {
        assert!(skipped.iter().any(|(sp, _)| sp == p), "{p} not skipped with --max-filesize 1K: {skipped:?}");
    }
}

#[test]
// (was ignored: fixed)
fn smaller_limit_at_index_time_does_not_stick() {
    let ix = Indexed::new(basic());
    ix.index(["--rev", "HEAD", "--max-filesize", "1K"]);
    let out = ix.search(["-c", "needle"]); // default limit, 2M
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("data/long-line.txt:1"),
        "400 KB file not searched under a 2M limit:\n{}",
        describe(&out)
    );
    let err = stderr(&out);
    assert!(!err.contains("files over 2.0 MiB"), "only large.txt is over 2 MiB: {err}");
}

#[test]
fn exit_codes_of_list_count_and_json() {
    for mode in [&[][..], &["-l"], &["-c"], &["--json"], &["-l", "--json"], &["-c", "--json"]] {
        let mut yes = mode.to_vec();
        yes.push("needle");
        assert_code(&FIX.search(&yes), 0);
        let mut no = mode.to_vec();
        no.push("no such text anywhere");
        let out = FIX.search(&no);
        assert_code(&out, 1);
        if !mode.contains(&"--json") {
            assert!(out.stdout.is_empty(), "{}", describe(&out));
        }
    }
    // Only in a skipped file: no match.
    assert_code(&FIX.search(["-l", "GROVE_LARGE_FILE_MARKER_5e1f"]), 1);
    // -l prints each file once.
    let out = FIX.search(["-l", "needle"]);
    let l: Vec<&str> = std::str::from_utf8(&out.stdout).map(|s| s.lines().collect()).unwrap_or_default();
    let mut d = l.clone();
    d.dedup();
    assert_eq!(l, d);
}

#[test]
fn search_from_a_subdirectory_without_repo() {
    // Its own copy: the default index location <git-dir>/grove is written.
    let dir = tempdir();
    let repo = dir.path().join("basic");
    build_basic(&repo);
    let from_root = grove_cmd().args(["search", "-c", "needle"]).current_dir(&repo).output().unwrap();
    assert_code(&from_root, 0);
    assert!(repo.join(".git/grove/FORMAT").exists(), "default index location is <git-dir>/grove");
    let sub = repo.join("src/util");
    let from_sub = grove_cmd().args(["search", "-c", "needle"]).current_dir(&sub).output().unwrap();
    assert_code(&from_sub, 0);
    // Unlike `git grep` (which limits itself to the current directory and
    // prints paths relative to it), grove searches the whole revision and
    // prints paths from the repository root.
    assert_eq!(from_sub.stdout, from_root.stdout);
    // GROVE_INDEX_DIR is honoured.
    let env_index = dir.path().join("env-index");
    let out = grove_cmd()
        .args(["search", "-c", "needle"])
        .current_dir(&sub)
        .env("GROVE_INDEX_DIR", &env_index)
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(out.stdout, from_root.stdout);
    assert!(env_index.join("FORMAT").exists());
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let plain = FIX.search(["needle"]);
    assert!(!plain.stdout.contains(&0x1b), "escape codes without a terminal");
    let never = FIX.search(["--color", "never", "needle"]);
    assert_eq!(never.stdout, plain.stdout);
    let escapes = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
    for args in [
        &["--color", "always", "needle"][..],
        &["--color", "always", "-c", "needle"],
        &["--color", "always", "-C", "1", "needle"],
    ] {
        let out = FIX.search(args);
        assert_code(&out, 0);
        let s = stdout(&out);
        assert!(s.contains("\x1b["), "{args:?}: no escapes");
        // Without the escapes, it is the plain output.
        let stripped = escapes.replace_all(&s, "").into_owned();
        let mut plain_args = args.to_vec();
        plain_args.drain(..2);
        assert_eq!(stripped, stdout(&FIX.search(&plain_args)), "{args:?}");
    }
    // The match itself is highlighted.
    let out = FIX.search(["--color", "always", "-g", "data/colon:name.txt", "needle"]);
    assert!(stdout(&out).contains("\x1b[31mneedle\x1b[0m"), "{:?}", stdout(&out));
    // --json never has escapes.
    let out = FIX.search(["--color", "always", "--json", "needle"]);
    assert!(!out.stdout.contains(&0x1b));
}

#[test]
fn pattern_starting_with_a_dash() {
    // Like ripgrep, a leading '-' needs -e or `--` (otherwise `-C1 PATTERN`
    // would be ambiguous).
    let out = FIX.search(["-c", "-e", "-> &'static"]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "src/lib.rs:2\nsrc/util/strings.rs:1\n");
    let out = FIX.search(["-c", "--", "-> &'static"]);
    assert_eq!(stdout(&out), "src/lib.rs:2\nsrc/util/strings.rs:1\n");
}

/// `-C1`, `-m1`, `-A2`, `-gGLOB`: short options with their value attached,
/// as grep, git grep and rg accept them.
#[test]
// (was ignored: fixed)
fn short_options_with_attached_values() {
    for (attached, separate) in [
        (&["-C1", "needle"][..], &["-C", "1", "needle"][..]),
        (&["-m1", "needle"], &["-m", "1", "needle"]),
        (&["-A2", "fn"], &["-A", "2", "fn"]),
        (&["-g*.rs", "needle"], &["-g", "*.rs", "needle"]),
        (&["-ic", "NEEDLE"], &["-i", "-c", "NEEDLE"]),
    ] {
        let a = FIX.search(attached);
        let b = FIX.search(separate);
        assert_code(&b, 0);
        assert_code(&a, 0);
        assert_eq!(a.stdout, b.stdout, "{attached:?} vs {separate:?}");
    }
}

#[test]
fn case_options_override_each_other() {
    let count = |args: &[&str]| stdout(&FIX.search(args)).lines().count();
    let sensitive = count(&["-c", "NEEDLE"]);
    let insensitive = count(&["-c", "-i", "NEEDLE"]);
    assert_eq!(sensitive, 0);
    assert!(insensitive > 10);
    assert_eq!(count(&["-c", "-i", "-s", "NEEDLE"]), sensitive, "-s after -i wins");
    assert_eq!(count(&["-c", "-s", "-i", "NEEDLE"]), insensitive, "-i after -s wins");
    // Smart case: lower-case pattern → insensitive; an upper-case letter → sensitive.
    assert_eq!(count(&["-c", "-S", "needle"]), count(&["-c", "-i", "needle"]));
    assert_eq!(count(&["-c", "-S", "Needle"]), count(&["-c", "Needle"]));
    assert_eq!(count(&["-c", "-S", "kelvin"]), count(&["-c", "-i", "kelvin"]));
}

/// `grove search … | head -1` ends quietly, like grep: exit 0 or death by
/// SIGPIPE (what grep does), and nothing on stderr.
#[test]
fn closed_stdout_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    for extra in [&[][..], &["--json"]] {
        let mut child = grove_cmd()
            .args(["search", "--repo"])
            .arg(&FIX.repo)
            .arg("--index-dir")
            .arg(&FIX.index)
            .args(extra)
            .args(["--rev", "main", "--rev", "v1.0", "x*"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(!first.is_empty());
        // The reader is dropped: the pipe is closed with ~1 MB still to write.
        let out = child.wait_with_output().unwrap();
        let sigpipe = out.status.signal() == Some(13);
        assert!(out.status.code() == Some(0) || sigpipe, "{}", describe_status(&out));
        let err = stderr(&out);
        assert!(!err.to_lowercase().contains("broken pipe") && !err.contains("panicked"), "{err}");
    }
}

fn describe_status(out: &std::process::Output) -> String {
    format!("status {:?}, stderr: {}", out.status, stderr(out))
}

/// `--rebuild` deletes the index directory, so it must only ever delete a
/// grove index. Today `grove index --rebuild --index-dir DIR` runs
/// `remove_dir_all(DIR)` whatever DIR holds: a mistyped `--index-dir .` or
/// `--index-dir ~` destroys the directory (here: an unrelated file is lost).
///   mkdir /tmp/d && echo precious > /tmp/d/thesis.txt
///   grove index --rebuild --index-dir /tmp/d   # in any repo → thesis.txt is gone
#[test]
// (was ignored: fixed)
fn rebuild_never_deletes_a_directory_that_is_not_a_grove_index() {
    let dir = tempdir();
    let not_an_index = dir.path().join("documents");
    std::fs::create_dir(&not_an_index).unwrap();
    std::fs::write(not_an_index.join("thesis.txt"), "precious").unwrap();
    let out = grove_cmd()
        .args(["index", "--rebuild", "--repo"])
        .arg(basic())
        .arg("--index-dir")
        .arg(&not_an_index)
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", describe(&out));
    assert!(
        not_an_index.join("thesis.txt").exists(),
        "--rebuild deleted a file it did not create:\n{}",
        describe(&out)
    );
}
