//! grove's language server (`grove lsp`), over stdio. The protocol it speaks
//! is documented in `docs/lsp.md`.
//!
//! The main thread reads messages in order: notifications (open documents,
//! edits, cancellations) are applied there at once, so a request sees every
//! edit sent before it; requests go to a small pool of worker threads, so a
//! long search blocks neither the edits nor a `$/cancelRequest`. A watcher
//! thread indexes HEAD in the background whenever it moves.
//!
//! Unsaved buffers are an in-memory overlay ([`grove_engine::Overlay`]) on
//! the working tree's snapshot; nothing of them is written anywhere.

mod handlers;
mod text;
mod transport;
mod watch;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};

use grove_engine::{EngineOptions, Overlay};
use grove_service::{Limits, Service};
use lsp_server::{Message, Notification, Request, RequestId, Response};
use serde::Deserialize;

use text::{Range, WorkTree};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// JSON-RPC error codes the server answers with.
pub mod codes {
    pub const INVALID_PARAMS: i32 = -32602;
    pub const METHOD_NOT_FOUND: i32 = -32601;
    pub const REQUEST_CANCELLED: i32 = -32800;
    pub const REQUEST_FAILED: i32 = -32803;
}

/// Threads answering requests; a few, so that one long search does not hold
/// up the others (each search is itself parallel inside the engine).
const WORKERS: usize = 4;

/// A request's failure, as a JSON-RPC error.
#[derive(Debug)]
pub(crate) struct RpcError {
    pub code: i32,
    pub message: String,
}

impl RpcError {
    pub fn invalid(message: impl Into<String>) -> RpcError {
        RpcError { code: codes::INVALID_PARAMS, message: message.into() }
    }

    pub fn failed(message: impl Into<String>) -> RpcError {
        RpcError { code: codes::REQUEST_FAILED, message: message.into() }
    }

    pub fn cancelled() -> RpcError {
        RpcError { code: codes::REQUEST_CANCELLED, message: "the request was cancelled".into() }
    }
}

impl From<grove_service::ServiceError> for RpcError {
    fn from(e: grove_service::ServiceError) -> RpcError {
        use grove_service::ErrorKind;
        let code = match e.kind {
            ErrorKind::InvalidRequest | ErrorKind::NotFound => codes::INVALID_PARAMS,
            ErrorKind::Unavailable | ErrorKind::Internal => codes::REQUEST_FAILED,
        };
        RpcError { code, message: e.message }
    }
}

impl From<grove_engine::EngineError> for RpcError {
    fn from(e: grove_engine::EngineError) -> RpcError {
        grove_service::ServiceError::from(e).into()
    }
}

/// A request's cancellation flag, set by `$/cancelRequest`; handlers check
/// it between phases.
#[derive(Clone, Default)]
pub(crate) struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn check(&self) -> Result<(), RpcError> {
        if self.0.load(Ordering::SeqCst) {
            Err(RpcError::cancelled())
        } else {
            Ok(())
        }
    }
}

/// Messages to the client, from any thread; closed at exit so the writer
/// thread can finish.
struct Outbox(Mutex<Option<SendFn>>);

type SendFn = Box<dyn Fn(Message) + Send>;

impl Outbox {
    fn send(&self, m: Message) {
        if let Some(send) = &*lock(&self.0) {
            send(m);
        }
    }

    fn close(&self) {
        lock(&self.0).take();
    }
}

/// An open document: the editor's text, and its repository path when it is
/// inside the work tree (others are kept for their edits but searched never).
struct Document {
    path: Option<Vec<u8>>,
    text: String,
}

