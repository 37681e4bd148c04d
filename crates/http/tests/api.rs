//! The HTTP API end to end: a real server on a loopback socket, a real HTTP
//! client, real git repositories.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const APP: &str = "\
import os

class Router:
    def route(self, path):
        return path

def make_app():
    return Router()

def helper_one():
    return 'needle one'
";

fn small_repo() -> tempfile::TempDir {
    let dir = repo_with(&[
        ("app.py", APP),
        ("README.md", "# demo\nfind the needle here\n"),
        ("src/lib.rs", "pub fn parse_config() -> u32 {\n    42 // needle\n}\n"),
    ]);
    // A second commit, so that revisions and diffs have something to say.
    std::fs::write(dir.path().join("NEW.txt"), "added later with a needle\n").unwrap();
    std::fs::write(dir.path().join("README.md"), "# demo\nfind the needle here\nand more\n").unwrap();
    commit_all(dir.path(), "second");
    git(dir.path(), &["tag", "v1", "HEAD~1"]);
    dir
}

#[test]
fn every_endpoint_answers_its_happy_path() {
    let repo = small_repo();
    let s = start(&[("demo", repo.path())]);

    let r = s.get("/healthz");
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("ok")));

    let head = git(repo.path(), &["rev-parse", "HEAD"]).trim().to_string();
    let r = s.get("/v1/repos");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["repos"][0]["name"], "demo");
    assert_eq!(r.body["repos"][0]["head"], "main");
    assert_eq!(r.body["repos"][0]["commit"], head.as_str());
    let r = s.get("/v1/repos/demo");
    assert_eq!((r.status, r.body["commit"].as_str()), (200, Some(head.as_str())));

    // search: POST with the service request, GET with parameters; same answer.
    let r = s.post("/v1/repos/demo/search", &json!({"pattern": "needle", "globs": ["*.py"]}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total_matches"], 1);
    assert_eq!(r.body["matches"][0]["path"], "app.py");
    assert_eq!(r.body["matches"][0]["line"], 11);
    let g = s.get("/v1/repos/demo/search?pattern=needle&glob=*.py");
    assert_eq!(g.body, r.body);
    let r = s.get("/v1/repos/demo/search?pattern=NEEDLE&ignore_case=true&rev=v1&rev=main&max_results=2");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revisions"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["matches"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["truncated"], true);
    assert!(r.body["total_matches"].as_u64().unwrap() >= 6, "{}", r.text);

    // symbols
    let r = s.post("/v1/repos/demo/symbols", &json!({"query": "make_app"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["symbols"][0]["name"], "make_app");
    assert_eq!(r.body["symbols"][0]["path"], "app.py");
    assert_eq!(r.body["symbols"][0]["match_kind"], "exact");
    let r = s.get("/v1/repos/demo/symbols?query=Rout&kind=class");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["symbols"][0]["name"], "Router");

    // find, lexical (needs no model)
    let r = s.post("/v1/repos/demo/find", &json!({"query": "parse config", "mode": "lexical"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["mode"], "lexical");
    assert_eq!(r.body["hits"][0]["path"], "src/lib.rs", "{}", r.text);
    let r = s.get("/v1/repos/demo/find?query=parse_config&mode=lexical&files=true");
    assert_eq!(r.status, 200, "{}", r.text);

    // files and file
    let r = s.get("/v1/repos/demo/files?glob=*.md&glob=*.txt");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["files"], json!(["NEW.txt", "README.md"]));
    let r = s.get("/v1/repos/demo/files?rev=v1");
    assert_eq!(r.body["files"], json!(["README.md", "app.py", "src/lib.rs"]));
    let r = s.get("/v1/repos/demo/file?path=app.py&start_line=3&end_line=4");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["text"], "class Router:\n    def route(self, path):\n");
    assert_eq!(r.body["total_lines"], 11);
    let r = s.post("/v1/repos/demo/file", &json!({"path": "README.md", "rev": "v1"}));
    assert_eq!(r.body["text"], "# demo\nfind the needle here\n");

    // revisions and diff
    let r = s.get("/v1/repos/demo/revisions");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["head"], "main");
    assert_eq!(r.body["tags"], json!(["v1"]));
    let r = s.get("/v1/repos/demo/diff?from=v1");
    assert_eq!(r.status, 200, "{}", r.text);
    let changes = r.body["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{}", r.text);
    assert!(changes.contains(&json!({"status": "added", "path": "NEW.txt"})), "{}", r.text);
    assert!(changes.contains(&json!({"status": "modified", "path": "README.md"})), "{}", r.text);
    let p = s.post("/v1/repos/demo/diff", &json!({"from": "v1", "to": "main"}));
    assert_eq!((&p.body["changes"], &p.body["to"]["label"]), (&r.body["changes"], &json!("main")));

    // the working tree, uncommitted
    std::fs::write(repo.path().join("wip.txt"), "work in progress needle\n").unwrap();
    let r = s.get("/v1/repos/demo/search?pattern=progress&worktree=true");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["matches"][0]["path"], "wip.txt");
    assert_eq!(r.body["matches"][0]["rev"], "worktree");

    let r = s.get("/v1/jobs");
    assert_eq!((r.status, r.body["jobs"].clone()), (200, json!([])));
    s.stop().expect("clean shutdown");
}

