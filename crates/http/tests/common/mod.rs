//! A real server on a real socket (port 0), a real HTTP client (ureq), and
//! real git repositories built in temporary directories.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::JoinHandle;

use grove_engine::EngineOptions;
use grove_http::HttpConfig;
use serde_json::Value;

/// Runs git with no user or system configuration.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository with the given files committed on `main` (one commit).
pub fn repo_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    dir
}

pub fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

/// A repository with `commits` commits (tagged `v0001`...), each adding
/// `files_per_commit` files of fresh text, written with `git fast-import`
/// so that building it is quick and indexing all of it is not.
pub fn big_repo(commits: usize, files_per_commit: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    let mut script = String::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut word = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        format!("w{:x}", seed % 0xff_ffff)
    };
    for c in 0..commits {
        script.push_str(&format!(
            "commit refs/heads/main\ncommitter t <t@example.com> {} +0000\ndata 2\nc{}\n",
            1_700_000_000 + c,
            c % 10
        ));
        for f in 0..files_per_commit {
            let mut text = format!("def handler_{c}_{f}():\n    return 'needle'\n\n# ");
            for _ in 0..200 {
                text.push_str(&word());
                text.push(' ');
            }
            text.push('\n');
            script.push_str(&format!("M 100644 inline src/m{}/f{f}.py\ndata {}\n{text}\n", c % 50, text.len()));
        }
        script.push_str(&format!("reset refs/tags/v{:04}\nfrom refs/heads/main\n\n", c + 1));
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    git(dir.path(), &["checkout", "-q", "-f", "main"]);
    dir
}

/// Every file of the working tree (not `.git`) with its bytes.
pub fn worktree_state(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p.file_name().unwrap() == ".git" {
                continue;
            }
            let t = e.file_type().unwrap();
            if t.is_dir() {
                walk(root, &p, out);
            } else if t.is_symlink() {
                out.push((
                    p.strip_prefix(root).unwrap().into(),
                    std::fs::read_link(&p).unwrap().into_os_string().into_encoded_bytes(),
                ));
            } else {
                out.push((p.strip_prefix(root).unwrap().into(), std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

pub struct Server {
    pub base: String,
    pub agent: ureq::Agent,
    pub token: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), grove_http::Error>>>,
}

pub fn config(repos: &[(&str, &Path)]) -> HttpConfig {
    let repos = repos.iter().map(|(n, d)| (n.to_string(), d.to_path_buf())).collect();
    HttpConfig::new("127.0.0.1:0".parse().unwrap(), repos, EngineOptions::default())
}

pub fn start(repos: &[(&str, &Path)]) -> Server {
    start_with(config(repos))
}

pub fn start_with(cfg: HttpConfig) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let token = cfg.token.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        grove_http::serve_on(listener, cfg, async move {
            let _ = stopped.await;
        })
    });
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .build()
        .into();
    Server { base, agent, token, stop: Some(stop), thread: Some(thread) }
}

pub struct Reply {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The error kind of an error reply, checking the error shape on the way.
    pub fn kind(&self) -> &str {
        let e = &self.body["error"];
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "no error message in {}", self.text);
        e["kind"].as_str().unwrap_or_else(|| panic!("not an error body: {}", self.text))
    }
}

impl Server {
    pub fn request(&self, method: &str, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
        let mut req = ureq::http::Request::builder().method(method).uri(format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        let resp = self.agent.run(req.body(body).unwrap()).expect("HTTP request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.into_body().with_config().limit(64 << 20).read_to_string().unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status >= 400 {
            assert_eq!(
                headers.get("content-type").and_then(|v| v.to_str().ok()),
                Some("application/json"),
                "{method} {path} → {status}: not a JSON error: {text}"
            );
        }
        Reply { status, headers, body, text }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, None, Vec::new())
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.request("POST", path, Some("application/json"), body.to_string().into_bytes())
    }

    /// The server still answers.
    pub fn assert_alive(&self) {
        let r = self.get("/healthz");
        assert_eq!(r.status, 200, "{}", r.text);
    }

    pub fn stop(mut self) -> Result<(), grove_http::Error> {
        let _ = self.stop.take().unwrap().send(());
        self.thread.take().unwrap().join().expect("server thread")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Query-string encoding of one value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
