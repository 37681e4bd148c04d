//! grove-service over a real git repository: bounded results, context,
//! validation of client input, and error kinds.

use std::path::Path;
use std::process::Command;

use grove_engine::{EngineOptions, NoProgress};
use grove_service::*;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "init.defaultBranch=main"])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A repository with tag v1 (one file) and HEAD (two files, more matches).
fn repo() -> (tempfile::TempDir, Service) {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("repo");
    std::fs::create_dir(&d).unwrap();
    git(&d, &["init", "-q"]);
    std::fs::write(d.join("a.txt"), "zero\nneedle one\ntwo\nthree\nneedle four\nfive\n").unwrap();
    git(&d, &["add", "-A"]);
    git(&d, &["commit", "-qm", "one"]);
    git(&d, &["tag", "v1"]);
    let many: String = (0..50).map(|i| format!("needle {i}\n")).collect();
    std::fs::write(d.join("b.txt"), many).unwrap();
    std::fs::write(d.join("a.txt"), "zero\nneedle one\ntwo\nthree\nneedle four\nfive\nsix\n").unwrap();
    git(&d, &["add", "-A"]);
    git(&d, &["commit", "-qm", "two"]);
    let opts = EngineOptions { index_dir: Some(t.path().join("index")), ..Default::default() };
    let svc = Service::open(&d, opts, Limits { max_results: 20, ..Default::default() }).unwrap();
    (t, svc)
}

fn search(svc: &Service, req: SearchRequest) -> Result<SearchResponse, ServiceError> {
    svc.search(&req, &NoProgress)
}

#[test]
fn search_is_bounded_and_says_so() {
    let (_t, svc) = repo();
    let r = search(&svc, SearchRequest { pattern: "needle".into(), ..Default::default() }).unwrap();
    assert_eq!(r.total_matches, 52);
    assert_eq!(r.matches.len(), 20, "the server's limit applies");
    assert!(r.truncated);
    let r =
        search(&svc, SearchRequest { pattern: "needle".into(), max_results: Some(3), ..Default::default() }).unwrap();
    assert_eq!(r.matches.len(), 3);
    let r = search(&svc, SearchRequest { pattern: "needle".into(), revs: vec!["v1".into()], ..Default::default() })
        .unwrap();
    assert_eq!((r.matches.len(), r.truncated), (2, false));
    assert_eq!(r.matches[0].rev, "v1");
    assert_eq!((r.matches[1].line, r.matches[1].column, &r.matches[1].text[..]), (5, 1, "needle four"));
}

#[test]
fn context_lines_attach_to_their_match() {
    let (_t, svc) = repo();
    let r = search(
        &svc,
        SearchRequest {
            pattern: "needle (one|four)".into(),
            globs: vec!["a.txt".into()],
            context: 1,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.matches.len(), 2);
    assert_eq!(r.matches[0].before, ["zero"]);
    assert_eq!(r.matches[0].after, ["two"]);
    assert_eq!(r.matches[1].before, ["three"]);
    assert_eq!(r.matches[1].after, ["five"]);
}

#[test]
fn bad_input_is_an_invalid_request() {
    let (_t, svc) = repo();
    let e = search(&svc, SearchRequest { pattern: "(".into(), ..Default::default() }).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e}");
    let e =
        search(&svc, SearchRequest { pattern: "x".into(), revs: vec!["--output=/tmp/x".into()], ..Default::default() })
            .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest, "{e}");
    let e = search(&svc, SearchRequest { pattern: "x".into(), revs: vec!["nope".into()], ..Default::default() })
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    for path in ["../etc/passwd", "/etc/passwd", "a/../../x", "./a.txt", "", "a\\b"] {
        let e = svc.read_file(&ReadFileRequest { path: path.into(), ..Default::default() }, &NoProgress).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest, "{path}: {e}");
    }
    let e =
        svc.read_file(&ReadFileRequest { path: "missing.txt".into(), ..Default::default() }, &NoProgress).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    let e = svc.fork(&ForkRequest { src: "HEAD".into(), name: ".worktree".into() }, &NoProgress).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    // Unknown fields are refused, not ignored.
    assert!(serde_json::from_str::<SearchRequest>(r#"{"pattern":"x","ignorecase":true}"#).is_err());
}

#[test]
fn read_file_ranges_and_listing() {
    let (_t, svc) = repo();
    let r = svc
        .read_file(
            &ReadFileRequest { path: "a.txt".into(), start_line: Some(2), end_line: Some(3), ..Default::default() },
            &NoProgress,
        )
        .unwrap();
    assert_eq!((r.text.as_str(), r.start_line, r.end_line, r.total_lines), ("needle one\ntwo\n", 2, 3, 7));
    let r = svc
        .read_file(
            &ReadFileRequest {
                path: "a.txt".into(),
                at: RevisionSpec { rev: Some("v1".into()), worktree: false },
                ..Default::default()
            },
            &NoProgress,
        )
        .unwrap();
    assert_eq!(r.total_lines, 6);
    let l = svc.list_files(&ListFilesRequest { globs: vec!["b.*".into()], ..Default::default() }, &NoProgress).unwrap();
    assert_eq!(l.files, ["b.txt"]);
    let d = svc.diff(&DiffRequest { from: "v1".into(), ..Default::default() }, &NoProgress).unwrap();
    let got: Vec<(String, String)> = d.changes.iter().map(|c| (c.status.clone(), c.path.clone())).collect();
    assert_eq!(got, [("modified".to_string(), "a.txt".to_string()), ("added".into(), "b.txt".into())]);
    let revs = svc.revisions().unwrap();
    assert_eq!((revs.head.as_deref(), &revs.tags[..]), (Some("main"), &["v1".to_string()][..]));
}

#[test]
fn patch_states_are_searchable_and_diffable() {
    let (_t, svc) = repo();
    let patch = "--- a/a.txt\n+++ b/a.txt\n@@ -5,3 +5,4 @@\n needle four\n five\n six\n+needle seven\n";
    let s = svc
        .apply_patch(&ApplyPatchRequest { name: "proposal".into(), patch: patch.into(), base: None }, &NoProgress)
        .unwrap();
    assert_eq!(s.changed_files, 1);
    let r = search(
        &svc,
        SearchRequest { pattern: "needle seven".into(), revs: vec!["proposal".into()], ..Default::default() },
    )
    .unwrap();
    assert_eq!(r.matches.len(), 1);
    let d = svc
        .diff(&DiffRequest { from: "HEAD".into(), to: Some("proposal".into()), ..Default::default() }, &NoProgress)
        .unwrap();
    assert_eq!(d.changes.len(), 1);
    assert_eq!(d.changes[0].path, "a.txt");
    assert!(svc.revisions().unwrap().snapshots.contains(&"proposal".to_string()));
}

#[test]
fn unknown_fields_are_refused_in_every_request() {
    assert!(serde_json::from_str::<FindRequest>(r#"{"query":"x","bogus":1}"#).is_err());
    assert!(serde_json::from_str::<ReadFileRequest>(r#"{"path":"x","revision":"v1"}"#).is_err());
    let r: ReadFileRequest = serde_json::from_str(r#"{"path":"x","rev":"v1","start_line":2}"#).unwrap();
    assert_eq!((r.at.rev.as_deref(), r.start_line), (Some("v1"), Some(2)));
}
