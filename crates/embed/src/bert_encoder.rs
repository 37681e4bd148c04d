//! A BERT checkpoint's weights ([`BertWeights`]) and the forward pass on candle's ops
//! ([`BertEncoder`]), which runs on any candle device (CUDA included). On the CPU grove
//! runs `bert_cpu` instead, and this pass is its reference in the tests. Compared with
//! candle-transformers' `BertModel` (same checkpoints, same config, same result):
//! - one fused Q/K/V matmul per layer instead of three, with the 1/√d attention scale
//!   folded into the query weights at load;
//! - one copy to split heads instead of three `contiguous()` calls;
//! - candle's fused `softmax_last_dim` instead of a four-pass softmax;
//! - activations kept as `[tokens, hidden]` matrices so every linear is one plain gemm.

use crate::kernels::Activation;
use candle_core::{DType, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::bert::{Config, HiddenAct};

/// Every tensor of a BERT encoder, by role, as the checkpoint stores them, except that
/// Q, K and V are concatenated (Q scaled by 1/√d).
pub(crate) struct BertWeights {
    pub word: Tensor,
    pub position: Tensor,
    pub token_type: Tensor,
    pub embedding_norm: NormWeights,
    pub layers: Vec<LayerWeights>,
    pub heads: usize,
    pub head_dim: usize,
    pub activation: Activation,
    pub eps: f64,
}

pub(crate) struct LayerWeights {
    pub qkv: DenseWeights,
    pub attention_out: DenseWeights,
    pub attention_norm: NormWeights,
    pub intermediate: DenseWeights,
    pub output: DenseWeights,
    pub output_norm: NormWeights,
}

/// `[out, in]` weight and `[out]` bias.
pub(crate) struct DenseWeights {
    pub weight: Tensor,
    pub bias: Tensor,
}

pub(crate) struct NormWeights {
    pub gamma: Tensor,
    pub beta: Tensor,
}

impl BertWeights {
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
            .map(|i| LayerWeights::load(vb.pp(format!("encoder.layer.{i}")), config, head_dim))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(BertWeights {
            word: e.pp("word_embeddings").get((config.vocab_size, h), "weight")?,
            position: e.pp("position_embeddings").get((config.max_position_embeddings, h), "weight")?,
            token_type: e.pp("token_type_embeddings").get((config.type_vocab_size, h), "weight")?,
            embedding_norm: NormWeights::load(h, e.pp("LayerNorm"))?,
            layers,
            heads: config.num_attention_heads,
            head_dim,
            activation: match config.hidden_act {
                HiddenAct::Gelu => Activation::GeluErf,
                HiddenAct::GeluApproximate => Activation::GeluTanh,
                HiddenAct::Relu => Activation::Relu,
            },
            eps: config.layer_norm_eps,
        })
    }
}

impl LayerWeights {
    fn load(vb: VarBuilder, config: &Config, head_dim: usize) -> candle_core::Result<Self> {
        let h = config.hidden_size;
        let i = config.intermediate_size;
        let attention = vb.pp("attention");
        let part = |name: &str| DenseWeights::load(h, h, attention.pp("self").pp(name));
        let (q, k, v) = (part("query")?, part("key")?, part("value")?);
        let scale = 1.0 / (head_dim as f64).sqrt();
        Ok(LayerWeights {
            qkv: DenseWeights {
                weight: Tensor::cat(&[(q.weight * scale)?, k.weight, v.weight], 0)?,
                bias: Tensor::cat(&[(q.bias * scale)?, k.bias, v.bias], 0)?,
            },
            attention_out: DenseWeights::load(h, h, attention.pp("output.dense"))?,
            attention_norm: NormWeights::load(h, attention.pp("output.LayerNorm"))?,
            intermediate: DenseWeights::load(h, i, vb.pp("intermediate.dense"))?,
            output: DenseWeights::load(i, h, vb.pp("output.dense"))?,
            output_norm: NormWeights::load(h, vb.pp("output.LayerNorm"))?,
        })
    }
}

impl DenseWeights {
    fn load(input: usize, output: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(DenseWeights { weight: vb.get((output, input), "weight")?, bias: vb.get(output, "bias")? })
    }

    fn linear(&self) -> Linear {
        Linear::new(self.weight.clone(), Some(self.bias.clone()))
    }
}

impl NormWeights {
    fn load(size: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        // Older checkpoints name them gamma/beta, as candle-nn's layer_norm also accepts.
        let name = |names: [&'static str; 2]| names.into_iter().find(|n| vb.contains_tensor(n)).unwrap_or(names[0]);
        Ok(NormWeights { gamma: vb.get(size, name(["weight", "gamma"]))?, beta: vb.get(size, name(["bias", "beta"]))? })
    }

    fn layer_norm(&self, eps: f64) -> LayerNorm {
        LayerNorm::new(self.gamma.clone(), self.beta.clone(), eps)
    }
}

pub(crate) struct BertEncoder {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    activation: Activation,
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
    pub fn new(w: &BertWeights) -> candle_core::Result<Self> {
        let embedding = |t: &Tensor| -> candle_core::Result<Embedding> { Ok(Embedding::new(t.clone(), t.dims2()?.1)) };
        Ok(BertEncoder {
            word: embedding(&w.word)?,
            position: embedding(&w.position)?,
            token_type: embedding(&w.token_type)?,
            embedding_norm: w.embedding_norm.layer_norm(w.eps),
            layers: w
                .layers
                .iter()
                .map(|l| Layer {
                    qkv: l.qkv.linear(),
                    attention_out: l.attention_out.linear(),
                    attention_norm: l.attention_norm.layer_norm(w.eps),
                    intermediate: l.intermediate.linear(),
                    output: l.output.linear(),
                    output_norm: l.output_norm.layer_norm(w.eps),
                })
                .collect::<Vec<_>>(),
            heads: w.heads,
            head_dim: w.head_dim,
            activation: w.activation,
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
            Activation::GeluErf => inner.gelu_erf()?,
            Activation::GeluTanh => inner.gelu()?,
            Activation::Relu => inner.relu()?,
        };
        layer.output_norm.forward(&layer.output.forward(&inner)?.add(&attended)?)
    }
}
