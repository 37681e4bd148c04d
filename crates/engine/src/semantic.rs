//! Symbols, semantic and hybrid retrieval over any snapshot.
//!
//! The side index (grove-semindex) is filled lazily and shared by every
//! revision: a blob is analysed once per language (symbols, chunks, term
//! bags), and a chunk is embedded once per (model, path, text). A revision's
//! retrieval is then a scan over its live blobs' records: BM25 over term bags,
//! an exact int8 vector scan, weighted reciprocal rank fusion, and merging of
//! adjacent and duplicate chunks.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use grove_base::ContentId;
use grove_embed::{Embedder, TextRole};
use grove_manifest::{load_refs, DocRef, Snapshot};
use grove_search::rank::{self, LexicalDoc, QueryShape};
use grove_segment::Segment;
use grove_semindex::{
    collect_syntax, collect_vectors, put_syntax_file, put_vector_file, term_hash, BlobSyntax, ChunkKey, ChunkRec,
    CollectReport, SemIndex, SymbolRec, SyntaxFileWriter, SyntaxKey, VectorFileWriter,
};
use grove_store::{Kind, ObjectId, Store};
use grove_syntax::{ChunkLimits, Lang, SymbolKind};

use crate::{Engine, EngineError, Overlay, Progress, ResolvedRev};

/// Version of what a syntax record holds: bump when chunking, symbol
/// extraction or lexical tokenization changes, so old records are recomputed.
pub const SYNTAX_VERSION: u32 = 1 + 1000 * grove_syntax::RULES_VERSION;

/// Syntax files are cut at about this much encoded data.
const SYNTAX_FILE_BYTES: usize = 16 << 20;
/// Vectors are written to a new file every this many chunks while embedding,
/// so an interrupted run keeps its finished work (`GROVE_EMBED_FLUSH`
/// overrides it, for tests of that).
const VECTOR_FLUSH: usize = 2048;

fn vector_flush() -> usize {
    std::env::var("GROVE_EMBED_FLUSH").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(VECTOR_FLUSH)
}
/// Files larger than this get lexical chunks but no embeddings (generated
/// data would cost minutes of model time and add noise).
const MAX_EMBED_FILE_BYTES: u64 = 512 << 10;

/// One file of a revision, as semantic retrieval sees it.
#[derive(Clone)]
struct LiveFile {
    path: Vec<u8>,
    content: ContentId,
    lang: u8,
    segment: ObjectId,
    doc: u32,
    size: u64,
    /// An editor's unsaved buffer standing in for the file: its bytes live
    /// here, not in a segment (`segment`/`doc` are unused).
    buffer: Option<Arc<[u8]>>,
}

/// Segments opened on demand, each once.
struct Segments<'a> {
    store: &'a Store,
    open: HashMap<ObjectId, Arc<Segment>>,
}

impl<'a> Segments<'a> {
    fn new(store: &'a Store) -> Self {
        Segments { store, open: HashMap::new() }
    }
    fn get(&mut self, id: ObjectId) -> Result<Arc<Segment>, EngineError> {
        if let Some(s) = self.open.get(&id) {
            return Ok(s.clone());
        }
        let s = grove_indexer::open_segment(self.store, id)?;
        self.open.insert(id, s.clone());
        Ok(s)
    }
    /// A live file's bytes: its buffer, or its document.
    fn bytes_of(&mut self, f: &LiveFile) -> Result<Vec<u8>, EngineError> {
        if let Some(b) = &f.buffer {
            return Ok(b.to_vec());
        }
        let seg = self.get(f.segment)?;
        read_doc(&seg, f.segment, f.doc)
    }
}

/// A document's bytes, decompressed.
fn read_doc(seg: &Segment, id: ObjectId, doc: u32) -> Result<Vec<u8>, EngineError> {
    let mut buf = Vec::new();
    seg.content_into(doc, &mut buf)
        .map_err(|source| grove_indexer::IndexError::Segment { path: id.to_hex(), source })?;
    Ok(buf)
}

impl LiveFile {
    /// Whether its chunks get embeddings (larger files rank lexically only).
    fn embeddable(&self) -> bool {
        self.size <= MAX_EMBED_FILE_BYTES
    }
}

/// What `rev_syntax` decodes of each record.
#[derive(Clone, Copy)]
enum Decode<'a> {
    /// The symbols only (symbol lookups skip the chunks, most of a record).
    Symbols,
    /// The chunks too, their term bags limited to these term hashes (what
    /// BM25 needs of a query; none for embedding).
    Chunks { terms: &'a [u32] },
}

