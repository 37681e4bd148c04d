//! `grove lsp` driven by a real LSP client: pygls's language client
//! (`tests/clients/lsp_client.py`, pinned in `.ci/requirements.txt`) runs the
//! built binary over stdio against a repository made here, and reports what
//! it saw as JSON; this test asserts on it.
//!
//! The interpreter is `GROVE_TEST_PYTHON` (default `python3`). Without pygls
//! the test prints `SKIPPED` and passes, unless `GROVE_REQUIRE_CLIENTS=1`.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

const APP_V1: &str = "def greet():\n    return 'hello world'\n";
const APP_V2: &str = "def greet():\n    return 'hello there'\n";
const UNICODE_LINE: &str = "    s = \"😀😀\" + needle_value";

use common::write_file as write;

const IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "grove test"),
    ("GIT_AUTHOR_EMAIL", "test@example.com"),
    ("GIT_COMMITTER_NAME", "grove test"),
    ("GIT_COMMITTER_EMAIL", "test@example.com"),
];

fn git_ok(repo: &Path, args: &[&str]) {
    let out = git_cmd(repo).args(args).envs(IDENTITY).output().expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", describe(&out));
}

/// main: v1 (tagged) → v2; feature: v1 + feature.txt; the working tree is
/// main plus an untracked src/unicode.py.
fn make_repo(repo: &Path) {
    git_ok(repo, &["init", "-q", "-b", "main"]);
    write(repo, "src/app.py", APP_V1);
    write(repo, "README.md", "test repository\n");
    git_ok(repo, &["add", "."]);
    git_ok(repo, &["commit", "-q", "-m", "v1"]);
    git_ok(repo, &["tag", "v1"]);
    git_ok(repo, &["checkout", "-q", "-b", "feature"]);
    write(repo, "feature.txt", "feature only marker\n");
    git_ok(repo, &["add", "."]);
    git_ok(repo, &["commit", "-q", "-m", "feature"]);
    git_ok(repo, &["checkout", "-q", "main"]);
    write(repo, "src/app.py", APP_V2);
    git_ok(repo, &["commit", "-q", "-am", "v2"]);
    write(repo, "src/unicode.py", &format!("{UNICODE_LINE}\n"));
}

