//! The semantic side index: what grove knows about a blob beyond its bytes
//! and trigrams, and the embedding vectors of its chunks.
//!
//! Two write-once object kinds live in the store next to segments:
//!
//! * **syntax files** (`syntax/*.syx`): for a batch of blobs, keyed by
//!   (content id, language), the blob's symbols, its chunks and each chunk's
//!   lexical term bag (for BM25). Shared by every revision and path that
//!   holds the blob, exactly like segment docs.
//! * **vector files** (`vectors/*.vec`): int8-quantized embeddings keyed by
//!   a chunk key = blake3(model identity ‖ path ‖ chunk text hash), sorted
//!   for binary search.
//!
//! Both are caches: everything in them can be recomputed from segment content
//! (and the model). Readers therefore treat a file they cannot use (damaged,
//! other version) as absent and the writer recomputes; nothing in a snapshot
//! points at them, so they never need a ref swap, and a crash at worst leaves
//! work to redo. See docs/format.md for the byte layouts.
//!
//! Architecture invariant: this crate knows no tree-sitter, no model and no
//! git. It stores plain records that `engine` fills from `syntax` and `embed`.

mod collect;
mod syntax_file;
mod vector_file;

use std::sync::Arc;

pub use collect::{collect_syntax, collect_vectors, CollectReport};
pub use syntax_file::{
    BlobSyntax, ChunkRec, FileTerms, SymbolRec, SyntaxFile, SyntaxFileStats, SyntaxFileWriter, SyntaxKey,
};
pub use vector_file::{ChunkKey, VectorFile, VectorFileWriter};

use grove_store::{Kind, Store, StoreError};

#[derive(thiserror::Error, Debug)]
pub enum SemIndexError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{what}: damaged ({why})")]
    Damaged { what: String, why: String },
}

/// Every syntax and vector file of an index, opened for lookups.
pub struct SemIndex {
    syntax: Vec<SyntaxFile>,
    vectors: Vec<VectorFile>,
    /// Files that could not be used (damaged, or a format this grove does
    /// not read); lookups skip them and their records are recomputed.
    pub unusable: Vec<String>,
}

impl SemIndex {
    /// Opens every syntax file written with `syntax_version` (records of
    /// other chunker versions are ignored and recomputed) and every vector file.
    pub fn open(store: &Store, syntax_version: u32) -> Result<SemIndex, SemIndexError> {
        let mut out = SemIndex { syntax: Vec::new(), vectors: Vec::new(), unusable: Vec::new() };
        for map in map_all(store, Kind::Syntax)? {
            match SyntaxFile::open(map.clone()) {
                Ok(f) if f.syntax_version() == syntax_version => out.syntax.push(f),
                Ok(_) => {}
                Err(e) => out.unusable.push(format!("{}: {e}", map.path().display())),
            }
        }
        for map in map_all(store, Kind::Vectors)? {
            match VectorFile::open(map.clone()) {
                Ok(f) => out.vectors.push(f),
                Err(e) => out.unusable.push(format!("{}: {e}", map.path().display())),
            }
        }
        Ok(out)
    }

    /// Adds a file just written by this process.
    pub fn add_syntax_file(&mut self, f: SyntaxFile) {
        self.syntax.push(f);
    }
    pub fn add_vector_file(&mut self, f: VectorFile) {
        self.vectors.push(f);
    }

    pub fn has_syntax(&self, key: &SyntaxKey) -> bool {
        self.syntax.iter().any(|f| f.find(key).is_some())
    }

    /// The record of a blob, if any file holds a readable one.
    pub fn syntax(&self, key: &SyntaxKey) -> Option<BlobSyntax> {
        self.syntax.iter().find_map(|f| f.get(key).and_then(|r| r.ok()))
    }

    /// The record of a blob with its symbols only (no chunks): cheaper to
    /// decode, for symbol lookups.
    pub fn syntax_symbols(&self, key: &SyntaxKey) -> Option<BlobSyntax> {
        self.syntax.iter().find_map(|f| f.find(key).and_then(|i| f.record_symbols(i).ok()))
    }

    /// Some term hashes as each syntax file's term ids, for
    /// [`SemIndex::syntax_filtered`].
    pub fn term_filter(&self, hashes: &[u32]) -> TermFilter {
        TermFilter { hashes: hashes.to_vec(), files: self.syntax.iter().map(|f| f.term_ids(hashes)).collect() }
    }

    /// The record of a blob with its chunks' terms limited to `filter`'s
    /// (what BM25 needs of a query; an empty filter: chunks without terms).
    pub fn syntax_filtered(&self, key: &SyntaxKey, filter: &TermFilter) -> Option<BlobSyntax> {
        self.syntax.iter().enumerate().find_map(|(i, f)| {
            let rec = f.find(key)?;
            match filter.files.get(i) {
                Some(ids) => f.record_filtered(rec, ids),
                // A file added after the filter was made.
                None => f.record_filtered(rec, &f.term_ids(&filter.hashes)),
            }
            .ok()
        })
    }

    /// The quantized vector of a chunk under a model: (scale, components).
    pub fn vector(&self, model: &[u8; 32], key: &ChunkKey) -> Option<(f32, &[i8])> {
        self.vectors.iter().filter(|f| f.model() == model).find_map(|f| f.find(key).map(|i| f.vector(i)))
    }

    pub fn syntax_files(&self) -> usize {
        self.syntax.len()
    }
    pub fn vector_files(&self) -> usize {
        self.vectors.len()
    }
    /// Vectors stored for a model, over all files (duplicates counted).
    pub fn vector_count(&self, model: &[u8; 32]) -> usize {
        self.vectors.iter().filter(|f| f.model() == model).map(|f| f.len()).sum()
    }
}

/// Term hashes resolved to the term ids of every syntax file of a
/// [`SemIndex`] (ids are per file).
#[derive(Clone, Debug, Default)]
pub struct TermFilter {
    hashes: Vec<u32>,
    files: Vec<FileTerms>,
}

/// Maps every object of `kind`, skipping any that a concurrent gc removed
/// between listing and mapping.
fn map_all(store: &Store, kind: Kind) -> Result<Vec<Bytes>, SemIndexError> {
    let mut out = Vec::new();
    for id in store.list(kind)? {
        match store.map(kind, id) {
            Ok(m) => out.push(m),
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// Writes a finished syntax file to the store and opens it.
pub fn put_syntax_file(store: &Store, w: SyntaxFileWriter) -> Result<SyntaxFile, SemIndexError> {
    let bytes = w.finish();
    let id = store.put(Kind::Syntax, &bytes)?;
    SyntaxFile::open(store.map(Kind::Syntax, id)?)
}

/// Writes a finished vector file to the store and opens it.
pub fn put_vector_file(store: &Store, w: VectorFileWriter) -> Result<VectorFile, SemIndexError> {
    let bytes = w.finish();
    let id = store.put(Kind::Vectors, &bytes)?;
    VectorFile::open(store.map(Kind::Vectors, id)?)
}

type Bytes = Arc<grove_store::Mapped>;

fn damaged(what: &str, why: impl Into<String>) -> SemIndexError {
    SemIndexError::Damaged { what: what.to_string(), why: why.into() }
}

pub use syntax_file::term_hash;

#[cfg(test)]
mod tests;
