//! BERT encoders (config.json `model_type: "bert"`), e.g. all-MiniLM-L6-v2: the
//! checkpoints and config of candle-transformers' `BertModel`, computing exactly what it
//! computes with the shared fused layers (separate Q/K/V weights are fused at load). On
//! the CPU the same weights run the packed pass of `bert_cpu` instead.

use crate::bert_cpu::CpuBert;
use crate::layers::{encoder_root, layer_norm, linear, padding_bias, Attention};
use crate::model::{Architecture, Encoder, EncoderShape};
use crate::pipeline::{BatchInput, PaddedInput, TokenVectors};
use candle_core::{Module, Tensor};
use candle_nn::{embedding, Embedding, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::bert::{Config, HiddenAct};

/// A loaded BERT: the packed CPU pass, or candle's ops on another device.
pub(crate) enum Bert {
    Packed(CpuBert),
    Candle(BertEncoder),
}

/// BERT on candle's ops (any device).
pub(crate) struct BertEncoder {
    pub(crate) word: Embedding,
    pub(crate) position: Embedding,
    pub(crate) token_type: Embedding,
    pub(crate) embedding_norm: LayerNorm,
    pub(crate) layers: Vec<Layer>,
    pub(crate) hidden: usize,
    pub(crate) activation: HiddenAct,
    pub(crate) eps: f64,
}

pub(crate) struct Layer {
    pub(crate) attention: Attention,
    pub(crate) attention_norm: LayerNorm,
    pub(crate) intermediate: Linear,
    pub(crate) output: Linear,
    pub(crate) output_norm: LayerNorm,
}

impl Architecture for Bert {
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
        let on_cpu = vb.device().is_cpu();
        let encoder = BertEncoder::load(vb, config)?;
        Ok(if on_cpu { Bert::Packed(CpuBert::new(&encoder)?) } else { Bert::Candle(encoder) })
    }
}

impl Encoder for Bert {
    fn forward_padded(&self, batch: &PaddedInput) -> candle_core::Result<Tensor> {
        match self {
            Bert::Packed(model) => model.forward_padded(batch),
            Bert::Candle(model) => model.forward_padded(batch),
        }
    }

    fn forward(&self, batch: &BatchInput, device: &candle_core::Device) -> candle_core::Result<TokenVectors> {
        match self {
            Bert::Packed(model) => Ok(TokenVectors::packed(
                model.forward(&batch.ids, &batch.type_ids, &batch.lengths)?,
                model.hidden(),
                &batch.lengths,
            )),
            Bert::Candle(model) => model.forward(batch, device),
        }
    }
}

impl BertEncoder {
    pub fn load(vb: VarBuilder, config: &Config) -> candle_core::Result<Self> {
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
            eps: config.layer_norm_eps,
        })
    }
}

impl Encoder for BertEncoder {
    fn forward_padded(&self, batch: &PaddedInput) -> candle_core::Result<Tensor> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use std::path::{Path, PathBuf};

    /// The packed CPU pass and candle's padded ops compute the same token vectors for a
    /// batch of texts of different lengths (padding must not leak into attention), both
    /// through the padded interface and packed.
    #[test]
    fn packed_cpu_pass_matches_candle_ops() {
        let dir = std::env::var_os("GROVE_TEST_MODEL_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models/all-MiniLM-L6-v2"));
        if !dir.join("model.safetensors").is_file() {
            eprintln!("*** SKIPPED: no model at {} (set GROVE_TEST_MODEL_DIR) ***", dir.display());
            return;
        }
        let config: Config = crate::config::read_json(&dir.join("config.json")).unwrap().unwrap();
        let weights = [dir.join("model.safetensors")];
        // SAFETY: read-only mmap of a file nothing rewrites during the test.
        let vars = unsafe { VarBuilder::from_mmaped_safetensors(&weights, DType::F32, &Device::Cpu) }.unwrap();
        let candle = BertEncoder::load(vars, &config).unwrap();
        let packed = CpuBert::new(&candle).unwrap();

        let lengths = [7usize, 2, 40, 19];
        let ids: Vec<u32> = (0..lengths.iter().sum::<usize>() as u32).map(|i| 101 + (i * 7919) % 20_000).collect();
        let batch = BatchInput::for_tests(ids.clone(), vec![0; ids.len()], lengths.to_vec());
        let padded = batch.padded(&Device::Cpu).unwrap();
        let want = TokenVectors::padded(&candle.forward_padded(&padded).unwrap()).unwrap();
        let through_padded = TokenVectors::padded(&packed.forward_padded(&padded).unwrap()).unwrap();
        let h = config.hidden_size;
        let direct = TokenVectors::packed(packed.forward(&batch.ids, &batch.type_ids, &lengths).unwrap(), h, &lengths);
        for got in [&through_padded, &direct] {
            let mut worst = 0f32;
            for (t, &len) in lengths.iter().enumerate() {
                let a = &got.data[got.starts[t] * h..][..len * h];
                let b = &want.data[want.starts[t] * h..][..len * h];
                worst = a.iter().zip(b).fold(worst, |w, (x, y)| w.max((x - y).abs()));
            }
            eprintln!("largest difference from candle's ops: {worst:e}");
            assert!(worst < 1e-4, "largest difference {worst}");
        }
    }
}
