//! `grove mcp` end to end: the official MCP Python SDK (`mcp` on PyPI,
//! tests/clients/mcp_client.py) drives every tool against a small repository
//! with history, and raw JSON-RPC on stdin checks that malformed input gets
//! protocol errors while the server keeps serving.
//!
//! The Python client runs with $GROVE_TEST_PYTHON (default `python3`); when
//! the `mcp` package is missing the test says SKIPPED loudly, or fails when
//! GROVE_REQUIRE_CLIENTS=1 (CI).

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;
use serde_json::{json, Value};

const LIB_V1: &str = "//! A library.

pub fn parse_config(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}
";

const LIB_V2: &str = "//! A library.

pub fn parse_config(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

pub fn retry_with_backoff(attempts: u32) -> u32 {
    attempts * 2
}
";

const UTIL_PY: &str = "def helper(x):
    return x + 1


def other_helper():
    return helper(2)
";

/// Adds a function at the end of LIB_V2.
const GOOD_PATCH: &str = "diff --git a/src/lib.rs b/src/lib.rs
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -7,3 +7,7 @@ pub fn parse_config(text: &str) -> Vec<String> {
 pub fn retry_with_backoff(attempts: u32) -> u32 {
     attempts * 2
 }
+
+pub fn proposed_helper() -> bool {
+    true
+}
";

/// Its context is not in the file.
const BAD_PATCH: &str = "--- a/src/lib.rs
+++ b/src/lib.rs
@@ -1,2 +1,2 @@
-this line is not in the file
+replacement
 neither is this one
";

use common::{commit_all as commit, write_file as write};

/// Two commits, `v1.0` on the first; the second adds `retry_with_backoff`,
/// `src/net.rs` and a 300-line file. The working tree has an uncommitted
/// change and an untracked file, which must survive every tool call.
fn demo_repo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempdir();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git_ok(&repo, ["init", "-q", "-b", "main"]);
    write(&repo, "src/lib.rs", LIB_V1);
    write(&repo, "src/util.py", UTIL_PY);
    write(&repo, "README.md", "# demo\n\nParses configuration files.\n");
    commit(&repo, "first");
    git_ok(&repo, ["tag", "v1.0"]);
    write(&repo, "src/lib.rs", LIB_V2);
    write(&repo, "src/net.rs", "pub fn connect(host: &str) -> bool {\n    !host.is_empty()\n}\n");
    let long: String = (1..=300).map(|i| format!("line number {i} of the long file\n")).collect();
    write(&repo, "docs/long.txt", &long);
    commit(&repo, "second");
    write(&repo, "README.md", "# demo\n\nParses configuration files.\nuncommitted_marker\n");
    write(&repo, "notes.txt", "untracked\n");
    (dir, repo)
}

/// Every file of the working tree (`.git` aside) and its bytes.
fn worktree_files(repo: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(repo, repo, &mut out);
    out
}

/// The interpreter that has the `mcp` package, or None after saying SKIPPED.
fn python_with_mcp() -> Option<String> {
    let python = std::env::var("GROVE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = std::process::Command::new(&python).args(["-c", "import mcp.client.stdio"]).output();
    let ok = probe.as_ref().is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    let why = match &probe {
        Ok(o) => String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("").to_string(),
        Err(e) => e.to_string(),
    };
    if std::env::var("GROVE_REQUIRE_CLIENTS").as_deref() == Ok("1") {
        panic!("GROVE_REQUIRE_CLIENTS=1 but {python} cannot import the MCP SDK: {why} (pip install -r .ci/requirements.txt)");
    }
    eprintln!(
        "SKIPPED: the MCP client test needs the Python `mcp` package ({python}: {why}); \
         set GROVE_TEST_PYTHON to a python with `pip install -r .ci/requirements.txt`"
    );
    None
}

/// Runs the Python client with this plan against `grove mcp` on `repo`.
fn run_client(python: &str, ix: &Indexed, plan: &Value) -> Value {
    let dir = tempdir();
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, serde_json::to_vec(plan).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/mcp_client.py");
    let mut cmd = std::process::Command::new(python);
    // The isolated environment of `grove_cmd`, for the client and the server it starts.
    let template = grove_cmd();
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd
        .arg(&script)
        .arg(&plan_file)
        .arg(GROVE)
        .args(["mcp", "--repo"])
        .arg(&ix.repo)
        .arg("--index-dir")
        .arg(&ix.index)
        .stdin(Stdio::null())
        .output()
        .expect("run the python MCP client");
    assert!(out.status.success(), "MCP client failed:\n{}", describe(&out));
    assert!(!stderr(&out).contains("panicked"), "grove panicked:\n{}", describe(&out));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("client output is not JSON ({e}):\n{}", describe(&out)))
}

/// One call's result, checked to be a successful tool result.
#[track_caller]
fn ok_text(call: &Value) -> &str {
    assert!(call.get("error").is_none() && call.get("exception").is_none(), "call failed: {call:#}");
    assert_eq!(call["is_error"], false, "tool error: {call:#}");
    call["text"].as_str().unwrap()
}

/// One call's result, checked to be a tool error (`isError: true`).
#[track_caller]
fn error_text(call: &Value) -> &str {
    assert!(call.get("error").is_none() && call.get("exception").is_none(), "not a tool result: {call:#}");
    assert_eq!(call["is_error"], true, "expected a tool error: {call:#}");
    call["text"].as_str().unwrap()
}

#[test]
fn mcp_tools_through_the_official_python_sdk() {
    let Some(python) = python_with_mcp() else { return };
    let (_dir, repo) = demo_repo();
    let ix = Indexed::new(&repo);
    let files_before = worktree_files(&repo);
    let status_before = git_ok(&repo, ["status", "--porcelain"]);

    let steps: Vec<(&str, Value)> = vec![
        ("search", json!({"pattern": "fn parse_config"})),
        ("search", json!({"pattern": "retry_with_backoff", "revs": ["v1.0"]})),
        ("search", json!({"pattern": "parse_config|retry_with_backoff", "revs": ["v1.0", "main"]})),
        ("search", json!({"pattern": "helper", "globs": ["*.py"]})),
        ("read_file", json!({"path": "docs/long.txt", "start_line": 10, "end_line": 20})),
        ("read_file", json!({"path": "docs/long.txt", "max_tokens": 100})),
        ("read_file", json!({"path": "../etc/passwd"})),
        ("search", json!({"pattern": "x", "revs": ["no-such-revision"]})),
        ("search", json!({"pattern": "fn (unclosed"})),
        ("list_files", json!({"globs": ["*.rs"]})),
        ("list_revisions", json!({})),
        ("diff", json!({"from": "v1.0"})),
        ("fork", json!({"src": "HEAD", "name": "experiment"})),
        ("apply_patch", json!({"name": "experiment", "patch": GOOD_PATCH})),
        ("search", json!({"pattern": "fn proposed_helper", "revs": ["experiment"]})),
        ("search", json!({"pattern": "fn proposed_helper"})),
        ("apply_patch", json!({"name": "broken", "patch": BAD_PATCH})),
        ("frobnicate", json!({})),
        ("search", json!({"pattern": "x", "no_such_option": true})),
        ("find", json!({"query": "parse configuration text", "mode": "lexical"})),
        ("search", json!({"pattern": "long file", "max_tokens": 50})),
        ("diff", json!({"from": "HEAD", "to": "experiment"})),
        ("symbols", json!({"query": "parse_config"})),
        ("search", json!({"pattern": "uncommitted_marker", "worktree": true})),
        ("read_file", json!({"path": "src/lib.rs", "rev": "experiment", "start_line": 11})),
        ("list_revisions", json!({})),
        ("list_files", json!({})),
        ("find", json!({"query": "retry with backoff"})),
        ("find", json!({"query": "retry with backoff", "mode": "dense"})),
    ];
    let plan: Vec<Value> = steps.iter().map(|(t, a)| json!({"tool": t, "args": a})).collect();
    let out = run_client(&python, &ix, &json!(plan));
    let calls = out["calls"].as_array().unwrap();
    assert_eq!(calls.len(), steps.len());

    // The server and its tools.
    assert_eq!(out["server_info"]["name"], "grove");
    assert!(out["instructions"].as_str().unwrap().contains("apply_patch"));
    let tools = out["tools"].as_array().unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        ["apply_patch", "diff", "find", "fork", "list_files", "list_revisions", "read_file", "search", "symbols"]
    );
    for t in tools {
        let schema = &t["input_schema"];
        assert_eq!(schema["type"], "object", "{t:#}");
        assert!(t["description"].as_str().unwrap().len() > 80, "tool descriptions are for agents: {t:#}");
        assert!(t["output_schema"].is_object(), "{t:#}");
    }
    let search_tool = tools.iter().find(|t| t["name"] == "search").unwrap();
    let props = &search_tool["input_schema"]["properties"];
    for p in ["pattern", "revs", "globs", "max_tokens"] {
        assert!(props.get(p).is_some(), "search schema lacks {p}: {props:#}");
    }
    assert_eq!(search_tool["input_schema"]["required"], json!(["pattern"]));

    // search at HEAD, at a tag, at both, with globs.
    let t = ok_text(&calls[0]);
    assert!(t.starts_with("src/lib.rs:3:pub fn parse_config(text: &str)"), "{t}");
    assert!(t.contains("1 matching line in 1 file (HEAD "), "{t}");
    assert_eq!(calls[0]["structured"]["matches"][0]["line"], 3);
    let t = ok_text(&calls[1]);
    assert!(t.starts_with("no matches for /retry_with_backoff/ in v1.0 "), "{t}");
    let t = ok_text(&calls[2]);
    let v1 = t.find("[v1.0 ").expect("a v1.0 group");
    let main = t.find("[main ").expect("a main group");
    assert!(t[v1..main].contains("src/lib.rs:3:pub fn parse_config"), "{t}");
    assert!(!t[v1..main].contains("retry_with_backoff"), "{t}");
    assert!(t[main..].contains("src/lib.rs:7:pub fn retry_with_backoff"), "{t}");
    assert!(t.contains("3 matching lines in 2 files"), "{t}");
    let t = ok_text(&calls[3]);
    assert!(t.contains("src/util.py:1:def helper(x):") && !t.contains(".rs:"), "{t}");

    // read_file: a range, the truncation notice, a path outside the repository.
    let t = ok_text(&calls[4]);
    assert!(t.starts_with("10\tline number 10 of the long file\n"), "{t}");
    assert!(t.contains("20\tline number 20 of the long file\n"), "{t}");
    assert!(!t.contains("line number 21 "), "{t}");
    assert!(t.contains("docs/long.txt @ HEAD ") && t.contains(": lines 10-20 of 300"), "{t}");
    assert!(!t.contains("truncated"), "{t}");
    let t = ok_text(&calls[5]);
    let shown = t.lines().filter(|l| l.contains("\tline number")).count();
    assert!(shown > 0 && shown < 20, "{t}");
    assert!(t.contains(&format!("truncated: lines 1-{shown} of 300; call again with start_line={}", shown + 1)), "{t}");
    assert!(t.len() <= 100 * 4 + 300, "the budget bounds the text: {} bytes", t.len());
    assert_eq!(calls[5]["structured"]["truncated"], true);
    assert_eq!(calls[5]["structured"]["end_line"], shown as u64);
    let t = error_text(&calls[6]);
    assert!(t.contains("invalid path '../etc/passwd'") && t.contains("'..'"), "{t}");

    // Unknown revision, invalid regex.
    let t = error_text(&calls[7]);
    assert!(t.starts_with("not found: ") && t.contains("no-such-revision"), "{t}");
    let t = error_text(&calls[8]);
    assert!(t.starts_with("invalid request: "), "{t}");

    // list_files with a glob, list_revisions, diff between the tag and HEAD.
    let t = ok_text(&calls[9]);
    assert_eq!(t, "src/lib.rs\nsrc/net.rs\n2 files");
    let t = ok_text(&calls[10]);
    assert!(t.contains("head: main") && t.contains("tags (1): v1.0") && t.contains("branches (1): main"), "{t}");
    let t = ok_text(&calls[11]);
    for line in ["A docs/long.txt", "M src/lib.rs", "A src/net.rs"] {
        assert!(t.lines().any(|l| l == line), "{line} missing:\n{t}");
    }
    assert!(t.contains("v1.0 ") && t.contains("-> HEAD ") && t.contains("3 files changed"), "{t}");

    // fork, apply_patch, and the snapshot is searchable while HEAD is not changed.
    let t = ok_text(&calls[12]);
    assert!(t.starts_with("created snapshot 'experiment'"), "{t}");
    let t = ok_text(&calls[13]);
    assert!(t.starts_with("updated snapshot 'experiment'") && t.contains("1 file changed"), "{t}");
    assert_eq!(calls[13]["structured"]["changed_files"], 1);
    let t = ok_text(&calls[14]);
    assert!(t.starts_with("src/lib.rs:11:pub fn proposed_helper() -> bool {"), "{t}");
    let t = ok_text(&calls[15]);
    assert!(t.starts_with("no matches"), "{t}");
    let t = error_text(&calls[16]);
    assert!(t.contains("src/lib.rs") && t.to_lowercase().contains("hunk"), "the error names the file and hunk: {t}");

    // An unknown tool is a JSON-RPC error; an unknown argument a tool error
    // the agent can read (MCP: input validation errors are tool errors).
    assert_eq!(calls[17]["error"]["code"], -32602, "{:#}", calls[17]);
    let t = error_text(&calls[18]);
    assert!(t.contains("unknown field `no_such_option`"), "{t}");

    // find without a model, a budget smaller than the result.
    let t = ok_text(&calls[19]);
    assert!(t.contains("== src/lib.rs:") && t.contains("lexical mode"), "{t}");
    let t = ok_text(&calls[20]);
    assert!(t.contains("truncated: showing ") && t.contains("of 300 matching lines"), "{t}");
    assert!(t.len() <= 50 * 4 + 200, "{} bytes: {t}", t.len());

    // The snapshot against HEAD, symbols, the working tree, a snapshot's file.
    let t = ok_text(&calls[21]);
    assert!(t.starts_with("M src/lib.rs\n") && t.contains("1 file changed"), "{t}");
    let t = ok_text(&calls[22]);
    assert!(t.starts_with("src/lib.rs:3-5  function parse_config  (exact)"), "{t}");
    let t = ok_text(&calls[23]);
    assert!(t.contains("README.md:4:uncommitted_marker") && t.contains("(worktree "), "{t}");
    let t = ok_text(&calls[24]);
    assert!(t.starts_with("11\tpub fn proposed_helper() -> bool {\n12\t    true\n13\t}\n"), "{t}");
    assert!(t.contains("lines 11-13 of 13"), "{t}");

    // Still serving after all the errors, and the snapshot is listed.
    let t = ok_text(&calls[25]);
    assert!(t.contains("snapshots") && t.contains("experiment"), "{t}");
    let t = ok_text(&calls[26]);
    assert!(t.ends_with("\n5 files"), "{t}");

    // find's default mode answers without a model (the test environment has
    // none) and says so; asking for dense ranking explicitly is an error.
    let t = ok_text(&calls[27]);
    assert!(t.contains("== src/lib.rs:") && t.contains("ranked lexically only"), "{t}");
    let t = error_text(&calls[28]);
    assert!(t.starts_with("unavailable: ") && t.contains("mode=\"lexical\""), "{t}");

    // Nothing in the working tree changed.
    assert_eq!(worktree_files(&repo), files_before, "the working tree changed");
    assert_eq!(git_ok(&repo, ["status", "--porcelain"]), status_before);
}

