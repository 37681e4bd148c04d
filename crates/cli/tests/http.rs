//! `grove serve --http`: the real binary on a port the system picks, queried
//! with a real HTTP client, then stopped with SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::*;

struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(agent: &ureq::Agent, url: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let mut req = agent.get(url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let mut resp = req.call().expect("HTTP request");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")))
}

#[test]
fn serve_answers_http_and_stops_on_sigterm() {
    let dir = tempdir();
    let repo = dir.path().join("proj");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(repo.join("src/main.py"), "def serve_forever():\n    return 'grove over http'\n").unwrap();
    git_ok(&repo, ["init", "-q", "-b", "main"]);
    git_ok(&repo, ["add", "-A"]);
    git_ok(&repo, ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "one"]);

    let child = grove_cmd()
        .args(["serve", "--http", "127.0.0.1:0", "--max-results", "5"])
        .arg(format!("proj={}", repo.display()))
        .env("GROVE_TOKEN", "tok-123")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start grove serve");
    let mut server = Running(child);
    let mut stderr = BufReader::new(server.0.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let base = first
        .trim()
        .strip_prefix("grove: serving 1 repository on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"), "{base}");

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let (status, body) = get(&agent, &format!("{base}/v1/repos"), None);
    assert_eq!((status, body["error"]["kind"].as_str()), (401, Some("unauthorized")));
    let (status, body) = get(&agent, &format!("{base}/v1/repos"), Some("tok-123"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["repos"][0]["name"], "proj");
    let (status, body) = get(&agent, &format!("{base}/v1/repos/proj/search?pattern=grove+over"), Some("tok-123"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matches"][0]["path"], "src/main.py");
    assert_eq!(body["matches"][0]["line"], 2);
    let (status, body) = get(&agent, &format!("{base}/v1/repos/proj/symbols?query=serve_forever"), Some("tok-123"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["symbols"][0]["kind"], "function");
    let (status, body) = get(&agent, &format!("{base}/v1/repos/proj/search?pattern=(x"), Some("tok-123"));
    assert_eq!((status, body["error"]["kind"].as_str()), (400, Some("invalid_request")));

    // SIGTERM: a clean stop, exit 0.
    let rc = unsafe { libc::kill(server.0.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = server.0.wait().unwrap();
    assert!(status.success(), "{status:?}; stderr: {rest}");
    assert!(rest.contains("shutting down"), "{rest}");
}

#[test]
fn serve_refuses_a_directory_that_is_not_a_repository() {
    // Outside any checkout: inside one, git would discover the enclosing repository.
    let dir = tempfile::tempdir().unwrap();
    let out = grove(["serve", "--http", "127.0.0.1:0", &format!("x={}", dir.path().display())]);
    assert_code(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("repository 'x'"), "{err}");
}
