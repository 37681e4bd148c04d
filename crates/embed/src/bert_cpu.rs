//! The BERT forward pass on the CPU, written against the gemm kernels candle itself uses,
//! so that nothing is spent outside the matrix products:
//! - texts are packed end to end, not padded to the longest: every linear layer runs on
//!   exactly the real tokens, and attention runs per text;
//! - biases and residuals are written into the output before the gemm accumulates into
//!   it, so a linear layer is one pass over memory;
//! - attention runs per (text, head) on one thread each, reading Q, K and V in place in
//!   the fused QKV matrix, with the score matrix in a small per-thread buffer (it stays in
//!   cache) and a vectorized softmax; the result lands in its slot of the context matrix;
//! - activations and layer norms are the vectorized kernels of `kernels`.
//!
//! It computes what candle's ops compute in `bert::BertEncoder` (a test compares the two),
//! and is made from that encoder's weights.

use crate::bert::BertEncoder;
use crate::kernels::{self, Activation};
use crate::pipeline::{to_vec, PaddedInput};
use candle_core::Tensor;
use candle_nn::{LayerNorm, Linear};
use candle_transformers::models::bert::HiddenAct;
use gemm::Parallelism;
use rayon::prelude::*;

pub(crate) struct CpuBert {
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    max_positions: usize,
    type_count: usize,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    head_dim: usize,
    activation: Activation,
    eps: f32,
}

struct Layer {
    qkv: Dense,
    attention_out: Dense,
    attention_norm: Norm,
    intermediate: Dense,
    output: Dense,
    output_norm: Norm,
}

