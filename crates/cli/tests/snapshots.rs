//! Named snapshots and the diff applier through the real binary: forks,
//! working-tree and patch states, `--since`, `--all-refs`, list / drop / gc.
//! git is the oracle wherever one exists (a commit made of the same change
//! must search exactly like the patched or working-tree snapshot).

mod common;

use std::path::Path;

use common::*;

/// A private copy of the basic fixture (these tests write to the work tree).
fn private_basic() -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempdir();
    let repo = t.path().join("repo");
    build_basic(&repo);
    git_ok(&repo, ["checkout", "-q", "main"]);
    (t, repo)
}

fn ok(out: &std::process::Output) -> String {
    assert_code(out, 0);
    stdout(out)
}

/// `grove search -c PAT --rev REV` as text.
fn counts(ix: &Indexed, pat: &str, rev: &str) -> String {
    let out = ix.search(["-c", "--rev", rev, "-e", pat]);
    assert!(code(&out) <= 1, "{}", describe(&out));
    stdout(&out)
}

#[test]
fn a_fork_searches_like_its_source_and_costs_no_indexing() {
    let ix = Indexed::new(basic());
    ix.index(["--rev", "v1.0"]);
    let segments = std::fs::read_dir(ix.index.join("segments")).unwrap().count();
    ok(&ix.run("fork", ["v1.0", "old"]));
    assert_eq!(std::fs::read_dir(ix.index.join("segments")).unwrap().count(), segments);
    for pat in ["needle", "MARKER_\\w+", "(?i)kelvin"] {
        assert_eq!(counts(&ix, pat, "old"), counts(&ix, pat, "v1.0"), "{pat}");
    }
    // A fork of a fork, and of a revision not indexed yet.
    ok(&ix.run("fork", ["old", "older"]));
    ok(&ix.run("fork", ["release-1", "rel"]));
    assert_eq!(counts(&ix, "RELEASE_ONLY_FIX", "rel"), counts(&ix, "RELEASE_ONLY_FIX", "release-1"));
    assert!(!counts(&ix, "RELEASE_ONLY_FIX", "rel").is_empty());
    // Bad names and sources are clear errors.
    assert_code(&ix.run("fork", ["v1.0", "has space"]), 2);
    let out = ix.run("fork", ["no-such-rev", "x"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("no-such-rev"), "{}", stderr(&out));
}

/// The oracle for a patch: the same change committed with git.
#[test]
fn a_patch_snapshot_equals_the_committed_change_and_touches_no_file() {
    let (_t, repo) = private_basic();
    let ix = Indexed::new(&repo);
    // Make a change, take its diff, commit it on a branch, then restore main.
    std::fs::write(repo.join("src/lib.rs"), "pub fn patched_in() -> u32 { 42 }\n").unwrap();
    std::fs::write(repo.join("NEW_FILE.md"), "added by the patch: PATCH_MARKER\n").unwrap();
    git_ok(&repo, ["rm", "-q", "docs-readme-copy.md"]);
    git_ok(&repo, ["add", "-A"]);
    let diff = git_ok(&repo, ["diff", "--cached", "--binary"]);
    git_ok(&repo, ["checkout", "-q", "-b", "patched"]);
    git_ok(&repo, ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "patched"]);
    git_ok(&repo, ["checkout", "-q", "main"]);
    let status_before = git_ok(&repo, ["status", "--porcelain"]);

    let patch = repo.parent().unwrap().join("change.diff");
    std::fs::write(&patch, &diff).unwrap();
    ok(&ix.run("apply", [std::ffi::OsStr::new("wip"), "--patch".as_ref(), patch.as_os_str()]));
    for pat in ["patched_in", "PATCH_MARKER", "needle", "fooBar", "."] {
        assert_eq!(counts(&ix, pat, "wip"), counts(&ix, pat, "patched"), "{pat}");
    }
    assert_eq!(git_ok(&repo, ["status", "--porcelain"]), status_before, "apply wrote to the work tree");

    // A patch that does not apply names the hunk and leaves `wip` as it was.
    let before = ok(&ix.run("list", ["--json"]));
    let bad = repo.parent().unwrap().join("bad.diff");
    std::fs::write(&bad, "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,2 +1,2 @@\n-not in the file\n+x\n context\n")
        .unwrap();
    let out = ix.run("apply", [std::ffi::OsStr::new("wip"), "--patch".as_ref(), bad.as_os_str()]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("hunk #1") && stderr(&out).contains("src/lib.rs"), "{}", stderr(&out));
    assert_eq!(ok(&ix.run("list", ["--json"])), before);
}

