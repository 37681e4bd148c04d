//! Shared setup for the segment and query benchmarks: a deterministic corpus
//! and an in-memory segment built from it, the way the indexer builds one
//! (distinct blobs become docs, zstd level 1).
//!
//! Corpus: the directory named by `GROVE_BENCH_CORPUS` (every file), or by
//! default the `.rs` files under `$CARGO_HOME/registry/src`
//! (`~/.cargo/registry/src`). Files are taken in byte order of their relative
//! paths, skipping binary files (a NUL byte) and files over 2 MiB (the
//! indexer's defaults), until `GROVE_BENCH_CORPUS_MB` (default 20) MiB of text
//! is collected. Without such a directory, or if it holds no text files, a
//! synthetic Rust-like corpus of the same size is generated from a fixed seed.
#![allow(dead_code)]

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use grove_base::{ContentId, GitOid};
use grove_ngram::Trigram;
use grove_segment::{DocInput, PreparedDoc, Segment, SegmentWriter};

/// The indexer's defaults (`IndexOptions::default()`).
pub const MAX_FILE_SIZE: u64 = 2 << 20;
pub const ZSTD_LEVEL: i32 = 1;

pub struct CorpusFile {
    pub path: Vec<u8>,
    pub content: Vec<u8>,
    pub content_id: ContentId,
}

impl CorpusFile {
    fn new(path: Vec<u8>, content: Vec<u8>) -> CorpusFile {
        let content_id = ContentId::of(&content);
        CorpusFile { path, content, content_id }
    }

    /// A stand-in git oid (the benches never talk to git).
    pub fn git_oid(&self) -> GitOid {
        GitOid(self.content_id.0[..20].try_into().unwrap())
    }

    pub fn input(&self) -> DocInput<'_> {
        DocInput { content_id: self.content_id, git_oid: self.git_oid(), content: &self.content }
    }
}

pub struct Corpus {
    /// Where the files came from, for the log.
    pub source: String,
    /// Sorted by path bytes.
    pub files: Vec<CorpusFile>,
}

impl Corpus {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.content.len() as u64).sum()
    }

    /// The shortest prefix of the files holding at least `bytes` bytes.
    pub fn prefix(&self, bytes: u64) -> &[CorpusFile] {
        let mut total = 0u64;
        for (i, f) in self.files.iter().enumerate() {
            total += f.content.len() as u64;
            if total >= bytes {
                return &self.files[..=i];
            }
        }
        &self.files
    }
}

fn limit_bytes() -> u64 {
    let mb = std::env::var("GROVE_BENCH_CORPUS_MB")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|&mb| mb > 0)
        .unwrap_or(20);
    mb << 20
}

/// Loads the corpus described in the module docs. Deterministic for a given
/// directory content.
pub fn load() -> Corpus {
    let limit = limit_bytes();
    let (dir, only_rs) = match std::env::var_os("GROVE_BENCH_CORPUS") {
        Some(d) => (Some(PathBuf::from(d)), false),
        None => {
            let cargo_home = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
            (cargo_home.map(|c| c.join("registry").join("src")), true)
        }
    };
    if let Some(dir) = dir {
        if dir.is_dir() {
            let files = read_dir_corpus(&dir, only_rs, limit);
            if !files.is_empty() {
                let what = if only_rs { ".rs files" } else { "files" };
                return Corpus { source: format!("{what} under {}", dir.display()), files };
            }
            eprintln!("grove-benches: no text files under {}; using a synthetic corpus", dir.display());
        } else {
            eprintln!("grove-benches: {} is not a directory; using a synthetic corpus", dir.display());
        }
    }
    Corpus { source: "synthetic (seeded)".to_string(), files: synthetic(limit) }
}

