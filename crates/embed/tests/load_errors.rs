//! Loading fails with errors that name the file and the fix; nothing here needs a model.

use grove_embed::{load_model, EmbedError};

#[test]
fn missing_weights_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), r#"{"model_type": "bert"}"#).unwrap();
    std::fs::write(dir.path().join("tokenizer.json"), "{}").unwrap();
    std::fs::write(dir.path().join("pytorch_model.bin"), "").unwrap();
    let err = load_model(dir.path()).err().expect("no weights");
    assert!(matches!(err, EmbedError::MissingFile { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("model.safetensors") && msg.contains("pytorch_model.bin"), "{msg}");
}

#[test]
fn missing_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_model(&dir.path().join("absent")).err().expect("no directory");
    assert!(err.to_string().contains("not a directory"), "{err}");
}

#[test]
fn unknown_architecture_names_itself_and_what_is_supported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), r#"{"model_type": "llama"}"#).unwrap();
    std::fs::write(dir.path().join("tokenizer.json"), "{}").unwrap();
    std::fs::write(dir.path().join("model.safetensors"), "").unwrap();
    let err = load_model(dir.path()).err().expect("unsupported");
    let msg = err.to_string();
    assert!(msg.contains("\"llama\"") && msg.contains("bert"), "{msg}");
}

#[test]
fn corrupt_weights_are_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // A real BERT config and a weights file that is not safetensors.
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"model_type":"bert","vocab_size":10,"hidden_size":4,"num_hidden_layers":1,
            "num_attention_heads":1,"intermediate_size":8,"hidden_act":"gelu",
            "hidden_dropout_prob":0.1,"max_position_embeddings":16,"type_vocab_size":2,
            "initializer_range":0.02,"layer_norm_eps":1e-12,"pad_token_id":0}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("tokenizer.json"), "{}").unwrap();
    std::fs::write(dir.path().join("model.safetensors"), b"garbage").unwrap();
    let err = load_model(dir.path()).err().expect("corrupt");
    assert!(matches!(err, EmbedError::InvalidModel { .. }), "{err:?}");
    assert!(err.to_string().contains("model.safetensors"), "{err}");
}
