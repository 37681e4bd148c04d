//! NomicBERT encoders (config.json `model_type: "nomic_bert"`), e.g. CodeRankEmbed and
//! nomic-embed-text-v1.5: BERT with rotary position embeddings instead of learned ones,
//! a fused Q/K/V projection and a SwiGLU MLP, post-norm. Config fields (GPT-2 names),
//! defaults and tensor names are those of nomic-ai's `modeling_hf_nomic_bert.py`, the
//! code the hub checkpoints run under transformers.
//!
//! candle-transformers' `nomic_bert` module is not used: its config defaults are
//! nomic-embed-text-v1.5's values rather than the original's, it takes `n_inner` as the
//! gated MLP width where the original rounds it up to a multiple of 256, and its
//! pre-norm blocks end differently from the original's. Variants grove has no reference
//! for (pre-norm, partial or interleaved rotary, other activations) are refused by name.

use crate::layers::{encoder_root, layer_norm, linear, padding_bias, Attention, GateActivation, GatedMlp, Rotary};
use crate::model::{Architecture, Encoder, EncoderShape};
use crate::pipeline::PaddedInput;
use candle_core::{Module, Tensor};
use candle_nn::{embedding, Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;

/// config.json of a NomicBERT checkpoint; absent fields take the original's defaults
/// (NomicBertConfig over GPT2Config).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub(crate) struct Config {
    vocab_size: usize,
    n_embd: usize,
    n_head: usize,
    n_layer: usize,
    n_inner: Option<usize>,
    n_positions: usize,
    type_vocab_size: usize,
    layer_norm_epsilon: f64,
    activation_function: String,
    prenorm: bool,
    rotary_emb_fraction: f64,
    rotary_emb_base: f64,
    rotary_emb_interleaved: bool,
    rotary_emb_scale_base: Option<f64>,
    rotary_scaling_factor: Option<f64>,
    max_trained_positions: usize,
    qkv_proj_bias: bool,
    mlp_fc1_bias: bool,
    mlp_fc2_bias: bool,
    pad_vocab_size_multiple: usize,
    pad_token_id: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            vocab_size: 50257,
            n_embd: 768,
            n_head: 12,
            n_layer: 12,
            n_inner: None,
            n_positions: 1024,
            type_vocab_size: 2,
            layer_norm_epsilon: 1e-5,
            activation_function: "gelu_new".into(),
            prenorm: false,
            rotary_emb_fraction: 0.0,
            rotary_emb_base: 10_000.0,
            rotary_emb_interleaved: false,
            rotary_emb_scale_base: None,
            rotary_scaling_factor: None,
            max_trained_positions: 2048,
            qkv_proj_bias: true,
            mlp_fc1_bias: true,
            mlp_fc2_bias: true,
            pad_vocab_size_multiple: 1,
            pad_token_id: None,
        }
    }
}

impl Config {
    /// The embedding rows: the vocabulary padded as the original pads it.
    fn padded_vocab_size(&self) -> usize {
        self.vocab_size.div_ceil(self.pad_vocab_size_multiple.max(1)) * self.pad_vocab_size_multiple.max(1)
    }

    /// The gated MLP's width: `n_inner` (else 8/3 of the hidden size) rounded up to a
    /// multiple of 256, as the original's gated MLP does.
    fn inner_size(&self) -> usize {
        let wanted = self.n_inner.unwrap_or(8 * self.n_embd / 3);
        wanted.div_ceil(256) * 256
    }
}

pub(crate) struct NomicBertEncoder {
    word: Embedding,
    token_type: Option<Embedding>,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    rotary: Rotary,
    hidden: usize,
}

struct Layer {
    attention: Attention,
    attention_norm: LayerNorm,
    mlp: GatedMlp,
    mlp_norm: LayerNorm,
}

impl Architecture for NomicBertEncoder {
    const MODEL_TYPE: &'static str = "nomic_bert";
    const NAME: &'static str = "NomicBERT";
    type Config = Config;

