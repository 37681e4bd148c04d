//! BERT encoders (config.json `model_type: "bert"`), e.g. all-MiniLM-L6-v2: the
//! checkpoints and config of candle-transformers' `BertModel`, computing exactly what it
//! computes with the shared fused layers (separate Q/K/V weights are fused at load).

use crate::layers::{encoder_root, layer_norm, linear, padding_bias, Attention};
use crate::model::{Architecture, Encoder, EncoderShape};
use crate::pipeline::BatchInput;
use candle_core::{Module, Tensor};
use candle_nn::{embedding, Embedding, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::bert::{Config, HiddenAct};

pub(crate) struct BertEncoder {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    hidden: usize,
    activation: HiddenAct,
}

struct Layer {
    attention: Attention,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

impl Architecture for BertEncoder {
    const MODEL_TYPE: &'static str = "bert";
    const NAME: &'static str = "BERT";
    type Config = Config;

    fn shape(config: &Config) -> Result<EncoderShape, String> {
        Ok(EncoderShape {
            hidden_size: config.hidden_size,
            // Absolute position embeddings end here.
            max_positions: config.max_position_embeddings,
            pad_id: u32::try_from(config.pad_token_id).unwrap_or(0),
        })
    }

    fn load(vb: VarBuilder, config: &Config, _max_tokens: usize) -> candle_core::Result<Self> {
        let vb = encoder_root(vb, "embeddings.word_embeddings.weight", &["bert"]);
        let h = config.hidden_size;
        let e = vb.pp("embeddings");
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(vb.pp(format!("encoder.layer.{i}")), config))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(BertEncoder {
            word: embedding(config.vocab_size, h, e.pp("word_embeddings"))?,
            position: embedding(config.max_position_embeddings, h, e.pp("position_embeddings"))?,
            token_type: embedding(config.type_vocab_size, h, e.pp("token_type_embeddings"))?,
            embedding_norm: layer_norm(h, config.layer_norm_eps, true, e.pp("LayerNorm"))?,
            layers,
            hidden: h,
            activation: config.hidden_act,
        })
    }
}

impl Encoder for BertEncoder {
    fn forward(&self, batch: &BatchInput) -> candle_core::Result<Tensor> {
        let (n, len) = batch.ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, batch.ids.device())?;
        let x = self
            .word
            .forward(&batch.ids)?
            .add(&self.token_type.forward(&batch.type_ids)?)?
            .broadcast_add(&self.position.forward(&positions)?)?;
        let mut x = self.embedding_norm.forward(&x.reshape((n * len, self.hidden))?)?;
        let bias = padding_bias(&batch.mask)?;
        for layer in &self.layers {
            let attended = layer.attention.forward(&x, &bias, None, n, len)?;
            let attended = layer.attention_norm.forward(&attended.add(&x)?)?;
            let inner = layer.intermediate.forward(&attended)?;
            let inner = match self.activation {
                HiddenAct::Gelu => inner.gelu_erf()?,
                HiddenAct::GeluApproximate => inner.gelu()?,
                HiddenAct::Relu => inner.relu()?,
            };
            x = layer.output_norm.forward(&layer.output.forward(&inner)?.add(&attended)?)?;
        }
        x.reshape((n, len, self.hidden))
    }
}

impl Layer {
    fn load(vb: VarBuilder, config: &Config) -> candle_core::Result<Self> {
        let h = config.hidden_size;
        let eps = config.layer_norm_eps;
        let attention = vb.pp("attention");
        let part = |name: &str| -> candle_core::Result<(Tensor, Tensor)> {
            let p = attention.pp("self").pp(name);
            Ok((p.get((h, h), "weight")?, p.get(h, "bias")?))
        };
        let (qw, qb) = part("query")?;
        let (kw, kb) = part("key")?;
        let (vw, vb_) = part("value")?;
        let qkv_weight = Tensor::cat(&[qw, kw, vw], 0)?;
        let qkv_bias = Tensor::cat(&[qb, kb, vb_], 0)?;
        let out = linear(h, h, true, attention.pp("output.dense"))?;
        Ok(Layer {
            attention: Attention::new(qkv_weight, Some(qkv_bias), out, config.num_attention_heads)?,
            attention_norm: layer_norm(h, eps, true, attention.pp("output.LayerNorm"))?,
            intermediate: linear(h, config.intermediate_size, true, vb.pp("intermediate.dense"))?,
            output: linear(config.intermediate_size, h, true, vb.pp("output.dense"))?,
            output_norm: layer_norm(h, eps, true, vb.pp("output.LayerNorm"))?,
        })
    }
}
