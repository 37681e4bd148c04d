//! The JSON schemas of every request and response are committed under
//! docs/schemas/, so clients (MCP agents, HTTP callers) can read them; this
//! test fails when a type changed and its schema file was not regenerated
//! (`GROVE_BLESS=1 cargo test -p grove-service --test schemas`).

use std::path::Path;

use grove_service::*;
use schemars::{schema_for, JsonSchema};

fn check<T: JsonSchema>(name: &str, stale: &mut Vec<String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas");
    let path = dir.join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(&schema_for!(T)).unwrap() + "\n";
    if std::env::var_os("GROVE_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&path, &text).unwrap();
    } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        stale.push(path.display().to_string());
    }
}

#[test]
fn committed_schemas_match_the_types() {
    let mut stale = Vec::new();
    check::<SearchRequest>("SearchRequest", &mut stale);
    check::<SearchResponse>("SearchResponse", &mut stale);
    check::<FindRequest>("FindRequest", &mut stale);
    check::<FindResponse>("FindResponse", &mut stale);
    check::<SymbolsRequest>("SymbolsRequest", &mut stale);
    check::<SymbolsResponse>("SymbolsResponse", &mut stale);
    check::<ReadFileRequest>("ReadFileRequest", &mut stale);
    check::<ReadFileResponse>("ReadFileResponse", &mut stale);
    check::<ListFilesRequest>("ListFilesRequest", &mut stale);
    check::<ListFilesResponse>("ListFilesResponse", &mut stale);
    check::<RevisionsResponse>("RevisionsResponse", &mut stale);
    check::<DiffRequest>("DiffRequest", &mut stale);
    check::<DiffResponse>("DiffResponse", &mut stale);
    check::<ForkRequest>("ForkRequest", &mut stale);
    check::<ApplyPatchRequest>("ApplyPatchRequest", &mut stale);
    check::<SnapshotResponse>("SnapshotResponse", &mut stale);
    check::<IndexRequest>("IndexRequest", &mut stale);
    check::<IndexResponse>("IndexResponse", &mut stale);
    assert!(
        stale.is_empty(),
        "out of date (regenerate with GROVE_BLESS=1 cargo test -p grove-service --test schemas): {stale:?}"
    );
}
