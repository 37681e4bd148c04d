//! What every encoder architecture shares: tokenizing with the model's limit and
//! prefixes, length-bucketed batches, pooling and L2 normalisation. An architecture only
//! supplies the forward pass from token ids to token vectors.

use crate::batching::{plan_batches, BatchLimits};
use crate::{EmbedError, Pooling, TextRole};
use candle_core::{DType, Device, IndexOp, Tensor};
use std::path::Path;
use tokenizers::{Encoding, Tokenizer, TruncationParams};

/// Tokenizer and pooling settings of one loaded model.
pub(crate) struct TextPipeline {
    /// Truncates at `max_tokens`; pads nothing (batches are padded here, per bucket).
    tokenizer: Tokenizer,
    /// The same tokenizer without truncation, to count a text's full length.
    counter: Tokenizer,
    pub device: Device,
    pub pooling: Pooling,
    pub max_tokens: usize,
    pub query_prefix: String,
    pub document_prefix: String,
    pub batch: BatchLimits,
    pad_id: u32,
}

/// One batch ready for a forward pass: `[texts, longest]` u32 tensors.
pub(crate) struct BatchInput {
    pub ids: Tensor,
    pub type_ids: Tensor,
    pub mask: Tensor,
}

pub(crate) struct PipelineSettings {
    pub device: Device,
    pub pooling: Pooling,
    pub max_tokens: usize,
    pub query_prefix: String,
    pub document_prefix: String,
    pub batch: BatchLimits,
    pub pad_id: u32,
}

impl TextPipeline {
    pub fn new(tokenizer_path: &Path, settings: PipelineSettings) -> Result<Self, EmbedError> {
        let mut counter = Tokenizer::from_file(tokenizer_path)
            .map_err(|e| EmbedError::InvalidModel { path: tokenizer_path.to_path_buf(), reason: e.to_string() })?;
        // tokenizer.json files often carry the training-time truncation and fixed padding
        // (MiniLM: 128 tokens, padded to 128); sentence-transformers overrides both.
        counter.with_padding(None);
        counter.with_truncation(None).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let mut tokenizer = counter.clone();
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: settings.max_tokens, ..Default::default() }))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        Ok(TextPipeline {
            tokenizer,
            counter,
            device: settings.device,
            pooling: settings.pooling,
            max_tokens: settings.max_tokens,
            query_prefix: settings.query_prefix,
            document_prefix: settings.document_prefix,
            batch: settings.batch,
            pad_id: settings.pad_id,
        })
    }

    fn prefix(&self, role: TextRole) -> &str {
        match role {
            TextRole::Query => &self.query_prefix,
            TextRole::Document => &self.document_prefix,
        }
    }

    /// Tokens of `text` embedded as a document (prefix and special tokens included),
    /// before truncation.
    pub fn count_tokens(&self, text: &str) -> Result<usize, EmbedError> {
        let input = format!("{}{text}", self.document_prefix);
        let encoding =
            self.counter.encode_fast(input.as_str(), true).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        Ok(encoding.len())
    }

    fn encode(&self, texts: &[&str], role: TextRole) -> Result<Vec<Encoding>, EmbedError> {
        let prefix = self.prefix(role);
        let result = if prefix.is_empty() {
            self.tokenizer.encode_batch_fast(texts.to_vec(), true)
        } else {
            let prefixed: Vec<String> = texts.iter().map(|t| format!("{prefix}{t}")).collect();
            let refs: Vec<&str> = prefixed.iter().map(String::as_str).collect();
            self.tokenizer.encode_batch_fast(refs, true)
        };
        result.map_err(|e| EmbedError::Tokenizer(e.to_string()))
    }

    /// Embeds `texts` in input order: tokenize, bucket by length, run `forward` on each
    /// batch (token ids → `[texts, tokens, dim]`), pool, L2-normalise.
    pub fn embed(
        &self,
        texts: &[&str],
        role: TextRole,
        forward: impl Fn(&BatchInput) -> candle_core::Result<Tensor>,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self.encode(texts, role)?;
        let lengths: Vec<usize> = encodings.iter().map(Encoding::len).collect();
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for batch in plan_batches(&lengths, self.batch) {
            let input = self.batch_input(&encodings, &batch)?;
            let hidden = forward(&input)?;
            let vectors = pool_and_normalize(&hidden, &input.mask, self.pooling)?.to_vec2::<f32>()?;
            if vectors.len() != batch.len() {
                return Err(EmbedError::Candle(format!(
                    "model returned {} vectors for {} texts",
                    vectors.len(),
                    batch.len()
                )));
            }
            for (index, vector) in batch.into_iter().zip(vectors) {
                out[index] = vector;
            }
        }
        Ok(out)
    }

    fn batch_input(&self, encodings: &[Encoding], batch: &[usize]) -> Result<BatchInput, EmbedError> {
        let longest = batch.iter().map(|&i| encodings[i].len()).max().unwrap_or(0);
        let cells = batch.len() * longest;
        let mut ids = Vec::with_capacity(cells);
        let mut type_ids = Vec::with_capacity(cells);
        let mut mask = Vec::with_capacity(cells);
        for &i in batch {
            let e = &encodings[i];
            let pad = longest - e.len();
            ids.extend_from_slice(e.get_ids());
            ids.extend(std::iter::repeat_n(self.pad_id, pad));
            type_ids.extend_from_slice(e.get_type_ids());
            type_ids.extend(std::iter::repeat_n(0, pad));
            mask.extend_from_slice(e.get_attention_mask());
            mask.extend(std::iter::repeat_n(0, pad));
        }
        let shape = (batch.len(), longest);
        Ok(BatchInput {
            ids: Tensor::from_vec(ids, shape, &self.device)?,
            type_ids: Tensor::from_vec(type_ids, shape, &self.device)?,
            mask: Tensor::from_vec(mask, shape, &self.device)?,
        })
    }
}

/// `[texts, tokens, dim]` token vectors → `[texts, dim]` unit vectors.
fn pool_and_normalize(hidden: &Tensor, mask: &Tensor, pooling: Pooling) -> candle_core::Result<Tensor> {
    let pooled = match pooling {
        Pooling::Mean => {
            let mask = mask.to_dtype(hidden.dtype())?.unsqueeze(2)?;
            let sum = hidden.broadcast_mul(&mask)?.sum(1)?;
            // As sentence-transformers: the count is clamped so an all-padding row is 0, not NaN.
            let count = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
            sum.broadcast_div(&count)?
        }
        Pooling::Cls => hidden.i((.., 0))?.contiguous()?,
    };
    let pooled = pooled.to_dtype(DType::F32)?;
    // As torch.nn.functional.normalize: eps 1e-12 keeps a zero vector finite.
    let norm = pooled.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12f32, f32::MAX)?;
    pooled.broadcast_div(&norm)
}