/// Raw JSON-RPC on stdin: each malformed message gets an error response, and
/// the session goes on.
#[test]
fn mcp_raw_protocol_errors_keep_the_server_serving() {
    let (_dir, repo) = demo_repo();
    let ix = Indexed::new(&repo);
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{{"name":"search","arguments":{{"pattern":"{}"}}}}}}"#,
        "a".repeat(grove_mcp_limit() + 10)
    );
    let lines: Vec<String> = vec![
        "this is not json".into(),
        initialize.to_string(),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        "{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": ".into(),
        json!({"jsonrpc": "2.0", "id": 3, "method": "no/such/method"}).to_string(),
        json!({"jsonrpc": "2.0", "id": 4, "method": 7}).to_string(),
        json!([{"jsonrpc": "2.0", "id": 5, "method": "ping"}]).to_string(),
        json!({"jsonrpc": "2.0", "id": 6, "method": "tools/list", "params": 7}).to_string(),
        huge,
        json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call",
               "params": {"name": "read_file", "arguments": {"path": "../../etc/passwd"}}})
        .to_string(),
        json!({"jsonrpc": "2.0", "id": 11, "method": "tools/list"}).to_string(),
        json!({"jsonrpc": "2.0", "id": 12, "method": "ping"}).to_string(),
    ];
    let mut child = grove_cmd()
        .args(["mcp", "--repo"])
        .arg(&ix.repo)
        .arg("--index-dir")
        .arg(&ix.index)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start grove mcp");
    let mut stdin = child.stdin.take().unwrap();
    // Write from another thread: the server answers while it reads.
    let writer = std::thread::spawn(move || {
        for l in lines {
            stdin.write_all(l.as_bytes()).unwrap();
            stdin.write_all(b"\n").unwrap();
        }
    });
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    writer.join().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "grove mcp failed: {}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));

    let replies: Vec<Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    for r in &replies {
        assert_eq!(r["jsonrpc"], "2.0", "{r}");
        assert!(r.get("id").is_some(), "every response has an id (null when unknown): {r}");
    }
    let by_id = |id: i64| -> &Value {
        replies.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("no reply to {id}: {stdout}"))
    };
    let parse_errors = replies.iter().filter(|r| r["error"]["code"] == -32700 && r["id"].is_null()).count();
    assert_eq!(parse_errors, 2, "two lines were not JSON: {stdout}");
    assert_eq!(by_id(1)["result"]["serverInfo"]["name"], "grove");
    assert_eq!(by_id(3)["error"]["code"], -32601);
    assert_eq!(by_id(4)["error"]["code"], -32600);
    assert_eq!(by_id(6)["error"]["code"], -32600);
    let batch = replies.iter().find(|r| r["error"]["message"].as_str().is_some_and(|m| m.contains("batches")));
    assert!(batch.is_some_and(|b| b["id"].is_null() && b["error"]["code"] == -32600), "{stdout}");
    let huge = by_id(9);
    assert_eq!(huge["error"]["code"], -32600);
    assert!(huge["error"]["message"].as_str().unwrap().contains("at most"), "{huge}");
    assert_eq!(by_id(10)["result"]["isError"], true);
    assert_eq!(by_id(11)["result"]["tools"].as_array().unwrap().len(), 9);
    assert_eq!(by_id(12)["result"], json!({}));
}

fn grove_mcp_limit() -> usize {
    16 << 20
}