    fn shape(c: &Config) -> Result<EncoderShape, String> {
        if c.activation_function != "swiglu" {
            return Err(format!("activation_function {:?}: grove runs \"swiglu\"", c.activation_function));
        }
        if c.prenorm {
            return Err("prenorm: grove runs post-norm NomicBERT".into());
        }
        if c.rotary_emb_fraction != 1.0 || c.rotary_emb_interleaved || c.rotary_emb_scale_base.is_some() {
            return Err(format!(
                "rotary_emb_fraction {}, rotary_emb_interleaved {}, rotary_emb_scale_base {:?}: grove runs \
                 full-width, non-interleaved rotary embeddings without scaling (1.0, false, null)",
                c.rotary_emb_fraction, c.rotary_emb_interleaved, c.rotary_emb_scale_base
            ));
        }
        // Past max_trained_positions the original rescales the rotary base (dynamic NTK)
        // when rotary_scaling_factor is set; grove stops where it does not.
        let max_positions = match c.rotary_scaling_factor {
            Some(_) => c.n_positions.min(c.max_trained_positions),
            None => c.n_positions,
        };
        Ok(EncoderShape { hidden_size: c.n_embd, max_positions, pad_id: c.pad_token_id.unwrap_or(0) })
    }

    fn load(vb: VarBuilder, c: &Config, max_tokens: usize) -> candle_core::Result<Self> {
        let vb = encoder_root(vb, "emb_ln.weight", &["bert"]);
        let h = c.n_embd;
        let e = vb.pp("embeddings");
        let token_type = match c.type_vocab_size {
            0 => None,
            types => Some(embedding(types, h, e.pp("token_type_embeddings"))?),
        };
        let layers = (0..c.n_layer)
            .map(|i| Layer::load(vb.pp(format!("encoder.layers.{i}")), c))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let head_dim = layers.first().map_or(h, |l| l.attention.head_dim());
        Ok(NomicBertEncoder {
            word: embedding(c.padded_vocab_size(), h, e.pp("word_embeddings"))?,
            token_type,
            embedding_norm: layer_norm(h, c.layer_norm_epsilon, true, vb.pp("emb_ln"))?,
            layers,
            rotary: Rotary::new(head_dim, c.rotary_emb_base, max_tokens, vb.device())?,
            hidden: h,
        })
    }
}

impl Encoder for NomicBertEncoder {
    fn forward_padded(&self, batch: &PaddedInput) -> candle_core::Result<Tensor> {
        let (n, len) = batch.ids.dims2()?;
        let mut x = self.word.forward(&batch.ids)?;
        if let Some(token_type) = &self.token_type {
            x = x.add(&token_type.forward(&batch.type_ids)?)?;
        }
        let mut x = self.embedding_norm.forward(&x.reshape((n * len, self.hidden))?)?;
        let bias = padding_bias(&batch.mask)?;
        for layer in &self.layers {
            let attended = layer.attention.forward(&x, &bias, Some(&self.rotary), n, len)?;
            x = layer.attention_norm.forward(&attended.add(&x)?)?;
            x = layer.mlp_norm.forward(&layer.mlp.forward(&x)?.add(&x)?)?;
        }
        x.reshape((n, len, self.hidden))
    }
}