#[test]
fn the_working_tree_is_searched_as_it_is_and_matches_a_commit_of_it() {
    let (_t, repo) = private_basic();
    let ix = Indexed::new(&repo);
    std::fs::write(repo.join("src/lib.rs"), "pub fn dirty_edit() {}\n").unwrap();
    std::fs::write(repo.join("untracked.txt"), "UNTRACKED_MARKER\n").unwrap();
    std::fs::write(repo.join("ignored.log"), "IGNORED_MARKER\n").unwrap();
    std::fs::write(repo.join(".gitignore"), "*.log\n").unwrap();
    std::fs::remove_file(repo.join("c/src/strbuf.c")).unwrap();

    let out = ix.search(["--worktree", "-c", "dirty_edit|UNTRACKED_MARKER|IGNORED_MARKER|strbuf_addf"]);
    let text = stdout(&out);
    assert!(text.contains("src/lib.rs:1") && text.contains("untracked.txt:1"), "{text}");
    assert!(!text.contains("ignored.log"), "ignored files are not part of the working tree: {text}");
    assert!(!text.contains("c/src/strbuf.c"), "deleted files are gone: {text}");

    // Oracle: commit exactly this working tree and compare every pattern.
    git_ok(&repo, ["add", "-A"]);
    git_ok(&repo, ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "wt"]);
    ok(&ix.run("apply", ["wt", "--worktree"]));
    for pat in ["dirty_edit", "UNTRACKED_MARKER", "needle", "strbuf", "[A-Z]{5,}"] {
        assert_eq!(counts(&ix, pat, "wt"), counts(&ix, pat, "HEAD"), "{pat}");
    }
    // A bare repository has no working tree: a clear error.
    let bare = repo.parent().unwrap().join("bare.git");
    git_ok(
        Path::new("/"),
        [std::ffi::OsStr::new("clone"), "-q".as_ref(), "--bare".as_ref(), repo.as_os_str(), bare.as_os_str()],
    );
    let out = Indexed::new(&bare).search(["--worktree", "x"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("bare"), "{}", stderr(&out));
}

#[test]
fn since_reports_only_lines_the_older_revision_lacks() {
    let ix = Indexed::new(basic());
    // release-1 adds RELEASE_ONLY_FIX over v1.0; main and v2.0 are the same commit.
    let out = ok(&ix.search(["-c", "--rev", "release-1", "--since", "v1.0", "RELEASE_ONLY_FIX"]));
    assert_eq!(out, counts(&ix, "RELEASE_ONLY_FIX", "release-1"));
    let out = ix.search(["-c", "--rev", "main", "--since", "v2.0", "needle"]);
    assert_code(&out, 1);
    // Per line content, against git: the matching lines the diff v1.0..main
    // adds to a file are exactly the ones reported for it.
    let new = ix.search(["--rev", "main", "--since", "v1.0", "fn "]);
    // Against git: lines added by the diff v1.0..main that match.
    let diff = String::from_utf8(git_ok(basic(), ["diff", "-U0", "v1.0", "main", "--", "src/lib.rs"])).unwrap();
    let added = diff.lines().filter(|l| l.starts_with('+') && !l.starts_with("+++") && l.contains("fn ")).count();
    let grove_lib = stdout(&new).lines().filter(|l| l.starts_with("src/lib.rs:")).count();
    assert_eq!(grove_lib, added, "{}\n{diff}", stdout(&new));
}

#[test]
fn all_refs_lists_every_tag_and_branch_like_git() {
    let ix = Indexed::new(basic());
    let out = ok(&ix.search(["-l", "--all-refs", "MARKER_LIB"]));
    let mut revs: Vec<&str> = out.lines().map(|l| l.split(':').next().unwrap()).collect();
    revs.dedup();
    let tags = String::from_utf8(git_ok(basic(), ["tag", "-l"])).unwrap();
    let branches = String::from_utf8(git_ok(basic(), ["branch", "--format=%(refname:short)"])).unwrap();
    let mut want: Vec<&str> = tags.lines().chain(branches.lines()).collect();
    want.retain(|r| !counts(&ix, "MARKER_LIB", r).is_empty());
    assert_eq!(revs, want);
}

#[test]
fn list_drop_and_gc_reclaim_space_and_keep_the_rest_intact() {
    let ix = Indexed::new(basic());
    ix.index(["--rev", "v1.0", "--rev", "main"]);
    ok(&ix.run("fork", ["v1.0", "keep"]));
    let list = ok(&ix.run("list", ["--json"]));
    let rows: Vec<serde_json::Value> = list.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 3, "{list}");
    let main = rows.iter().find(|r| r["commit"] == BASIC_MAIN).unwrap();
    assert!(main["git_refs"].as_array().unwrap().iter().any(|r| r == "main"), "{list}");
    assert!(main["shared_bytes"].as_u64().unwrap() > 0 && main["shared_bytes"].as_u64() <= main["bytes"].as_u64());

    let expected = counts(&ix, "needle", "keep");
    ok(&ix.run("drop", ["main"]));
    ok(&ix.run("drop", ["v1.0"]));
    assert_code(&ix.run("drop", ["no-such"]), 2);
    let gc = ok(&ix.run("gc", ["--now"]));
    assert!(gc.contains("removed"), "{gc}");
    assert_code(&ix.check(), 0);
    assert_eq!(counts(&ix, "needle", "keep"), expected, "the fork lost content after gc");
    // Without --now, fresh garbage is kept for the grace period.
    ix.index(["--rev", "feature/x"]);
    ok(&ix.run("drop", ["feature/x"]));
    let gc = ok(&ix.run("gc", std::iter::empty::<&str>()));
    assert!(
        gc.contains("kept for the grace period")
            && !gc.starts_with("removed 0 segments and 0 snapshots (0 B), 0 temp files; 0"),
        "{gc}"
    );
}

