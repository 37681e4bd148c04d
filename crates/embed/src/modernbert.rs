//! ModernBERT encoders (config.json `model_type: "modernbert"`), e.g. gte-modernbert-base:
//! pre-norm layers without biases, rotary position embeddings, a GeGLU MLP, and
//! attention that alternates between global layers and local ones that see only tokens
//! within `local_attention / 2` positions. Computes what transformers' `ModernBertModel`
//! computes, reading both its config formats (4.x: `global_attn_every_n_layers`,
//! `*_rope_theta`; 5.x: `layer_types`, `rope_parameters`).
//!
//! candle-transformers' `modernbert` module is not used: its config requires
//! `layer_norm_eps` (transformers reads `norm_eps`) and knows only the 4.x fields, it
//! finds tensors only under `model.` (a `ModernBertModel` checkpoint such as
//! gte-modernbert-base has none), and it ignores the bias and activation settings.

use crate::layers::{encoder_root, layer_norm, linear, padding_bias, Attention, GateActivation, GatedMlp, Rotary};
use crate::model::{Architecture, Encoder, EncoderShape};
use crate::pipeline::PaddedInput;
use candle_core::{Device, Module, Tensor};
use candle_nn::{embedding, Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;
use std::collections::BTreeMap;

/// config.json of a ModernBERT checkpoint; absent fields take transformers' defaults.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub(crate) struct Config {
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    hidden_activation: String,
    max_position_embeddings: usize,
    norm_eps: f64,
    norm_bias: bool,
    attention_bias: bool,
    mlp_bias: bool,
    local_attention: usize,
    global_attn_every_n_layers: usize,
    global_rope_theta: f64,
    local_rope_theta: f64,
    /// 5.x: "full_attention" or "sliding_attention" per layer.
    layer_types: Option<Vec<String>>,
    /// 5.x: rotary settings per layer type.
    rope_parameters: Option<BTreeMap<String, RopeParameters>>,
    rope_scaling: Option<serde_json::Value>,
    pad_token_id: Option<u32>,
}

#[derive(Clone, Debug, Deserialize)]
struct RopeParameters {
    rope_type: Option<String>,
    rope_theta: Option<f64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            vocab_size: 50368,
            hidden_size: 768,
            intermediate_size: 1152,
            num_hidden_layers: 22,
            num_attention_heads: 12,
            hidden_activation: "gelu".into(),
            max_position_embeddings: 8192,
            norm_eps: 1e-5,
            norm_bias: false,
            attention_bias: false,
            mlp_bias: false,
            local_attention: 128,
            global_attn_every_n_layers: 3,
            global_rope_theta: 160_000.0,
            local_rope_theta: 10_000.0,
            layer_types: None,
            rope_parameters: None,
            rope_scaling: None,
            pad_token_id: Some(50283),
        }
    }
}

const GLOBAL: &str = "full_attention";
const LOCAL: &str = "sliding_attention";

impl Config {
    /// Whether each layer attends locally, as transformers derives it.
    fn local_layers(&self) -> Result<Vec<bool>, String> {
        match &self.layer_types {
            Some(types) => {
                if types.len() != self.num_hidden_layers {
                    return Err(format!("{} layer_types for {} layers", types.len(), self.num_hidden_layers));
                }
                types
                    .iter()
                    .map(|t| match t.as_str() {
                        GLOBAL => Ok(false),
                        LOCAL => Ok(true),
                        other => Err(format!("layer type {other:?}: grove runs {GLOBAL:?} and {LOCAL:?}")),
                    })
                    .collect()
            }
            None if self.global_attn_every_n_layers == 0 => Err("global_attn_every_n_layers 0".into()),
            None => Ok((0..self.num_hidden_layers).map(|i| i % self.global_attn_every_n_layers != 0).collect()),
        }
    }

    /// The rotary base of a layer type: `rope_parameters` (5.x) first, else the 4.x field.
    fn rope_theta(&self, layer_type: &str, fallback: f64) -> Result<f64, String> {
        match self.rope_parameters.as_ref().and_then(|p| p.get(layer_type)) {
            Some(p) if p.rope_type.as_deref().is_some_and(|t| t != "default") => {
                Err(format!("rope_type {:?}: grove runs \"default\"", p.rope_type.as_deref().unwrap_or_default()))
            }
            Some(p) => Ok(p.rope_theta.unwrap_or(fallback)),
            None => Ok(fallback),
        }
    }
}