fn python() -> String {
    std::env::var("GROVE_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// True when the client library can be imported; otherwise says SKIPPED
/// (or fails under GROVE_REQUIRE_CLIENTS=1).
fn client_available() -> bool {
    let ok = Command::new(python())
        .args(["-c", "import pygls.lsp.client, lsprotocol"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let msg = format!(
            "SKIPPED: lsp: pygls is not importable with {} (set GROVE_TEST_PYTHON to a venv with .ci/requirements.txt)",
            python()
        );
        assert!(std::env::var("GROVE_REQUIRE_CLIENTS").as_deref() != Ok("1"), "{msg}");
        eprintln!("{msg}");
    }
    ok
}

fn texts(result: &Value) -> Vec<String> {
    result["matches"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_string()).collect()
}

fn error_code(outcome: &Value) -> i64 {
    outcome["error"]["code"].as_i64().unwrap_or_else(|| panic!("expected an error, got {outcome}"))
}

#[test]
fn lsp_under_a_real_client() {
    if !client_available() {
        return;
    }
    let dir = tempdir();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    make_repo(&repo);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/lsp_client.py");
    let mut cmd = Command::new(python());
    isolate(&mut cmd);
    // The client commits (HEAD moving) with the same identity.
    cmd.arg(&script).arg(GROVE).arg(&repo).envs(IDENTITY);
    let out = cmd.output().expect("run the python client");
    assert!(out.status.success(), "the client failed:\n{}", describe(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}:\n{}", describe(&out)));
    let app_uri = r["app_uri"].as_str().unwrap();

    // initialize: what the server advertises.
    let caps = &r["capabilities"];
    assert_eq!(caps["textDocumentSync"]["change"], 2, "incremental sync: {caps}");
    assert_eq!(caps["workspaceSymbolProvider"], true);
    assert_eq!(caps["experimental"]["groveSearch"], true);
    assert_eq!(caps["experimental"]["groveFind"], true);

    let revs = &r["revisions"];
    assert_eq!(revs["head"], "main");
    assert_eq!(revs["branches"], serde_json::json!(["feature", "main"]));
    assert_eq!(revs["tags"], serde_json::json!(["v1"]));

    // workspace/symbol from the symbol index.
    let sym = r["symbols"].as_array().unwrap();
    assert!(sym.iter().any(|s| s["name"] == "greet" && s["location"]["uri"] == app_uri && s["kind"] == 12), "{sym:?}");

    // grove/search: the workspace, HEAD, a tag (short and full ref name).
    let ws = &r["search_workspace"];
    assert_eq!(ws["rev"], Value::Null);
    assert_eq!(ws["truncated"], false);
    let m = &ws["matches"][0];
    assert_eq!(ws["matches"].as_array().unwrap().len(), 1, "{ws}");
    assert_eq!(
        (&m["path"], &m["uri"], &m["line"]),
        (&Value::from("src/app.py"), &Value::from(app_uri), &Value::from(1))
    );
    assert_eq!(m["text"], "    return 'hello there'");
    assert_eq!(m["submatches"], serde_json::json!([{ "start": 12, "end": 23 }]));
    assert_eq!(
        m["range"],
        serde_json::json!({ "start": { "line": 1, "character": 12 }, "end": { "line": 1, "character": 23 } })
    );
    assert_eq!(texts(&r["search_head"]), vec!["    return 'hello there'"]);
    assert_eq!(r["search_head"]["matches"][0]["rev"], "HEAD");
    assert_eq!(texts(&r["search_tag"]), vec!["    return 'hello world'"]);
    assert_eq!(r["search_tag"]["rev"], "v1");
    assert_eq!(r["search_tag"]["matches"][0]["uri"], app_uri, "a match at a revision has the workspace URI");
    assert_eq!(texts(&r["search_full_ref"]), vec!["    return 'hello world'"]);
    assert_eq!(r["search_capped"]["matches"].as_array().unwrap().len(), 1);
    assert_eq!(r["search_capped"]["truncated"], true);
    // UTF-16 columns: each emoji is two units.
    let u = &r["search_unicode"]["matches"][0];
    let start = UNICODE_LINE.find("needle_value").unwrap() - 8 + 4; // two 4-byte emoji → 2 units each
    assert_eq!(u["submatches"], serde_json::json!([{ "start": start, "end": start + 12 }]), "{u}");

    // Unsaved edits are searched in memory, then forgotten; the disk is untouched.
    let opened = &r["after_open"]["matches"];
    assert_eq!(opened.as_array().unwrap().len(), 1, "{opened}");
    assert_eq!((&opened[0]["path"], &opened[0]["line"]), (&Value::from("src/app.py"), &Value::from(2)));
    assert_eq!(r["read_open_buffer"]["text"], format!("{APP_V2}unsaved_marker = 1\n"));
    assert_eq!(texts(&r["after_change"]), vec!["changed_marker = 1"]);
    let buffered = r["symbols_in_buffer"].as_array().unwrap();
    assert!(buffered.iter().any(|s| s["name"] == "buffered_function"), "symbols of the buffer: {buffered:?}");
    assert_eq!(texts(&r["after_close"]), Vec::<String>::new(), "after didClose the disk counts");
    assert_eq!(r["disk_before"], APP_V2);
    assert_eq!(r["disk_after"], APP_V2);
    assert_eq!(r["status_before"], r["status_after"]);

    // Errors, and the server keeps serving.
    assert_eq!(error_code(&r["bad_regex"]), -32602);
    assert!(r["bad_regex"]["error"]["message"].as_str().unwrap().contains("unclosed"), "{}", r["bad_regex"]);
    assert_eq!(error_code(&r["bad_rev"]), -32602);
    assert_eq!(error_code(&r["bad_params"]), -32602);
    assert_eq!(error_code(&r["unknown_method"]), -32601);
    assert_eq!(error_code(&r["read_missing"]), -32602);
    assert_eq!(r["read_at_tag"]["result"]["text"], APP_V1);
    assert_eq!(texts(&r["after_errors"]), vec!["    return 'hello there'"]);
    assert_eq!(texts(&r["positional"]["result"]), vec!["    return 'hello there'"], "{}", r["positional"]);
    assert_eq!(error_code(&r["cancelled"]), -32800, "{}", r["cancelled"]);
    assert_eq!(r["after_cancel"]["matches"].as_array().unwrap().len(), 1);

    // grove/find, lexical.
    let find = &r["find"]["result"];
    assert_eq!(find["mode"], "lexical", "{}", r["find"]);
    assert!(
        find["hits"].as_array().unwrap().iter().any(|h| h["path"] == "src/app.py" && h["uri"] == app_uri),
        "{find}"
    );

    // HEAD moved: indexed in the background with progress, seen by the next searches.
    let progress = r["progress_after_commit"].as_array().unwrap();
    let kinds: Vec<&str> = progress.iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert!(kinds.first() == Some(&"begin") && kinds.last() == Some(&"end"), "progress after the commit: {progress:?}");
    assert!(progress[0]["message"].as_str().unwrap().contains("indexing HEAD"), "{progress:?}");
    assert_eq!(texts(&r["after_commit_head"]), vec!["def moved_marker():"]);
    assert_eq!(texts(&r["after_commit_workspace"]), vec!["def moved_marker():"]);

    assert_eq!(r["exit_code"], 0, "shutdown + exit ends the server cleanly");
    // Nothing of the buffers reached the repository.
    assert_eq!(std::fs::read_to_string(repo.join("src/app.py")).unwrap(), APP_V2);
}

/// Raw frames, no client library: a body that is not JSON, one that is not
/// a JSON-RPC message and a header without a length each get an error
/// response, and the server goes on to answer initialize and shut down cleanly.
#[test]
fn malformed_frames_get_errors_and_the_server_keeps_serving() {
    use std::io::{Read, Write};
    let dir = tempdir();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git_ok(&repo, &["init", "-q", "-b", "main"]);
    write(&repo, "a.txt", "hello\n");
    git_ok(&repo, &["add", "-A"]);
    git_ok(&repo, &["commit", "-qm", "one"]);
    let mut child = grove_cmd()
        .args(["lsp", "--index-dir"])
        .arg(dir.path().join("index"))
        .current_dir(&repo)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let frame = |body: &str| format!("Content-Length: {}\r\n\r\n{body}", body.len());
    let mut input = String::new();
    input += &frame("{this is not json");
    input += &frame(r#"{"jsonrpc":"2.0","id":5,"method":42}"#);
    input += "Content-Length: many\r\n\r\n";
    input += &frame(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#);
    input += &frame(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#);
    input += &frame(r#"{"jsonrpc":"2.0","id":2,"method":"grove/nope","params":{}}"#);
    input += &frame(r#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#);
    input += &frame(r#"{"jsonrpc":"2.0","method":"exit"}"#);
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let status = child.wait().unwrap();
    let mut bodies: Vec<Value> = Vec::new();
    let mut rest = out.as_str();
    while let Some((header, tail)) = rest.split_once("\r\n\r\n") {
        let n: usize = header.trim_start_matches("Content-Length: ").parse().expect("length header");
        bodies.push(serde_json::from_str(&tail[..n]).unwrap());
        rest = &tail[n..];
    }
    let code_of = |id: Value| {
        bodies.iter().find(|b| b["id"] == id && b.get("error").is_some()).map(|b| b["error"]["code"].as_i64().unwrap())
    };
    let parse_errors = bodies.iter().filter(|b| b["id"].is_null() && b["error"]["code"] == -32700).count();
    assert_eq!(parse_errors, 2, "{bodies:?}");
    assert_eq!(code_of(serde_json::json!(5)), Some(-32600), "{bodies:?}");
    assert!(bodies.iter().any(|b| b["id"] == 1 && b["result"]["capabilities"].is_object()), "{bodies:?}");
    assert_eq!(code_of(serde_json::json!(2)), Some(-32601), "{bodies:?}");
    assert!(bodies.iter().any(|b| b["id"] == 3 && b.get("error").is_none()), "{bodies:?}");
    assert!(status.success(), "{status:?}");
}
