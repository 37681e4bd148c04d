//! The embedder against sentence-transformers' own vectors (fixtures/embeddings, made by
//! reference.py) and the behaviours the index relies on: input order, truncation, roles,
//! identity. Needs the all-MiniLM-L6-v2 directory: `GROVE_TEST_MODEL_DIR`, else
//! `shared/models/all-MiniLM-L6-v2` beside the repository; without it these tests say
//! loudly that they were skipped.

use grove_embed::{load_model, BatchLimits, DeviceChoice, EmbedOptions, Embedder, EncoderEmbedder, TextRole};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const TOLERANCE: f32 = 1e-5;

fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("GROVE_TEST_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models/all-MiniLM-L6-v2"));
    if dir.join("model.safetensors").is_file() {
        Some(dir)
    } else {
        // Straight to stderr: the harness captures eprintln! of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: no all-MiniLM-L6-v2 at {} (set GROVE_TEST_MODEL_DIR) ***\n",
            dir.display()
        );
        None
    }
}

fn model() -> Option<&'static EncoderEmbedder> {
    static MODEL: OnceLock<Option<EncoderEmbedder>> = OnceLock::new();
    MODEL
        .get_or_init(|| model_dir().map(|dir| EncoderEmbedder::load(&dir, DeviceChoice::Cpu).expect("load model")))
        .as_ref()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/embeddings").join(name)
}

fn sentences() -> Vec<String> {
    std::fs::read_to_string(fixture("sentences.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

fn reference() -> Vec<Vec<f32>> {
    serde_json::from_slice(&std::fs::read(fixture("reference_vectors.json")).unwrap()).unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    let c = cosine(got, want);
    assert!(c >= 1.0 - TOLERANCE, "{what}: cosine {c}");
}

#[test]
fn matches_sentence_transformers_batched() {
    let Some(m) = model() else { return };
    let s = sentences();
    let texts: Vec<&str> = s.iter().map(String::as_str).collect();
    let got = m.embed(&texts, TextRole::Document).unwrap();
    let want = reference();
    assert_eq!(got.len(), want.len());
    let worst = got.iter().zip(&want).map(|(g, w)| 1.0 - cosine(g, w)).fold(0f32, f32::max);
    eprintln!("largest cosine distance to sentence-transformers: {worst:e}");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.len(), 384);
        assert_close(g, w, &format!("sentence {i} {:?}", texts[i]));
        let norm: f32 = g.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "unit length, got {norm}");
    }
}

#[test]
fn matches_sentence_transformers_one_by_one() {
    let Some(m) = model() else { return };
    for (i, (text, want)) in sentences().iter().zip(reference()).enumerate() {
        let got = m.embed(&[text], TextRole::Document).unwrap();
        assert_close(&got[0], &want, &format!("sentence {i} alone"));
    }
}

fn code_like(i: usize) -> String {
    let body = "    let total = items.iter().map(|x| x.len()).sum::<usize>();\n".repeat(i % 9);
    format!("fn handler_{i}(items: &[String]) -> usize {{\n{body}    total\n}}")
}

#[test]
fn keeps_input_order_across_length_buckets() {
    let Some(dir) = model_dir() else { return };
    // Tiny batches force many buckets, so sorting by length really reorders the texts.
    let options = EmbedOptions { batch: BatchLimits { max_texts: 3, max_tokens: 300 }, ..EmbedOptions::default() };
    let small_batches = EncoderEmbedder::load_with(&dir, &options).unwrap();
    let mut texts: Vec<String> = (0..20).map(code_like).collect();
    texts.extend(sentences());
    texts.push(String::new());
    texts.push(texts[3].clone());
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let together = small_batches.embed(&refs, TextRole::Document).unwrap();
    assert_eq!(together.len(), texts.len());
    for (i, text) in refs.iter().enumerate() {
        let alone = model().unwrap().embed(&[text], TextRole::Document).unwrap();
        assert_close(&together[i], &alone[0], &format!("text {i}"));
    }
    // Same text, same vector (up to padding noise: the copies sit in different batches).
    assert_close(&together[3], &together[texts.len() - 1], "duplicate text");
    assert!(cosine(&together[0], &together[8]) < 0.9999, "different texts, different vectors");
}

