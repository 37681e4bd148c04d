//! Where the model comes from: an explicit directory, `GROVE_MODEL_DIR`, the local
//! Hugging Face cache, or (feature `download`) the hub itself.

use crate::model::{problem_with_dir, REQUIRED_FILES};
use crate::EmbedError;
use std::path::{Path, PathBuf};

/// The model grove uses when none is named.
pub const DEFAULT_MODEL_REPO: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// Environment variable naming a model directory.
pub const MODEL_DIR_ENV: &str = "GROVE_MODEL_DIR";

/// Sentence-transformers files fetched beside the required ones when present.
#[cfg_attr(not(feature = "download"), allow(dead_code))]
const OPTIONAL_FILES: [&str; 5] = [
    "sentence_bert_config.json",
    "modules.json",
    "1_Pooling/config.json",
    "config_sentence_transformers.json",
    "tokenizer_config.json",
];

/// How a model directory was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelSource {
    /// Named by the caller (`--model-dir`).
    Explicit,
    /// Named by `GROVE_MODEL_DIR`.
    Env,
    /// Found in the local Hugging Face cache.
    HfCache,
    /// Downloaded from the Hugging Face hub just now (into its cache).
    Downloaded,
}

/// A model directory and how it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedModel {
    pub dir: PathBuf,
    pub source: ModelSource,
}

/// Finds the model directory. Order: `explicit` (`--model-dir`), then `GROVE_MODEL_DIR`,
/// then the default model in the local Hugging Face cache (`$HF_HUB_CACHE`, else
/// `$HF_HOME/hub`, else `~/.cache/huggingface/hub`), then, with feature `download`, a
/// download from the hub. A directory named explicitly or by the environment that holds
/// no model is an error, not a reason to look elsewhere. When nothing works the error
/// says how to provide a model and what was looked at.
pub fn resolve_model_dir(explicit: Option<&Path>) -> Result<ResolvedModel, EmbedError> {
    let env_dir = std::env::var_os(MODEL_DIR_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
    resolve_in(explicit, env_dir.as_deref(), hf_hub_cache_dir().as_deref(), download)
}

/// [`resolve_model_dir`] with its environment passed in.
fn resolve_in(
    explicit: Option<&Path>,
    env_dir: Option<&Path>,
    hub_cache: Option<&Path>,
    download: impl FnOnce(&mut Vec<String>) -> Option<PathBuf>,
) -> Result<ResolvedModel, EmbedError> {
    let named = [(explicit, ModelSource::Explicit, "--model-dir"), (env_dir, ModelSource::Env, MODEL_DIR_ENV)];
    for (dir, source, label) in named {
        if let Some(dir) = dir {
            return match problem_with_dir(dir) {
                None => Ok(ResolvedModel { dir: dir.to_path_buf(), source }),
                Some(problem) => {
                    Err(EmbedError::ModelNotFound { attempts: vec![format!("{label} {}: {problem}", dir.display())] })
                }
            };
        }
    }
    let mut attempts = vec!["--model-dir: not given".to_string(), format!("{MODEL_DIR_ENV}: not set")];
    match hub_cache {
        Some(hub) => match find_in_hf_cache(hub, DEFAULT_MODEL_REPO) {
            Ok(dir) => return Ok(ResolvedModel { dir, source: ModelSource::HfCache }),
            Err(why) => attempts.push(format!("Hugging Face cache {}: {why}", hub.display())),
        },
        None => attempts.push("Hugging Face cache: no HF_HUB_CACHE, HF_HOME or HOME".into()),
    }
    match download(&mut attempts) {
        Some(dir) => Ok(ResolvedModel { dir, source: ModelSource::Downloaded }),
        None => Err(EmbedError::ModelNotFound { attempts }),
    }
}

/// The hub cache directory as huggingface_hub computes it.
fn hf_hub_cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("HF_HUB_CACHE") {
        return Some(dir);
    }
    if let Some(home) = var("HF_HOME") {
        return Some(home.join("hub"));
    }
    let cache = var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache")))?;
    Some(cache.join("huggingface").join("hub"))
}

/// The snapshot directory of `repo` in a hub cache: the one `refs/main` names, else any
/// complete snapshot (in name order, for determinism).
fn find_in_hf_cache(hub: &Path, repo: &str) -> Result<PathBuf, String> {
    let repo_dir = hub.join(format!("models--{}", repo.replace('/', "--")));
    let snapshots = repo_dir.join("snapshots");
    if let Ok(rev) = std::fs::read_to_string(repo_dir.join("refs").join("main")) {
        let dir = snapshots.join(rev.trim());
        if !rev.trim().is_empty() && problem_with_dir(&dir).is_none() {
            return Ok(dir);
        }
    }
    let entries = std::fs::read_dir(&snapshots).map_err(|_| format!("no {}", snapshots.display()))?;
    let mut candidates: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    candidates.sort();
    candidates
        .into_iter()
        .find(|dir| problem_with_dir(dir).is_none())
        .ok_or_else(|| format!("no snapshot under {} holds {}", snapshots.display(), REQUIRED_FILES.join(", ")))
}