#[test]
fn several_repositories_are_served_each_on_its_own() {
    let a = repo_with(&[("a.txt", "alpha only\n")]);
    let b = repo_with(&[("b.txt", "beta only\n")]);
    let s = start(&[("alpha", a.path()), ("beta", b.path())]);
    let r = s.get("/v1/repos");
    let names: Vec<&str> = r.body["repos"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    let r = s.get("/v1/repos/alpha/search?pattern=only");
    assert_eq!(r.body["matches"][0]["path"], "a.txt");
    assert_eq!(r.body["total_matches"], 1);
    let r = s.get("/v1/repos/beta/search?pattern=only");
    assert_eq!(r.body["matches"][0]["path"], "b.txt");
    assert_eq!(r.body["total_matches"], 1);
    let r = s.get("/v1/repos/beta/file?path=a.txt");
    assert_eq!((r.status, r.kind()), (404, "not_found"));
    let r = s.get("/v1/repos/gamma/search?pattern=only");
    assert_eq!((r.status, r.kind()), (404, "not_found"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("alpha, beta"), "{}", r.text);
}

#[test]
fn a_configured_token_is_required_and_checked() {
    let repo = repo_with(&[("a.txt", "hello\n")]);
    let mut cfg = config(&[("r", repo.path())]);
    cfg.token = Some("s3cret-token".into());
    let mut s = start_with(cfg);

    s.token = None;
    // Health checks need no token.
    s.assert_alive();
    let r = s.get("/v1/repos");
    assert_eq!((r.status, r.kind()), (401, "unauthorized"));
    assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");
    // An unknown route says 401 too: nothing about the server leaks without the token.
    let r = s.get("/v1/repos/r/nope");
    assert_eq!(r.status, 401);
    for wrong in ["s3cret-toke", "s3cret-token2", "S3CRET-TOKEN", ""] {
        s.token = Some(wrong.into());
        let r = s.get("/v1/repos/r/search?pattern=hello");
        assert_eq!((r.status, r.kind()), (401, "unauthorized"), "token {wrong:?}");
    }
    s.token = Some("s3cret-token".into());
    let r = s.get("/v1/repos/r/search?pattern=hello");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total_matches"], 1);
}

#[test]
fn without_a_token_only_local_host_names_are_answered() {
    let repo = repo_with(&[("a.txt", "hello\n")]);
    let s = start(&[("r", repo.path())]);
    let port = s.base.rsplit(':').next().unwrap().to_string();
    for (host, ok) in [
        (format!("127.0.0.1:{port}"), true),
        (format!("localhost:{port}"), true),
        (format!("evil.example:{port}"), false),
        ("rebind.attacker.test".to_string(), false),
    ] {
        let req = ureq::http::Request::builder()
            .uri(format!("{}/v1/repos", s.base))
            .header("Host", host.as_str())
            .body(())
            .unwrap();
        let resp = s.agent.run(req).unwrap();
        let status = resp.status().as_u16();
        assert_eq!(status, if ok { 200 } else { 403 }, "Host: {host}");
    }
}

#[test]
fn malformed_or_wrong_bodies_are_json_400s_and_the_server_keeps_serving() {
    let repo = small_repo();
    let before = worktree_state(repo.path());
    let s = start(&[("demo", repo.path())]);
    let url = "/v1/repos/demo/search";
    let ct = Some("application/json");
    for (body, what) in [
        (&b"{\"pattern\": "[..], "truncated JSON"),
        (b"{pattern: 'x'}", "not JSON"),
        (b"[1, 2, 3]", "an array"),
        (b"\"needle\"", "a string"),
        (b"{\"pattern\": 12}", "a number for a string"),
        (b"{\"pattern\": \"x\", \"colour\": true}", "an unknown field"),
        (b"{\"revs\": [\"main\"]}", "no pattern"),
        (b"{\"pattern\": \"\"}", "an empty pattern"),
        (b"{\"pattern\": \"x\", \"context\": -1}", "a negative number"),
        (b"\xff\xfe{}", "not UTF-8"),
    ] {
        let r = s.request("POST", url, ct, body.to_vec());
        assert_eq!((r.status, r.kind()), (400, "invalid_request"), "{what}: {}", r.text);
        s.assert_alive();
    }
    let r = s.request("POST", url, Some("text/plain"), b"{\"pattern\": \"x\"}".to_vec());
    assert_eq!((r.status, r.kind()), (415, "unsupported_media_type"));
    let r = s.request("POST", url, Some("application/json; charset=utf-8"), b"{\"pattern\": \"needle\"}".to_vec());
    assert_eq!(r.status, 200, "{}", r.text);

    // Query parameters are checked as strictly.
    for q in [
        "pattern=x&colour=1",
        "glob=*.py",
        "pattern=x&max_results=many",
        "pattern=x&word=perhaps",
        "pattern=x&since=a&since=b",
    ] {
        let r = s.get(&format!("{url}?{q}"));
        assert_eq!((r.status, r.kind()), (400, "invalid_request"), "{q}: {}", r.text);
    }
    // Invalid regexes and globs.
    for body in
        [json!({"pattern": "(unclosed"}), json!({"pattern": "a{5,2}"}), json!({"pattern": "x", "globs": ["a[b"]})]
    {
        let r = s.post(url, &body);
        assert_eq!((r.status, r.kind()), (400, "invalid_request"), "{body}: {}", r.text);
    }
    let r = s.get("/v1/repos/demo/search?pattern=%5Bz-a%5D");
    assert_eq!((r.status, r.kind()), (400, "invalid_request"), "{}", r.text);
    let r = s.post("/v1/repos/demo/symbols", &json!({"query": "x", "kinds": ["spaceship"]}));
    assert_eq!((r.status, r.kind()), (400, "invalid_request"), "{}", r.text);
    let r = s.get("/v1/repos/demo/find?query=x&mode=psychic");
    assert_eq!((r.status, r.kind()), (400, "invalid_request"), "{}", r.text);
    let r = s.get("/v1/repos/demo/file?path=app.py&start_line=5&end_line=2");
    assert_eq!((r.status, r.kind()), (400, "invalid_request"), "{}", r.text);
    let r = s.get("/v1/repos/demo/search?pattern=x&rev=-n");
    assert_eq!((r.status, r.kind()), (400, "invalid_request"), "{}", r.text);

    s.assert_alive();
    assert_eq!(worktree_state(repo.path()), before, "the working tree changed");
    assert_eq!(git(repo.path(), &["status", "--porcelain"]), "");
}

#[test]
fn oversized_bodies_are_413() {
    let repo = repo_with(&[("a.txt", "hello\n")]);
    let mut cfg = config(&[("r", repo.path())]);
    cfg.limits.max_body_bytes = 4096;
    let s = start_with(cfg);
    let big = json!({"pattern": "x".repeat(5000)});
    let r = s.post("/v1/repos/r/search", &big);
    assert_eq!((r.status, r.kind()), (413, "payload_too_large"), "{}", r.text);
    // Just under the limit is fine.
    let ok = json!({"pattern": "hello", "globs": ["a".repeat(3000)]});
    let r = s.post("/v1/repos/r/search", &ok);
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s.request("POST", "/v1/repos/r/index", Some("application/json"), vec![b' '; 10_000]);
    assert_eq!(r.status, 413, "{}", r.text);
    s.assert_alive();
}

#[test]
fn no_path_outside_the_repository_is_ever_read() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "TOP SECRET CONTENT\n").unwrap();
    let repo = repo_with(&[("a.txt", "hello\n"), ("dir/b.txt", "bee\n")]);
    // A committed symlink to a file outside: its content is the link's target, never the file.
    std::os::unix::fs::symlink(&secret, repo.path().join("leak")).unwrap();
    commit_all(repo.path(), "symlink");
    let before = worktree_state(repo.path());
    let s = start(&[("r", repo.path())]);

    let secret_path = secret.display().to_string();
    let relative_secret = format!("../{}", secret.strip_prefix("/").unwrap().display());
    for path in [
        "../a.txt",
        "dir/../../a.txt",
        "dir/../a.txt",
        "./a.txt",
        "/etc/passwd",
        secret_path.as_str(),
        "../../../../../../etc/passwd",
        relative_secret.as_str(),
        "dir//b.txt",
        "dir\\..\\a.txt",
        ".git/config",
        ".git/HEAD",
        "",
    ] {
        for worktree in [false, true] {
            let url = format!("/v1/repos/r/file?path={}&worktree={worktree}", enc(path));
            let r = s.get(&url);
            assert!(matches!(r.status, 400 | 404), "{path}: {} {}", r.status, r.text);
            assert!(!r.text.contains("TOP SECRET") && !r.text.contains("root:"), "{path}: {}", r.text);
            let r = s.post("/v1/repos/r/file", &json!({"path": path, "worktree": worktree}));
            assert!(matches!(r.status, 400 | 404), "{path}: {} {}", r.status, r.text);
            assert!(!r.text.contains("TOP SECRET") && !r.text.contains("root:"), "{path}: {}", r.text);
        }
    }
    // `..` and absolute paths are refused as such, not merely not found.
    for path in ["../a.txt", "/etc/passwd", "dir/../a.txt"] {
        let r = s.get(&format!("/v1/repos/r/file?path={}", enc(path)));
        assert_eq!((r.status, r.kind()), (400, "invalid_request"), "{path}");
    }
    // Encoded traversal in the route itself never names another directory.
    for url in [
        "/v1/repos/..%2F..%2Fetc/file?path=passwd",
        "/v1/repos/%2E%2E/file?path=a.txt",
        "/v1/repos/../r/file?path=a.txt",
    ] {
        let r = s.get(url);
        assert!(matches!(r.status, 400 | 404), "{url}: {} {}", r.status, r.text);
    }
    for worktree in [false, true] {
        let r = s.get(&format!("/v1/repos/r/file?path=leak&worktree={worktree}"));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["text"].as_str().unwrap().trim_end(), secret_path);
        let r = s.get(&format!("/v1/repos/r/search?pattern=SECRET&worktree={worktree}"));
        assert_eq!(r.body["total_matches"], 0, "{}", r.text);
    }
    s.assert_alive();
    assert_eq!(worktree_state(repo.path()), before);
}

