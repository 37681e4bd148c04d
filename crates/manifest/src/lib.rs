//! Snapshots and refs.
//!
//! A **snapshot** is one searchable state: the commit it came from, the
//! segments it uses, and its path → blob map. Each entry points at a document
//! of one of those segments (or records why the file is not searchable). The
//! set of live documents per segment is derived from the entries, so it can
//! never disagree with them. A snapshot is immutable and stored under the hash
//! of its bytes, which doubles as its checksum.
//!
//! **Refs** map names to snapshots (`commit/<sha>` for indexed commits; forks
//! get other names). The whole table is one small file replaced atomically
//! under the store's writer lock, so a reader always sees a consistent table
//! and a fork is one ref write.
//!
//! Architecture invariant: no git, no search. This crate only encodes states.

mod refs;
mod snapshot;

pub use refs::{commit_ref, get_ref, load_refs, ref_files, update_refs, with_ref_lock, PreparedRefs, RefWriter, Refs};
pub use snapshot::{
    compose_changes, segment_index, DocRef, Entry, EntryChange, Snapshot, SnapshotHeader, StoredSnapshot,
    MAX_DELTA_DEPTH, SNAPSHOT_VERSION,
};

use std::path::PathBuf;

#[derive(thiserror::Error, Debug)]
pub enum ManifestError {
    #[error(transparent)]
    Store(#[from] grove_store::StoreError),
    #[error("{path}: snapshot format v{found}, this grove reads v{supported}; rebuild with `grove index --rebuild`")]
    UnsupportedVersion { path: PathBuf, found: u32, supported: u32 },
    #[error("{path}: damaged ({what}); rebuild with `grove index --rebuild`")]
    Corrupt { path: PathBuf, what: String },
}