fn read_dir_corpus(root: &Path, only_rs: bool, limit: u64) -> Vec<CorpusFile> {
    let mut paths: Vec<(Vec<u8>, PathBuf)> = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            if name.as_bytes().starts_with(b".") {
                continue; // .git, .cargo-ok, …
            }
            let Ok(ft) = e.file_type() else { continue };
            let p = e.path();
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                if only_rs && p.extension().is_none_or(|x| x != "rs") {
                    continue;
                }
                let rel = p.strip_prefix(root).unwrap_or(&p).as_os_str().as_bytes().to_vec();
                paths.push((rel, p));
            }
        }
    }
    paths.sort();
    let mut files = Vec::new();
    let mut total = 0u64;
    for (rel, p) in paths {
        if std::fs::metadata(&p).map(|m| m.len() > MAX_FILE_SIZE).unwrap_or(true) {
            continue;
        }
        let Ok(content) = std::fs::read(&p) else {
            continue;
        };
        if content.contains(&0) {
            continue;
        }
        if total + content.len() as u64 > limit {
            break;
        }
        total += content.len() as u64;
        files.push(CorpusFile::new(rel, content));
    }
    files
}

/// xorshift64*: small, seeded, identical on every platform.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const WORDS: &[&str] = &[
    "self", "value", "buffer", "index", "len", "error", "result", "state", "config", "reader", "writer", "node",
    "item", "key", "map", "count", "offset", "data", "input", "output", "parser", "token", "span", "scope", "cache",
    "handle", "inner", "entry", "table", "segment", "query", "limit", "path", "name", "width", "height", "flags",
    "mode", "block", "frame",
];
const TYPES: &[&str] = &[
    "Vec<u8>",
    "String",
    "usize",
    "u32",
    "u64",
    "Option<usize>",
    "Result<(), Error>",
    "HashMap<String, usize>",
    "&str",
    "bool",
    "&[u8]",
    "Box<dyn Read>",
];
const CAMEL: &[&str] =
    &["Reader", "Writer", "Config", "State", "Error", "Parser", "Token", "Segment", "Handle", "Cache"];

