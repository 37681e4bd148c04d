//! Ranking for semantic and hybrid retrieval: BM25 over identifier-split
//! term bags, an exact int8 vector scan, and weighted reciprocal rank fusion.
//!
//! Everything here is pure arithmetic over slices the engine assembles from
//! the side index; it knows neither the model nor the storage.

/// One chunk as BM25 sees it: its stored body terms (sorted by hash, unique)
/// plus the terms of its path, which depend on where the blob sits and are
/// therefore added at query time.
pub struct LexicalDoc<'a> {
    pub body: &'a [(u32, u16)],
    pub body_len: u32,
    pub path: &'a [(u32, u16)],
}

impl LexicalDoc<'_> {
    fn tf(&self, term: u32) -> u32 {
        let find = |bag: &[(u32, u16)]| bag.binary_search_by_key(&term, |&(t, _)| t).map_or(0, |i| bag[i].1 as u32);
        find(self.body) + find(self.path)
    }
    fn len(&self) -> u32 {
        self.body_len + self.path.iter().map(|&(_, f)| f as u32).sum::<u32>()
    }
}

/// Okapi BM25 (k1 = 1.2, b = 0.75) of every document with at least one query
/// term, as (document index, score), best first, at most `limit`.
/// `query` holds term hashes; repeats weigh a term more.
pub fn bm25(query: &[u32], docs: &[LexicalDoc<'_>], limit: usize) -> Vec<(u32, f32)> {
    const K1: f32 = 1.2;
    const B: f32 = 0.75;
    let mut terms: Vec<(u32, f32)> = Vec::new();
    for &t in query {
        match terms.iter_mut().find(|(x, _)| *x == t) {
            Some(e) => e.1 += 1.0,
            None => terms.push((t, 1.0)),
        }
    }
    if docs.is_empty() || terms.is_empty() {
        return Vec::new();
    }
    let n = docs.len() as f32;
    let avg_len = (docs.iter().map(|d| d.len() as f64).sum::<f64>() / docs.len() as f64).max(1.0) as f32;
    // One pass for document frequencies and per-doc term frequencies.
    let mut tfs: Vec<u32> = vec![0; docs.len() * terms.len()];
    let mut df = vec![0u32; terms.len()];
    for (d, doc) in docs.iter().enumerate() {
        for (q, &(t, _)) in terms.iter().enumerate() {
            let tf = doc.tf(t);
            if tf > 0 {
                tfs[d * terms.len() + q] = tf;
                df[q] += 1;
            }
        }
    }
    let idf: Vec<f32> = df.iter().map(|&df| ((n - df as f32 + 0.5) / (df as f32 + 0.5) + 1.0).ln()).collect();
    let mut scored: Vec<(u32, f32)> = Vec::new();
    for (d, doc) in docs.iter().enumerate() {
        let row = &tfs[d * terms.len()..(d + 1) * terms.len()];
        if row.iter().all(|&tf| tf == 0) {
            continue;
        }
        let norm = K1 * (1.0 - B + B * doc.len() as f32 / avg_len);
        let score: f32 = row
            .iter()
            .zip(&terms)
            .zip(&idf)
            .map(|((&tf, &(_, qtf)), &idf)| {
                let tf = tf as f32;
                qtf * idf * tf * (K1 + 1.0) / (tf + norm)
            })
            .sum();
        scored.push((d as u32, score));
    }
    top(scored, limit)
}

/// Sorts best first (ties by index, for determinism) and keeps `limit`.
pub fn top(mut scored: Vec<(u32, f32)>, limit: usize) -> Vec<(u32, f32)> {
    let cmp = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if scored.len() > limit && limit > 0 {
        scored.select_nth_unstable_by(limit - 1, cmp);
        scored.truncate(limit);
    }
    scored.sort_unstable_by(cmp);
    scored.truncate(limit);
    scored
}

/// Dot product of two int8 vectors, exact in i32.
#[inline]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { dot_i8_avx2(a, b) };
        }
    }
    dot_i8_portable(a, b)
}

#[inline(always)]
fn dot_i8_portable(a: &[i8], b: &[i8]) -> i32 {
    // Written so that LLVM vectorizes it (widening multiply-add).
    a.iter().zip(b).map(|(&x, &y)| x as i32 * y as i32).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    dot_i8_portable(a, b)
}

/// Cosine similarity (vectors are L2-normalised before quantization) of the
/// query against every candidate, best first, at most `limit`.
/// `vectors` yields (document index, scale, components).
pub fn dense_scan<'a>(
    query: &[i8],
    query_scale: f32,
    vectors: impl Iterator<Item = (u32, f32, &'a [i8])>,
    limit: usize,
) -> Vec<(u32, f32)> {
    let scored: Vec<(u32, f32)> =
        vectors.map(|(d, scale, v)| (d, dot_i8(query, v) as f32 * scale * query_scale)).collect();
    top(scored, limit)
}

