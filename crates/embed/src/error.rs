//! The crate's one error type. candle and tokenizers errors are carried as text so that
//! their types never appear in grove-embed's public API.

use std::path::PathBuf;

/// Everything that can go wrong while finding, loading or running an embedding model.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// No model directory could be found; the message says how to provide one.
    #[error("{}", not_found_message(attempts))]
    ModelNotFound {
        /// What was tried, in order, each with why it did not work.
        attempts: Vec<String>,
    },
    /// A model directory lacks a file the model needs.
    #[error("model directory {} has no {file}{hint}", dir.display())]
    MissingFile {
        dir: PathBuf,
        file: String,
        /// Extra advice (may be empty), e.g. that only safetensors weights are read.
        hint: String,
    },
    /// A model file exists but cannot be understood.
    #[error("invalid model file {}: {reason}", path.display())]
    InvalidModel { path: PathBuf, reason: String },
    /// A model, pooling mode or device this build does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Reading a model file failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The tokenizer rejected its configuration or an input.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The tensor library failed (loading weights or running the model).
    #[error("model inference: {0}")]
    Candle(String),
    /// Downloading the model from the Hugging Face hub failed.
    #[error("model download: {0}")]
    Download(String),
}

impl From<candle_core::Error> for EmbedError {
    fn from(e: candle_core::Error) -> Self {
        EmbedError::Candle(e.to_string())
    }
}

fn not_found_message(attempts: &[String]) -> String {
    let mut msg = String::from(
        "no embedding model found; semantic search needs one (regex search works without it).\n\
         Provide a model directory holding config.json, tokenizer.json and model.safetensors \
         (for example a copy of https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2):\n\
         \x20 - pass --model-dir DIR, or\n\
         \x20 - set GROVE_MODEL_DIR=DIR, or\n\
         \x20 - put the model in the Hugging Face cache \
         (`huggingface-cli download sentence-transformers/all-MiniLM-L6-v2`), or\n\
         \x20 - use a grove built with the `download` feature on a machine with network access.\n\
         Looked at:",
    );
    for attempt in attempts {
        msg.push_str("\n  - ");
        msg.push_str(attempt);
    }
    msg
}
