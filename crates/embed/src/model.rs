//! What every encoder architecture shares: the model directory's files, the settings
//! that shape vectors (token limit, prefixes, pooling), the identity over all of them and
//! the text pipeline. An [`Architecture`] adds only its config.json and forward pass.

use crate::bert::Bert;
use crate::config::{read_json, SentenceConfig};
use crate::identity::IdentityParts;
use crate::modernbert::ModernBertEncoder;
use crate::nomic_bert::NomicBertEncoder;
use crate::pipeline::{BatchInput, PaddedInput, PipelineSettings, TextPipeline, TokenVectors};
use crate::{DeviceChoice, EmbedError, EmbedOptions, Embedder, ModelId, TextRole, SUPPORTED_MODEL_TYPES};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::path::Path;

/// The files every model directory needs.
pub(crate) const REQUIRED_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// A forward pass from token ids to token vectors.
pub(crate) trait Encoder: Send + Sync {
    /// `[n, len]` token ids, type ids and 0/1 mask → `[n, len, hidden]` token vectors.
    fn forward_padded(&self, batch: &PaddedInput) -> candle_core::Result<Tensor>;

    /// Token vectors of a batch of texts packed end to end; by default padded to its
    /// longest text on `device` and run through [`Encoder::forward_padded`].
    fn forward(&self, batch: &BatchInput, device: &Device) -> candle_core::Result<TokenVectors> {
        TokenVectors::padded(&self.forward_padded(&batch.padded(device)?)?)
    }
}

/// What the shared loader needs to know of an architecture's config.
pub(crate) struct EncoderShape {
    pub hidden_size: usize,
    /// Texts are never longer (absolute position embeddings end here, or the positions
    /// the model was made for do).
    pub max_positions: usize,
    pub pad_id: u32,
}

/// One encoder architecture: its config.json and its forward pass.
pub(crate) trait Architecture: Encoder + Sized + 'static {
    /// config.json's `model_type`; part of the model identity.
    const MODEL_TYPE: &'static str;
    /// The architecture's name in messages.
    const NAME: &'static str;
    type Config: DeserializeOwned;
    /// What the loader needs of `config`, or why grove cannot run this variant.
    fn shape(config: &Self::Config) -> Result<EncoderShape, String>;
    /// The forward pass over the checkpoint's tensors, for texts of up to `max_tokens`.
    fn load(vb: VarBuilder, config: &Self::Config, max_tokens: usize) -> candle_core::Result<Self>;
}

type Loader = fn(&Path, &ModelFiles, &EmbedOptions) -> Result<EncoderEmbedder, EmbedError>;

/// The loader of each supported `model_type`, in [`SUPPORTED_MODEL_TYPES`] order.
const LOADERS: [(&str, Loader); 3] = [
    (Bert::MODEL_TYPE, EncoderEmbedder::load_as::<Bert>),
    (NomicBertEncoder::MODEL_TYPE, EncoderEmbedder::load_as::<NomicBertEncoder>),
    (ModernBertEncoder::MODEL_TYPE, EncoderEmbedder::load_as::<ModernBertEncoder>),
];

/// Class-name prefixes in config.json `architectures`, for configs without `model_type`.
const CLASS_PREFIXES: [(&str, &str); 3] = [("NomicBert", "nomic_bert"), ("ModernBert", "modernbert"), ("Bert", "bert")];

/// A transformer sentence encoder loaded from a model directory: BERT, NomicBERT
/// (CodeRankEmbed, nomic-embed-text) or ModernBERT (gte-modernbert), by config.json.
pub struct EncoderEmbedder {
    encoder: Box<dyn Encoder>,
    device: Device,
    architecture: &'static str,
    pipeline: TextPipeline,
    name: String,
    dim: usize,
    identity: ModelId,
}

impl EncoderEmbedder {
    /// Loads the model in `dir` with its own settings on `device`.
    pub fn load(dir: &Path, device: DeviceChoice) -> Result<Self, EmbedError> {
        Self::load_with(dir, &EmbedOptions { device, ..EmbedOptions::default() })
    }