/// Weighted reciprocal rank fusion: Σ weight / (k + rank), rank from 1.
/// Each list is best first. Returns (document index, fused score), best first.
pub fn fuse(lists: &[(f32, &[(u32, f32)])], k: f32, limit: usize) -> Vec<(u32, f32)> {
    let mut acc: std::collections::HashMap<u32, f32> = std::collections::HashMap::new();
    for &(weight, list) in lists {
        for (rank, &(d, _)) in list.iter().enumerate() {
            *acc.entry(d).or_default() += weight / (k + rank as f32 + 1.0);
        }
    }
    top(acc.into_iter().collect(), limit)
}

/// What a query looks like: code identifiers favour the lexical list,
/// prose favours the dense one (equal-weight fusion drags prose queries
/// below dense alone; see the design brief).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryShape {
    Identifier,
    Prose,
    Mixed,
}

pub fn query_shape(query: &str) -> QueryShape {
    let words: Vec<&str> = query.split_whitespace().collect();
    let codeish = |w: &str| {
        w.contains('_')
            || w.contains("::")
            || w.contains('(')
            || w.contains('.') && !w.ends_with('.')
            || w.chars().skip(1).any(|c| c.is_ascii_uppercase()) && w.chars().any(|c| c.is_ascii_lowercase())
    };
    let code = words.iter().filter(|w| codeish(w)).count();
    if words.len() <= 1 || code * 2 > words.len() {
        QueryShape::Identifier
    } else if code == 0 {
        QueryShape::Prose
    } else {
        QueryShape::Mixed
    }
}

/// (lexical weight, dense weight) for a query shape. Identifier-like
/// queries lean lexical (an exact name is best found by its terms). For
/// prose, equal weights beat a dense-leaning 0.6/1.0 and 0.5/1.0 on
/// `cargo xtask eval` over pallets/flask (60 commit-message queries: Recall@10
/// 0.662 vs 0.646 and 0.633), so prose and mixed queries fuse evenly; see
/// docs/benchmarks.md.
pub fn fusion_weights(shape: QueryShape) -> (f32, f32) {
    match shape {
        QueryShape::Identifier => (1.0, 0.6),
        QueryShape::Prose => (1.0, 1.0),
        QueryShape::Mixed => (1.0, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc<'a>(body: &'a [(u32, u16)]) -> LexicalDoc<'a> {
        LexicalDoc { body, body_len: body.iter().map(|&(_, f)| f as u32).sum(), path: &[] }
    }

    #[test]
    fn bm25_prefers_rare_terms_and_higher_tf() {
        let d0 = [(1, 1), (2, 1)];
        let d1 = [(1, 3)];
        let d2 = [(1, 1), (3, 1)];
        let d3 = [(4, 5)];
        let docs = [doc(&d0), doc(&d1), doc(&d2), doc(&d3)];
        let r = bm25(&[1, 3], &docs, 10);
        assert_eq!(r[0].0, 2, "term 3 is rare: {r:?}");
        assert!(r.iter().all(|&(d, _)| d != 3), "doc without query terms scored: {r:?}");
        let r = bm25(&[1], &docs, 10);
        assert_eq!(r[0].0, 1, "higher tf first: {r:?}");
        assert!(bm25(&[9], &docs, 10).is_empty());
    }

    #[test]
    fn path_terms_count() {
        let body = [(1, 1)];
        let path = [(7, 1)];
        let docs = [doc(&body), LexicalDoc { body: &body, body_len: 1, path: &path }];
        assert_eq!(bm25(&[7], &docs, 10), vec![(1, bm25(&[7], &docs, 10)[0].1)]);
    }

    #[test]
    fn dot_matches_scalar_reference() {
        let a: Vec<i8> = (0..384).map(|i| ((i * 37) % 255 - 127) as i8).collect();
        let b: Vec<i8> = (0..384).map(|i| ((i * 91) % 251 - 125) as i8).collect();
        let want: i32 = a.iter().zip(&b).map(|(&x, &y)| x as i32 * y as i32).sum();
        assert_eq!(dot_i8(&a, &b), want);
        assert_eq!(dot_i8(&[-128; 384], &[-128; 384]), 384 * 16384);
    }

    #[test]
    fn dense_scan_orders_by_cosine() {
        let q = [100i8, 0, 0];
        let v = [[100i8, 0, 0], [0, 100, 0], [70, 70, 0]];
        let r = dense_scan(&q, 0.01, v.iter().enumerate().map(|(i, v)| (i as u32, 0.01, &v[..])), 2);
        assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![0, 2]);
        assert!((r[0].1 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn fusion_rewards_agreement_and_weights() {
        let a = [(1, 9.0), (2, 8.0), (3, 7.0)];
        let b = [(3, 0.9), (1, 0.8), (4, 0.7)];
        let r = fuse(&[(1.0, &a), (1.0, &b)], 60.0, 10);
        assert_eq!(r[0].0, 1);
        let r = fuse(&[(0.1, &a), (1.0, &b)], 60.0, 10);
        assert_eq!(r[0].0, 3);
    }

    #[test]
    fn query_shapes() {
        assert_eq!(query_shape("strbuf_addf"), QueryShape::Identifier);
        assert_eq!(query_shape("parseHttpResponse"), QueryShape::Identifier);
        assert_eq!(query_shape("where do we retry failed connections"), QueryShape::Prose);
        assert_eq!(query_shape("retry logic in http_client.rs"), QueryShape::Mixed);
    }
}