/// A linear layer, its weight stored transposed (`[in, out]`, row-major) so that the
/// gemm reads it as a plain row-major right-hand side.
struct Dense {
    weight_t: Vec<f32>,
    bias: Vec<f32>,
    input: usize,
    output: usize,
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

impl Dense {
    fn new(linear: &Linear) -> candle_core::Result<Self> {
        let (output, input) = linear.weight().dims2()?;
        let bias = match linear.bias() {
            Some(b) => to_vec(b)?,
            None => vec![0.0; output],
        };
        Ok(Dense { weight_t: to_vec(&linear.weight().t()?.contiguous()?)?, bias, input, output })
    }
}

impl Norm {
    fn new(norm: &LayerNorm) -> candle_core::Result<Self> {
        let gamma = to_vec(norm.weight())?;
        let beta = match norm.bias() {
            Some(b) => to_vec(b)?,
            None => vec![0.0; gamma.len()],
        };
        Ok(Norm { gamma, beta })
    }
}

/// A raw pointer that rayon tasks share to write disjoint parts of one buffer.
#[derive(Clone, Copy)]
struct SharedMut(*mut f32);
// SAFETY: every task writes a region no other task touches (see `attention`).
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

impl SharedMut {
    /// The element `offset` places in. (A method, so closures capture the whole Send
    /// wrapper rather than its raw pointer field.)
    ///
    /// # Safety
    /// `offset` must be inside the buffer.
    unsafe fn at(&self, offset: usize) -> *mut f32 {
        // SAFETY: the caller keeps `offset` inside the buffer.
        unsafe { self.0.add(offset) }
    }
}

impl CpuBert {
    pub fn new(w: &BertEncoder) -> candle_core::Result<Self> {
        let (max_positions, hidden) = w.position.embeddings().dims2()?;
        let (heads, head_dim) = w.layers.first().map_or((1, hidden), |l| (l.attention.heads(), l.attention.head_dim()));
        let layers = w
            .layers
            .iter()
            .map(|l| {
                let (qkv, out) = l.attention.projections();
                Ok(Layer {
                    qkv: Dense::new(qkv)?,
                    attention_out: Dense::new(out)?,
                    attention_norm: Norm::new(&l.attention_norm)?,
                    intermediate: Dense::new(&l.intermediate)?,
                    output: Dense::new(&l.output)?,
                    output_norm: Norm::new(&l.output_norm)?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(CpuBert {
            word: to_vec(w.word.embeddings())?,
            position: to_vec(w.position.embeddings())?,
            token_type: to_vec(w.token_type.embeddings())?,
            max_positions,
            type_count: w.token_type.embeddings().dims2()?.0,
            embedding_norm: Norm::new(&w.embedding_norm)?,
            layers,
            hidden,
            heads,
            head_dim,
            activation: match w.activation {
                HiddenAct::Gelu => Activation::GeluErf,
                HiddenAct::GeluApproximate => Activation::GeluTanh,
                HiddenAct::Relu => Activation::Relu,
            },
            eps: w.eps as f32,
        })
    }

    /// The padded interface of every encoder: `[n, len]` ids, type ids and mask → `[n,
    /// len, hidden]`, padding rows zero. Texts are the mask's leading ones.
    pub fn forward_padded(&self, batch: &PaddedInput) -> candle_core::Result<Tensor> {
        let (n, longest) = batch.ids.dims2()?;
        let (ids, type_ids, mask) =
            (batch.ids.to_vec2::<u32>()?, batch.type_ids.to_vec2::<u32>()?, batch.mask.to_vec2::<u32>()?);
        let lengths: Vec<usize> = mask.iter().map(|row| row.iter().take_while(|&&m| m != 0).count()).collect();
        let pack = |rows: &[Vec<u32>]| -> Vec<u32> {
            rows.iter().zip(&lengths).flat_map(|(row, &len)| row[..len].iter().copied()).collect()
        };
        let packed = self.forward(&pack(&ids), &pack(&type_ids), &lengths)?;
        let h = self.hidden;
        let mut out = vec![0f32; n * longest * h];
        let mut rows = packed.chunks_exact(h.max(1));
        for (t, &len) in lengths.iter().enumerate() {
            for i in 0..len {
                if let Some(row) = rows.next() {
                    out[(t * longest + i) * h..][..h].copy_from_slice(row);
                }
            }
        }
        Tensor::from_vec(out, (n, longest, h), &candle_core::Device::Cpu)
    }

    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// Token vectors `[Σ lengths, hidden]` of texts packed end to end: text `t` is tokens
    /// `lengths[..t].sum()..` of `ids` and `type_ids`. Ids out of the vocabulary, and
    /// texts longer than the position table, are errors rather than panics.
    pub fn forward(&self, ids: &[u32], type_ids: &[u32], lengths: &[usize]) -> candle_core::Result<Vec<f32>> {
        let tokens: usize = lengths.iter().sum();
        if ids.len() != tokens || type_ids.len() != tokens {
            candle_core::bail!("{} ids and {} type ids for {tokens} tokens", ids.len(), type_ids.len());
        }
        if let Some(&len) = lengths.iter().find(|&&l| l > self.max_positions) {
            candle_core::bail!("a text of {len} tokens is longer than the model's {} positions", self.max_positions);
        }
        let h = self.hidden;
        if tokens == 0 {
            return Ok(Vec::new());
        }
        let vocabulary = self.word.len() / h;
        let mut x = vec![0f32; tokens * h];
        let positions = lengths.iter().flat_map(|&len| 0..len);
        for (((row, &id), &kind), position) in x.chunks_exact_mut(h).zip(ids).zip(type_ids).zip(positions) {
            let (id, kind) = (id as usize, kind as usize);
            if id >= vocabulary || kind >= self.type_count {
                candle_core::bail!(
                    "token id {id} / type {kind} outside the model's {vocabulary} / {}",
                    self.type_count
                );
            }
            let word = &self.word[id * h..][..h];
            let pos = &self.position[position * h..][..h];
            let kind = &self.token_type[kind * h..][..h];
            for (i, v) in row.iter_mut().enumerate() {
                *v = word[i] + kind[i] + pos[i];
            }
        }
        self.layer_norm(&mut x, &self.embedding_norm);

        let intermediate = self.layers.first().map_or(0, |l| l.intermediate.output);
        let mut qkv = vec![0f32; tokens * 3 * h];
        let mut context = vec![0f32; tokens * h];
        let mut attended = vec![0f32; tokens * h];
        let mut inner = vec![0f32; tokens * intermediate];
        for layer in &self.layers {
            linear(&x, &layer.qkv, None, &mut qkv);
            self.attention(&qkv, lengths, &mut context);
            linear(&context, &layer.attention_out, Some(&x), &mut attended);
            self.layer_norm(&mut attended, &layer.attention_norm);
            linear(&attended, &layer.intermediate, None, &mut inner);
            let act = self.activation;
            inner.par_chunks_mut(intermediate.max(1) * 16).for_each(|rows| kernels::activate(rows, act));
            linear(&inner, &layer.output, Some(&attended), &mut x);
            self.layer_norm(&mut x, &layer.output_norm);
        }
        Ok(x)
    }

    fn layer_norm(&self, x: &mut [f32], norm: &Norm) {
        let eps = self.eps;
        x.par_chunks_mut(self.hidden)
            .with_min_len(32)
            .for_each(|row| kernels::layer_norm(row, &norm.gamma, &norm.beta, eps));
    }

    /// `context = softmax(Q·Kᵀ) · V` for every text and head; the 1/√d scale is already
    /// in Q's weights. `qkv` rows are `[Q | K | V]`, heads side by side inside each.
    fn attention(&self, qkv: &[f32], lengths: &[usize], context: &mut [f32]) {
        let (h, d) = (self.hidden, self.head_dim);
        let stride = 3 * h;
        let tasks: Vec<(usize, usize, usize)> = crate::pipeline::starts(lengths)
            .iter()
            .zip(lengths)
            .filter(|(_, &len)| len > 0)
            .flat_map(|(&start, &len)| (0..self.heads).map(move |head| (start, len, head)))
            .collect();
        assert_eq!(context.len(), lengths.iter().sum::<usize>() * h, "context buffer size");
        let out = SharedMut(context.as_mut_ptr());
        tasks.into_par_iter().for_each_init(Vec::new, |scores: &mut Vec<f32>, (start, len, head)| {
            scores.resize(len * len, 0.0);
            let q = qkv[start * stride + head * d..].as_ptr();
            let k = qkv[start * stride + h + head * d..].as_ptr();
            let v = qkv[start * stride + 2 * h + head * d..].as_ptr();
            // SAFETY: every pointer stays inside its buffer: Q, K and V of tokens
            // start..start+len at column offset head·d, d columns each, rows `stride`
            // apart; `scores` is len×len; the output region (rows start..start+len,
            // columns head·d..head·d+d of `context`) is this task's alone.
            unsafe {
                let k_transposed = Strided { ptr: k, row: 1, col: stride as isize };
                matmul(
                    len,
                    len,
                    d,
                    rows(scores.as_mut_ptr(), len),
                    rows(q, stride),
                    k_transposed,
                    false,
                    Parallelism::None,
                );
            }
            for row in scores.chunks_exact_mut(len) {
                kernels::softmax(row);
            }
            // SAFETY: as above.
            unsafe {
                let context = rows(out.at(start * h + head * d), h);
                matmul(len, d, len, context, rows(scores.as_ptr(), len), rows(v, stride), false, Parallelism::None);
            }
        });
    }
}

/// `y = x · Wᵀ + bias (+ residual)`, `x` being `[rows, input]`: the bias and residual are
/// written into `y` first and the gemm accumulates onto them.
fn linear(x: &[f32], dense: &Dense, residual: Option<&[f32]>, y: &mut [f32]) {
    let rows_count = x.len() / dense.input;
    assert_eq!(y.len(), rows_count * dense.output, "output buffer size");
    match residual {
        Some(r) => {
            y.par_chunks_mut(dense.output).zip(r.par_chunks(dense.output)).with_min_len(32).for_each(|(y, r)| {
                for ((y, r), b) in y.iter_mut().zip(r).zip(&dense.bias) {
                    *y = r + b;
                }
            })
        }
        None => y.par_chunks_mut(dense.output).with_min_len(32).for_each(|y| y.copy_from_slice(&dense.bias)),
    }
    let threads = rayon::current_num_threads();
    let parallelism = if threads > 1 { Parallelism::Rayon(threads) } else { Parallelism::None };
    // SAFETY: x is rows×input, weight_t input×output and y rows×output, all row-major
    // and contiguous.
    unsafe {
        let (y, x, w) = (
            rows(y.as_mut_ptr(), dense.output),
            rows(x.as_ptr(), dense.input),
            rows(dense.weight_t.as_ptr(), dense.output),
        );
        matmul(rows_count, dense.output, dense.input, y, x, w, true, parallelism);
    }
}

/// A matrix operand of [`matmul`]: element (i, j) at `ptr + i·row + j·col`.
#[derive(Clone, Copy)]
struct Strided<P> {
    ptr: P,
    row: isize,
    col: isize,
}

/// A row-major operand whose rows are `stride` elements apart.
fn rows<P>(ptr: P, stride: usize) -> Strided<P> {
    Strided { ptr, row: stride as isize, col: 1 }
}

/// `dst = lhs · rhs` (`dst += lhs · rhs` when `accumulate`) for an m×k `lhs` and a k×n
/// `rhs`, on the gemm kernels candle uses.
///
/// # Safety
/// Each operand's pointer and strides must address its whole matrix inside one buffer,
/// and no other thread may touch `dst`'s elements meanwhile.
#[allow(clippy::too_many_arguments)]
#[rustfmt::skip]
unsafe fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: Strided<*mut f32>,
    lhs: Strided<*const f32>,
    rhs: Strided<*const f32>,
    accumulate: bool,
    parallelism: Parallelism,
) {
    // SAFETY: the caller's contract is gemm's. gemm computes alpha·dst + beta·lhs·rhs,
    // reading dst only when asked to.
    unsafe {
        gemm::gemm(
            m, n, k,
            dst.ptr, dst.col, dst.row, accumulate,
            lhs.ptr, lhs.col, lhs.row,
            rhs.ptr, rhs.col, rhs.row,
            1.0, 1.0, false, false, false, parallelism,
        );
    }
}