/// Rust-like text (about `limit` bytes in files of 1–64 KiB) with the
/// identifiers, numbers and rare literals the query benches look for.
fn synthetic(limit: u64) -> Vec<CorpusFile> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut files = Vec::new();
    let mut total = 0u64;
    let mut i = 0usize;
    while total < limit {
        // Sizes skewed towards small files, like real source trees.
        let target = 1024usize << rng.below(7); // 1 KiB .. 64 KiB
        let target = target / 2 + rng.below(target);
        let mut s = String::with_capacity(target + 128);
        while s.len() < target {
            synthetic_line(&mut rng, &mut s);
        }
        total += s.len() as u64;
        let path = format!("crate_{:03}/src/module_{:05}.rs", i / 40, i);
        files.push(CorpusFile::new(path.into_bytes(), s.into_bytes()));
        i += 1;
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn synthetic_line(rng: &mut Rng, s: &mut String) {
    use std::fmt::Write;
    let w = |rng: &mut Rng| rng.pick(WORDS);
    let t = |rng: &mut Rng| rng.pick(TYPES);
    let c = |rng: &mut Rng| rng.pick(CAMEL);
    let num = |rng: &mut Rng| {
        let digits = 1 + rng.below(5) as u32;
        rng.below(10usize.pow(digits))
    };
    let _ = match rng.below(100) {
        0..=19 => writeln!(s, "    let {}_{} = {}.{}_{}({});", w(rng), w(rng), w(rng), w(rng), w(rng), w(rng)),
        20..=27 => writeln!(s, "pub fn {}_{}(&self, {}: {}) -> {} {{", w(rng), w(rng), w(rng), t(rng), t(rng)),
        28..=39 => {
            s.push_str("    //");
            for _ in 0..5 + rng.below(8) {
                s.push(' ');
                s.push_str(w(rng));
            }
            s.push('\n');
            Ok(())
        }
        40..=47 => writeln!(s, "    if {}.{}() > {} {{", w(rng), w(rng), num(rng)),
        48..=53 => writeln!(s, "        return Err(Error::{}({}));", c(rng), w(rng)),
        54..=67 => writeln!(s, "    }}"),
        68..=75 => writeln!(s, "    self.{} = {};", w(rng), num(rng)),
        76..=77 => writeln!(s, "fn {}_new({}: {}) -> Self {{", w(rng), w(rng), t(rng)),
        78..=79 => writeln!(s, "    let mut {} = HashMap::with_capacity({});", w(rng), num(rng)),
        80..=84 => writeln!(s, "#[derive(Debug, Clone)]"),
        85..=89 => writeln!(s, "impl {} for {}{} {{", c(rng), c(rng), c(rng)),
        90..=98 => writeln!(s, "        {}.push({}.{});", w(rng), w(rng), w(rng)),
        // Rare: what the selective-literal bench finds.
        _ if rng.below(200) == 0 => writeln!(s, "    {}.reserve_exact({}.len());", w(rng), w(rng)),
        _ => writeln!(s),
    };
}

/// A segment built in memory from a corpus.
pub struct Built {
    pub bytes: Arc<Vec<u8>>,
    pub segment: Arc<Segment>,
    /// Doc id of every corpus file (identical contents share a doc).
    pub doc_of_file: Vec<u32>,
    /// Index of the first file holding each doc.
    pub file_of_doc: Vec<usize>,
}

/// Builds one segment over `files`: distinct contents become docs in order
/// of first appearance, as the indexer does.
pub fn build(files: &[CorpusFile]) -> Built {
    let mut w = SegmentWriter::new();
    let mut by_content: HashMap<ContentId, u32> = HashMap::new();
    let mut doc_of_file = Vec::with_capacity(files.len());
    let mut file_of_doc = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let doc = *by_content.entry(f.content_id).or_insert_with(|| {
            file_of_doc.push(i);
            w.add(PreparedDoc::new(f.input(), ZSTD_LEVEL))
        });
        doc_of_file.push(doc);
    }
    let bytes = Arc::new(w.finish());
    let segment = Arc::new(Segment::open(bytes.clone()).expect("a freshly written segment opens"));
    Built { bytes, segment, doc_of_file, file_of_doc }
}

/// Corpus and segment, with a one-line summary on stderr.
pub fn setup() -> (Corpus, Built) {
    let t = std::time::Instant::now();
    let corpus = load();
    let built = build(&corpus.files);
    eprintln!(
        "grove-benches corpus: {} — {} files, {:.1} MiB; segment: {} docs, {:.1} MiB ({:.1}s to build)",
        corpus.source,
        corpus.files.len(),
        corpus.total_bytes() as f64 / (1 << 20) as f64,
        built.segment.num_docs(),
        built.bytes.len() as f64 / (1 << 20) as f64,
        t.elapsed().as_secs_f64(),
    );
    (corpus, built)
}

/// Document frequency of every trigram present in the segment's docs.
pub fn doc_frequencies(files: &[CorpusFile], built: &Built) -> HashMap<Trigram, u32> {
    let mut df: HashMap<Trigram, u32> = HashMap::new();
    let mut buf = Vec::new();
    for &i in &built.file_of_doc {
        grove_segment::doc_trigrams(&files[i].content, &mut buf);
        for &t in &buf {
            *df.entry(t).or_default() += 1;
        }
    }
    df
}

/// The trigram whose document frequency is closest to `target` (ties: the
/// smallest trigram), skipping `exclude`.
pub fn trigram_near(df: &HashMap<Trigram, u32>, target: u32, exclude: &[Trigram]) -> (Trigram, u32) {
    df.iter()
        .filter(|(t, _)| !exclude.contains(t))
        .map(|(&t, &n)| (n.abs_diff(target), t, n))
        .min()
        .map(|(_, t, n)| (t, n))
        .expect("the corpus has trigrams")
}

/// A trigram for the log: `"fn "` style.
pub fn show(t: Trigram) -> String {
    format!("{:?}", String::from_utf8_lossy(&grove_ngram::unpack(t)))
}
