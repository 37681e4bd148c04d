//! Index jobs: `POST /v1/repos/{repo}/index` starts one and answers at once;
//! `GET /v1/jobs/{id}` follows it. Each job runs on a thread of its own (not
//! the request pool, so queries keep being answered), one at a time per
//! repository (they would serialize on the index's writer lock anyway).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use grove_engine::Progress;
use grove_service::{IndexRequest, IndexResponse, Service};
use serde::Serialize;

use crate::error::ApiError;

/// Finished jobs kept for their clients to read; older ones are forgotten.
const KEEP_FINISHED: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProgressView {
    /// What the indexer is doing (`reading blobs`, `writing`, ...).
    pub phase: Option<String>,
    pub done: u64,
    pub total: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct JobView {
    pub id: String,
    pub repo: String,
    pub status: JobStatus,
    /// Unix seconds.
    pub created: u64,
    /// Seconds since the job started running (or that it ran).
    pub seconds: f64,
    pub progress: ProgressView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<IndexResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
}

struct JobState {
    status: JobStatus,
    started: Option<Instant>,
    finished: Option<Instant>,
    result: Option<IndexResponse>,
    error: Option<ApiError>,
}

struct Job {
    id: u64,
    repo: String,
    created: u64,
    state: Mutex<JobState>,
    progress: JobProgress,
}

#[derive(Default)]
struct JobProgress {
    phase: Mutex<Option<String>>,
    done: AtomicU64,
    total: AtomicU64,
}

impl Progress for JobProgress {
    fn start(&self, what: &str, total: u64) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = Some(what.to_string());
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    fn inc(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
}

pub struct Jobs {
    next_id: AtomicU64,
    max_pending: usize,
    all: Mutex<JobTable>,
    /// One lock per repository: its jobs run one after the other.
    repo_locks: HashMap<String, Arc<Mutex<()>>>,
}

#[derive(Default)]
struct JobTable {
    by_id: HashMap<u64, Arc<Job>>,
    finished: VecDeque<u64>,
    pending: usize,
}

impl Jobs {
    pub fn new<'a>(repos: impl Iterator<Item = &'a str>, max_pending: usize) -> Jobs {
        Jobs {
            next_id: AtomicU64::new(1),
            max_pending,
            all: Mutex::new(JobTable::default()),
            repo_locks: repos.map(|r| (r.to_string(), Arc::new(Mutex::new(())))).collect(),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, JobTable> {
        self.all.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues an index job and starts its thread.
    pub fn start(self: &Arc<Self>, repo: &str, service: Arc<Service>, req: IndexRequest) -> Result<JobView, ApiError> {
        let repo_lock = self.repo_locks.get(repo).ok_or_else(|| ApiError::internal("no lock for repository"))?.clone();
        let job = {
            let mut table = self.table();
            if table.pending >= self.max_pending {
                return Err(ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    format!("{} index jobs are already queued or running; try again later", table.pending),
                ));
            }
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let job = Arc::new(Job {
                id,
                repo: repo.to_string(),
                created,
                state: Mutex::new(JobState {
                    status: JobStatus::Queued,
                    started: None,
                    finished: None,
                    result: None,
                    error: None,
                }),
                progress: JobProgress::default(),
            });
            table.by_id.insert(id, job.clone());
            table.pending += 1;
            job
        };
        let jobs = self.clone();
        let worker = job.clone();
        let spawned = std::thread::Builder::new().name(format!("grove-index-{}", job.id)).spawn(move || {
            let _turn = repo_lock.lock().unwrap_or_else(|e| e.into_inner());
            worker.set(|s| {
                s.status = JobStatus::Running;
                s.started = Some(Instant::now());
            });
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                service.index(&req, &worker.progress).map_err(ApiError::from)
            }))
            .unwrap_or_else(|_| Err(ApiError::internal("the index job panicked; see the server's log")));
            worker.set(|s| {
                s.finished = Some(Instant::now());
                match outcome {
                    Ok(r) => {
                        s.status = JobStatus::Done;
                        s.result = Some(r);
                    }
                    Err(e) => {
                        s.status = JobStatus::Failed;
                        s.error = Some(e);
                    }
                }
            });
            jobs.finished(worker.id);
        });
        if let Err(e) = spawned {
            job.set(|s| {
                s.status = JobStatus::Failed;
                s.error = Some(ApiError::internal(format!("cannot start the index thread: {e}")));
            });
            self.finished(job.id);
        }
        Ok(job.view())
    }

    fn finished(&self, id: u64) {
        let mut table = self.table();
        table.pending = table.pending.saturating_sub(1);
        table.finished.push_back(id);
        while table.finished.len() > KEEP_FINISHED {
            if let Some(old) = table.finished.pop_front() {
                table.by_id.remove(&old);
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<JobView> {
        let id: u64 = id.parse().ok()?;
        let job = self.table().by_id.get(&id).cloned()?;
        Some(job.view())
    }

    /// Every job still known, oldest first.
    pub fn list(&self) -> Vec<JobView> {
        let mut jobs: Vec<Arc<Job>> = self.table().by_id.values().cloned().collect();
        jobs.sort_by_key(|j| j.id);
        jobs.iter().map(|j| j.view()).collect()
    }
}

impl Job {
    fn set(&self, f: impl FnOnce(&mut JobState)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn view(&self) -> JobView {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let seconds = match (s.started, s.finished) {
            (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
            (Some(a), None) => a.elapsed().as_secs_f64(),
            _ => 0.0,
        };
        JobView {
            id: self.id.to_string(),
            repo: self.repo.clone(),
            status: s.status,
            created: self.created,
            seconds,
            progress: ProgressView {
                phase: self.progress.phase.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                done: self.progress.done.load(Ordering::Relaxed),
                total: self.progress.total.load(Ordering::Relaxed),
            },
            result: s.result.clone(),
            error: s.error.as_ref().map(|e| e.body()["error"].clone()),
        }
    }
}