#[test]
fn empty_input_gives_no_vectors() {
    let Some(m) = model() else { return };
    assert!(m.embed(&[], TextRole::Query).unwrap().is_empty());
}

/// Words that are one token each, so a text's token count is words + 2 ([CLS], [SEP]).
const WORDS: [&str; 8] = ["river", "stone", "cloud", "green", "house", "table", "music", "light"];

fn words(n: usize) -> String {
    (0..n).map(|i| WORDS[i % WORDS.len()]).collect::<Vec<_>>().join(" ")
}

#[test]
fn truncates_at_max_tokens_like_sentence_transformers() {
    let Some(m) = model() else { return };
    assert_eq!(m.max_tokens(), 256, "sentence_bert_config.json, not tokenizer.json's 128");
    for w in WORDS {
        assert_eq!(m.count_tokens(w).unwrap(), 3, "{w} is one token");
    }
    let long = words(400);
    assert_eq!(m.count_tokens(&long).unwrap(), 402, "counting does not truncate");
    // 256 tokens = [CLS] + 254 words + [SEP]: what sentence-transformers keeps.
    let got = m.embed(&[&long, &words(254), &words(250)], TextRole::Document).unwrap();
    assert_close(&got[0], &got[1], "400 words vs their first 254");
    let max_diff = got[0].iter().zip(&got[2]).fold(0f32, |d, (a, b)| d.max((a - b).abs()));
    assert!(max_diff > 1e-4, "250 words must differ from 254 (diff {max_diff})");
}

#[test]
fn minilm_has_no_prefixes_so_roles_agree() {
    let Some(m) = model() else { return };
    let q = m.embed(&["read a file"], TextRole::Query).unwrap();
    let d = m.embed(&["read a file"], TextRole::Document).unwrap();
    assert_eq!(q, d);
}

#[test]
fn identity_covers_settings_and_is_stable() {
    let Some(dir) = model_dir() else { return };
    let base = model().unwrap();
    assert_eq!(base.name(), "all-MiniLM-L6-v2");
    assert_eq!(base.dim(), 384);
    let again = load_model(&dir).unwrap();
    assert_eq!(again.identity(), base.identity(), "same files, same settings");
    // Batch caps shape speed, not vectors: same identity.
    let batched = EncoderEmbedder::load_with(
        &dir,
        &EmbedOptions { batch: BatchLimits { max_texts: 1, max_tokens: 1 }, ..Default::default() },
    )
    .unwrap();
    assert_eq!(batched.identity(), base.identity());

    let shorter =
        EncoderEmbedder::load_with(&dir, &EmbedOptions { max_tokens: Some(128), ..Default::default() }).unwrap();
    assert_eq!(shorter.max_tokens(), 128);
    assert_ne!(shorter.identity(), base.identity());
    let prefixed =
        EncoderEmbedder::load_with(&dir, &EmbedOptions { query_prefix: Some("query: ".into()), ..Default::default() })
            .unwrap();
    assert_ne!(prefixed.identity(), base.identity());
    let q = prefixed.embed(&["read a file"], TextRole::Query).unwrap();
    let d = prefixed.embed(&["read a file"], TextRole::Document).unwrap();
    assert!(cosine(&q[0], &d[0]) < 0.9999, "the query prefix is embedded");
    assert_eq!(d, base.embed(&["read a file"], TextRole::Document).unwrap());

    let doc_prefixed = EncoderEmbedder::load_with(
        &dir,
        &EmbedOptions { document_prefix: Some("passage: ".into()), ..Default::default() },
    )
    .unwrap();
    assert_ne!(doc_prefixed.identity(), base.identity());
    assert_ne!(doc_prefixed.identity(), prefixed.identity());
    assert_eq!(
        doc_prefixed.count_tokens("river").unwrap(),
        base.count_tokens("river").unwrap() + 2,
        "the document prefix counts against the limit"
    );

    let over =
        EncoderEmbedder::load_with(&dir, &EmbedOptions { max_tokens: Some(10_000), ..Default::default() }).unwrap();
    assert_eq!(over.max_tokens(), 512, "capped at the position embeddings");
}
