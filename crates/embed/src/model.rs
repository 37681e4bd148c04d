//! BERT encoders (config.json `model_type: "bert"`), e.g. all-MiniLM-L6-v2: the
//! checkpoint and config of candle-transformers' `BertModel`, run by the fused forward
//! pass in `bert_encoder`.

use crate::bert_encoder::BertEncoder;
use crate::config::{read_json, SentenceConfig};
use crate::identity::IdentityParts;
use crate::pipeline::{PipelineSettings, TextPipeline};
use crate::{EmbedError, EmbedOptions, Embedder, ModelId, TextRole};
use candle_core::DType;
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;
use std::path::Path;

/// The files every model directory needs.
pub(crate) const REQUIRED_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// A BERT-family sentence encoder loaded from a model directory.
pub struct BertEmbedder {
    model: BertEncoder,
    pipeline: TextPipeline,
    name: String,
    dim: usize,
    identity: ModelId,
}

impl BertEmbedder {
    /// Loads the model in `dir` with its own settings on `device`.
    pub fn load(dir: &Path, device: crate::DeviceChoice) -> Result<Self, EmbedError> {
        Self::load_with(dir, &EmbedOptions { device, ..EmbedOptions::default() })
    }

    /// Loads the model in `dir`, with `options` overriding what its files say.
    pub fn load_with(dir: &Path, options: &EmbedOptions) -> Result<Self, EmbedError> {
        let files = ModelFiles::check(dir)?;
        let config: Config = read_json(&files.config)?.ok_or_else(|| missing(dir, "config.json"))?;
        let sentence = SentenceConfig::read(dir)?;
        let device = options.device.candle_device()?;

        // Absolute position embeddings end at max_position_embeddings: never go past them.
        let max_tokens = options
            .max_tokens
            .or(sentence.max_seq_length)
            .unwrap_or(config.max_position_embeddings)
            .min(config.max_position_embeddings);
        if max_tokens < 2 {
            return Err(EmbedError::Unsupported(format!(
                "max tokens {max_tokens}: a text needs at least its 2 special tokens"
            )));
        }
        let query_prefix = options.query_prefix.clone().unwrap_or(sentence.query_prefix);
        let document_prefix = options.document_prefix.clone().unwrap_or(sentence.document_prefix);

        let identity = IdentityParts {
            architecture: "bert",
            weights: hash_file(&files.weights)?,
            tokenizer: hash_file(&files.tokenizer)?,
            config: hash_file(&files.config)?,
            pooling: sentence.pooling,
            normalize: true,
            max_tokens,
            query_prefix: &query_prefix,
            document_prefix: &document_prefix,
        }
        .model_id();

        // SAFETY: the weights are memory-mapped read-only; a model directory is not
        // rewritten while grove runs (the same contract as every mmap-based loader).
        let vars = unsafe { VarBuilder::from_mmaped_safetensors(&[&files.weights], DType::F32, &device) }
            .map_err(|e| EmbedError::InvalidModel { path: files.weights.clone(), reason: e.to_string() })?;
        let model = BertEncoder::load(vars, &config).map_err(|e| EmbedError::InvalidModel {
            path: files.weights.clone(),
            reason: format!("not a BERT checkpoint matching config.json: {e}"),
        })?;

        let pipeline = TextPipeline::new(
            &files.tokenizer,
            PipelineSettings {
                device,
                pooling: sentence.pooling,
                max_tokens,
                query_prefix,
                document_prefix,
                batch: options.batch,
                pad_id: u32::try_from(config.pad_token_id).unwrap_or(0),
            },
        )?;
        Ok(BertEmbedder { model, pipeline, name: model_name(dir), dim: config.hidden_size, identity })
    }
}

impl Embedder for BertEmbedder {
    fn identity(&self) -> ModelId {
        self.identity
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn max_tokens(&self) -> usize {
        self.pipeline.max_tokens
    }

    fn count_tokens(&self, text: &str) -> Result<usize, EmbedError> {
        self.pipeline.count_tokens(text)
    }

    fn embed(&self, texts: &[&str], role: TextRole) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.pipeline.embed(texts, role, |batch| self.model.forward(&batch.ids, &batch.type_ids, &batch.mask))
    }
}

/// Paths of the required files of a model directory, checked to exist.
pub(crate) struct ModelFiles {
    pub config: std::path::PathBuf,
    pub tokenizer: std::path::PathBuf,
    pub weights: std::path::PathBuf,
}

impl ModelFiles {
    pub fn check(dir: &Path) -> Result<Self, EmbedError> {
        match problem_with_dir(dir) {
            None => Ok(ModelFiles {
                config: dir.join("config.json"),
                tokenizer: dir.join("tokenizer.json"),
                weights: dir.join("model.safetensors"),
            }),
            Some(DirProblem::NotADirectory) => Err(EmbedError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            }),
            Some(DirProblem::Missing(file)) => Err(EmbedError::MissingFile {
                dir: dir.to_path_buf(),
                file: file.to_string(),
                hint: weights_hint(dir, file),
            }),
        }
    }
}

pub(crate) enum DirProblem {
    NotADirectory,
    Missing(&'static str),
}

impl std::fmt::Display for DirProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirProblem::NotADirectory => f.write_str("no such directory"),
            DirProblem::Missing(file) => write!(f, "no {file} in it"),
        }
    }
}

/// Why `dir` cannot hold a model, if it cannot.
pub(crate) fn problem_with_dir(dir: &Path) -> Option<DirProblem> {
    if !dir.is_dir() {
        return Some(DirProblem::NotADirectory);
    }
    REQUIRED_FILES.into_iter().find(|f| !dir.join(f).is_file()).map(DirProblem::Missing)
}

fn weights_hint(dir: &Path, file: &str) -> String {
    if file == "model.safetensors" && dir.join("pytorch_model.bin").exists() {
        " (only safetensors weights are read; this directory has pytorch_model.bin)".into()
    } else {
        String::new()
    }
}

fn missing(dir: &Path, file: &str) -> EmbedError {
    EmbedError::MissingFile { dir: dir.to_path_buf(), file: file.into(), hint: String::new() }
}

fn hash_file(path: &Path) -> Result<[u8; 32], EmbedError> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_mmap_rayon(path).map_err(|source| EmbedError::Io { path: path.to_path_buf(), source })?;
    Ok(*hasher.finalize().as_bytes())
}

/// A readable model name: `NAME` of a Hugging Face cache path
/// `models--ORG--NAME/snapshots/REV`, else the directory's own name.
pub(crate) fn model_name(dir: &Path) -> String {
    let mut components = dir.components().rev().map(|c| c.as_os_str().to_string_lossy());
    let last = components.next().unwrap_or_default().into_owned();
    if components.next().as_deref() == Some("snapshots") {
        if let Some(repo) = components.next() {
            if let Some(name) = repo.strip_prefix("models--").and_then(|r| r.split("--").last()) {
                return name.to_string();
            }
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_plain_and_cache_paths() {
        assert_eq!(model_name(Path::new("/m/all-MiniLM-L6-v2")), "all-MiniLM-L6-v2");
        assert_eq!(
            model_name(Path::new("/h/hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/c9745ed1")),
            "all-MiniLM-L6-v2"
        );
    }
}