pub(crate) struct ModernBertEncoder {
    word: Embedding,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    final_norm: LayerNorm,
    global_rotary: Rotary,
    local_rotary: Rotary,
    /// Local layers see tokens at most this far away.
    half_window: usize,
    hidden: usize,
}

struct Layer {
    /// None in layer 0, which attends to the (already normed) embeddings.
    attention_norm: Option<LayerNorm>,
    attention: Attention,
    mlp_norm: LayerNorm,
    mlp: GatedMlp,
    local: bool,
}

impl Architecture for ModernBertEncoder {
    const MODEL_TYPE: &'static str = "modernbert";
    const NAME: &'static str = "ModernBERT";
    type Config = Config;

    fn shape(c: &Config) -> Result<EncoderShape, String> {
        if c.hidden_activation != "gelu" {
            return Err(format!("hidden_activation {:?}: grove runs \"gelu\"", c.hidden_activation));
        }
        if c.rope_scaling.as_ref().is_some_and(|s| !s.is_null()) {
            return Err("rope_scaling: grove runs unscaled rotary embeddings".into());
        }
        c.local_layers()?;
        c.rope_theta(GLOBAL, c.global_rope_theta)?;
        c.rope_theta(LOCAL, c.local_rope_theta)?;
        Ok(EncoderShape {
            hidden_size: c.hidden_size,
            max_positions: c.max_position_embeddings,
            pad_id: c.pad_token_id.unwrap_or(0),
        })
    }

    fn load(vb: VarBuilder, c: &Config, max_tokens: usize) -> candle_core::Result<Self> {
        // ModernBertForMaskedLM checkpoints (e.g. ModernBERT-base) nest the encoder in `model.`.
        let vb = encoder_root(vb, "embeddings.tok_embeddings.weight", &["model"]);
        let (h, eps) = (c.hidden_size, c.norm_eps);
        let local_layers = c.local_layers().map_err(candle_core::Error::msg)?;
        let layers = local_layers
            .iter()
            .enumerate()
            .map(|(i, &local)| Layer::load(vb.pp(format!("layers.{i}")), c, i, local))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let head_dim = layers.first().map_or(h, |l| l.attention.head_dim());
        let rotary = |layer_type, fallback| {
            let theta = c.rope_theta(layer_type, fallback).map_err(candle_core::Error::msg)?;
            Rotary::new(head_dim, theta, max_tokens, vb.device())
        };
        Ok(ModernBertEncoder {
            word: embedding(c.vocab_size, h, vb.pp("embeddings.tok_embeddings"))?,
            embedding_norm: layer_norm(h, eps, c.norm_bias, vb.pp("embeddings.norm"))?,
            layers,
            final_norm: layer_norm(h, eps, c.norm_bias, vb.pp("final_norm"))?,
            global_rotary: rotary(GLOBAL, c.global_rope_theta)?,
            local_rotary: rotary(LOCAL, c.local_rope_theta)?,
            half_window: c.local_attention / 2,
            hidden: h,
        })
    }
}

impl Encoder for ModernBertEncoder {
    fn forward_padded(&self, batch: &PaddedInput) -> candle_core::Result<Tensor> {
        let (n, len) = batch.ids.dims2()?;
        let x = self.word.forward(&batch.ids)?.reshape((n * len, self.hidden))?;
        let mut x = self.embedding_norm.forward(&x)?;
        let global_bias = padding_bias(&batch.mask)?;
        let local_bias = match self.layers.iter().any(|l| l.local) {
            true => Some(global_bias.broadcast_add(&window_bias(len, self.half_window, batch.ids.device())?)?),
            false => None,
        };
        for layer in &self.layers {
            let normed = match &layer.attention_norm {
                Some(norm) => norm.forward(&x)?,
                None => x.clone(),
            };
            let (bias, rotary) = match (&local_bias, layer.local) {
                (Some(local_bias), true) => (local_bias, &self.local_rotary),
                _ => (&global_bias, &self.global_rotary),
            };
            x = x.add(&layer.attention.forward(&normed, bias, Some(rotary), n, len)?)?;
            x = x.add(&layer.mlp.forward(&layer.mlp_norm.forward(&x)?)?)?;
        }
        self.final_norm.forward(&x)?.reshape((n, len, self.hidden))
    }
}

