//! The sentence-transformers files beside a model's weights: they say how token vectors
//! become one text vector (pooling), how long inputs may be and which prefixes to add.
//! All are optional; without them grove uses mean pooling, as most embedding models do.

use crate::{EmbedError, Pooling};
use serde::Deserialize;
use std::path::{Component, Path};

/// What the sentence-transformers side files of a model directory say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SentenceConfig {
    /// `max_seq_length` of sentence_bert_config.json, else tokenizer_config.json's
    /// `model_max_length` when it is a real limit.
    pub max_seq_length: Option<usize>,
    pub pooling: Pooling,
    pub query_prefix: String,
    pub document_prefix: String,
}

#[derive(Deserialize)]
struct Module {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    path: String,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

#[derive(Deserialize)]
struct TokenizerConfig {
    model_max_length: Option<f64>,
}

#[derive(Deserialize)]
struct SentenceTransformersConfig {
    #[serde(default)]
    prompts: std::collections::BTreeMap<String, String>,
}

impl SentenceConfig {
    pub fn read(dir: &Path) -> Result<Self, EmbedError> {
        let pooling = match read_json::<Vec<Module>>(&dir.join("modules.json"))? {
            Some(modules) => pooling_from_modules(dir, &modules)?,
            None => match read_json::<PoolingConfig>(&dir.join("1_Pooling/config.json"))? {
                Some(config) => pooling_mode(&dir.join("1_Pooling/config.json"), &config)?,
                None => Pooling::Mean,
            },
        };
        let max_seq_length = match read_json::<SentenceBertConfig>(&dir.join("sentence_bert_config.json"))? {
            Some(SentenceBertConfig { max_seq_length: Some(n) }) => Some(n),
            _ => read_json::<TokenizerConfig>(&dir.join("tokenizer_config.json"))?
                .and_then(|c| c.model_max_length)
                // transformers writes 1e30 for "no limit".
                .filter(|n| (1.0..1e6).contains(n))
                .map(|n| n as usize),
        };
        let prompts = read_json::<SentenceTransformersConfig>(&dir.join("config_sentence_transformers.json"))?
            .map(|c| c.prompts)
            .unwrap_or_default();
        let prompt = |names: &[&str]| names.iter().find_map(|n| prompts.get(*n).cloned()).unwrap_or_default();
        Ok(SentenceConfig {
            max_seq_length,
            pooling,
            query_prefix: prompt(&["query"]),
            document_prefix: prompt(&["document", "passage", "corpus"]),
        })
    }
}

fn pooling_from_modules(dir: &Path, modules: &[Module]) -> Result<Pooling, EmbedError> {
    let Some(module) = modules.iter().find(|m| m.kind.ends_with(".Pooling")) else {
        return Ok(Pooling::Mean);
    };
    let relative = Path::new(&module.path);
    if relative.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(EmbedError::InvalidModel {
            path: dir.join("modules.json"),
            reason: format!("pooling module path {:?} leaves the model directory", module.path),
        });
    }
    let path = dir.join(relative).join("config.json");
    match read_json::<PoolingConfig>(&path)? {
        Some(config) => pooling_mode(&path, &config),
        None => Err(EmbedError::MissingFile {
            dir: dir.to_path_buf(),
            file: format!("{}/config.json", module.path),
            hint: " (modules.json names a pooling module)".into(),
        }),
    }
}

fn pooling_mode(path: &Path, c: &PoolingConfig) -> Result<Pooling, EmbedError> {
    let others = c.pooling_mode_max_tokens
        || c.pooling_mode_mean_sqrt_len_tokens
        || c.pooling_mode_weightedmean_tokens
        || c.pooling_mode_lasttoken;
    match (c.pooling_mode_mean_tokens, c.pooling_mode_cls_token, others) {
        (true, false, false) => Ok(Pooling::Mean),
        (false, true, false) => Ok(Pooling::Cls),
        _ => Err(EmbedError::Unsupported(format!(
            "pooling in {}: grove supports mean or CLS pooling alone",
            path.display()
        ))),
    }
}

/// Reads a JSON file; `None` when it does not exist.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, EmbedError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(EmbedError::Io { path: path.to_path_buf(), source }),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| EmbedError::InvalidModel { path: path.to_path_buf(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn defaults_without_side_files() {
        let dir = tempfile::tempdir().unwrap();
        let c = SentenceConfig::read(dir.path()).unwrap();
        assert_eq!(c.pooling, Pooling::Mean);
        assert_eq!(c.max_seq_length, None);
        assert_eq!(c.query_prefix, "");
    }

    #[test]
    fn reads_cls_pooling_limit_and_prompts() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "modules.json",
            r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]"#,
        );
        write(
            dir.path(),
            "1_Pooling/config.json",
            r#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#,
        );
        write(dir.path(), "sentence_bert_config.json", r#"{"max_seq_length": 1024}"#);
        write(
            dir.path(),
            "config_sentence_transformers.json",
            r#"{"prompts": {"query": "Represent this query for searching relevant code: ", "passage": ""}}"#,
        );
        let c = SentenceConfig::read(dir.path()).unwrap();
        assert_eq!(c.pooling, Pooling::Cls);
        assert_eq!(c.max_seq_length, Some(1024));
        assert_eq!(c.query_prefix, "Represent this query for searching relevant code: ");
        assert_eq!(c.document_prefix, "");
    }

    #[test]
    fn tokenizer_limit_is_the_fallback_and_huge_means_none() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "tokenizer_config.json", r#"{"model_max_length": 512}"#);
        assert_eq!(SentenceConfig::read(dir.path()).unwrap().max_seq_length, Some(512));
        write(dir.path(), "tokenizer_config.json", r#"{"model_max_length": 1e30}"#);
        assert_eq!(SentenceConfig::read(dir.path()).unwrap().max_seq_length, None);
    }

    #[test]
    fn unsupported_pooling_and_bad_json_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "1_Pooling/config.json", r#"{"pooling_mode_max_tokens": true}"#);
        let err = SentenceConfig::read(dir.path()).unwrap_err();
        assert!(err.to_string().contains("mean or CLS"), "{err}");
        write(dir.path(), "modules.json", "[{");
        let err = SentenceConfig::read(dir.path()).unwrap_err();
        assert!(err.to_string().contains("modules.json"), "{err}");
    }

    #[test]
    fn pooling_path_may_not_escape() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "modules.json", r#"[{"path":"../x","type":"sentence_transformers.models.Pooling"}]"#);
        let err = SentenceConfig::read(dir.path()).unwrap_err();
        assert!(err.to_string().contains("leaves the model directory"), "{err}");
    }
}
