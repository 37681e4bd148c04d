//! The pieces the encoder forward passes share, tuned for inference on few cores:
//! - one fused Q/K/V matmul per layer, with the 1/√d attention scale folded into the
//!   query weights at load (exact where it is a power of two, d = 16 or 64, one rounding
//!   otherwise; rotary embeddings are linear, so scaling before them equals after);
//! - one copy to split heads, and candle's fused `softmax_last_dim`;
//! - activations kept as `[tokens, hidden]` matrices so every linear is one plain gemm;
//! - gated MLPs as one up-projection whose two halves are then multiplied.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{LayerNorm, Linear, VarBuilder};

/// A linear layer `input → output` as the checkpoint stores it, with or without bias.
pub(crate) fn linear(input: usize, output: usize, bias: bool, vb: VarBuilder) -> candle_core::Result<Linear> {
    let weight = vb.get((output, input), "weight")?;
    let bias = if bias { Some(vb.get(output, "bias")?) } else { None };
    Ok(Linear::new(weight, bias))
}

/// A layer norm with or without bias. One without gets a zero bias so that candle's
/// fused kernel runs (adding zero is exact).
pub(crate) fn layer_norm(size: usize, eps: f64, bias: bool, vb: VarBuilder) -> candle_core::Result<LayerNorm> {
    if bias {
        return candle_nn::layer_norm(size, eps, vb);
    }
    let weight = vb.get(size, "weight")?;
    let zero = weight.zeros_like()?;
    Ok(LayerNorm::new(weight, zero, eps))
}

/// Checkpoints saved from a task model nest the encoder (`bert.`, `model.`): the tensors
/// under the first of `prefixes` that holds `probe`, else at the top.
pub(crate) fn encoder_root<'a>(vb: VarBuilder<'a>, probe: &str, prefixes: &[&str]) -> VarBuilder<'a> {
    match prefixes.iter().find(|p| vb.contains_tensor(&format!("{p}.{probe}"))) {
        Some(prefix) => vb.pp(*prefix),
        None => vb,
    }
}

/// Attention bias from a `[n, len]` 0/1 mask, `[n, 1, 1, len]`: 0 for tokens and, as
/// transformers, the f32 minimum for padding.
pub(crate) fn padding_bias(mask: &Tensor) -> candle_core::Result<Tensor> {
    let (n, len) = mask.dims2()?;
    let mask = mask.to_dtype(DType::F32)?;
    ((1.0 - mask)? * f64::from(f32::MIN))?.reshape((n, 1, 1, len))
}

/// Multi-head self-attention with one fused Q/K/V projection.
pub(crate) struct Attention {
    /// `[hidden] → [3·hidden]`, queries already scaled by 1/√d.
    qkv: Linear,
    out: Linear,
    heads: usize,
    head_dim: usize,
}

impl Attention {
    /// From the checkpoint's fused `[3·hidden, hidden]` Q/K/V weight (queries first).
    pub fn new(qkv_weight: Tensor, qkv_bias: Option<Tensor>, out: Linear, heads: usize) -> candle_core::Result<Self> {
        let hidden = qkv_weight.dim(1)?;
        if heads == 0 || hidden % heads != 0 {
            candle_core::bail!("hidden size {hidden} is not a multiple of {heads} attention heads");
        }
        let head_dim = hidden / heads;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let scale_queries = |t: Tensor| -> candle_core::Result<Tensor> {
            let rest = t.dim(0)? - hidden;
            Tensor::cat(&[(t.narrow(0, 0, hidden)? * scale)?, t.narrow(0, hidden, rest)?], 0)
        };
        let weight = scale_queries(qkv_weight)?;
        let bias = qkv_bias.map(scale_queries).transpose()?;
        Ok(Attention { qkv: Linear::new(weight, bias), out, heads, head_dim })
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim
    }

    pub fn heads(&self) -> usize {
        self.heads
    }

