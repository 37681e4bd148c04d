//! grove's language server. Being written: see docs/lsp.md for the contract.

use std::path::Path;

use grove_engine::EngineOptions;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Serves one client over stdin/stdout until it exits.
pub fn serve_stdio(_start: &Path, _opts: EngineOptions) -> Result<(), Error> {
    Err("the language server is not built yet".into())
}
