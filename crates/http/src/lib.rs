//! grove's HTTP/JSON API. Being written: see docs/http.md.

use std::net::SocketAddr;
use std::path::PathBuf;

use grove_engine::EngineOptions;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// What `grove serve` was asked to serve.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub addr: SocketAddr,
    /// (name clients use, repository directory)
    pub repos: Vec<(String, PathBuf)>,
    pub engine: EngineOptions,
}

/// Serves until interrupted.
pub fn serve(_cfg: HttpConfig) -> Result<(), Error> {
    Err("the HTTP server is not built yet".into())
}
