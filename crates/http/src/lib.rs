//! grove's HTTP/JSON API: a shared server over several repositories
//! (protocol in docs/http.md).
//!
//! Each repository is one [`grove_service::Service`]; requests run on a
//! bounded pool of blocking threads (the engine is synchronous), index jobs
//! on threads of their own so that queries keep being answered while they
//! run. Every error, including those of the HTTP layer itself (unknown route,
//! wrong method, oversized or malformed body), is a JSON body
//! `{"error": {"kind", "message"}}`.

mod auth;
mod error;
mod extract;
mod jobs;
mod routes;

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use grove_engine::EngineOptions;
use grove_service::{Limits, Service};

pub use error::ApiError;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// What `grove serve` was asked to serve.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub addr: SocketAddr,
    /// (name clients use, repository directory)
    pub repos: Vec<(String, PathBuf)>,
    pub engine: EngineOptions,
    /// When set, every request but `/healthz` must carry
    /// `Authorization: Bearer <token>`.
    pub token: Option<String>,
    pub limits: HttpLimits,
}

impl HttpConfig {
    pub fn new(addr: SocketAddr, repos: Vec<(String, PathBuf)>, engine: EngineOptions) -> HttpConfig {
        HttpConfig { addr, repos, engine, token: None, limits: HttpLimits::default() }
    }
}

/// What one request, and the server as a whole, may cost.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// A request not answered by then gets 503 `timeout`.
    pub request_timeout: Duration,
    /// Requests doing engine work at the same time; others wait in line.
    pub max_concurrent: usize,
    /// How long a request may wait in that line before 503 `overloaded`.
    pub queue_timeout: Duration,
    /// Index jobs queued or running, all repositories together.
    pub max_pending_jobs: usize,
    /// Results and text per response.
    pub results: Limits,
}

impl Default for HttpLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        HttpLimits {
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(30),
            max_concurrent: 2 * cores,
            queue_timeout: Duration::from_secs(10),
            max_pending_jobs: 16,
            results: Limits::default(),
        }
    }
}

/// The served repositories, in configuration order.
pub(crate) struct Repo {
    pub name: String,
    pub service: Arc<Service>,
}

/// Opens every configured repository; the first that cannot be opened is
/// the error (named, with its directory).
fn open_repos(cfg: &HttpConfig) -> Result<Vec<Repo>, Error> {
    if cfg.repos.is_empty() {
        return Err("no repository to serve".into());
    }
    if cfg.repos.len() > 1 && cfg.engine.index_dir.is_some() {
        // One index directory cannot hold the refs of several repositories.
        return Err("--index-dir names one index; with several repositories each uses its own".into());
    }
    let mut repos: Vec<Repo> = Vec::new();
    for (name, dir) in &cfg.repos {
        check_repo_name(name)?;
        if repos.iter().any(|r| &r.name == name) {
            return Err(format!("repository name '{name}' is given twice").into());
        }
        if !dir.is_dir() {
            return Err(format!("repository '{name}': {} is not a directory", dir.display()).into());
        }
        let service = Service::open(dir, cfg.engine.clone(), cfg.limits.results.clone())
            .map_err(|e| format!("repository '{name}' ({}): {e}", dir.display()))?;
        repos.push(Repo { name: name.clone(), service: Arc::new(service) });
    }
    Ok(repos)
}

/// Names appear in URLs: keep them to one plain path segment.
fn check_repo_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid repository name '{}': use letters, digits, '-', '_' or '.'", name.escape_debug()).into())
    }
}

/// Serves `cfg.addr` until SIGINT or SIGTERM, then finishes the requests in
/// flight. Prints the address it listens on to stderr.
pub fn serve(cfg: HttpConfig) -> Result<(), Error> {
    let repos = open_repos(&cfg)?;
    let listener = TcpListener::bind(cfg.addr).map_err(|e| format!("cannot listen on {}: {e}", cfg.addr))?;
    let addr = listener.local_addr()?;
    let n = repos.len();
    say(&format!("serving {n} {} on http://{addr}", if n == 1 { "repository" } else { "repositories" }));
    run(listener, cfg, repos, shutdown_signal())
}

/// Serves on an already bound listener until `shutdown` completes (tests
/// bind port 0 and read the address from the listener).
pub fn serve_on(
    listener: TcpListener,
    cfg: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let repos = open_repos(&cfg)?;
    run(listener, cfg, repos, shutdown)
}

fn run(
    listener: TcpListener,
    cfg: HttpConfig,
    repos: Vec<Repo>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    listener.set_nonblocking(true)?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.clamp(2, 8))
        // Every blocking task holds a permit of the concurrency limit, so
        // this bounds nothing in practice; it only has to be above it.
        .max_blocking_threads(cfg.limits.max_concurrent + 8)
        .thread_name("grove-http")
        .enable_all()
        .build()?;
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let app = routes::router(cfg, repos);
        axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
        Ok::<(), Error>(())
    });
    // Work abandoned by a timed-out request cannot be interrupted; give it a
    // moment, then leave it to the process exit.
    runtime.shutdown_timeout(Duration::from_secs(5));
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    say("shutting down (finishing requests in flight)");
}

/// A line on stderr; a closed stderr must not take the server down.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "grove: {line}");
}