/// `[len, len]`: 0 where query and key are at most `half_window` apart, else the f32
/// minimum. Added to the padding bias a cell may reach -inf, harmless: a token always
/// sees itself, so no row is all -inf.
fn window_bias(len: usize, half_window: usize, device: &Device) -> candle_core::Result<Tensor> {
    let bias: Vec<f32> = (0..len)
        .flat_map(|q| (0..len).map(move |k| if q.abs_diff(k) <= half_window { 0.0 } else { f32::MIN }))
        .collect();
    Tensor::from_vec(bias, (len, len), device)
}

impl Layer {
    fn load(vb: VarBuilder, c: &Config, index: usize, local: bool) -> candle_core::Result<Self> {
        let (h, eps) = (c.hidden_size, c.norm_eps);
        let attn = vb.pp("attn");
        let wqkv = attn.pp("Wqkv");
        let qkv_bias = if c.attention_bias { Some(wqkv.get(3 * h, "bias")?) } else { None };
        let out = linear(h, h, c.attention_bias, attn.pp("Wo"))?;
        // GeGLU: Wo(gelu(input) · gate), with [input, gate] the halves of Wi.
        let mlp = vb.pp("mlp");
        let up = linear(h, 2 * c.intermediate_size, c.mlp_bias, mlp.pp("Wi"))?;
        let down = linear(c.intermediate_size, h, c.mlp_bias, mlp.pp("Wo"))?;
        Ok(Layer {
            attention_norm: match index {
                0 => None,
                _ => Some(layer_norm(h, eps, c.norm_bias, vb.pp("attn_norm"))?),
            },
            attention: Attention::new(wqkv.get((3 * h, h), "weight")?, qkv_bias, out, c.num_attention_heads)?,
            mlp_norm: layer_norm(h, eps, c.norm_bias, vb.pp("mlp_norm"))?,
            mlp: GatedMlp::new(up, down, GateActivation::Gelu)?,
            local,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Config {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn both_config_formats_give_the_same_layers() {
        // gte-modernbert-base as on the hub (transformers 4.x fields)...
        let v4 = config(
            r#"{"num_hidden_layers": 4, "global_attn_every_n_layers": 3, "global_rope_theta": 160000.0,
                "local_rope_theta": 10000.0, "local_attention": 128, "norm_eps": 1e-5}"#,
        );
        // ...and as transformers 5 saves it.
        let v5 = config(
            r#"{"num_hidden_layers": 4, "global_attn_every_n_layers": 3, "local_attention": 128,
                "layer_types": ["full_attention", "sliding_attention", "sliding_attention", "full_attention"],
                "rope_parameters": {"full_attention": {"rope_theta": 160000.0, "rope_type": "default"},
                                    "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"}}}"#,
        );
        for c in [&v4, &v5] {
            assert_eq!(c.local_layers().unwrap(), [false, true, true, false]);
            assert_eq!(c.rope_theta(GLOBAL, c.global_rope_theta).unwrap(), 160_000.0);
            assert_eq!(c.rope_theta(LOCAL, c.local_rope_theta).unwrap(), 10_000.0);
            let shape = ModernBertEncoder::shape(c).unwrap();
            assert_eq!((shape.hidden_size, shape.max_positions, shape.pad_id), (768, 8192, 50283));
        }
    }

    #[test]
    fn variants_without_a_reference_are_refused_by_name() {
        let err = ModernBertEncoder::shape(&config(r#"{"hidden_activation": "silu"}"#)).err().unwrap();
        assert!(err.contains("\"silu\""), "{err}");
        let err = ModernBertEncoder::shape(&config(
            r#"{"rope_parameters": {"full_attention": {"rope_type": "yarn", "rope_theta": 1.0}}}"#,
        ))
        .err()
        .unwrap();
        assert!(err.contains("yarn"), "{err}");
        let err = ModernBertEncoder::shape(&config(r#"{"num_hidden_layers": 2, "layer_types": ["full_attention"]}"#))
            .err()
            .unwrap();
        assert!(err.contains("1 layer_types for 2 layers"), "{err}");
    }

    #[test]
    fn window_keeps_tokens_within_half_the_local_attention() {
        let bias = window_bias(4, 1, &Device::Cpu).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(bias[0], [0.0, 0.0, f32::MIN, f32::MIN]);
        assert_eq!(bias[2], [f32::MIN, 0.0, 0.0, 0.0]);
    }
}
