//! The NomicBERT and ModernBERT encoders against independent references: tiny
//! random-weight checkpoints in fixtures/embeddings/tiny (the hub's file layouts and
//! config formats, 64 dimensions) and the vectors transformers and sentence-transformers
//! give them (made by make_tiny_models.py). The fixtures are committed and small, so
//! these tests always run.

use grove_embed::{load_model, BatchLimits, EmbedError, EmbedOptions, Embedder, EncoderEmbedder, TextRole};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Cosine distance allowed between grove's vectors and the reference's.
const TOLERANCE: f32 = 1e-5;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/embeddings/tiny").join(name)
}

fn texts() -> Vec<String> {
    let text = std::fs::read_to_string(fixture("texts.txt")).unwrap();
    text.lines().filter(|l| !l.is_empty()).map(String::from).collect()
}

/// Reference vectors by role ("documents", "queries").
fn reference(model: &str) -> HashMap<String, Vec<Vec<f32>>> {
    serde_json::from_slice(&std::fs::read(fixture(model).join("reference_vectors.json")).unwrap()).unwrap()
}

fn load(model: &str) -> EncoderEmbedder {
    EncoderEmbedder::load_with(&fixture(model), &EmbedOptions::default()).unwrap()
}

fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    1.0 - dot / (norm(a) * norm(b))
}

/// The largest cosine distance between `got` and `want`, after checking counts and units.
fn max_distance(got: &[Vec<f32>], want: &[Vec<f32>]) -> f32 {
    assert_eq!(got.len(), want.len());
    let mut max = 0f32;
    for (g, w) in got.iter().zip(want) {
        let norm = g.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "unit length, got {norm}");
        max = max.max(cosine_distance(g, w));
    }
    max
}

/// Embeds the fixture texts together and one by one, checks both against the reference
/// and reports the distance (straight to stderr: the harness captures eprintln!).
fn assert_matches(model: &EncoderEmbedder, role: TextRole, want: &[Vec<f32>], what: &str) {
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let together = max_distance(&model.embed(&refs, role).unwrap(), want);
    let alone: Vec<Vec<f32>> = refs.iter().map(|t| model.embed(&[t], role).unwrap().remove(0)).collect();
    let alone = max_distance(&alone, want);
    let _ = writeln!(std::io::stderr(), "{what}: max cosine distance {together:.1e} batched, {alone:.1e} alone");
    assert!(together <= TOLERANCE && alone <= TOLERANCE, "{what}: {together} batched, {alone} alone");
}

#[test]
fn nomic_bert_matches_transformers() {
    let model = load("nomic-bert");
    assert_eq!(model.architecture(), "nomic_bert");
    assert_matches(&model, TextRole::Document, &reference("nomic-bert")["documents"], "nomic_bert documents");
}

#[test]
fn nomic_bert_queries_carry_the_prompt_from_the_sentence_transformers_config() {
    let model = load("nomic-bert");
    let want = reference("nomic-bert");
    assert_matches(&model, TextRole::Query, &want["queries"], "nomic_bert queries");
    assert!(max_distance(&want["queries"], &want["documents"]) > 1e-3, "the prompt changes the vectors");
    let prompt = "Represent this query for searching relevant code: ";
    let prefixed = model.embed(&[&format!("{prompt}read a file")], TextRole::Document).unwrap();
    let query = model.embed(&["read a file"], TextRole::Query).unwrap();
    assert!(cosine_distance(&prefixed[0], &query[0]) <= TOLERANCE, "a query is its prompt + text");
}

#[test]
fn modernbert_matches_sentence_transformers() {
    let model = load("modernbert");
    assert_eq!(model.architecture(), "modernbert");
    let want = &reference("modernbert")["documents"];
    assert_matches(&model, TextRole::Document, want, "modernbert documents");
    // No prompts in its sentence-transformers config: queries embed as documents.
    assert_matches(&model, TextRole::Query, want, "modernbert queries");
}

#[test]
fn fixtures_exercise_truncation_padding_and_the_local_window() {
    let texts = texts();
    for name in ["nomic-bert", "modernbert"] {
        let model = load(name);
        assert_eq!(model.max_tokens(), 48, "{name}: sentence_bert_config.json");
        let counts: Vec<usize> = texts.iter().map(|t| model.count_tokens(t).unwrap()).collect();
        assert!(counts.iter().any(|&c| c > 48), "{name}: a text is truncated: {counts:?}");
        assert!(counts.iter().filter(|&&c| c < 48).count() >= 2, "{name}: batches pad: {counts:?}");
        // ModernBERT's local layers see ±4 tokens (local_attention 8): most texts are longer.
        assert!(counts.iter().filter(|&&c| c > 9).count() >= 8, "{name}: {counts:?}");
    }
}

#[test]
fn small_batches_give_the_same_vectors() {
    let options = EmbedOptions { batch: BatchLimits { max_texts: 3, max_tokens: 60 }, ..EmbedOptions::default() };
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for name in ["nomic-bert", "modernbert"] {
        let model = EncoderEmbedder::load_with(&fixture(name), &options).unwrap();
        let got = model.embed(&refs, TextRole::Document).unwrap();
        assert!(max_distance(&got, &reference(name)["documents"]) <= TOLERANCE, "{name}");
    }
}

#[test]
fn identity_and_metadata_follow_the_model() {
    let nomic = load_model(&fixture("nomic-bert")).unwrap();
    let modern = load_model(&fixture("modernbert")).unwrap();
    assert_eq!((nomic.name(), nomic.dim()), ("nomic-bert", 64));
    assert_eq!((modern.name(), modern.dim()), ("modernbert", 64));
    assert_ne!(nomic.identity(), modern.identity());
    assert_eq!(load_model(&fixture("nomic-bert")).unwrap().identity(), nomic.identity());
    let shorter = EncoderEmbedder::load_with(
        &fixture("modernbert"),
        &EmbedOptions { max_tokens: Some(16), ..EmbedOptions::default() },
    )
    .unwrap();
    assert_ne!(shorter.identity(), modern.identity());
}

/// A model directory with the tokenizer and weights of fixture `weights`, and the
/// config.json of fixture `config` edited by `edit`.
fn mixed(weights: &str, config: &str, edit: impl FnOnce(&mut serde_json::Value)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in ["tokenizer.json", "model.safetensors"] {
        std::fs::copy(fixture(weights).join(file), dir.path().join(file)).unwrap();
    }
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture(config).join("config.json")).unwrap()).unwrap();
    edit(&mut config);
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    dir
}

#[test]
fn weights_of_another_architecture_are_an_invalid_model() {
    let dir = mixed("modernbert", "nomic-bert", |_| {});
    let err = load_model(dir.path()).err().expect("modernbert weights under a nomic_bert config");
    assert!(matches!(err, EmbedError::InvalidModel { .. }), "{err:?}");
    assert!(err.to_string().contains("not a NomicBERT checkpoint"), "{err}");
}

#[test]
fn unsupported_variants_name_the_setting() {
    let dir = mixed("nomic-bert", "nomic-bert", |c| c["prenorm"] = true.into());
    let err = load_model(dir.path()).err().expect("pre-norm");
    assert!(matches!(err, EmbedError::Unsupported(_)), "{err:?}");
    assert!(err.to_string().contains("prenorm") && err.to_string().contains("config.json"), "{err}");
}
