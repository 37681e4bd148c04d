//! Text embedding for grove's semantic search: the only crate that uses candle and
//! tokenizers. It turns texts into unit vectors with a local encoder model and knows
//! nothing of git, storage or chunking.
//!
//! - [`resolve_model_dir`] finds a model directory (`--model-dir`, `GROVE_MODEL_DIR`, the
//!   Hugging Face cache, or a download with feature `download`);
//! - [`load_model`] picks the architecture from its `config.json` (BERT, NomicBERT or
//!   ModernBERT, see [`SUPPORTED_MODEL_TYPES`]) and loads it;
//! - [`Embedder::embed`] tokenizes (truncating to the model's limit, as
//!   sentence-transformers does), batches texts of similar length together, runs the
//!   encoder on every core, pools and L2-normalises;
//! - [`ModelId`] identifies model and settings, so cached vectors are keyed by it
//!   ([`ModelId::cache_key`]).
//!
//! Vectors match sentence-transformers within 1e-5 cosine: all-MiniLM-L6-v2 in
//! tests/reference_vectors.rs, tiny NomicBERT and ModernBERT checkpoints against
//! transformers in tests/tiny_models.rs.

mod batching;
mod bert;
mod bert_cpu;
mod config;
mod error;
mod identity;
mod kernels;
mod layers;
mod model;
mod modernbert;
mod nomic_bert;
mod pipeline;
mod resolve;

pub use batching::BatchLimits;
pub use error::EmbedError;
pub use identity::ModelId;
pub use model::EncoderEmbedder;
pub use resolve::{resolve_model_dir, ModelSource, ResolvedModel, DEFAULT_MODEL_REPO, MODEL_DIR_ENV};

use std::path::Path;

/// How token vectors become one text vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over the text's tokens (padding excluded).
    Mean,
    /// The first ([CLS]) token's vector.
    Cls,
}

/// What a text is, for models that prefix queries and documents differently (e.g.
/// CodeRankEmbed's "Represent this query for searching relevant code: "). MiniLM has no
/// prefixes, so both roles give the same vector there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextRole {
    Query,
    Document,
}

/// Where the model runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceChoice {
    #[default]
    Cpu,
    /// A CUDA GPU by ordinal; needs a grove built with feature `cuda`.
    Cuda(usize),
}

/// The environment variable that picks the device semantic commands run the model on:
/// `cpu` (the default) or `cuda[:N]`.
pub const DEVICE_ENV: &str = "GROVE_DEVICE";

impl DeviceChoice {
    /// Parses `cpu`, `cuda` or `cuda:N`.
    pub fn parse(text: &str) -> Result<DeviceChoice, EmbedError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| EmbedError::Unsupported(format!("device {text:?}: expected cpu, cuda or cuda:N"))),
        }
    }

    /// The device `GROVE_DEVICE` names, the CPU when it is unset.
    pub fn from_env() -> Result<DeviceChoice, EmbedError> {
        match std::env::var(DEVICE_ENV) {
            Ok(value) => DeviceChoice::parse(&value)
                .map_err(|_| EmbedError::Unsupported(format!("{DEVICE_ENV}={value:?}: expected cpu, cuda or cuda:N"))),
            Err(_) => Ok(DeviceChoice::Cpu),
        }
    }

    fn candle_device(self) -> Result<candle_core::Device, EmbedError> {
        match self {
            DeviceChoice::Cpu => Ok(candle_core::Device::Cpu),
            #[cfg(feature = "cuda")]
            DeviceChoice::Cuda(ordinal) => candle_core::Device::new_cuda(ordinal)
                .map_err(|e| EmbedError::Unsupported(format!("CUDA device {ordinal}: {e}"))),
            #[cfg(not(feature = "cuda"))]
            DeviceChoice::Cuda(ordinal) => Err(EmbedError::Unsupported(format!(
                "CUDA device {ordinal}: this grove was built without the `cuda` feature; \
                 rebuild with `--features cuda` or run on the CPU"
            ))),
        }
    }
}

/// Settings that override what a model directory says. `Default` = the model's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmbedOptions {
    pub device: DeviceChoice,
    /// Truncation limit in tokens (special tokens included); default: the model's
    /// `max_seq_length`. Never above the model's position limit.
    pub max_tokens: Option<usize>,
    /// Text put before each query; default: the model's `prompts.query`, else none.
    pub query_prefix: Option<String>,
    /// Text put before each document; default: the model's `prompts.document`, else none.
    pub document_prefix: Option<String>,
    /// Batch caps (they change speed and memory, not the vectors).
    pub batch: BatchLimits,
}

