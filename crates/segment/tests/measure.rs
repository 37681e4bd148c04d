//! Size and speed measurement over a real source tree. Not a pass/fail test:
//!
//! ```text
//! GROVE_CORPUS=~/.cargo/registry/src cargo test --release -p grove-segment \
//!     --test measure -- --ignored --nocapture
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use grove_base::{ContentId, GitOid};
use grove_segment::*;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            collect(&e.path(), out);
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
}

fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

#[test]
#[ignore]
fn measure_corpus() {
    let root = std::env::var("GROVE_CORPUS")
        .unwrap_or_else(|_| format!("{}/.cargo/registry/src", std::env::var("HOME").unwrap()));
    let limit: u64 = std::env::var("GROVE_CORPUS_MB").ok().and_then(|s| s.parse().ok()).unwrap_or(50) << 20;
    let mut paths = Vec::new();
    collect(Path::new(&root), &mut paths);
    let mut contents = Vec::new();
    let mut total = 0u64;
    for p in paths {
        let Ok(c) = std::fs::read(&p) else { continue };
        if c.len() > 1 << 20 || c.iter().take(8000).any(|&b| b == 0) {
            continue; // skip large and binary files, as the indexer would
        }
        total += c.len() as u64;
        contents.push(c);
        if total >= limit {
            break;
        }
    }
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    println!("corpus: {} files, {:.1} MB, {threads} threads", contents.len(), mb(total));

    let t0 = Instant::now();
    let ids: Vec<ContentId> = contents.iter().map(|c| ContentId::of(c)).collect();
    let t_hash = t0.elapsed();

    let t0 = Instant::now();
    let mut tris = Vec::new();
    let mut pairs = 0usize;
    for c in &contents {
        grove_ngram::trigrams_of(c, &mut tris);
        pairs += tris.len();
    }
    let t_tri = t0.elapsed();
    let t0 = Instant::now();
    for c in &contents {
        doc_trigrams(c, &mut tris);
    }
    let t_tri2 = t0.elapsed();
    let t0 = Instant::now();
    let mut zbytes = 0usize;
    for c in &contents {
        zbytes += zstd::bulk::compress(c, 3).unwrap().len();
    }
    let t_zstd = t0.elapsed();
    println!(
        "one thread: trigrams_of {:?} ({:.0} MB/s, {pairs} pairs), doc_trigrams {:?} ({:.0} MB/s), zstd -3 {:?} ({:.0} MB/s, {:.1}%)",
        t_tri,
        mb(total) / t_tri.as_secs_f64(),
        t_tri2,
        mb(total) / t_tri2.as_secs_f64(),
        t_zstd,
        mb(total) / t_zstd.as_secs_f64(),
        100.0 * zbytes as f64 / total as f64
    );

    let t0 = Instant::now();
    let chunk = contents.len().div_ceil(threads).max(1);
    let prepared: Vec<PreparedDoc> = std::thread::scope(|s| {
        let hs: Vec<_> = contents
            .chunks(chunk)
            .zip(ids.chunks(chunk))
            .map(|(cs, is)| {
                s.spawn(move || {
                    cs.iter()
                        .zip(is)
                        .map(|(c, id)| {
                            PreparedDoc::new(DocInput { content_id: *id, git_oid: GitOid::NULL, content: c }, 3)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let t_prepare = t0.elapsed();

    let t0 = Instant::now();
    let mut w = SegmentWriter::new();
    for p in prepared {
        w.add(p);
    }
    let t_add = t0.elapsed();
    let t0 = Instant::now();
    let bytes = w.finish();
    let t_finish = t0.elapsed();

    let t0 = Instant::now();
    let seg = Segment::open(Arc::new(bytes)).unwrap();
    let t_open = t0.elapsed();
    let s = seg.stats();
    let pct = |b: u64| 100.0 * b as f64 / s.raw_bytes as f64;
    println!(
        "blake3 {:?}  prepare {:?} ({:.0} MB/s over {threads} threads)  add {:?}  finish {:?}  open {:?}",
        t_hash,
        t_prepare,
        mb(total) / t_prepare.as_secs_f64(),
        t_add,
        t_finish,
        t_open
    );
    println!(
        "file {:.1}% = content {:.1}% + docs {:.2}% + dict {:.1}% + postings {:.1}%  ({} trigrams)",
        pct(s.file_bytes),
        pct(s.content_bytes),
        pct(s.docs_bytes),
        pct(s.dict_bytes),
        pct(s.postings_bytes),
        s.num_trigrams
    );

    let t0 = Instant::now();
    let mut n = 0u64;
    for t in (0..0x0100_0000u32).step_by(97) {
        seg.postings(t).unwrap();
        n += 1;
    }
    let t_post = t0.elapsed();
    println!(
        "postings, spread over the trigram space: {n} lookups, {:.2} µs each",
        t_post.as_secs_f64() * 1e6 / n as f64
    );
    let t0 = Instant::now();
    let (mut n, mut hits) = (0u64, 0u64);
    let common = [b"fn ", b"let", b"the", b"ion", b"pub", b"str", b"err", b"ret", b"ing", b"(&s"];
    for _ in 0..100 {
        for c in common {
            hits += seg.postings(grove_ngram::pack(c[0], c[1], c[2])).unwrap().len();
            n += 1;
        }
    }
    let t_post = t0.elapsed();
    println!(
        "postings, 10 common trigrams: {:.2} µs per lookup, {} ids per list on average",
        t_post.as_secs_f64() * 1e6 / n as f64,
        hits / n
    );

    let t0 = Instant::now();
    let mut buf = Vec::new();
    for id in 0..seg.num_docs() {
        seg.content_into(id, &mut buf).unwrap();
    }
    let t_content = t0.elapsed();
    println!("content_into all: {:?} ({:.0} MB/s)", t_content, mb(total) / t_content.as_secs_f64());
    let t0 = Instant::now();
    seg.verify().unwrap();
    println!("verify: {:?}", t0.elapsed());
}
