//! Routes and handlers. Every query endpoint takes either GET with query
//! parameters or POST with the `grove-service` request as JSON; both end in
//! the same `Service` call on the blocking pool.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use grove_engine::{NoProgress, Progress, RevSelection};
use grove_service::*;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::time::{timeout_at, Instant};

use crate::auth::{self, Gate};
use crate::error::{json_errors, ApiError};
use crate::extract::{JsonBody, Params};
use crate::jobs::Jobs;
use crate::{HttpConfig, Repo};

#[derive(Clone)]
pub struct App(Arc<AppInner>);

pub struct AppInner {
    /// In configuration order, for listings.
    names: Vec<String>,
    services: HashMap<String, Arc<Service>>,
    /// Permits for engine work; a request holds one while its work runs,
    /// even after it timed out, so abandoned work still counts.
    permits: Arc<Semaphore>,
    request_timeout: Duration,
    queue_timeout: Duration,
    jobs: Arc<Jobs>,
}

pub fn router(cfg: HttpConfig, repos: Vec<Repo>) -> Router {
    let limits = cfg.limits;
    let names: Vec<String> = repos.iter().map(|r| r.name.clone()).collect();
    let app = App(Arc::new(AppInner {
        jobs: Arc::new(Jobs::new(names.iter().map(String::as_str), limits.max_pending_jobs)),
        names,
        services: repos.into_iter().map(|r| (r.name, r.service)).collect(),
        permits: Arc::new(Semaphore::new(limits.max_concurrent.max(1))),
        request_timeout: limits.request_timeout,
        queue_timeout: limits.queue_timeout,
    }));
    let gate = Gate { token: cfg.token.map(Into::into) };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/repos", get(list_repos))
        .route("/v1/repos/{repo}", get(repo_info))
        .route("/v1/repos/{repo}/search", get(search_get).post(search_post))
        .route("/v1/repos/{repo}/find", get(find_get).post(find_post))
        .route("/v1/repos/{repo}/symbols", get(symbols_get).post(symbols_post))
        .route("/v1/repos/{repo}/files", get(files_get).post(files_post))
        .route("/v1/repos/{repo}/file", get(file_get).post(file_post))
        .route("/v1/repos/{repo}/revisions", get(revisions))
        .route("/v1/repos/{repo}/diff", get(diff_get).post(diff_post))
        .route("/v1/repos/{repo}/index", post(index_post))
        .route("/v1/jobs", get(list_jobs))
        .route("/v1/jobs/{id}", get(job))
        .fallback(unknown_route)
        .with_state(app)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(gate, auth::check))
        // A safety net over everything, body upload included: a client that
        // sends its request too slowly gets 408. Engine work has its own,
        // shorter deadline (503 `timeout`).
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout + Duration::from_secs(5),
        ))
        .layer(middleware::map_response(json_errors))
}

impl App {
    fn service(&self, repo: &str) -> Result<Arc<Service>, ApiError> {
        self.0.services.get(repo).cloned().ok_or_else(|| {
            ApiError::not_found(format!(
                "no repository '{}' on this server; it serves: {}",
                repo.escape_debug(),
                self.0.names.join(", ")
            ))
        })
    }

    /// Runs engine work on the blocking pool, within the concurrency limit
    /// and the request's deadline. Work that cannot be interrupted runs to
    /// completion after a timeout; its permit is released only then.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let start = Instant::now();
        let deadline = start + self.0.request_timeout;
        let permit = timeout_at(deadline.min(start + self.0.queue_timeout), self.0.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "the server is busy: every worker was taken for the whole wait; try again",
                )
            })?
            .map_err(|_| ApiError::internal("the server is shutting down"))?;
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        });
        match timeout_at(deadline, task).await {
            Err(_) => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!(
                    "the request took longer than {} s; narrow it (revisions, globs, max_results) or retry",
                    self.0.request_timeout.as_secs_f64()
                ),
            )),
            Ok(Err(e)) if e.is_panic() => {
                Err(ApiError::internal("the request failed unexpectedly (panic); see the server's log"))
            }
            Ok(Err(e)) => Err(ApiError::internal(format!("the request was cancelled: {e}"))),
            Ok(Ok(r)) => r.map_err(ApiError::from),
        }
    }

    /// One `Service` call as a JSON response.
    async fn call<Req, Resp>(
        &self,
        repo: &str,
        req: Req,
        op: fn(&Service, &Req, &dyn Progress) -> Result<Resp, ServiceError>,
    ) -> Result<Json<Resp>, ApiError>
    where
        Req: Send + 'static,
        Resp: Send + 'static,
    {
        let service = self.service(repo)?;
        self.blocking(move || op(&service, &req, &NoProgress)).await.map(Json)
    }
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn unknown_route() -> ApiError {
    ApiError::not_found("no such endpoint; see docs/http.md (GET /v1/repos lists the repositories)")
}