    /// Loads the model in `dir`, with `options` overriding what its files say; the
    /// architecture is config.json's `model_type` (or `architectures`).
    pub fn load_with(dir: &Path, options: &EmbedOptions) -> Result<Self, EmbedError> {
        #[derive(Deserialize)]
        struct Kind {
            model_type: Option<String>,
            #[serde(default)]
            architectures: Vec<String>,
        }
        let files = ModelFiles::check(dir)?;
        let kind: Kind = read_json(&files.config)?.ok_or_else(|| missing(dir, "config.json"))?;
        let model_type = kind.model_type.clone().or_else(|| {
            let class = kind.architectures.first()?;
            CLASS_PREFIXES.iter().find(|(prefix, _)| class.starts_with(prefix)).map(|(_, t)| t.to_string())
        });
        match LOADERS.iter().find(|(t, _)| model_type.as_deref() == Some(*t)) {
            Some((_, load)) => load(dir, &files, options),
            None => {
                let named = kind.model_type.or_else(|| kind.architectures.first().cloned());
                Err(EmbedError::Unsupported(format!(
                    "model type {:?} in {}: grove can run {}",
                    named.as_deref().unwrap_or("none given"),
                    files.config.display(),
                    SUPPORTED_MODEL_TYPES.join(", ")
                )))
            }
        }
    }

    /// The architecture that runs, as config.json names it: "bert", "nomic_bert" or "modernbert".
    pub fn architecture(&self) -> &'static str {
        self.architecture
    }

    fn load_as<A: Architecture>(dir: &Path, files: &ModelFiles, options: &EmbedOptions) -> Result<Self, EmbedError> {
        let config: A::Config = read_json(&files.config)?.ok_or_else(|| missing(dir, "config.json"))?;
        let shape = A::shape(&config)
            .map_err(|why| EmbedError::Unsupported(format!("{} model {}: {why}", A::NAME, files.config.display())))?;
        let sentence = SentenceConfig::read(dir)?;
        let device = options.device.candle_device()?;

        let max_tokens =
            options.max_tokens.or(sentence.max_seq_length).unwrap_or(shape.max_positions).min(shape.max_positions);
        if max_tokens < 2 {
            return Err(EmbedError::Unsupported(format!(
                "max tokens {max_tokens}: a text needs at least its 2 special tokens"
            )));
        }
        let query_prefix = options.query_prefix.clone().unwrap_or(sentence.query_prefix);
        let document_prefix = options.document_prefix.clone().unwrap_or(sentence.document_prefix);

        let identity = IdentityParts {
            architecture: A::MODEL_TYPE,
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
        let encoder = A::load(vars, &config, max_tokens).map_err(|e| EmbedError::InvalidModel {
            path: files.weights.clone(),
            reason: format!("not a {} checkpoint matching config.json: {e}", A::NAME),
        })?;

        let pipeline = TextPipeline::new(
            &files.tokenizer,
            PipelineSettings {
                pooling: sentence.pooling,
                max_tokens,
                query_prefix,
                document_prefix,
                batch: options.batch,
                pad_id: shape.pad_id,
            },
        )?;
        Ok(EncoderEmbedder {
            encoder: Box::new(encoder),
            device,
            architecture: A::MODEL_TYPE,
            pipeline,
            name: model_name(dir),
            dim: shape.hidden_size,
            identity,
        })
    }
}

impl Embedder for EncoderEmbedder {
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
        self.pipeline.embed(texts, role, |batch| self.encoder.forward(batch, &self.device))
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
    fn every_supported_model_type_has_a_loader() {
        assert_eq!(LOADERS.map(|(model_type, _)| model_type), SUPPORTED_MODEL_TYPES);
    }

    #[test]
    fn names_from_plain_and_cache_paths() {
        assert_eq!(model_name(Path::new("/m/all-MiniLM-L6-v2")), "all-MiniLM-L6-v2");
        assert_eq!(
            model_name(Path::new("/h/hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/c9745ed1")),
            "all-MiniLM-L6-v2"
        );
    }
}
