//! Background indexing: when HEAD moves (a commit, a checkout, a pull), the
//! new commit is indexed (the diff applier makes that cheap) and the working
//! tree's snapshot rebuilt on it, reported with `$/progress` when the client
//! supports it. Searches meanwhile read the last published snapshots.

use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use grove_engine::{GitOid, Progress};
use serde_json::json;

use crate::{lock, Server};

/// How often HEAD is looked at (reading a ref file or two).
const POLL: Duration = Duration::from_millis(1000);
/// Fewest milliseconds between two progress reports.
const REPORT_EVERY: Duration = Duration::from_millis(200);

pub(crate) fn watch_head(server: &Server) {
    let mut indexed: Option<GitOid> = None;
    while !server.stopping.load(Ordering::SeqCst) {
        // An unborn HEAD (no commit yet) has nothing to index.
        if let Ok(head) = server.service.engine().resolve_one("HEAD") {
            if indexed != Some(head.commit.oid) {
                index_head(server, &head);
                // Also after a failure: it was reported, retrying each second would only repeat it.
                indexed = Some(head.commit.oid);
            }
        }
        std::thread::sleep(POLL);
    }
}

fn index_head(server: &Server, head: &grove_engine::ResolvedRev) {
    let progress = WorkDone::begin(server, &format!("indexing HEAD ({})", &head.commit.oid.to_hex()[..12]));
    server.indexing_head.store(true, Ordering::SeqCst);
    let indexed = server.service.engine().index(std::slice::from_ref(head), &progress);
    server.indexing_head.store(false, Ordering::SeqCst);
    // The working tree's snapshot is derived from HEAD's: rebuild it now so
    // the next workspace search does not pay for it.
    let refreshed = match &indexed {
        Ok(_) => {
            let _serial = lock(&server.refresh);
            server.refresh_worktree(&progress).map(|_| ()).map_err(|e| e.message)
        }
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = &refreshed {
        eprintln!("grove lsp: indexing HEAD {} failed: {e}", head.commit.oid);
    }
    progress.end(match refreshed {
        Ok(()) => "indexed".to_string(),
        Err(e) => format!("failed: {e}"),
    });
}

/// A `$/progress` token, or nothing when the client cannot show progress.
struct WorkDone<'a> {
    server: &'a Server,
    token: Option<String>,
    state: Mutex<Counts>,
}

struct Counts {
    what: String,
    total: u64,
    done: u64,
    last_report: Instant,
}

impl<'a> WorkDone<'a> {
    fn begin(server: &'a Server, title: &str) -> WorkDone<'a> {
        let mut token = None;
        if server.progress_supported {
            let t = format!("grove-index-{}", server.next_id.fetch_add(1, Ordering::SeqCst));
            // The token may only be used once the client has accepted it.
            if server.ask("window/workDoneProgress/create", json!({ "token": t }), Duration::from_secs(10)) {
                server.notify(
                    "$/progress",
                    json!({ "token": t, "value": { "kind": "begin", "title": "grove", "message": title, "cancellable": false, "percentage": 0 } }),
                );
                token = Some(t);
            }
        }
        WorkDone {
            server,
            token,
            state: Mutex::new(Counts { what: title.to_string(), total: 0, done: 0, last_report: Instant::now() }),
        }
    }

    fn report(&self, c: &mut Counts, force: bool) {
        let Some(token) = &self.token else { return };
        if !force && c.last_report.elapsed() < REPORT_EVERY {
            return;
        }
        c.last_report = Instant::now();
        let mut value = json!({ "kind": "report", "message": c.what });
        if let Some(percent) = (c.done.min(c.total) * 100).checked_div(c.total) {
            value["percentage"] = json!(percent as u32);
        }
        self.server.notify("$/progress", json!({ "token": token, "value": value }));
    }

    fn end(&self, message: String) {
        if let Some(token) = &self.token {
            self.server.notify("$/progress", json!({ "token": token, "value": { "kind": "end", "message": message } }));
        }
    }
}

impl Progress for WorkDone<'_> {
    fn start(&self, what: &str, total: u64) {
        let mut c = lock(&self.state);
        *c = Counts { what: what.to_string(), total, done: 0, last_report: c.last_report };
        self.report(&mut c, true);
    }

    fn inc(&self, n: u64) {
        let mut c = lock(&self.state);
        c.done += n;
        self.report(&mut c, false);
    }
}
