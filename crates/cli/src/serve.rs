//! `grove serve`: turns command-line arguments into the HTTP server's configuration.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use grove_engine::EngineOptions;

use crate::args::ServeArgs;

pub fn run(repo_dir: &Path, opts: EngineOptions, a: &ServeArgs) -> anyhow::Result<ExitCode> {
    let mut repos: Vec<(String, PathBuf)> = Vec::new();
    for spec in &a.repos {
        let (name, dir) = match spec.split_once('=') {
            Some((n, d)) => (n.to_string(), PathBuf::from(d)),
            None => {
                let dir = PathBuf::from(spec);
                let name = std::path::absolute(&dir)?
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .ok_or_else(|| anyhow::anyhow!("cannot name repository {spec}; use NAME=DIR"))?;
                (name, dir)
            }
        };
        repos.push((name, dir));
    }
    if repos.is_empty() {
        let name = std::path::absolute(repo_dir)?
            .file_name()
            .map_or_else(|| "repo".to_string(), |n| n.to_string_lossy().into_owned());
        repos.push((name, repo_dir.to_path_buf()));
    }
    if a.timeout == 0 || a.max_results == 0 || a.max_concurrent == Some(0) {
        anyhow::bail!("--timeout, --max-results and --max-concurrent must be at least 1");
    }
    // A client that hangs up must never end the server (std already sends
    // with MSG_NOSIGNAL on Linux; this covers every other write).
    // SAFETY: no other thread has started yet.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let mut cfg = grove_http::HttpConfig::new(a.addr, repos, opts);
    cfg.token = a.token.clone().filter(|t| !t.is_empty());
    cfg.limits.request_timeout = Duration::from_secs(a.timeout);
    cfg.limits.max_body_bytes = usize::try_from(a.max_body.0).unwrap_or(usize::MAX);
    if let Some(n) = a.max_concurrent {
        cfg.limits.max_concurrent = n;
    }
    cfg.limits.results.max_results = a.max_results;
    grove_http::serve(cfg).map_err(|e| anyhow::anyhow!("serve: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
