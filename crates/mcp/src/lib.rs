//! grove's MCP server: the Model Context Protocol over stdio, for AI agents
//! (docs/mcp.md). Tools are grove-service requests; results are compact
//! text within a token budget plus the service's JSON as structured content.

mod framing;
mod params;
mod render;
mod server;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use grove_engine::EngineOptions;
use grove_service::{Limits, Service};
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::{RoleServer, ServiceExt};
use tokio::sync::mpsc;

pub use framing::MAX_MESSAGE_BYTES;
pub use params::{Budgeted, DEFAULT_MAX_TOKENS};
pub use server::GroveTools;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Serves one client over stdin/stdout until it disconnects.
pub fn serve_stdio(start: &Path, opts: EngineOptions) -> Result<(), Error> {
    let service = Arc::new(Service::open(start, opts, Limits::default())?);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let result = runtime.block_on(serve(service));
    // A request still running on the blocking pool, or the blocking read of
    // stdin, must not keep the process alive once the session is over.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn serve(service: Arc<Service>) -> Result<(), Error> {
    let (requests_in, server_in) = tokio::io::duplex(1 << 16);
    let (server_out, replies_out) = tokio::io::duplex(1 << 16);
    let (replies, replies_rx) = mpsc::channel(64);
    let writer = tokio::spawn(framing::write_replies(replies_rx, tokio::io::stdout()));
    let forwarder = tokio::spawn(framing::forward_replies(replies_out, replies.clone()));
    let reader = tokio::spawn(framing::read_requests(tokio::io::stdin(), requests_in, replies));

    let transport =
        AsyncRwTransport::<RoleServer, _, _>::new(server_in, server_out).with_max_line_length(MAX_MESSAGE_BYTES + 1);
    let outcome = match GroveTools::new(service).serve(transport).await {
        Ok(running) => running.waiting().await.map(|_| ()).map_err(Error::from),
        // The client left before initializing: nothing to serve.
        Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => Ok(()),
        Err(e) => Err(e.into()),
    };
    // rmcp is done: stop reading, send what is left, then return.
    reader.abort();
    let _ = forwarder.await;
    let _ = writer.await;
    outcome
}