/// A revision's live files and their syntax records.
struct RevSyntax {
    files: Vec<LiveFile>,
    records: Vec<Arc<BlobSyntax>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolHit {
    pub path: Vec<u8>,
    pub name: String,
    pub kind: &'static str,
    pub container: Option<String>,
    pub start_line: u32,
    pub end_line: u32,
    pub match_kind: &'static str,
}

#[derive(Clone, Debug, Default)]
pub struct SymbolQuery {
    pub query: String,
    /// Only these kinds (empty: all).
    pub kinds: Vec<SymbolKind>,
    pub limit: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FindMode {
    Lexical,
    Dense,
    #[default]
    Hybrid,
}

#[derive(Clone, Debug)]
pub struct FindOptions {
    pub mode: FindMode,
    /// Results to return.
    pub k: usize,
    /// Aggregate per file.
    pub files: bool,
    /// Token budget for the assembled text (None: each hit's text in full).
    pub budget: Option<usize>,
    /// At most this many hits per file.
    pub per_file: usize,
    /// Chunks without a vector are embedded on the fly up to this many
    /// (a working-tree or patch state); beyond, they rank lexically only.
    pub embed_on_the_fly: usize,
}

impl Default for FindOptions {
    fn default() -> Self {
        FindOptions { mode: FindMode::Hybrid, k: 10, files: false, budget: None, per_file: 3, embed_on_the_fly: 512 }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FindHit {
    pub path: Vec<u8>,
    pub start_line: u32,
    pub end_line: u32,
    pub symbol: Option<String>,
    pub score: f32,
    /// 1-based ranks in the first-stage lists (None: not in that list).
    pub lexical_rank: Option<u32>,
    pub dense_rank: Option<u32>,
    /// The chunk's text (empty with `files`); cut to the budget if set.
    pub text: String,
    pub truncated: bool,
}

#[derive(Clone, Debug)]
pub struct FindOutput {
    pub hits: Vec<FindHit>,
    pub mode: FindMode,
    pub shape: QueryShape,
    /// Live chunks of the revision.
    pub chunks: usize,
    /// Live chunks that had no vector and were ranked lexically only.
    pub unembedded: usize,
    /// Estimated tokens of text returned.
    pub tokens: usize,
    /// Results left out because the budget was spent.
    pub budget_exhausted: bool,
}

/// What `grove index --semantic` did.
#[derive(Clone, Debug, Default)]
pub struct SemanticSummary {
    pub revisions: usize,
    pub files_analysed: usize,
    pub chunks: usize,
    pub embedded: usize,
    pub tokens: usize,
    pub seconds: f64,
    pub interrupted: bool,
    pub model: String,
}

/// The language part of a syntax key. A language whose grammar this build
/// lacks is analysed as plain text and keyed as such, so a build that has
/// it recomputes the record instead of reusing line windows.
fn lang_code(path: &[u8]) -> u8 {
    Lang::from_path(path).filter(|l| l.compiled_in()).map_or(0, |l| l.code())
}

/// Stored outcome codes (see docs/format.md).
fn outcome_code(o: grove_syntax::ParseOutcome) -> u8 {
    use grove_syntax::ParseOutcome::*;
    match o {
        PlainText => 0,
        Parsed(_) => 1,
        NotCompiledIn(_) => 2,
        Failed(_) => 3,
    }
}

/// blake3(symbol ‖ 0xff ‖ bytes), truncated: what the chunk's text is made of,
/// path aside (see `ChunkKey`).
fn text_hash(symbol: &str, bytes: &[u8]) -> [u8; 16] {
    let mut h = blake3::Hasher::new();
    h.update(symbol.as_bytes());
    h.update(&[0xff]);
    h.update(bytes);
    h.finalize().as_bytes()[..16].try_into().unwrap()
}

/// Term bag of a text: (term hash, frequency) sorted, and the total count.
fn term_bag(text: &[u8], scratch: &mut Vec<String>) -> (Vec<(u32, u16)>, u32) {
    scratch.clear();
    grove_syntax::lexical_tokens(text, scratch);
    let mut hashes: Vec<u32> = scratch.iter().map(|t| term_hash(t)).collect();
    hashes.sort_unstable();
    let mut bag: Vec<(u32, u16)> = Vec::new();
    for h in &hashes {
        match bag.last_mut() {
            Some((t, f)) if t == h => *f = f.saturating_add(1),
            _ => bag.push((*h, 1)),
        }
    }
    (bag, hashes.len() as u32)
}

/// Tokens reserved for the path in each chunk's header. Records are shared
/// by every path holding the blob, so chunking must not depend on the path
/// itself, only on its language.
const PATH_TOKEN_ALLOWANCE: usize = 12;

/// Analyses one blob into its stored record: as a file of `path`'s
/// language, under a stand-in name so that the result is the same for
/// every path with that language (see `PATH_TOKEN_ALLOWANCE`).
fn analyse(path: &[u8], content: &[u8]) -> BlobSyntax {
    let stand_in: Vec<u8> = match (lang_code(path), path.iter().rposition(|&b| b == b'.')) {
        (0, _) | (_, None) => b"_".to_vec(),
        (_, Some(dot)) => [b"_", &path[dot..]].concat(),
    };
    let mut limits = ChunkLimits::default();
    limits.max_tokens -= PATH_TOKEN_ALLOWANCE;
    let fs = grove_syntax::analyze(&stand_in, content, &limits);
    let mut scratch = Vec::new();
    let symbols = fs
        .symbols
        .iter()
        .map(|s| SymbolRec {
            name: s.name.clone(),
            kind: s.kind.code(),
            container: s.container.clone().unwrap_or_default(),
            start_line: s.start_line,
            end_line: s.end_line,
            start_byte: s.start_byte,
            end_byte: s.end_byte,
        })
        .collect();
    let chunks = fs
        .chunks
        .iter()
        .map(|c| {
            let bytes = content.get(c.start_byte as usize..c.end_byte as usize).unwrap_or(&[]);
            let symbol = c.symbol.clone().unwrap_or_default();
            let (terms, length) = term_bag(bytes, &mut scratch);
            ChunkRec {
                start_byte: c.start_byte,
                end_byte: c.end_byte,
                start_line: c.start_line,
                end_line: c.end_line,
                text_hash: text_hash(&symbol, bytes),
                symbol,
                length,
                terms,
            }
        })
        .collect();
    BlobSyntax { outcome: outcome_code(fs.outcome), symbols, chunks }
}

/// The definitions of one file's record that match `q`, with how well.
fn matching_symbols(
    path: &[u8],
    rec: &BlobSyntax,
    q: &SymbolQuery,
    hits: &mut Vec<(grove_syntax::MatchKind, u32, SymbolHit)>,
) {
    for s in &rec.symbols {
        let Some(kind) = SymbolKind::from_code(s.kind) else {
            continue;
        };
        if !q.kinds.is_empty() && !q.kinds.contains(&kind) {
            continue;
        }
        let Some((mk, score)) = grove_syntax::symbol_match_score(&q.query, &s.name) else {
            continue;
        };
        hits.push((
            mk,
            score,
            SymbolHit {
                path: path.to_vec(),
                name: s.name.clone(),
                kind: kind.as_str(),
                container: (!s.container.is_empty()).then(|| s.container.clone()),
                start_line: s.start_line,
                end_line: s.end_line,
                match_kind: match mk {
                    grove_syntax::MatchKind::Exact => "exact",
                    grove_syntax::MatchKind::Prefix => "prefix",
                    grove_syntax::MatchKind::Fuzzy => "fuzzy",
                },
            },
        ));
    }
}

/// The text a chunk is embedded as: a header naming the path and symbol,
/// then the chunk's bytes.
fn embed_text(path: &[u8], content: &[u8], c: &ChunkRec) -> String {
    let chunk = grove_syntax::Chunk {
        start_byte: c.start_byte,
        end_byte: c.end_byte,
        start_line: c.start_line,
        end_line: c.end_line,
        symbol: (!c.symbol.is_empty()).then(|| c.symbol.clone()),
    };
    grove_syntax::chunk_text(path, content, &chunk)
}

impl Engine {
    /// The embedding model, loaded on first use. Its absence is an error
    /// only for the commands that need it.
    pub fn embedder(&self) -> Result<Arc<dyn Embedder>, EngineError> {
        let loaded = self.model.get_or_init(|| {
            let found = grove_embed::resolve_model_dir(self.opts.model_dir.as_deref()).map_err(|e| e.to_string())?;
            // GROVE_DEVICE picks the device (cuda needs a grove built with feature `cuda`).
            let options = grove_embed::EmbedOptions {
                device: grove_embed::DeviceChoice::from_env().map_err(|e| e.to_string())?,
                ..Default::default()
            };
            grove_embed::load_model_with(&found.dir, &options).map(Arc::from).map_err(|e| e.to_string())
        });
        loaded.clone().map_err(EngineError::Model)
    }

    /// Live files of a snapshot (indexed text files, binary and skipped
    /// files aside) with their syntax records, analysing blobs not seen yet.
    fn rev_syntax(
        &self,
        store: &Store,
        sem: &mut SemIndex,
        snap: &Snapshot,
        progress: &dyn Progress,
        decode: Decode<'_>,
    ) -> Result<RevSyntax, EngineError> {
        let mut segments = Segments::new(store);
        let mut files = Vec::new();
        for e in &snap.entries {
            let DocRef::Indexed { segment, doc } = e.doc else {
                continue;
            };
            let seg_id = snap.segments[segment as usize];
            let d = segments.get(seg_id)?.doc(doc);
            files.push(LiveFile {
                lang: lang_code(&e.path),
                path: e.path.clone(),
                content: d.content_id,
                segment: seg_id,
                doc,
                size: d.size,
                buffer: None,
            });
        }
        // Analyse each missing (blob, language) once, in parallel.
        let mut missing: Vec<usize> = Vec::new();
        let mut seen: HashSet<SyntaxKey> = HashSet::new();
        for (i, f) in files.iter().enumerate() {
            let key = SyntaxKey { content: f.content, lang: f.lang };
            if seen.insert(key) && !sem.has_syntax(&key) {
                missing.push(i);
            }
        }
        if !missing.is_empty() {
            progress.start("analysing files", missing.len() as u64);
            use rayon::prelude::*;
            for batch in missing.chunks(4096) {
                let recs: Vec<Result<(SyntaxKey, BlobSyntax), EngineError>> = batch
                    .par_iter()
                    .map(|&i| {
                        let f = &files[i];
                        let buf = read_doc(&segments.open[&f.segment], f.segment, f.doc)?;
                        let rec = analyse(&f.path, &buf);
                        progress.inc(1);
                        Ok((SyntaxKey { content: f.content, lang: f.lang }, rec))
                    })
                    .collect();
                let mut w = SyntaxFileWriter::new(SYNTAX_VERSION);
                for r in recs {
                    let (key, rec) = r?;
                    w.add(key, rec);
                    if w.bytes() >= SYNTAX_FILE_BYTES {
                        let full = std::mem::replace(&mut w, SyntaxFileWriter::new(SYNTAX_VERSION));
                        sem.add_syntax_file(put_syntax_file(store, full)?);
                    }
                }
                if !w.is_empty() {
                    sem.add_syntax_file(put_syntax_file(store, w)?);
                }
            }
            progress.finish();
        }
        // Made after the analysis: term ids are per file, new ones included.
        let filter = match decode {
            Decode::Chunks { terms } => sem.term_filter(terms),
            Decode::Symbols => Default::default(),
        };
        let mut cache: HashMap<SyntaxKey, Arc<BlobSyntax>> = HashMap::new();
        let mut records = Vec::with_capacity(files.len());
        for f in &files {
            let key = SyntaxKey { content: f.content, lang: f.lang };
            let rec = match cache.get(&key) {
                Some(r) => r.clone(),
                None => {
                    let rec = match decode {
                        Decode::Symbols => sem.syntax_symbols(&key),
                        Decode::Chunks { .. } => sem.syntax_filtered(&key, &filter),
                    };
                    let r = Arc::new(rec.ok_or_else(|| {
                        EngineError::Invalid(format!(
                            "syntax record of {} is unreadable; run `grove check`",
                            grove_base::lossy(&f.path)
                        ))
                    })?);
                    cache.insert(key, r.clone());
                    r
                }
            };
            records.push(rec);
        }
        Ok(RevSyntax { files, records })
    }

    fn open_semantic(
        &self,
        rev: &ResolvedRev,
        progress: &dyn Progress,
    ) -> Result<(Store, SemIndex, Snapshot), EngineError> {
        let id = self.snapshot_of(rev, progress)?;
        let store = self.store_for_writing()?;
        let snap = Snapshot::load(&store, id)?;
        let sem = SemIndex::open(&store, SYNTAX_VERSION)?;
        Ok((store, sem, snap))
    }

    /// The side-index half of `grove gc`: syntax records of blobs and
    /// vectors of (path, chunk) pairs that no ref's snapshot holds any more
    /// are dropped by rewriting the files (see grove-semindex's `collect`).
    pub(crate) fn collect_side_index(&self, store: &Store) -> Result<CollectReport, EngineError> {
        let has_side = |k| store.list(k).map(|l| !l.is_empty());
        if !has_side(Kind::Syntax)? && !has_side(Kind::Vectors)? {
            return Ok(CollectReport::default());
        }
        let mut ids: Vec<ObjectId> = load_refs(store)?.iter().map(|(_, id)| id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut segments = Segments::new(store);
        let mut pairs: HashSet<(Vec<u8>, SyntaxKey)> = HashSet::new();
        for id in ids {
            let snap = Snapshot::load(store, id)?;
            for e in &snap.entries {
                let DocRef::Indexed { segment, doc } = e.doc else { continue };
                let content = segments.get(snap.segments[segment as usize])?.doc(doc).content_id;
                pairs.insert((e.path.clone(), SyntaxKey { content, lang: lang_code(&e.path) }));
            }
        }
        let live_keys: HashSet<SyntaxKey> = pairs.iter().map(|(_, k)| *k).collect();
        let mut report = collect_syntax(store, SYNTAX_VERSION, &|k| live_keys.contains(k))?;
        // Live chunk keys per model, computed when a model's files are visited.
        let sem = SemIndex::open(store, SYNTAX_VERSION)?;
        let live_chunks: std::cell::RefCell<HashMap<[u8; 32], HashSet<ChunkKey>>> = Default::default();
        let live = |model: &[u8; 32], key: &ChunkKey| {
            let mut all = live_chunks.borrow_mut();
            let set = all.entry(*model).or_insert_with(|| {
                let mut set = HashSet::new();
                for (path, k) in &pairs {
                    if let Some(rec) = sem.syntax(k) {
                        set.extend(rec.chunks.iter().map(|c| ChunkKey::new(model, path, &c.text_hash)));
                    }
                }
                set
            });
            set.contains(key)
        };
        let v = collect_vectors(store, &live)?;
        report.files_removed += v.files_removed;
        report.files_written += v.files_written;
        report.vectors_dropped += v.vectors_dropped;
        report.bytes_freed += v.bytes_freed;
        Ok(report)
    }

    /// `grove symbols QUERY`: definitions matching by name (exact, then
    /// prefix, then fuzzy), best first.
    pub fn symbols(
        &self,
        rev: &ResolvedRev,
        q: &SymbolQuery,
        progress: &dyn Progress,
    ) -> Result<Vec<SymbolHit>, EngineError> {
        self.symbols_overlay(rev, &Overlay::default(), q, progress)
    }

    /// [`Engine::symbols`] of `rev` with `overlay`'s buffers in place of its
    /// files at those paths: the buffers are analysed in memory (nothing is
    /// stored), the other files come from the side index as usual.
    pub fn symbols_overlay(
        &self,
        rev: &ResolvedRev,
        overlay: &Overlay,
        q: &SymbolQuery,
        progress: &dyn Progress,
    ) -> Result<Vec<SymbolHit>, EngineError> {
        let (store, mut sem, mut snap) = self.open_semantic(rev, progress)?;
        if !overlay.is_empty() {
            snap.entries.retain(|e| !overlay.contains(&e.path));
        }
        let rs = self.rev_syntax(&store, &mut sem, &snap, progress, Decode::Symbols)?;
        let mut hits: Vec<(grove_syntax::MatchKind, u32, SymbolHit)> = Vec::new();
        for (f, rec) in rs.files.iter().zip(&rs.records) {
            matching_symbols(&f.path, rec, q, &mut hits);
        }
        for (path, content) in overlay.iter() {
            // Binary and too large files have no syntax record in the index either.
            if self.unsearchable(content, &grove_search::SearchOptions::default()).is_none() {
                matching_symbols(path, &analyse(path, content), q, &mut hits);
            }
        }
        hits.sort_by(|a, b| {
            a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.path.cmp(&b.2.path)).then(a.2.start_line.cmp(&b.2.start_line))
        });
        hits.truncate(if q.limit == 0 { usize::MAX } else { q.limit });
        Ok(hits.into_iter().map(|h| h.2).collect())
    }

    /// Embeds the chunks of `revs` that have no vector yet. Stops between
    /// batches when `stop` is set; finished vectors are kept either way.
    pub fn index_semantic(
        &self,
        revs: &[ResolvedRev],
        progress: &dyn Progress,
        stop: &AtomicBool,
    ) -> Result<SemanticSummary, EngineError> {
        let started = std::time::Instant::now();
        let embedder = self.embedder()?;
        let model = embedder.identity().0;
        let mut summary = SemanticSummary { model: embedder.name().to_string(), ..Default::default() };
        let mut todo: Vec<(ChunkKey, Arc<BlobSyntax>, usize, LiveFile)> = Vec::new();
        let mut queued: HashSet<ChunkKey> = HashSet::new();
        let store = self.store_for_writing()?;
        let mut sem = SemIndex::open(&store, SYNTAX_VERSION)?;
        for rev in revs {
            let id = self.snapshot_of(rev, progress)?;
            let snap = Snapshot::load(&store, id)?;
            let rs = self.rev_syntax(&store, &mut sem, &snap, progress, Decode::Chunks { terms: &[] })?;
            summary.revisions += 1;
            summary.files_analysed += rs.files.len();
            for (f, rec) in rs.files.into_iter().zip(rs.records) {
                summary.chunks += rec.chunks.len();
                if !f.embeddable() {
                    continue;
                }
                for (ci, c) in rec.chunks.iter().enumerate() {
                    let key = ChunkKey::new(&model, &f.path, &c.text_hash);
                    if sem.vector(&model, &key).is_none() && queued.insert(key) {
                        todo.push((key, rec.clone(), ci, f.clone()));
                    }
                }
            }
        }
        self.embed_chunks(&store, &mut sem, &*embedder, todo, progress, stop, &mut summary, None)?;
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    #[allow(clippy::too_many_arguments)]
    fn embed_chunks(
        &self,
        store: &Store,
        sem: &mut SemIndex,
        embedder: &dyn Embedder,
        todo: Vec<(ChunkKey, Arc<BlobSyntax>, usize, LiveFile)>,
        progress: &dyn Progress,
        stop: &AtomicBool,
        summary: &mut SemanticSummary,
        mut transient: Option<&mut HashMap<ChunkKey, (f32, Vec<i8>)>>,
    ) -> Result<(), EngineError> {
        if todo.is_empty() {
            return Ok(());
        }
        let model = embedder.identity().0;
        progress.start("embedding chunks", todo.len() as u64);
        let mut segments = Segments::new(store);
        // Chunks of one file are queued together: keep only the current
        // file's bytes.
        let mut current: Option<(ContentId, Vec<u8>)> = None;
        for batch in todo.chunks(vector_flush()) {
            if stop.load(Ordering::Relaxed) {
                summary.interrupted = true;
                break;
            }
            let mut texts: Vec<String> = Vec::with_capacity(batch.len());
            for (_, rec, ci, f) in batch {
                if current.as_ref().is_none_or(|(c, _)| *c != f.content) {
                    current = Some((f.content, segments.bytes_of(f)?));
                }
                let bytes = current.as_ref().map_or(&[][..], |(_, b)| b);
                texts.push(embed_text(&f.path, bytes, &rec.chunks[*ci]));
            }
            let mut w = VectorFileWriter::new(model, embedder.dim());
            // Smaller embed calls inside a flush keep the progress bar moving
            // and let an interrupt land within seconds.
            let mut done = 0;
            for sub in texts.chunks(128.min(texts.len().max(1))) {
                if stop.load(Ordering::Relaxed) {
                    summary.interrupted = true;
                    break;
                }
                let refs: Vec<&str> = sub.iter().map(|s| s.as_str()).collect();
                let vecs = embedder.embed(&refs, TextRole::Document).map_err(|e| EngineError::Model(e.to_string()))?;
                for (j, v) in vecs.iter().enumerate() {
                    let (scale, q) = grove_embed::quantize_i8(v);
                    match transient.as_deref_mut() {
                        Some(map) => {
                            map.insert(batch[done + j].0, (scale, q));
                        }
                        None => w.add(batch[done + j].0, scale, q),
                    }
                }
                summary.tokens += refs.iter().map(|t| grove_syntax::estimate_tokens(t.as_bytes())).sum::<usize>();
                done += sub.len();
                summary.embedded += sub.len();
                progress.inc(sub.len() as u64);
            }
            if !w.is_empty() {
                sem.add_vector_file(put_vector_file(store, w)?);
            }
            if summary.interrupted {
                break;
            }
        }
        progress.finish();
        Ok(())
    }

    /// `grove find`: lexical, dense or hybrid retrieval over a revision.
    pub fn find(
        &self,
        rev: &ResolvedRev,
        query: &str,
        opts: &FindOptions,
        progress: &dyn Progress,
    ) -> Result<FindOutput, EngineError> {
        self.find_overlay(rev, &Overlay::default(), query, opts, progress)
    }

    /// [`Engine::find`] of `rev` with `overlay`'s buffers in place of its
    /// files at those paths. Buffers are chunked in memory and their chunks
    /// embedded on the fly (within `opts.embed_on_the_fly`); their vectors are
    /// kept in memory only, so nothing of a buffer is written anywhere.
    pub fn find_overlay(
        &self,
        rev: &ResolvedRev,
        overlay: &Overlay,
        query: &str,
        opts: &FindOptions,
        progress: &dyn Progress,
    ) -> Result<FindOutput, EngineError> {
        const FIRST_STAGE: usize = 300;
        let (store, mut sem, mut snap) = self.open_semantic(rev, progress)?;
        if !overlay.is_empty() {
            snap.entries.retain(|e| !overlay.contains(&e.path));
        }
        let shape = rank::query_shape(query);
        let mut scratch = Vec::new();
        // The query's terms, and for an identifier query its compound
        // identifiers (see `exact_identifier_first`): all that ranking reads
        // of the term bags.
        let (query_bag, _) = term_bag(query.as_bytes(), &mut scratch);
        let compounds = if opts.mode == FindMode::Hybrid && shape == QueryShape::Identifier {
            compound_terms(query)
        } else {
            Vec::new()
        };
        let mut wanted: Vec<u32> = Vec::new();
        if opts.mode != FindMode::Dense {
            wanted.extend(query_bag.iter().map(|&(t, _)| t));
            wanted.extend(&compounds);
        }
        let mut rs = self.rev_syntax(&store, &mut sem, &snap, progress, Decode::Chunks { terms: &wanted })?;
        for (path, content) in overlay.iter() {
            // Binary and too large files have no syntax record in the index either.
            if self.unsearchable(content, &grove_search::SearchOptions::default()).is_some() {
                continue;
            }
            rs.records.push(Arc::new(analyse(path, content)));
            rs.files.push(LiveFile {
                path: path.to_vec(),
                content: ContentId::of(content),
                lang: lang_code(path),
                segment: ObjectId([0; 32]),
                doc: 0,
                size: content.len() as u64,
                buffer: Some(content.into()),
            });
        }
        // Flatten to one row per live chunk.
        let mut rows: Vec<(u32, u32)> = Vec::new(); // (file, chunk)
        for (fi, rec) in rs.records.iter().enumerate() {
            for ci in 0..rec.chunks.len() {
                rows.push((fi as u32, ci as u32));
            }
        }
        let mut out = FindOutput {
            hits: Vec::new(),
            mode: opts.mode,
            shape,
            chunks: rows.len(),
            unembedded: 0,
            tokens: 0,
            budget_exhausted: false,
        };
        let lexical = if opts.mode != FindMode::Dense {
            let mut path_bags: Vec<Vec<(u32, u16)>> = Vec::with_capacity(rs.files.len());
            for f in &rs.files {
                path_bags.push(term_bag(&f.path, &mut scratch).0);
            }
            let docs: Vec<LexicalDoc<'_>> = rows
                .iter()
                .map(|&(fi, ci)| {
                    let c = &rs.records[fi as usize].chunks[ci as usize];
                    LexicalDoc { body: &c.terms, body_len: c.length, path: &path_bags[fi as usize] }
                })
                .collect();
            let qterms: Vec<u32> = query_bag.iter().flat_map(|&(t, f)| std::iter::repeat_n(t, f as usize)).collect();
            rank::bm25(&qterms, &docs, FIRST_STAGE)
        } else {
            Vec::new()
        };
        let dense = if opts.mode != FindMode::Lexical {
            let embedder = self.embedder()?;
            let model = embedder.identity().0;
            let keys: Vec<ChunkKey> = rows
                .iter()
                .map(|&(fi, ci)| {
                    ChunkKey::new(
                        &model,
                        &rs.files[fi as usize].path,
                        &rs.records[fi as usize].chunks[ci as usize].text_hash,
                    )
                })
                .collect();
            // Embed a small number of missing chunks now (a working-tree or
            // patch state touches a few files).
            let missing: Vec<usize> = (0..rows.len())
                .filter(|&i| rs.files[rows[i].0 as usize].embeddable() && sem.vector(&model, &keys[i]).is_none())
                .collect();
            // Buffers' vectors stay in memory; the index's files' are stored.
            let mut in_memory: HashMap<ChunkKey, (f32, Vec<i8>)> = HashMap::new();
            if !missing.is_empty() && missing.len() <= opts.embed_on_the_fly {
                let mut seen = HashSet::new();
                let (mut stored, mut buffers) = (Vec::new(), Vec::new());
                for &i in missing.iter().filter(|&&i| seen.insert(keys[i])) {
                    let (fi, ci) = rows[i];
                    let f = &rs.files[fi as usize];
                    let job = (keys[i], rs.records[fi as usize].clone(), ci as usize, f.clone());
                    if f.buffer.is_some() {
                        buffers.push(job)
                    } else {
                        stored.push(job)
                    }
                }
                let mut s = SemanticSummary::default();
                let never = AtomicBool::new(false);
                self.embed_chunks(&store, &mut sem, &*embedder, stored, &crate::NoProgress, &never, &mut s, None)?;
                self.embed_chunks(
                    &store,
                    &mut sem,
                    &*embedder,
                    buffers,
                    &crate::NoProgress,
                    &never,
                    &mut s,
                    Some(&mut in_memory),
                )?;
            }
            let qv = embedder
                .embed(&[query], TextRole::Query)
                .map_err(|e| EngineError::Model(e.to_string()))?
                .pop()
                .ok_or_else(|| EngineError::Model("the model returned no vector for the query".into()))?;
            let (qscale, q8) = grove_embed::quantize_i8(&qv);
            let mut unembedded = 0;
            let lookup = |k: &ChunkKey| match in_memory.get(k) {
                Some((s, v)) => Some((*s, v.as_slice())),
                None => sem.vector(&model, k),
            };
            let vectors = keys.iter().enumerate().filter_map(|(i, k)| match lookup(k) {
                Some((s, v)) => Some((i as u32, s, v)),
                None => {
                    // Files over the embedding limit are lexical by design,
                    // not waiting for `index --semantic`.
                    if rs.files[rows[i].0 as usize].embeddable() {
                        unembedded += 1;
                    }
                    None
                }
            });
            let r = rank::dense_scan(&q8, qscale, vectors, FIRST_STAGE);
            out.unembedded = unembedded;
            r
        } else {
            Vec::new()
        };
        let fused = match opts.mode {
            FindMode::Lexical => lexical.clone(),
            FindMode::Dense => dense.clone(),
            FindMode::Hybrid => {
                let (wl, wd) = fusion_weights(shape);
                let fused = rank::fuse(&[(wl, &lexical), (wd, &dense)], 60.0, 2 * FIRST_STAGE);
                if shape == QueryShape::Identifier {
                    let has_compound = |row: u32| {
                        let (fi, ci) = rows[row as usize];
                        let terms = &rs.records[fi as usize].chunks[ci as usize].terms;
                        compounds.iter().any(|h| terms.binary_search_by_key(h, |&(t, _)| t).is_ok())
                    };
                    exact_identifier_first(fused, &lexical, has_compound)
                } else {
                    fused
                }
            }
        };
        let rank_of = |list: &[(u32, f32)]| -> HashMap<u32, u32> {
            list.iter().enumerate().map(|(r, &(d, _))| (d, r as u32 + 1)).collect()
        };
        let (lex_rank, dense_rank) = (rank_of(&lexical), rank_of(&dense));
        let hits = self.assemble(&store, &rs, &rows, &fused, &lex_rank, &dense_rank, opts, &mut out)?;
        out.hits = hits;
        Ok(out)
    }

    /// Turns ranked chunk rows into results: adjacent chunks of a file
    /// merged, duplicate texts at other paths dropped, a cap per file, then
    /// text within the budget.
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        &self,
        store: &Store,
        rs: &RevSyntax,
        rows: &[(u32, u32)],
        fused: &[(u32, f32)],
        lex_rank: &HashMap<u32, u32>,
        dense_rank: &HashMap<u32, u32>,
        opts: &FindOptions,
        out: &mut FindOutput,
    ) -> Result<Vec<FindHit>, EngineError> {
        struct Group {
            file: u32,
            start_byte: u32,
            end_byte: u32,
            start_line: u32,
            end_line: u32,
            symbol: String,
            score: f32,
            lex: Option<u32>,
            dense: Option<u32>,
        }
        let mut groups: Vec<Group> = Vec::new();
        let mut per_file: HashMap<u32, usize> = HashMap::new();
        let mut seen_text: HashSet<[u8; 16]> = HashSet::new();
        let k = opts.k.max(1);
        for &(row, score) in fused {
            let (fi, ci) = rows[row as usize];
            let c = &rs.records[fi as usize].chunks[ci as usize];
            if !seen_text.insert(c.text_hash) {
                continue; // the same text at another path ranked higher
            }
            let (lex, dense) = (lex_rank.get(&row).copied(), dense_rank.get(&row).copied());
            // Merge into an earlier hit of the same file that it touches.
            if let Some(g) = groups
                .iter_mut()
                .find(|g| g.file == fi && c.start_line <= g.end_line + 1 && c.end_line + 1 >= g.start_line)
            {
                g.start_line = g.start_line.min(c.start_line);
                g.end_line = g.end_line.max(c.end_line);
                g.start_byte = g.start_byte.min(c.start_byte);
                g.end_byte = g.end_byte.max(c.end_byte);
                g.lex = min_opt(g.lex, lex);
                g.dense = min_opt(g.dense, dense);
                if g.symbol != c.symbol {
                    g.symbol.clear();
                }
                continue;
            }
            if opts.files {
                if per_file.contains_key(&fi) {
                    continue;
                }
            } else if per_file.get(&fi).copied().unwrap_or(0) >= opts.per_file.max(1) {
                continue;
            }
            *per_file.entry(fi).or_default() += 1;
            groups.push(Group {
                file: fi,
                start_byte: c.start_byte,
                end_byte: c.end_byte,
                start_line: c.start_line,
                end_line: c.end_line,
                symbol: c.symbol.clone(),
                score,
                lex,
                dense,
            });
            if groups.len() >= k && !opts.files {
                break;
            }
            if opts.files && per_file.len() >= k {
                break;
            }
        }
        let mut budget_left = opts.budget.unwrap_or(usize::MAX);
        let mut hits = Vec::with_capacity(groups.len());
        let mut segments = Segments::new(store);
        for g in groups {
            let f = &rs.files[g.file as usize];
            let mut hit = FindHit {
                path: f.path.clone(),
                start_line: g.start_line,
                end_line: g.end_line,
                symbol: (!g.symbol.is_empty()).then_some(g.symbol),
                score: g.score,
                lexical_rank: g.lex,
                dense_rank: g.dense,
                text: String::new(),
                truncated: false,
            };
            if !opts.files || opts.budget.is_some() {
                if budget_left == 0 {
                    out.budget_exhausted = true;
                    break;
                }
                let buf = segments.bytes_of(f)?;
                let (s, e) = if opts.files { (0, buf.len()) } else { (g.start_byte as usize, g.end_byte as usize) };
                let text = buf.get(s..e.min(buf.len())).unwrap_or(&[]);
                let (text, cut) = cut_to_tokens(text, budget_left);
                let used = grove_syntax::estimate_tokens(text);
                budget_left = budget_left.saturating_sub(used.max(1));
                out.tokens += used;
                hit.text = String::from_utf8_lossy(text).into_owned();
                hit.truncated = cut;
                if cut {
                    out.budget_exhausted = true;
                }
            }
            hits.push(hit);
        }
        Ok(hits)
    }
}

/// Term hashes of the query's compound identifiers (`parse_expr`,
/// `totalArea`): whole tokens that contain at least two of the query's other
/// tokens (their parts).
fn compound_terms(query: &str) -> Vec<u32> {
    let mut toks = Vec::new();
    grove_syntax::lexical_tokens(query.as_bytes(), &mut toks);
    toks.iter()
        .filter(|t| toks.iter().filter(|p| p.len() < t.len() && t.contains(p.as_str())).count() >= 2)
        .map(|t| term_hash(t))
        .collect()
}

/// For an identifier query, the chunks holding one of its compound
/// identifiers verbatim come first, in BM25 order: rank fusion alone lets a
/// chunk that merely shares a part ("line" of `zebra_marker_line`) and sits
/// high in the dense list outrank the exact name. Their scores are lifted
/// above the rest so that scores stay in order.
fn exact_identifier_first(
    fused: Vec<(u32, f32)>,
    lexical: &[(u32, f32)],
    has_compound: impl Fn(u32) -> bool,
) -> Vec<(u32, f32)> {
    let exact: Vec<u32> = lexical.iter().map(|&(row, _)| row).filter(|&row| has_compound(row)).collect();
    if exact.is_empty() {
        return fused;
    }
    let top = fused.first().map_or(0.0, |&(_, s)| s);
    let n = exact.len() as f32;
    let mut out: Vec<(u32, f32)> =
        exact.iter().enumerate().map(|(i, &row)| (row, top + (n - i as f32) / (60.0 + n))).collect();
    let lifted: HashSet<u32> = exact.into_iter().collect();
    out.extend(fused.into_iter().filter(|(row, _)| !lifted.contains(row)));
    out
}

/// The fusion weights for a query shape; `GROVE_FUSION_WEIGHTS=LEX,DENSE`
/// overrides them for every shape (for tuning with `cargo xtask eval`).
fn fusion_weights(shape: QueryShape) -> (f32, f32) {
    let parsed = std::env::var("GROVE_FUSION_WEIGHTS").ok().and_then(|v| {
        let (l, d) = v.split_once(',')?;
        Some((l.trim().parse().ok()?, d.trim().parse().ok()?))
    });
    parsed.unwrap_or_else(|| rank::fusion_weights(shape))
}

fn min_opt(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The longest prefix of `text`, cut at a line end, whose estimated tokens
/// fit in `budget`; whether anything was cut.
fn cut_to_tokens(text: &[u8], budget: usize) -> (&[u8], bool) {
    if grove_syntax::estimate_tokens(text) <= budget {
        return (text, false);
    }
    let mut end = 0;
    let mut used = 0;
    for line in text.split_inclusive(|&b| b == b'\n') {
        let t = grove_syntax::estimate_tokens(line);
        if used + t > budget {
            break;
        }
        used += t;
        end += line.len();
    }
    (&text[..end], true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_identifiers_are_recognised() {
        assert_eq!(compound_terms("zebra_marker_line"), vec![term_hash("zebra_marker_line")]);
        assert_eq!(compound_terms("totalArea"), vec![term_hash("totalarea")]);
        assert!(compound_terms("retry request").is_empty());
        assert!(compound_terms("strbuf").is_empty());
    }

    #[test]
    fn exact_identifier_hits_come_first_with_ordered_scores() {
        let fused = vec![(7, 0.03), (3, 0.02), (9, 0.01)];
        let lexical = vec![(3, 9.0), (7, 5.0), (9, 1.0)];
        let out = exact_identifier_first(fused.clone(), &lexical, |row| row == 3 || row == 9);
        assert_eq!(out.iter().map(|x| x.0).collect::<Vec<_>>(), vec![3, 9, 7]);
        assert!(out.windows(2).all(|w| w[0].1 >= w[1].1), "{out:?}");
        assert_eq!(exact_identifier_first(fused.clone(), &lexical, |_| false), fused);
    }
}
