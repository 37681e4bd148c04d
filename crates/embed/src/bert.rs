//! A BERT encoder forward pass tuned for inference on few cores. It computes exactly what
//! candle-transformers' `BertModel` computes (the same checkpoints and config), with less
//! memory traffic:
//! - one fused Q/K/V matmul per layer instead of three, with the 1/√d attention scale
//!   folded into the query weights at load (a power of two for d = 64, so exact);
//! - one copy to split heads instead of three `contiguous()` calls;
//! - candle's fused `softmax_last_dim` instead of a four-pass softmax;
//! - activations kept as `[tokens, hidden]` matrices so every linear is one plain gemm.

use candle_core::{DType, Module, Tensor};
use candle_nn::{embedding, layer_norm, Embedding, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::bert::{Config, HiddenAct};

pub(crate) struct BertEncoder {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    activation: HiddenAct,
}

struct Layer {
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

impl BertEncoder {
    pub fn load(vb: VarBuilder, config: &Config) -> candle_core::Result<Self> {
        // Checkpoints name tensors with or without a `bert.` prefix.
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") { vb.pp("bert") } else { vb };
        let h = config.hidden_size;
        if config.num_attention_heads == 0 || h % config.num_attention_heads != 0 {
            candle_core::bail!(
                "hidden_size {h} is not a multiple of num_attention_heads {}",
                config.num_attention_heads
            );
        }
        let head_dim = h / config.num_attention_heads;
        let e = vb.pp("embeddings");
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(vb.pp(format!("encoder.layer.{i}")), config, head_dim))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(BertEncoder {
            word: embedding(config.vocab_size, h, e.pp("word_embeddings"))?,
            position: embedding(config.max_position_embeddings, h, e.pp("position_embeddings"))?,
            token_type: embedding(config.type_vocab_size, h, e.pp("token_type_embeddings"))?,
            embedding_norm: layer_norm(h, config.layer_norm_eps, e.pp("LayerNorm"))?,
            layers,
            heads: config.num_attention_heads,
            head_dim,
            activation: config.hidden_act,
        })
    }

    /// `[n, len]` token ids, type ids and 0/1 mask → `[n, len, hidden]` token vectors.
    pub fn forward(&self, ids: &Tensor, type_ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let (n, len) = ids.dims2()?;
        let hidden = self.heads * self.head_dim;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let x = self
            .word
            .forward(ids)?
            .add(&self.token_type.forward(type_ids)?)?
            .broadcast_add(&self.position.forward(&positions)?)?;
        let mut x = self.embedding_norm.forward(&x.reshape((n * len, hidden))?)?;
        // As transformers: padding gets the dtype's minimum before the softmax.
        let mask = mask.to_dtype(DType::F32)?;
        let bias = ((1.0 - mask)? * f64::from(f32::MIN))?.reshape((n, 1, 1, len))?;
        for layer in &self.layers {
            x = self.layer_forward(layer, &x, &bias, n, len)?;
        }
        x.reshape((n, len, hidden))
    }

    fn layer_forward(
        &self,
        layer: &Layer,
        x: &Tensor,
        bias: &Tensor,
        n: usize,
        len: usize,
    ) -> candle_core::Result<Tensor> {
        let (heads, d) = (self.heads, self.head_dim);
        // [n·len, 3·hidden] → [3, n, heads, len, d] in one copy.
        let qkv = layer.qkv.forward(x)?.reshape((n, len, 3, heads, d))?.permute((2, 0, 3, 1, 4))?.contiguous()?;
        let (q, k, v) = (qkv.get(0)?, qkv.get(1)?, qkv.get(2)?);
        let scores = q.matmul(&k.t()?)?.broadcast_add(bias)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((n * len, heads * d))?;
        let attended = layer.attention_norm.forward(&layer.attention_out.forward(&context)?.add(x)?)?;
        let inner = layer.intermediate.forward(&attended)?;
        let inner = match self.activation {
            HiddenAct::Gelu => inner.gelu_erf()?,
            HiddenAct::GeluApproximate => inner.gelu()?,
            HiddenAct::Relu => inner.relu()?,
        };
        layer.output_norm.forward(&layer.output.forward(&inner)?.add(&attended)?)
    }
}

impl Layer {
    fn load(vb: VarBuilder, config: &Config, head_dim: usize) -> candle_core::Result<Self> {
        let h = config.hidden_size;
        let i = config.intermediate_size;
        let attention = vb.pp("attention");
        let part = |name: &str| -> candle_core::Result<(Tensor, Tensor)> {
            let p = attention.pp("self").pp(name);
            Ok((p.get((h, h), "weight")?, p.get(h, "bias")?))
        };
        let (qw, qb) = part("query")?;
        let (kw, kb) = part("key")?;
        let (vw, vb_) = part("value")?;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let weight = Tensor::cat(&[(qw * scale)?, kw, vw], 0)?;
        let bias = Tensor::cat(&[(qb * scale)?, kb, vb_], 0)?;
        Ok(Layer {
            qkv: Linear::new(weight, Some(bias)),
            attention_out: linear(h, h, attention.pp("output.dense"))?,
            attention_norm: layer_norm(h, config.layer_norm_eps, attention.pp("output.LayerNorm"))?,
            intermediate: linear(h, i, vb.pp("intermediate.dense"))?,
            output: linear(i, h, vb.pp("output.dense"))?,
            output_norm: layer_norm(h, config.layer_norm_eps, vb.pp("output.LayerNorm"))?,
        })
    }
}

fn linear(input: usize, output: usize, vb: VarBuilder) -> candle_core::Result<Linear> {
    Ok(Linear::new(vb.get((output, input), "weight")?, Some(vb.get(output, "bias")?)))
}