/// A sentence encoder: texts in, unit vectors out.
pub trait Embedder: Send + Sync {
    /// Identity of the model and its settings; part of every cache key.
    fn identity(&self) -> ModelId;
    /// A readable name, e.g. "all-MiniLM-L6-v2".
    fn name(&self) -> &str;
    /// Vector dimension.
    fn dim(&self) -> usize;
    /// Texts are truncated to this many tokens (special tokens and prefix included).
    fn max_tokens(&self) -> usize;
    /// Tokens of `text` embedded as a document, prefix and special tokens included,
    /// before truncation: a chunker keeps this ≤ [`Embedder::max_tokens`].
    fn count_tokens(&self, text: &str) -> Result<usize, EmbedError>;
    /// Embeds texts (any count, any order) and returns L2-normalised vectors of
    /// [`Embedder::dim`] in input order. Texts over the limit are truncated. Texts of
    /// similar token length are batched together; the matrix products use every core.
    fn embed(&self, texts: &[&str], role: TextRole) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Loads the model in `dir` with its own settings on the CPU.
pub fn load_model(dir: &Path) -> Result<Box<dyn Embedder>, EmbedError> {
    load_model_with(dir, &EmbedOptions::default())
}

/// The architectures [`load_model_with`] can run, by config.json `model_type`: BERT
/// (all-MiniLM-L6-v2), NomicBERT (CodeRankEmbed, nomic-embed-text) and ModernBERT
/// (gte-modernbert).
pub const SUPPORTED_MODEL_TYPES: [&str; 3] = ["bert", "nomic_bert", "modernbert"];

/// Loads the model in `dir`, choosing the implementation from config.json's
/// `model_type` (or `architectures`).
pub fn load_model_with(dir: &Path, options: &EmbedOptions) -> Result<Box<dyn Embedder>, EmbedError> {
    Ok(Box::new(EncoderEmbedder::load_with(dir, options)?))
}

/// int8 quantization for storage: `scale = max|x| / 127`, `q = round(x / scale)`, so
/// `x ≈ q × scale` within `scale / 2` per component. An all-zero (or non-finite)
/// vector gets scale 0 and zeros.
pub fn quantize_i8(v: &[f32]) -> (f32, Vec<i8>) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        return (0.0, vec![0; v.len()]);
    }
    let scale = max / 127.0;
    // `as` saturates and maps NaN to 0, so no input can overflow.
    let q = v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect();
    (scale, q)
}

/// The inverse of [`quantize_i8`].
pub fn dequantize_i8(scale: f32, q: &[i8]) -> Vec<f32> {
    q.iter().map(|&x| f32::from(x) * scale).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_round_trip_is_within_half_a_step() {
        let v: Vec<f32> = (0..384).map(|i| ((i as f32) * 0.37).sin() * 0.2).collect();
        let (scale, q) = quantize_i8(&v);
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!((scale - max / 127.0).abs() < 1e-9);
        assert!(q.iter().any(|&x| x == 127 || x == -127), "the largest component maps to ±127");
        for (x, y) in v.iter().zip(dequantize_i8(scale, &q)) {
            assert!((x - y).abs() <= scale / 2.0 + 1e-7, "{x} vs {y}");
        }
    }

    #[test]
    fn quantize_degenerate_vectors() {
        assert_eq!(quantize_i8(&[0.0, 0.0]), (0.0, vec![0, 0]));
        assert_eq!(quantize_i8(&[]), (0.0, vec![]));
        assert_eq!(quantize_i8(&[f32::NAN, 1.0]).1.len(), 2);
        assert_eq!(quantize_i8(&[f32::INFINITY, 1.0]), (0.0, vec![0, 0]));
    }

    /// Built with `cuda` on a machine without a GPU or driver: an error naming the
    /// device, not a panic.
    #[test]
    fn cuda_without_a_gpu_is_a_clear_error() {
        if !cfg!(feature = "cuda") {
            return;
        }
        let choice = DeviceChoice::Cuda(0);
        match std::panic::catch_unwind(move || choice.candle_device()) {
            Ok(Ok(_)) => {} // a GPU is present
            Ok(Err(e)) => assert!(e.to_string().contains("CUDA device 0"), "{e}"),
            Err(_) => panic!("asking for a missing CUDA device panicked"),
        }
    }

    #[test]
    fn device_names_parse() {
        assert_eq!(DeviceChoice::parse("cpu").unwrap(), DeviceChoice::Cpu);
        assert_eq!(DeviceChoice::parse("").unwrap(), DeviceChoice::Cpu);
        assert_eq!(DeviceChoice::parse("CUDA").unwrap(), DeviceChoice::Cuda(0));
        assert_eq!(DeviceChoice::parse("cuda:3").unwrap(), DeviceChoice::Cuda(3));
        for bad in ["gpu", "cuda:", "cuda:x", "metal"] {
            let err = DeviceChoice::parse(bad).unwrap_err().to_string();
            assert!(err.contains("expected cpu, cuda or cuda:N"), "{bad}: {err}");
        }
    }

    #[test]
    fn cuda_without_the_feature_is_a_clear_error() {
        if cfg!(feature = "cuda") {
            return;
        }
        let err = DeviceChoice::Cuda(0).candle_device().unwrap_err();
        assert!(err.to_string().contains("`cuda` feature"), "{err}");
    }
}