impl Layer {
    fn load(vb: VarBuilder, c: &Config) -> candle_core::Result<Self> {
        let (h, inner, eps) = (c.n_embd, c.inner_size(), c.layer_norm_epsilon);
        let attn = vb.pp("attn");
        let wqkv = attn.pp("Wqkv");
        let qkv_bias = if c.qkv_proj_bias { Some(wqkv.get(3 * h, "bias")?) } else { None };
        let out = linear(h, h, c.qkv_proj_bias, attn.pp("out_proj"))?;
        let attention = Attention::new(wqkv.get((3 * h, h), "weight")?, qkv_bias, out, c.n_head)?;

        // SwiGLU: fc2(fc11(x) · silu(fc12(x))); fc12 is the gate, so it goes first.
        let mlp = vb.pp("mlp");
        let value = linear(h, inner, c.mlp_fc1_bias, mlp.pp("fc11"))?;
        let gate = linear(h, inner, c.mlp_fc1_bias, mlp.pp("fc12"))?;
        let up_weight = Tensor::cat(&[gate.weight(), value.weight()], 0)?;
        let up_bias = match (gate.bias(), value.bias()) {
            (Some(g), Some(v)) => Some(Tensor::cat(&[g, v], 0)?),
            _ => None,
        };
        let up = candle_nn::Linear::new(up_weight, up_bias);
        let down = linear(inner, h, c.mlp_fc2_bias, mlp.pp("fc2"))?;
        Ok(Layer {
            attention,
            attention_norm: layer_norm(h, eps, true, vb.pp("norm1"))?,
            mlp: GatedMlp::new(up, down, GateActivation::Silu)?,
            mlp_norm: layer_norm(h, eps, true, vb.pp("norm2"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Config {
        serde_json::from_str(json).unwrap()
    }

    /// The fields of CodeRankEmbed's config.json that shape the encoder.
    const CODERANKEMBED: &str = r#"{"model_type": "nomic_bert", "activation_function": "swiglu",
        "n_embd": 768, "n_head": 12, "n_layer": 12, "n_inner": 3072, "n_positions": 8192,
        "vocab_size": 30528, "pad_vocab_size_multiple": 64, "layer_norm_epsilon": 1e-12,
        "rotary_emb_fraction": 1.0, "rotary_emb_base": 1000, "rotary_emb_interleaved": false,
        "rotary_emb_scale_base": null, "rotary_scaling_factor": null, "max_trained_positions": 2048,
        "qkv_proj_bias": false, "mlp_fc1_bias": false, "mlp_fc2_bias": false, "prenorm": false}"#;

    #[test]
    fn hub_config_reads_as_written() {
        let c = config(CODERANKEMBED);
        let shape = NomicBertEncoder::shape(&c).unwrap();
        assert_eq!((shape.hidden_size, shape.max_positions, shape.pad_id), (768, 8192, 0));
        assert_eq!((c.inner_size(), c.padded_vocab_size()), (3072, 30528));
        assert_eq!(c.rotary_emb_base, 1000.0);
    }

    #[test]
    fn absent_fields_take_the_originals_defaults() {
        let c = config(r#"{"vocab_size": 30522, "pad_vocab_size_multiple": 64}"#);
        assert_eq!(c.padded_vocab_size(), 30528);
        assert_eq!(c.inner_size(), 2048, "8/3 of 768 is 2048, already a multiple of 256");
        assert!(c.qkv_proj_bias && c.mlp_fc1_bias && c.mlp_fc2_bias);
        assert_eq!((c.rotary_emb_base, c.layer_norm_epsilon), (10_000.0, 1e-5));
        let err = NomicBertEncoder::shape(&c).err().unwrap();
        assert!(err.contains("gelu_new"), "GPT-2's default activation is refused by name: {err}");
    }

    #[test]
    fn gated_width_rounds_up_to_256() {
        assert_eq!(config(r#"{"n_inner": 100}"#).inner_size(), 256);
        assert_eq!(config(r#"{"n_inner": 257}"#).inner_size(), 512);
    }

    #[test]
    fn dynamic_rotary_scaling_stops_at_the_trained_length() {
        let c = config(&CODERANKEMBED.replace(r#""rotary_scaling_factor": null"#, r#""rotary_scaling_factor": 2"#));
        assert_eq!(NomicBertEncoder::shape(&c).unwrap().max_positions, 2048);
    }

    #[test]
    fn variants_without_a_reference_are_refused_by_name() {
        for (from, to, named) in [
            (r#""prenorm": false"#, r#""prenorm": true"#, "prenorm"),
            (r#""activation_function": "swiglu""#, r#""activation_function": "gelu""#, "\"gelu\""),
            (r#""rotary_emb_fraction": 1.0"#, r#""rotary_emb_fraction": 0.5"#, "rotary_emb_fraction 0.5"),
            (r#""rotary_emb_interleaved": false"#, r#""rotary_emb_interleaved": true"#, "interleaved true"),
        ] {
            let err = NomicBertEncoder::shape(&config(&CODERANKEMBED.replace(from, to))).err().unwrap();
            assert!(err.contains(named), "{err}");
        }
    }
}