/// Commits indexed one at a time are stored as delta snapshots on their
/// ancestors (chains, compactions and gc included); they must answer exactly
/// like the same commits indexed together in full.
#[test]
fn commits_indexed_one_by_one_answer_like_a_batch() {
    let t = tempdir();
    let repo = t.path().join("repo");
    build_random(&repo, 31, 80, 60);
    let revs: Vec<String> = (0..40).rev().map(|i| format!("main~{i}")).collect();
    let one_by_one = Indexed::new(&repo);
    for r in &revs {
        one_by_one.index(["--rev", r.as_str()]);
    }
    let delta_files = std::fs::read_dir(one_by_one.index.join("snapshots")).unwrap().count();
    assert!(delta_files >= revs.len(), "{delta_files} snapshot files");
    // Automatic compaction (written with the commits that tripped it) keeps
    // the segments the states use far below one per commit.
    let check = stdout(&one_by_one.check());
    let segments: usize = check
        .split(", ")
        .find_map(|part| part.strip_suffix(" segments")?.parse().ok())
        .unwrap_or_else(|| panic!("no segment count in {check}"));
    assert!(segments <= 16, "{segments} segments referenced after {} commits: {check}", revs.len());
    let batch = Indexed::new(&repo);
    let mut args: Vec<&str> = Vec::new();
    for r in &revs {
        args.extend(["--rev", r.as_str()]);
    }
    batch.index(args.clone());
    for pat in ["foo_?bar", "(?i)quux", r"\bx\w+", "return", "é"] {
        let mut a = vec!["-c", "-e", pat];
        a.extend(args.iter().copied());
        assert_eq!(stdout(&one_by_one.search(a.clone())), stdout(&batch.search(a)), "{pat}");
    }
    assert_code(&one_by_one.check(), 0);
    assert_code(&one_by_one.run("gc", ["--now"]), 0);
    assert_code(&one_by_one.check(), 0);
    let mut a = vec!["-c", "-e", "return"];
    a.extend(args.iter().copied());
    assert_eq!(stdout(&one_by_one.search(a.clone())), stdout(&batch.search(a)));
}

/// `grove index --watch` indexes each new commit as HEAD moves (and new
/// tags it is asked to watch), in one process, until Ctrl-C; the commits
/// it indexed then search without indexing anything.
#[test]
fn index_watch_follows_new_commits_until_interrupted() {
    let (_t, repo) = private_basic();
    let ix = Indexed::new(&repo);
    let child = grove_cmd()
        .args(["index", "--watch", "--interval", "100ms", "--rev", "HEAD", "--tags", "watch-*", "--repo"])
        .arg(&repo)
        .arg("--index-dir")
        .arg(&ix.index)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start grove index --watch");
    let indexed = |commit: &str| ix.index.join("refs.d").join(format!("commit%2F{commit}")).exists();
    let wait_for = |commit: &str| {
        let started = std::time::Instant::now();
        while !indexed(commit) {
            assert!(started.elapsed() < std::time::Duration::from_secs(60), "{commit} never indexed");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let head = || String::from_utf8(git_ok(&repo, ["rev-parse", "HEAD"])).unwrap().trim().to_string();
    wait_for(&head());
    let mut commits = Vec::new();
    for i in 0..3 {
        write_file(&repo, "watched.txt", &format!("watched_marker_{i}\n"));
        commit_all(&repo, &format!("watched {i}"));
        commits.push(head());
        wait_for(commits.last().unwrap());
    }
    // A tag on an older commit is picked up too.
    git_ok(&repo, ["tag", "watch-old", "HEAD~2"]);
    let tagged = String::from_utf8(git_ok(&repo, ["rev-parse", "HEAD~2"])).unwrap().trim().to_string();
    wait_for(&tagged);
    // SIGINT: the watch stops between looks and exits 0.
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 0);
    let text = stdout(&out);
    for c in &commits {
        assert!(text.contains(&c[..10]), "{c} not reported in:\n{text}");
    }
    // Everything watched is indexed: searching it indexes nothing more.
    let segments = std::fs::read_dir(ix.index.join("segments")).unwrap().count();
    for (i, c) in commits.iter().enumerate() {
        assert_eq!(ok(&ix.search(["-c", "--rev", c, "watched_marker_"])), "watched.txt:1\n", "commit {i}");
    }
    assert_eq!(std::fs::read_dir(ix.index.join("segments")).unwrap().count(), segments);
    assert_code(&ix.check(), 0);
}
