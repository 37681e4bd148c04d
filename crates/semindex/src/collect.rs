//! Reclaiming the side index: syntax and vector files only ever accumulate
//! (every new blob and every new chunk adds a small file), so `grove gc`
//! rewrites them, keeping only what a retained snapshot can still ask for.
//!
//! Safe against concurrent readers and writers without the writer lock:
//! the side index is a cache, so a reader that listed a file this pass then
//! removes finds it missing and recomputes (`map_all` skips it), and a file
//! written after the listing is never touched. Each merged file is written
//! (and fsynced) before the files it replaces are removed, so a crash at
//! any point loses nothing but work.

use std::collections::BTreeMap;

use grove_store::{Kind, ObjectId, Store, StoreError};

use crate::{ChunkKey, SemIndexError, SyntaxFile, SyntaxFileWriter, SyntaxKey, VectorFile, VectorFileWriter};

/// What a collection did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CollectReport {
    pub files_removed: usize,
    pub files_written: usize,
    /// Records and vectors no retained snapshot uses (or duplicates).
    pub records_dropped: usize,
    pub vectors_dropped: usize,
    pub bytes_freed: u64,
}

/// A kind's files are rewritten when any entry is dead or duplicated (an
/// explicit `grove gc` is when space is wanted back; rewriting costs one
/// read and one write of the side index), or when there are more than
/// `MAX_FILES` of them (every lookup probes every file).
const MAX_FILES: usize = 16;

fn open_listed(
    store: &Store,
    kind: Kind,
) -> Result<Vec<(ObjectId, std::sync::Arc<grove_store::Mapped>)>, SemIndexError> {
    let mut out = Vec::new();
    for id in store.list(kind)? {
        match store.map(kind, id) {
            Ok(m) => out.push((id, m)),
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

fn remove(store: &Store, kind: Kind, ids: &[ObjectId], report: &mut CollectReport) {
    for &id in ids {
        let path = store.path_of(kind, id);
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        if std::fs::remove_file(&path).is_ok() {
            report.files_removed += 1;
            report.bytes_freed += size;
        }
    }
}

/// Rewrites the syntax files of `syntax_version`, keeping the records whose
/// key `live` accepts; files of other versions and damaged files are removed.
pub fn collect_syntax(
    store: &Store,
    syntax_version: u32,
    live: &dyn Fn(&SyntaxKey) -> bool,
) -> Result<CollectReport, SemIndexError> {
    let mut report = CollectReport::default();
    let mut stale = Vec::new();
    let mut current: Vec<(ObjectId, SyntaxFile)> = Vec::new();
    for (id, map) in open_listed(store, Kind::Syntax)? {
        match SyntaxFile::open(map) {
            Ok(f) if f.syntax_version() == syntax_version => current.push((id, f)),
            _ => stale.push(id),
        }
    }
    remove(store, Kind::Syntax, &stale, &mut report);
    // The first readable record of each live key, in key order.
    let mut keep: BTreeMap<SyntaxKey, (usize, usize)> = BTreeMap::new();
    let mut total = 0usize;
    for (fi, (_, f)) in current.iter().enumerate() {
        for (i, key) in f.keys().enumerate() {
            total += 1;
            if live(&key) && !keep.contains_key(&key) && f.record_reads(i) {
                keep.insert(key, (fi, i));
            }
        }
    }
    let dead = total - keep.len();
    if current.is_empty() || dead == 0 && current.len() <= MAX_FILES {
        return Ok(report);
    }
    let mut written = None;
    if !keep.is_empty() {
        let mut w = SyntaxFileWriter::new(syntax_version);
        for (key, (fi, i)) in &keep {
            // Checked readable above; a record damaged since is recomputed later.
            if let Ok(rec) = current[*fi].1.record_to_move(*i) {
                w.add(*key, rec);
            }
        }
        written = Some(store.put(Kind::Syntax, &w.finish())?);
        report.files_written += 1;
    }
    report.records_dropped = dead;
    // The merged file may be byte-identical to one of the old ones (all
    // that is live was in one file): same name, so it must stay.
    let ids: Vec<ObjectId> = current.iter().map(|(id, _)| *id).filter(|id| Some(*id) != written).collect();
    drop(current);
    remove(store, Kind::Syntax, &ids, &mut report);
    Ok(report)
}

/// Rewrites the vector files, per model, keeping the vectors whose key
/// `live` accepts for that model; damaged files are removed.
pub fn collect_vectors(
    store: &Store,
    live: &dyn Fn(&[u8; 32], &ChunkKey) -> bool,
) -> Result<CollectReport, SemIndexError> {
    let mut report = CollectReport::default();
    let mut damaged_files = Vec::new();
    let mut by_model: BTreeMap<[u8; 32], Vec<(ObjectId, VectorFile)>> = BTreeMap::new();
    for (id, map) in open_listed(store, Kind::Vectors)? {
        match VectorFile::open(map) {
            Ok(f) => by_model.entry(*f.model()).or_default().push((id, f)),
            Err(_) => damaged_files.push(id),
        }
    }
    remove(store, Kind::Vectors, &damaged_files, &mut report);
    for (model, files) in by_model {
        let mut keep: BTreeMap<[u8; 16], (usize, usize)> = BTreeMap::new();
        let mut total = 0usize;
        for (fi, (_, f)) in files.iter().enumerate() {
            for i in 0..f.len() {
                total += 1;
                let key = f.key(i);
                if live(&model, &key) {
                    keep.entry(key.0).or_insert((fi, i));
                }
            }
        }
        let dead = total - keep.len();
        if dead == 0 && files.len() <= MAX_FILES {
            continue;
        }
        let mut written = None;
        if let Some(&(fi, _)) = keep.values().next() {
            let mut w = VectorFileWriter::new(model, files[fi].1.dim());
            for (key, (fi, i)) in &keep {
                let (scale, data) = files[*fi].1.vector(*i);
                w.add(ChunkKey(*key), scale, data.to_vec());
            }
            written = Some(store.put(Kind::Vectors, &w.finish())?);
            report.files_written += 1;
        }
        report.vectors_dropped += dead;
        let ids: Vec<ObjectId> = files.iter().map(|(id, _)| *id).filter(|id| Some(*id) != written).collect();
        drop(files);
        remove(store, Kind::Vectors, &ids, &mut report);
    }
    Ok(report)
}