    /// The fused Q/K/V projection (queries scaled) and the output projection.
    pub fn projections(&self) -> (&Linear, &Linear) {
        (&self.qkv, &self.out)
    }

    /// `[n·len, hidden]` → `[n·len, hidden]`, output projection included. `bias` is added
    /// to the scores (`[n, 1, 1 or len, len]`); `rotary` turns queries and keys first.
    pub fn forward(
        &self,
        x: &Tensor,
        bias: &Tensor,
        rotary: Option<&Rotary>,
        n: usize,
        len: usize,
    ) -> candle_core::Result<Tensor> {
        let (heads, d) = (self.heads, self.head_dim);
        // [n·len, 3·hidden] → [3, n, heads, len, d] in one copy.
        let qkv = self.qkv.forward(x)?.reshape((n, len, 3, heads, d))?.permute((2, 0, 3, 1, 4))?.contiguous()?;
        let (mut q, mut k, v) = (qkv.get(0)?, qkv.get(1)?, qkv.get(2)?);
        if let Some(rotary) = rotary {
            q = rotary.apply(&q)?;
            k = rotary.apply(&k)?;
        }
        let scores = q.matmul(&k.t()?)?.broadcast_add(bias)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((n * len, heads * d))?;
        self.out.forward(&context)
    }
}

/// Rotary position embedding tables for positions `0..max_len`, in the GPT-NeoX layout
/// (the two halves of a head rotate together), as nomic-ai's and transformers' defaults.
pub(crate) struct Rotary {
    cos: Tensor,
    sin: Tensor,
}

impl Rotary {
    pub fn new(head_dim: usize, theta: f64, max_len: usize, device: &Device) -> candle_core::Result<Self> {
        if !head_dim.is_multiple_of(2) {
            candle_core::bail!("rotary embeddings need an even head size, not {head_dim}");
        }
        // In f32 throughout, as the references compute them.
        let inv_freq: Vec<f32> =
            (0..head_dim).step_by(2).map(|i| 1.0 / (theta as f32).powf(i as f32 / head_dim as f32)).collect();
        let angles: Vec<f32> = (0..max_len).flat_map(|t| inv_freq.iter().map(move |f| t as f32 * f)).collect();
        let table = |f: fn(f32) -> f32| {
            Tensor::from_vec(angles.iter().map(|&a| f(a)).collect::<Vec<_>>(), (max_len, head_dim / 2), device)
        };
        Ok(Rotary { cos: table(f32::cos)?, sin: table(f32::sin)? })
    }

    /// Turns `[n, heads, len, d]` queries or keys (contiguous) by their positions.
    fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let len = x.dim(2)?;
        candle_nn::rotary_emb::rope(x, &self.cos.narrow(0, 0, len)?, &self.sin.narrow(0, 0, len)?)
    }
}

/// The activation of a gated MLP's gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GateActivation {
    Silu,
    /// The exact (erf) GELU, torch's default.
    Gelu,
}

/// `down(act(gate) · value)`, where `[gate, value]` are the halves of one up-projection.
pub(crate) struct GatedMlp {
    up: Linear,
    down: Linear,
    inner: usize,
    activation: GateActivation,
}

impl GatedMlp {
    /// `up` maps to `[2·inner]`: the gate half first, then the value half.
    pub fn new(up: Linear, down: Linear, activation: GateActivation) -> candle_core::Result<Self> {
        let inner = down.weight().dim(1)?;
        if up.weight().dim(0)? != 2 * inner {
            candle_core::bail!("gated MLP: up-projection {:?} does not feed {inner} inner units", up.weight().shape());
        }
        Ok(GatedMlp { up, down, inner, activation })
    }

    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let up = self.up.forward(x)?;
        let gate = up.narrow(1, 0, self.inner)?;
        let gate = match self.activation {
            GateActivation::Silu => gate.silu()?,
            GateActivation::Gelu => gate.gelu_erf()?,
        };
        self.down.forward(&(gate * up.narrow(1, self.inner, self.inner)?)?)
    }
}