#[cfg(feature = "download")]
fn download(attempts: &mut Vec<String>) -> Option<PathBuf> {
    match download_default_model() {
        Ok(dir) => Some(dir),
        Err(e) => {
            attempts.push(format!("download of {DEFAULT_MODEL_REPO} from the Hugging Face hub: {e}"));
            None
        }
    }
}

#[cfg(feature = "download")]
fn download_default_model() -> Result<PathBuf, String> {
    let api = hf_hub::api::sync::ApiBuilder::from_env().with_progress(false).build().map_err(|e| e.to_string())?;
    let repo = api.model(DEFAULT_MODEL_REPO.to_string());
    let mut dir = None;
    for file in REQUIRED_FILES {
        let path = repo.get(file).map_err(|e| format!("{file}: {e}"))?;
        dir = path.parent().map(Path::to_path_buf);
    }
    for file in OPTIONAL_FILES {
        // Absent side files only mean defaults (mean pooling, the tokenizer's limit), but
        // all-MiniLM-L6-v2 has them all, so a failure here is worth surfacing.
        repo.get(file).map_err(|e| format!("{file}: {e}"))?;
    }
    dir.ok_or_else(|| "the hub returned no path".to_string())
}

#[cfg(not(feature = "download"))]
fn download(attempts: &mut Vec<String>) -> Option<PathBuf> {
    attempts.push(format!(
        "download of {DEFAULT_MODEL_REPO}: not tried, this grove was built without the `download` feature"
    ));
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_dir(root: &Path) -> PathBuf {
        std::fs::create_dir_all(root).unwrap();
        for f in REQUIRED_FILES {
            std::fs::write(root.join(f), "{}").unwrap();
        }
        root.to_path_buf()
    }

    fn no_download(attempts: &mut Vec<String>) -> Option<PathBuf> {
        attempts.push("download: not tried in tests".into());
        None
    }

    #[test]
    fn explicit_wins_over_env_and_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let a = model_dir(&tmp.path().join("a"));
        let b = model_dir(&tmp.path().join("b"));
        let r = resolve_in(Some(&a), Some(&b), None, no_download).unwrap();
        assert_eq!(r, ResolvedModel { dir: a, source: ModelSource::Explicit });
        let r = resolve_in(None, Some(&b), None, no_download).unwrap();
        assert_eq!(r, ResolvedModel { dir: b, source: ModelSource::Env });
    }

    #[test]
    fn a_named_directory_without_a_model_is_an_error_not_a_fallback() {
        let tmp = tempfile::tempdir().unwrap();
        let empty = tmp.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let hub = tmp.path().join("hub");
        model_dir(&hub.join("models--sentence-transformers--all-MiniLM-L6-v2/snapshots/r1"));
        let err = resolve_in(None, Some(&empty), Some(&hub), no_download).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("GROVE_MODEL_DIR") && msg.contains("no config.json in it"), "{msg}");
        let err = resolve_in(Some(&tmp.path().join("nope")), None, Some(&hub), no_download).unwrap_err();
        assert!(err.to_string().contains("no such directory"), "{err}");
    }

    #[test]
    fn finds_the_snapshot_refs_main_names() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("models--sentence-transformers--all-MiniLM-L6-v2");
        model_dir(&repo.join("snapshots/aaa"));
        let wanted = model_dir(&repo.join("snapshots/bbb"));
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), "bbb\n").unwrap();
        let r = resolve_in(None, None, Some(tmp.path()), no_download).unwrap();
        assert_eq!(r, ResolvedModel { dir: wanted, source: ModelSource::HfCache });
        // Without refs/main, any complete snapshot will do.
        std::fs::remove_file(repo.join("refs/main")).unwrap();
        let r = resolve_in(None, None, Some(tmp.path()), no_download).unwrap();
        assert_eq!(r.dir, repo.join("snapshots/aaa"));
    }

    #[test]
    fn not_found_says_how_to_provide_a_model_and_what_was_tried() {
        let tmp = tempfile::tempdir().unwrap();
        let err = resolve_in(None, None, Some(tmp.path()), no_download).unwrap_err();
        assert!(matches!(err, EmbedError::ModelNotFound { .. }));
        let msg = err.to_string();
        for needle in [
            "--model-dir DIR",
            "GROVE_MODEL_DIR=DIR",
            "config.json, tokenizer.json and model.safetensors",
            "sentence-transformers/all-MiniLM-L6-v2",
            &tmp.path().display().to_string(),
            "download: not tried in tests",
        ] {
            assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
        }
    }

    #[test]
    fn a_successful_download_is_used() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = model_dir(&tmp.path().join("dl"));
        let r = resolve_in(None, None, None, |_| Some(dir.clone())).unwrap();
        assert_eq!(r.source, ModelSource::Downloaded);
    }
}