#[derive(Serialize)]
struct RepoInfo {
    name: String,
    /// The branch HEAD is on (or its commit when detached).
    head: Option<String>,
    /// HEAD's commit; absent in a repository without commits.
    commit: Option<String>,
}

fn repo_info_of(name: &str, service: &Service) -> Result<RepoInfo, ServiceError> {
    let head = service.revisions()?.head;
    let commit = service.engine().resolve_one("HEAD").ok().map(|r| r.commit.oid.to_hex());
    Ok(RepoInfo { name: name.to_string(), head, commit })
}

async fn list_repos(State(app): State<App>) -> Result<Json<serde_json::Value>, ApiError> {
    let all: Vec<(String, Arc<Service>)> = app.0.names.iter().map(|n| (n.clone(), app.0.services[n].clone())).collect();
    let repos =
        app.blocking(move || all.iter().map(|(n, s)| repo_info_of(n, s)).collect::<Result<Vec<_>, _>>()).await?;
    Ok(Json(serde_json::json!({ "repos": repos })))
}

async fn repo_info(State(app): State<App>, Path(repo): Path<String>) -> Result<Json<RepoInfo>, ApiError> {
    let service = app.service(&repo)?;
    app.blocking(move || repo_info_of(&repo, &service)).await.map(Json)
}

fn at(p: &mut Params) -> Result<RevisionSpec, ApiError> {
    Ok(RevisionSpec { rev: p.string("rev")?, worktree: p.flag("worktree")? })
}

async fn search_post(
    State(app): State<App>,
    Path(repo): Path<String>,
    JsonBody(req): JsonBody<SearchRequest>,
) -> Result<Json<SearchResponse>, ApiError> {
    app.call(&repo, req, Service::search).await
}

async fn search_get(
    State(app): State<App>,
    Path(repo): Path<String>,
    mut p: Params,
) -> Result<Json<SearchResponse>, ApiError> {
    let req = SearchRequest {
        pattern: p.required("pattern")?,
        revs: p.strings("rev"),
        tags: p.string("tags")?,
        branches: p.string("branches")?,
        worktree: p.flag("worktree")?,
        since: p.string("since")?,
        globs: p.strings("glob"),
        ignore_case: p.flag("ignore_case")?,
        fixed_strings: p.flag("fixed_strings")?,
        word: p.flag("word")?,
        context: p.count("context")?.unwrap_or(0),
        max_results: p.count("max_results")?,
    };
    p.finish()?;
    app.call(&repo, req, Service::search).await
}

async fn find_post(
    State(app): State<App>,
    Path(repo): Path<String>,
    JsonBody(req): JsonBody<FindRequest>,
) -> Result<Json<FindResponse>, ApiError> {
    app.call(&repo, req, Service::find).await
}

async fn find_get(
    State(app): State<App>,
    Path(repo): Path<String>,
    mut p: Params,
) -> Result<Json<FindResponse>, ApiError> {
    let req = FindRequest {
        query: p.required("query")?,
        at: at(&mut p)?,
        k: p.count("k")?,
        mode: p.string("mode")?,
        budget: p.count("budget")?,
        files: p.flag("files")?,
    };
    p.finish()?;
    app.call(&repo, req, Service::find).await
}

async fn symbols_post(
    State(app): State<App>,
    Path(repo): Path<String>,
    JsonBody(req): JsonBody<SymbolsRequest>,
) -> Result<Json<SymbolsResponse>, ApiError> {
    app.call(&repo, req, Service::symbols).await
}