#[test]
fn unknown_repositories_revisions_files_routes_and_methods() {
    let repo = small_repo();
    let s = start(&[("demo", repo.path())]);
    for url in [
        "/v1/repos/nope",
        "/v1/repos/nope/search?pattern=x",
        "/v1/repos/demo/search?pattern=x&rev=no-such-branch",
        "/v1/repos/demo/search?pattern=x&rev=0123456789abcdef0123456789abcdef01234567",
        "/v1/repos/demo/search?pattern=x&since=no-such-branch",
        "/v1/repos/demo/search?pattern=x&tags=zz*",
        "/v1/repos/demo/symbols?query=x&rev=nope",
        "/v1/repos/demo/file?path=no/such/file.txt",
        "/v1/repos/demo/file?path=app.py&rev=nope",
        "/v1/repos/demo/files?rev=nope",
        "/v1/repos/demo/diff?from=nope",
        "/v1/jobs/12345",
        "/v1/jobs/not-a-job",
        "/",
        "/v2/repos",
        "/v1/repos/demo/search/extra",
    ] {
        let r = s.get(url);
        assert_eq!((r.status, r.kind()), (404, "not_found"), "{url}: {}", r.text);
    }
    let r = s.post("/v1/repos/demo/index", &json!({"revs": ["nope"]}));
    assert_eq!((r.status, r.kind()), (404, "not_found"), "{}", r.text);

    for (method, url, allowed) in [
        ("DELETE", "/v1/repos/demo/search", "GET,HEAD,POST"),
        ("PUT", "/v1/repos", "GET,HEAD"),
        ("GET", "/v1/repos/demo/index", "POST"),
        ("PATCH", "/v1/repos/demo/file?path=app.py", "GET,HEAD,POST"),
    ] {
        let r = s.request(method, url, None, Vec::new());
        assert_eq!((r.status, r.kind()), (405, "method_not_allowed"), "{method} {url}: {}", r.text);
        let allow = r.headers.get("allow").unwrap().to_str().unwrap().replace(' ', "");
        let mut allow: Vec<&str> = allow.split(',').collect();
        allow.sort();
        assert_eq!(allow.join(","), allowed, "{method} {url}");
    }
    s.assert_alive();
}