/// What every thread of the server shares.
pub(crate) struct Server {
    pub service: Service,
    pub work_tree: WorkTree,
    documents: Mutex<HashMap<String, Document>>,
    /// Serializes refreshing the working tree's snapshot.
    pub refresh: Mutex<()>,
    /// Set while the watcher indexes a new HEAD: a workspace search then
    /// uses the last working-tree snapshot instead of waiting.
    pub indexing_head: AtomicBool,
    outbox: Outbox,
    pending: Mutex<HashMap<RequestId, Cancel>>,
    /// Answers to our own requests (progress token creation) awaited.
    awaiting: Mutex<HashMap<RequestId, mpsc::Sender<bool>>>,
    next_id: AtomicU64,
    pub progress_supported: bool,
    pub stopping: AtomicBool,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking handler is answered with an error; its lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Server {
    /// The unsaved buffers of documents inside the work tree, as they are now.
    pub fn overlay(&self) -> Overlay {
        let mut overlay = Overlay::new();
        for d in lock(&self.documents).values() {
            if let Some(p) = &d.path {
                overlay.insert(p.clone(), Arc::from(d.text.as_bytes()));
            }
        }
        overlay
    }

    pub fn notify(&self, method: &str, params: serde_json::Value) {
        self.outbox.send(Notification::new(method.to_string(), params).into());
    }

    /// Sends a request to the client and waits (bounded) for its answer:
    /// true when it succeeded.
    pub fn ask(&self, method: &str, params: serde_json::Value, wait: std::time::Duration) -> bool {
        let id = RequestId::from(format!("grove-{}", self.next_id.fetch_add(1, Ordering::SeqCst)));
        let (tx, rx) = mpsc::channel();
        lock(&self.awaiting).insert(id.clone(), tx);
        self.outbox.send(Request::new(id.clone(), method.to_string(), params).into());
        let ok = rx.recv_timeout(wait).unwrap_or(false);
        lock(&self.awaiting).remove(&id);
        ok
    }

    fn document_path(&self, uri: &str) -> Option<Vec<u8>> {
        text::uri_path(uri).and_then(|p| self.work_tree.relative(&p))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenParams {
    text_document: OpenDocument,
}

#[derive(Deserialize)]
struct OpenDocument {
    uri: String,
    text: String,
}

#[derive(Deserialize)]
struct DocumentId {
    uri: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeParams {
    text_document: DocumentId,
    content_changes: Vec<ContentChange>,
}

#[derive(Deserialize)]
struct ContentChange {
    #[serde(default)]
    range: Option<Range>,
    text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloseParams {
    text_document: DocumentId,
}

#[derive(Deserialize)]
struct CancelParams {
    id: RequestId,
}

/// Limits of what one answer may hold; a client may ask for fewer results.
fn lsp_limits() -> Limits {
    Limits { max_results: 10_000, max_text_bytes: 8 << 20, ..Limits::default() }
}

/// Serves one client over stdin/stdout until it exits.
pub fn serve_stdio(start: &Path, opts: EngineOptions) -> Result<(), Error> {
    let service = Service::open(start, opts, lsp_limits())?;
    let dir = service
        .engine()
        .repo()
        .work_dir()
        .ok_or("the language server needs a repository with a work tree (this one is bare)")?
        .to_path_buf();
    let mut work_tree = WorkTree::new(&dir);

    let (connection, writer) = transport::stdio();
    let (init_id, init) = connection.initialize_start()?;
    let client_root = init
        .get("workspaceFolders")
        .and_then(|f| f.get(0))
        .and_then(|f| f.get("uri"))
        .or_else(|| init.get("rootUri"))
        .and_then(|u| u.as_str())
        .and_then(text::uri_path);
    if let Some(root) = client_root {
        work_tree.spelled_by_client(&root);
    }
    let progress_supported =
        init.pointer("/capabilities/window/workDoneProgress").and_then(|v| v.as_bool()).unwrap_or(false);
    connection.initialize_finish(init_id, initialize_result())?;

    let sender = connection.sender.clone();
    let server = Arc::new(Server {
        service,
        work_tree,
        documents: Mutex::new(HashMap::new()),
        refresh: Mutex::new(()),
        indexing_head: AtomicBool::new(false),
        outbox: Outbox(Mutex::new(Some(Box::new(move |m| {
            let _ = sender.send(m);
        })))),
        pending: Mutex::new(HashMap::new()),
        awaiting: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
        progress_supported,
        stopping: AtomicBool::new(false),
    });

    let (jobs, job_rx) = mpsc::channel::<Box<dyn FnOnce() + Send>>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    for i in 0..WORKERS {
        let rx = job_rx.clone();
        std::thread::Builder::new().name(format!("grove-lsp-worker-{i}")).spawn(move || loop {
            let job = lock(&rx).recv();
            match job {
                Ok(job) => job(),
                Err(_) => return,
            }
        })?;
    }
    {
        let server = server.clone();
        std::thread::Builder::new().name("grove-lsp-head".into()).spawn(move || watch::watch_head(&server))?;
    }

    let mut shutdown = false;
    let clean = loop {
        let Ok(msg) = connection.receiver.recv() else { break shutdown };
        match msg {
            Message::Request(req) if req.method == "shutdown" => {
                shutdown = true;
                // Requests already accepted are answered before the reply
                // to shutdown (a client may wait for them); bounded, since
                // a long engine call cannot be interrupted.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while !lock(&server.pending).is_empty() && std::time::Instant::now() < deadline {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                server.outbox.send(Response::new_ok(req.id, ()).into());
            }
            Message::Request(req) if shutdown => server.outbox.send(
                Response::new_err(
                    req.id,
                    lsp_server::ErrorCode::InvalidRequest as i32,
                    "the server is shutting down".into(),
                )
                .into(),
            ),
            Message::Request(req) => dispatch(&server, &jobs, req),
            Message::Notification(n) if n.method == "exit" => break shutdown,
            Message::Notification(n) => notification(&server, n),
            Message::Response(resp) => {
                if let Some(tx) = lock(&server.awaiting).remove(&resp.id) {
                    let _ = tx.send(resp.error.is_none());
                }
            }
        }
    };
    server.stopping.store(true, Ordering::SeqCst);
    drop(jobs);
    server.outbox.close();
    drop(connection);
    writer.join().map_err(|_| "the writer thread panicked")?;
    if clean {
        Ok(())
    } else {
        Err("the client exited without a shutdown request".into())
    }
}

fn initialize_result() -> serde_json::Value {
    use lsp_types::*;
    let capabilities = ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            ..Default::default()
        })),
        workspace_symbol_provider: Some(OneOf::Left(true)),
        experimental: Some(serde_json::json!({
            "groveSearch": true,
            "groveFind": true,
            "groveRevisions": true,
            "groveReadFile": true,
        })),
        ..Default::default()
    };
    serde_json::json!({
        "capabilities": capabilities,
        "serverInfo": { "name": "grove", "version": env!("CARGO_PKG_VERSION") },
    })
}

/// Queues a request for the workers. Its cancellation flag is registered
/// first, so a `$/cancelRequest` read right after it always finds it.
fn dispatch(server: &Arc<Server>, jobs: &mpsc::Sender<Box<dyn FnOnce() + Send>>, req: Request) {
    let cancel = Cancel::default();
    lock(&server.pending).insert(req.id.clone(), cancel.clone());
    // The overlay as of this request: later edits are not its business.
    let overlay = if handlers::reads_workspace(&req.method) { server.overlay() } else { Overlay::new() };
    let server = server.clone();
    let job = move || {
        let Request { id, method, params } = req;
        let params = by_name(params);
        let outcome = match cancel.check() {
            Err(e) => Err(e),
            Ok(()) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                handlers::handle(&server, &method, params, &overlay, &cancel)
            }))
            .unwrap_or_else(|_| Err(RpcError::failed(format!("internal error while answering {method}")))),
        };
        lock(&server.pending).remove(&id);
        // A cancelled request's result is dropped, whatever it was.
        let outcome = cancel.check().and(outcome);
        let resp = match outcome {
            Ok(value) => Response::new_ok(id, value),
            Err(e) => Response::new_err(id, e.code, e.message),
        };
        server.outbox.send(resp.into());
    };
    if jobs.send(Box::new(job)).is_err() {
        // Only at exit; nothing is listening then.
    }
}

