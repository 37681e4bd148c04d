//! What every encoder architecture shares: tokenizing with the model's limit and
//! prefixes, length-bucketed batches, pooling and L2 normalisation. An architecture only
//! supplies the forward pass from token ids to token vectors.

use crate::batching::{plan_batches, BatchLimits};
use crate::{EmbedError, Pooling, TextRole};
use candle_core::{Device, Tensor};
use std::path::Path;
use tokenizers::{Encoding, Tokenizer, TruncationParams};

/// Tokenizer and pooling settings of one loaded model.
pub(crate) struct TextPipeline {
    /// Truncates at `max_tokens`; pads nothing (batches are padded here, per bucket).
    tokenizer: Tokenizer,
    /// The same tokenizer without truncation, to count a text's full length.
    counter: Tokenizer,
    pub pooling: Pooling,
    pub max_tokens: usize,
    pub query_prefix: String,
    pub document_prefix: String,
    pub batch: BatchLimits,
    pad_id: u32,
}

/// One batch ready for a forward pass: its texts' tokens packed end to end (text `t` is
/// tokens `lengths[..t].sum()..` of `ids` and `type_ids`), no padding.
pub(crate) struct BatchInput {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    pub lengths: Vec<usize>,
    pad_id: u32,
}

/// `[texts, longest]` u32 tensors of a batch padded to its longest text, for forward
/// passes on candle's ops: ids, type ids and the 0/1 attention mask.
pub(crate) struct PaddedInput {
    pub ids: Tensor,
    pub type_ids: Tensor,
    pub mask: Tensor,
}

impl BatchInput {
    #[cfg(test)]
    pub fn for_tests(ids: Vec<u32>, type_ids: Vec<u32>, lengths: Vec<usize>) -> Self {
        BatchInput { ids, type_ids, lengths, pad_id: 0 }
    }

    pub fn padded(&self, device: &Device) -> candle_core::Result<PaddedInput> {
        let longest = self.lengths.iter().copied().max().unwrap_or(0);
        let cells = self.lengths.len() * longest;
        let (mut ids, mut type_ids, mut mask) =
            (Vec::with_capacity(cells), Vec::with_capacity(cells), Vec::with_capacity(cells));
        let mut start = 0;
        for &len in &self.lengths {
            let pad = longest - len;
            ids.extend_from_slice(&self.ids[start..start + len]);
            ids.extend(std::iter::repeat_n(self.pad_id, pad));
            type_ids.extend_from_slice(&self.type_ids[start..start + len]);
            type_ids.extend(std::iter::repeat_n(0, pad));
            mask.extend(std::iter::repeat_n(1u32, len).chain(std::iter::repeat_n(0, pad)));
            start += len;
        }
        let shape = (self.lengths.len(), longest);
        Ok(PaddedInput {
            ids: Tensor::from_vec(ids, shape, device)?,
            type_ids: Tensor::from_vec(type_ids, shape, device)?,
            mask: Tensor::from_vec(mask, shape, device)?,
        })
    }
}

/// Where each text starts when texts of `lengths` tokens are packed end to end.
pub(crate) fn starts(lengths: &[usize]) -> Vec<usize> {
    lengths
        .iter()
        .scan(0, |next, &len| {
            let start = *next;
            *next += len;
            Some(start)
        })
        .collect()
}

/// What a forward pass returns: `hidden`-wide token vectors, text `t`'s `lengths[t]`
/// rows starting at row `starts[t]` (padding rows, if any, are never read).
pub(crate) struct TokenVectors {
    pub data: Vec<f32>,
    pub hidden: usize,
    pub starts: Vec<usize>,
}

impl TokenVectors {
    /// Rows of texts packed end to end.
    pub fn packed(data: Vec<f32>, hidden: usize, lengths: &[usize]) -> Self {
        TokenVectors { data, hidden, starts: starts(lengths) }
    }

    /// A `[texts, longest, hidden]` tensor of a padded batch.
    pub fn padded(tensor: &Tensor) -> candle_core::Result<Self> {
        let (texts, longest, hidden) = tensor.dims3()?;
        Ok(TokenVectors { data: to_vec(tensor)?, hidden, starts: (0..texts).map(|t| t * longest).collect() })
    }
}

/// A tensor's elements as `f32`, in row-major order.
pub(crate) fn to_vec(t: &Tensor) -> candle_core::Result<Vec<f32>> {
    t.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1::<f32>()
}

pub(crate) struct PipelineSettings {
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
        forward: impl Fn(&BatchInput) -> candle_core::Result<TokenVectors>,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self.encode(texts, role)?;
        let lengths: Vec<usize> = encodings.iter().map(Encoding::len).collect();
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for batch in plan_batches(&lengths, self.batch) {
            let input = self.batch_input(&encodings, &batch);
            let tokens = forward(&input)?;
            if tokens.starts.len() != batch.len() {
                return Err(EmbedError::Candle(format!(
                    "model returned {} texts' vectors for {} texts",
                    tokens.starts.len(),
                    batch.len()
                )));
            }
            for (t, index) in batch.into_iter().enumerate() {
                out[index] = pool_and_normalize(&tokens, t, input.lengths[t], self.pooling)?;
            }
        }
        Ok(out)
    }

    fn batch_input(&self, encodings: &[Encoding], batch: &[usize]) -> BatchInput {
        let tokens = batch.iter().map(|&i| encodings[i].len()).sum();
        let mut input = BatchInput {
            ids: Vec::with_capacity(tokens),
            type_ids: Vec::with_capacity(tokens),
            lengths: Vec::with_capacity(batch.len()),
            pad_id: self.pad_id,
        };
        for &i in batch {
            let e = &encodings[i];
            input.ids.extend_from_slice(e.get_ids());
            input.type_ids.extend_from_slice(e.get_type_ids());
            input.lengths.push(e.len());
        }
        input
    }
}

/// Text `t`'s `len` token vectors → one unit vector.
fn pool_and_normalize(tokens: &TokenVectors, t: usize, len: usize, pooling: Pooling) -> Result<Vec<f32>, EmbedError> {
    let h = tokens.hidden;
    let rows = tokens.data.get(tokens.starts[t] * h..(tokens.starts[t] + len) * h).ok_or_else(|| {
        EmbedError::Candle(format!("model returned {} values, too few for text {t}'s {len} tokens", tokens.data.len()))
    })?;
    let mut pooled: Vec<f32> = match pooling {
        Pooling::Mean => {
            // Summed in f64: the mean of a few hundred rows keeps every f32 bit that way.
            let mut sum = vec![0f64; h];
            for row in rows.chunks_exact(h) {
                for (s, &x) in sum.iter_mut().zip(row) {
                    *s += f64::from(x);
                }
            }
            // As sentence-transformers: the count is clamped so an empty text is 0, not NaN.
            let count = (len as f64).max(1e-9);
            sum.iter().map(|s| (s / count) as f32).collect()
        }
        Pooling::Cls => rows.get(..h).map(<[f32]>::to_vec).unwrap_or_else(|| vec![0.0; h]),
    };
    // As torch.nn.functional.normalize: eps 1e-12 keeps a zero vector finite.
    let norm = pooled.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt().max(1e-12);
    for x in &mut pooled {
        *x = (f64::from(*x) / norm) as f32;
    }
    Ok(pooled)
}
