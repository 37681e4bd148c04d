//! Model identity: one hash that changes whenever anything that shapes a vector changes,
//! so cached embeddings are keyed by it and never reused across models or settings.

use crate::Pooling;

/// The identity of a loaded model and its settings (blake3 over everything that shapes a
/// vector: weights, tokenizer, config, pooling, normalisation, max tokens, prefixes and
/// the architecture that runs them).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelId(pub [u8; 32]);

impl ModelId {
    /// Lower-case hex, 64 characters.
    pub fn hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }

    /// The embedding cache key of a document text: blake3(model identity ‖ text). The same
    /// chunk text under the same model is never embedded twice, in any revision.
    pub fn cache_key(&self, text: &str) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new_derive_key("grove-embed 2026 embedding cache key");
        hasher.update(&self.0);
        hasher.update(text.as_bytes());
        *hasher.finalize().as_bytes()
    }
}

impl std::fmt::Debug for ModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModelId({})", self.hex())
    }
}

impl std::fmt::Display for ModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.hex())
    }
}

/// Everything a [`ModelId`] covers, gathered while loading.
#[derive(Clone, Debug)]
pub(crate) struct IdentityParts<'a> {
    pub architecture: &'a str,
    pub weights: [u8; 32],
    pub tokenizer: [u8; 32],
    pub config: [u8; 32],
    pub pooling: Pooling,
    pub normalize: bool,
    pub max_tokens: usize,
    pub query_prefix: &'a str,
    pub document_prefix: &'a str,
}

impl IdentityParts<'_> {
    pub fn model_id(&self) -> ModelId {
        // Every variable-length field is length-prefixed so that no two different
        // settings can produce the same byte stream.
        let mut hasher = blake3::Hasher::new_derive_key("grove-embed 2026 model identity v1");
        let mut field = |bytes: &[u8]| {
            hasher.update(&(bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        field(self.architecture.as_bytes());
        field(&self.weights);
        field(&self.tokenizer);
        field(&self.config);
        field(match self.pooling {
            Pooling::Mean => b"mean",
            Pooling::Cls => b"cls",
        });
        field(&[u8::from(self.normalize)]);
        field(&(self.max_tokens as u64).to_le_bytes());
        field(self.query_prefix.as_bytes());
        field(self.document_prefix.as_bytes());
        ModelId(*hasher.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> IdentityParts<'static> {
        IdentityParts {
            architecture: "bert",
            weights: [1; 32],
            tokenizer: [2; 32],
            config: [3; 32],
            pooling: Pooling::Mean,
            normalize: true,
            max_tokens: 256,
            query_prefix: "",
            document_prefix: "",
        }
    }

    #[test]
    fn every_field_changes_the_identity() {
        let id = base().model_id();
        let variants = [
            IdentityParts { architecture: "nomic_bert", ..base() },
            IdentityParts { weights: [9; 32], ..base() },
            IdentityParts { tokenizer: [9; 32], ..base() },
            IdentityParts { config: [9; 32], ..base() },
            IdentityParts { pooling: Pooling::Cls, ..base() },
            IdentityParts { normalize: false, ..base() },
            IdentityParts { max_tokens: 128, ..base() },
            IdentityParts { query_prefix: "q: ", ..base() },
            IdentityParts { document_prefix: "d: ", ..base() },
        ];
        let mut seen = vec![id];
        for v in &variants {
            let other = v.model_id();
            assert!(!seen.contains(&other), "{v:?} collides");
            seen.push(other);
        }
        assert_eq!(base().model_id(), id, "identity is deterministic");
    }

    #[test]
    fn prefixes_are_not_ambiguous() {
        // "ab" + "" and "a" + "b" must differ.
        let a = IdentityParts { query_prefix: "ab", document_prefix: "", ..base() };
        let b = IdentityParts { query_prefix: "a", document_prefix: "b", ..base() };
        assert_ne!(a.model_id(), b.model_id());
    }

    #[test]
    fn cache_key_depends_on_model_and_text() {
        let id = base().model_id();
        let other = IdentityParts { max_tokens: 512, ..base() }.model_id();
        assert_ne!(id.cache_key("fn main() {}"), id.cache_key("fn main() { }"));
        assert_ne!(id.cache_key("fn main() {}"), other.cache_key("fn main() {}"));
        assert_eq!(id.cache_key("x"), id.cache_key("x"));
        assert_eq!(id.hex().len(), 64);
    }
}