#[test]
fn garbage_on_the_socket_is_answered_and_the_server_keeps_serving() {
    use std::io::{Read, Write};
    let repo = repo_with(&[("a.txt", "hello\n")]);
    let s = start(&[("r", repo.path())]);
    let addr = s.base.trim_start_matches("http://").to_string();
    for garbage in [&b"NOT HTTP AT ALL\r\n\r\n"[..], b"GET / HTTP/9.9\r\n\r\n", b"\x00\x01\x02\x03\r\n\r\n"] {
        let mut c = std::net::TcpStream::connect(&addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(garbage).unwrap();
        let mut answer = Vec::new();
        let _ = c.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 4"), "{garbage:?} → {answer}");
        s.assert_alive();
    }
    // A method no client library would send is still a 405 with a JSON body.
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    c.write_all(b"BREW /v1/repos HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    assert!(answer.contains("\"method_not_allowed\""), "{answer}");
    s.assert_alive();
}

#[test]
fn an_index_job_runs_while_queries_are_answered() {
    let repo = big_repo(300, 20);
    let before = worktree_state(repo.path());
    let mut cfg = config(&[("big", repo.path())]);
    // Debug builds are slow; this test is about concurrency, not speed.
    cfg.limits.request_timeout = Duration::from_secs(600);
    let s = start_with(cfg);
    // HEAD first (index and symbols), so the queries below read the index
    // instead of building it.
    let r = s.get("/v1/repos/big/search?pattern=needle&max_results=1");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["matches"].as_array().unwrap().len(), &r.body["truncated"]), (1, &json!(true)));
    let r = s.get("/v1/repos/big/symbols?query=handler_267_3");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["symbols"][0]["name"], "handler_267_3", "{}", r.text);

    let r = s.post("/v1/repos/big/index", &json!({"tags": "v*"}));
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.headers.get("location").unwrap().to_str().unwrap(), format!("/v1/jobs/{id}"));
    assert!(matches!(r.body["status"].as_str(), Some("queued" | "running")), "{}", r.text);
    assert_eq!(r.body["repo"], "big");

    // Queries answered between two observations of the job running were
    // answered while it ran.
    let t = Instant::now();
    let mut answered_while_running = 0;
    let mut saw_progress = false;
    let final_view = loop {
        let before = s.get(&format!("/v1/jobs/{id}"));
        assert_eq!(before.status, 200, "{}", before.text);
        let r = s.get("/v1/repos/big/search?pattern=handler_299_1%5Cb");
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["total_matches"], 1);
        let r = s.get("/v1/repos/big/symbols?query=handler_267_3");
        assert_eq!(r.status, 200, "{}", r.text);
        let after = s.get(&format!("/v1/jobs/{id}"));
        if before.body["status"] == "running" && after.body["status"] == "running" {
            answered_while_running += 1;
            saw_progress |= after.body["progress"]["total"].as_u64().unwrap_or(0) > 0;
        }
        match after.body["status"].as_str() {
            Some("done" | "failed") => break after,
            _ => assert!(t.elapsed() < Duration::from_secs(600), "the job never finished: {}", after.text),
        }
    };
    assert_eq!(final_view.body["status"], "done", "{}", final_view.text);
    eprintln!(
        "index job: {} s; {answered_while_running} rounds of queries answered while it ran",
        final_view.body["seconds"]
    );
    assert!(answered_while_running > 0, "no query was answered while the job was running");
    assert!(saw_progress, "the job never reported progress");
    let result = &final_view.body["result"];
    assert_eq!(result["revisions"].as_array().unwrap().len(), 300, "{}", final_view.text);
    assert_eq!(result["already_indexed"], 1, "{}", final_view.text);
    let r = s.get("/v1/jobs");
    assert_eq!(r.body["jobs"][0]["id"], id.as_str());

    // Old revisions are now answered from the index.
    let r = s.get("/v1/repos/big/search?pattern=handler_5_0%5Cb&rev=v0010&rev=v0003");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total_matches"], 1);
    assert_eq!(worktree_state(repo.path()), before);
}