/// Params sent by position as one object followed by nulls (what
/// vscode-jsonrpc sends for `sendRequest(method, params, undefined)`) are
/// taken as that object: every request of this server takes one object.
fn by_name(params: serde_json::Value) -> serde_json::Value {
    match params {
        serde_json::Value::Array(mut items)
            if items.first().is_some_and(|p| p.is_object()) && items[1..].iter().all(|p| p.is_null()) =>
        {
            items.swap_remove(0)
        }
        other => other,
    }
}

fn notification(server: &Server, n: Notification) {
    fn parse<T: serde::de::DeserializeOwned>(n: Notification) -> Option<T> {
        match serde_json::from_value(by_name(n.params)) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("grove lsp: ignoring {} with malformed params: {e}", n.method);
                None
            }
        }
    }
    match n.method.as_str() {
        "$/cancelRequest" => {
            if let Some(p) = parse::<CancelParams>(n) {
                if let Some(c) = lock(&server.pending).get(&p.id) {
                    c.0.store(true, Ordering::SeqCst);
                }
            }
        }
        "textDocument/didOpen" => {
            if let Some(p) = parse::<OpenParams>(n) {
                let path = server.document_path(&p.text_document.uri);
                lock(&server.documents).insert(p.text_document.uri, Document { path, text: p.text_document.text });
            }
        }
        "textDocument/didChange" => {
            if let Some(p) = parse::<ChangeParams>(n) {
                if let Some(doc) = lock(&server.documents).get_mut(&p.text_document.uri) {
                    for c in &p.content_changes {
                        text::apply_change(&mut doc.text, c.range, &c.text);
                    }
                }
            }
        }
        "textDocument/didClose" => {
            if let Some(p) = parse::<CloseParams>(n) {
                lock(&server.documents).remove(&p.text_document.uri);
            }
        }
        // Everything else (initialized, didSave, configuration changes, ...)
        // needs nothing from this server.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_object_sent_by_position_is_taken_by_name() {
        assert_eq!(by_name(json!([{ "pattern": "x" }, null])), json!({ "pattern": "x" }));
        assert_eq!(by_name(json!([{ "pattern": "x" }])), json!({ "pattern": "x" }));
        assert_eq!(by_name(json!({ "pattern": "x" })), json!({ "pattern": "x" }));
        // Anything else is left for the handler to refuse.
        assert_eq!(by_name(json!([{ "a": 1 }, 2])), json!([{ "a": 1 }, 2]));
        assert_eq!(by_name(json!(["x"])), json!(["x"]));
        assert_eq!(by_name(json!([])), json!([]));
    }

    #[test]
    fn service_errors_map_to_json_rpc_codes() {
        use grove_service::ServiceError;
        assert_eq!(RpcError::from(ServiceError::invalid("bad")).code, codes::INVALID_PARAMS);
        assert_eq!(RpcError::from(ServiceError::not_found("no rev")).code, codes::INVALID_PARAMS);
        let internal = ServiceError { kind: grove_service::ErrorKind::Internal, message: "disk".into() };
        assert_eq!(RpcError::from(internal).code, codes::REQUEST_FAILED);
    }
}
