//! grove's MCP server. Being written: see docs/mcp.md.

use std::path::Path;

use grove_engine::EngineOptions;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Serves one client over stdin/stdout until it disconnects.
pub fn serve_stdio(_start: &Path, _opts: EngineOptions) -> Result<(), Error> {
    Err("the MCP server is not built yet".into())
}