#[test]
fn slow_requests_time_out_and_busy_servers_say_so() {
    let repo = big_repo(200, 30);
    let mut cfg = config(&[("big", repo.path())]);
    cfg.limits.request_timeout = Duration::from_millis(200);
    cfg.limits.max_concurrent = 1;
    cfg.limits.queue_timeout = Duration::from_millis(20);
    let s = std::sync::Arc::new(start_with(cfg));
    // Searching many unindexed revisions indexes them first: far longer than 200 ms.
    let slow = "/v1/repos/big/search?pattern=needle&tags=v*";
    let t = Instant::now();
    let r = s.get(slow);
    assert_eq!((r.status, r.kind()), (503, "timeout"), "{}", r.text);
    assert!(t.elapsed() < Duration::from_secs(5), "the timeout answered after {:?}", t.elapsed());
    assert_eq!(r.headers.get("retry-after").unwrap(), "1");
    // The abandoned work still holds the only worker: the next request waits
    // its queue time and is turned away, the server itself stays up.
    let r = s.get("/v1/repos/big/files");
    assert_eq!((r.status, r.kind()), (503, "overloaded"), "{}", r.text);
    s.assert_alive();
}

#[test]
fn start_fails_clearly_for_bad_configurations() {
    let repo = repo_with(&[("a.txt", "hello\n")]);
    let not_repo = tempfile::tempdir().unwrap();
    let missing = not_repo.path().join("missing");
    let cases: Vec<(Vec<(&str, &std::path::Path)>, &str)> = vec![
        (vec![("r", repo.path()), ("n", not_repo.path())], "repository 'n'"),
        (vec![("m", missing.as_path())], "not a directory"),
        (vec![("r", repo.path()), ("r", repo.path())], "given twice"),
        (vec![("a/b", repo.path())], "invalid repository name"),
        (vec![("..", repo.path())], "invalid repository name"),
        (vec![], "no repository"),
    ];
    for (repos, expect) in cases {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let err = grove_http::serve_on(listener, config(&repos), async {}).unwrap_err().to_string();
        assert!(err.contains(expect), "{repos:?}: {err}");
    }
}
