//! The requests every server front end (LSP, MCP, HTTP) answers, as serde
//! types with JSON schemas, and their execution over a [`grove_engine::Engine`].
//!
//! This crate owns what the servers have in common and the CLI does not:
//! bounded results (count and byte limits, truncation always stated),
//! validation of client-supplied paths and names, and one classification of
//! errors ([`ErrorKind`]) that each protocol maps to its own error codes.
//! It owns no protocol: no JSON-RPC, no HTTP.

mod error;
mod ops;
mod types;

pub use error::{ErrorKind, ServiceError};
pub use ops::{Limits, Service};
pub use types::*;

// Servers share one `Service` between threads.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Service>();
};