async fn symbols_get(
    State(app): State<App>,
    Path(repo): Path<String>,
    mut p: Params,
) -> Result<Json<SymbolsResponse>, ApiError> {
    let req = SymbolsRequest {
        query: p.required("query")?,
        at: at(&mut p)?,
        kinds: p.strings("kind"),
        limit: p.count("limit")?,
    };
    p.finish()?;
    app.call(&repo, req, Service::symbols).await
}

async fn files_post(
    State(app): State<App>,
    Path(repo): Path<String>,
    JsonBody(req): JsonBody<ListFilesRequest>,
) -> Result<Json<ListFilesResponse>, ApiError> {
    app.call(&repo, req, Service::list_files).await
}

async fn files_get(
    State(app): State<App>,
    Path(repo): Path<String>,
    mut p: Params,
) -> Result<Json<ListFilesResponse>, ApiError> {
    let req = ListFilesRequest { at: at(&mut p)?, globs: p.strings("glob"), limit: p.count("limit")? };
    p.finish()?;
    app.call(&repo, req, Service::list_files).await
}

async fn file_post(
    State(app): State<App>,
    Path(repo): Path<String>,
    JsonBody(req): JsonBody<ReadFileRequest>,
) -> Result<Json<ReadFileResponse>, ApiError> {
    app.call(&repo, req, Service::read_file).await
}

async fn file_get(
    State(app): State<App>,
    Path(repo): Path<String>,
    mut p: Params,
) -> Result<Json<ReadFileResponse>, ApiError> {
    let req = ReadFileRequest {
        path: p.required("path")?,
        at: at(&mut p)?,
        start_line: p.number("start_line")?,
        end_line: p.number("end_line")?,
    };
    p.finish()?;
    app.call(&repo, req, Service::read_file).await
}

async fn revisions(State(app): State<App>, Path(repo): Path<String>) -> Result<Json<RevisionsResponse>, ApiError> {
    let service = app.service(&repo)?;
    app.blocking(move || service.revisions()).await.map(Json)
}

async fn diff_post(
    State(app): State<App>,
    Path(repo): Path<String>,
    JsonBody(req): JsonBody<DiffRequest>,
) -> Result<Json<DiffResponse>, ApiError> {
    app.call(&repo, req, Service::diff).await
}

async fn diff_get(
    State(app): State<App>,
    Path(repo): Path<String>,
    mut p: Params,
) -> Result<Json<DiffResponse>, ApiError> {
    let req = DiffRequest {
        from: p.required("from")?,
        to: p.string("to")?,
        worktree: p.flag("worktree")?,
        limit: p.count("limit")?,
    };
    p.finish()?;
    app.call(&repo, req, Service::diff).await
}

/// Starts an index job after resolving what it is to index, so that an
/// unknown revision is a 404 now rather than a failed job later.
async fn index_post(
    State(app): State<App>,
    Path(repo): Path<String>,
    JsonBody(req): JsonBody<IndexRequest>,
) -> Result<Response, ApiError> {
    let service = app.service(&repo)?;
    for r in &req.revs {
        if r.is_empty() || r.starts_with('-') || r.chars().any(char::is_control) || r.len() > 1000 {
            return Err(ApiError::invalid(format!("invalid revision '{}'", r.escape_debug())));
        }
    }
    let sel = RevSelection {
        revs: req.revs.clone(),
        tags: req.tags.iter().cloned().collect(),
        branches: req.branches.iter().cloned().collect(),
        all_refs: false,
    };
    let check = service.clone();
    app.blocking(move || check.engine().resolve(&sel).map(drop).map_err(ServiceError::from)).await?;
    let view = app.0.jobs.start(&repo, service, req)?;
    let location = format!("/v1/jobs/{}", view.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(view)).into_response())
}

async fn list_jobs(State(app): State<App>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "jobs": app.0.jobs.list() }))
}

async fn job(State(app): State<App>, Path(id): Path<String>) -> Result<Json<crate::jobs::JobView>, ApiError> {
    app.0.jobs.get(&id).map(Json).ok_or_else(|| ApiError::not_found(format!("no job '{}'", id.escape_debug())))
}
