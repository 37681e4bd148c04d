//! `grove serve`: turns command-line arguments into the HTTP server's configuration.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    let cfg = grove_http::HttpConfig { addr: a.addr, repos, engine: opts };
    grove_http::serve(cfg).map_err(|e| anyhow::anyhow!("serve: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
