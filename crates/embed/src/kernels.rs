//! Element-wise and row kernels of the CPU encoder: activation, layer norm and softmax
//! (bias and residual are already in, accumulated by the gemm). Each is written once as plain loops over `f32` slices that LLVM
//! vectorizes, and compiled three times (AVX-512, AVX2 + FMA, baseline); the widest the
//! CPU supports is picked once at run time. candle's own ops call libm's scalar `erff`
//! and `expf` per element, which took a fifth of the encoder's time.
//!
//! `exp` and `erf` are polynomial approximations accurate to a few ulp (exp) and 4e-7
//! absolute (erf), far inside the 1e-3 cosine bound on the final vectors
//! (tests/reference_vectors.rs measures the end result).

/// Which instruction set the kernels run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    Baseline,
}

impl Isa {
    /// The widest set this CPU runs, detected once.
    pub fn detect() -> Isa {
        static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *ISA.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                // Everything the AVX-512 build enables, not only AVX-512F.
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    return Isa::Avx512;
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    return Isa::Avx2Fma;
                }
            }
            Isa::Baseline
        })
    }
}

/// The hidden activation of a feed-forward layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Activation {
    /// `x · Φ(x)` with the exact normal CDF (erf), as BERT's "gelu".
    GeluErf,
    /// The tanh approximation of GELU ("gelu_new" / "gelu_pytorch_tanh").
    GeluTanh,
    Relu,
}

/// Expands to a function that runs `$generic::<FMA>` with the widest instruction set.
macro_rules! dispatch {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) => $generic:ident) => {
        $(#[$doc])*
        pub(crate) fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn avx512($($arg: $ty),*) {
                    $generic::<true>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    $generic::<true>($($arg),*)
                }
                match Isa::detect() {
                    // SAFETY: `detect` saw these features on this CPU.
                    Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    Isa::Avx2Fma => return unsafe { avx2($($arg),*) },
                    Isa::Baseline => {}
                }
            }
            $generic::<false>($($arg),*)
        }
    };
}

dispatch! {
    /// `row[i] = act(row[i])` for every element (the bias is already in, from the gemm).
    fn activate(row: &mut [f32], act: Activation) => activate_generic
}

dispatch! {
    /// `row = layer_norm(row) · gamma + beta` (biased variance, as BERT).
    fn layer_norm(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) => layer_norm_generic
}

dispatch! {
    /// `row = softmax(row)`; the row must not be empty.
    fn softmax(row: &mut [f32]) => softmax_generic
}

/// `a · b + c`, fused where the instruction set has FMA (otherwise libm's `fmaf` would
/// be called per element).
#[inline(always)]
fn mul_add<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `e^x`, branch-free so that loops over it vectorize: `x = n·ln2 + r` with `|r| ≤ ln2/2`,
/// a degree-7 Taylor polynomial for `e^r` (error below 1e-8 relative), and `2^n` built
/// in the exponent bits. Inputs are clamped to the range where `e^x` is a normal f32.
#[inline(always)]
fn exp<const FMA: bool>(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    let r = mul_add::<FMA>(-n, LN2_LO, mul_add::<FMA>(-n, LN2_HI, x));
    let mut p = 1.0 / 5040.0;
    p = mul_add::<FMA>(p, r, 1.0 / 720.0);
    p = mul_add::<FMA>(p, r, 1.0 / 120.0);
    p = mul_add::<FMA>(p, r, 1.0 / 24.0);
    p = mul_add::<FMA>(p, r, 1.0 / 6.0);
    p = mul_add::<FMA>(p, r, 0.5);
    p = mul_add::<FMA>(p, r, 1.0);
    p = mul_add::<FMA>(p, r, 1.0);
    // n ∈ [-126, 127] after the clamp, so the biased exponent is a valid normal one.
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// erf(x): for |x| ≥ 0.5 by Abramowitz & Stegun 7.1.26 (error ≤ 1.5e-7), below by its
/// Maclaurin series, where 7.1.26's `1 − …` would cancel. Both are computed and one is
/// selected, so the loop still vectorizes.
#[inline(always)]
fn erf<const FMA: bool>(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / mul_add::<FMA>(0.327_591_1, a, 1.0);
    let mut p = 1.061_405_4;
    p = mul_add::<FMA>(p, t, -1.453_152_1);
    p = mul_add::<FMA>(p, t, 1.421_413_7);
    p = mul_add::<FMA>(p, t, -0.284_496_74);
    p = mul_add::<FMA>(p, t, 0.254_829_6);
    let large = 1.0 - p * t * exp::<FMA>(-a * a);
    // 2/√π · (a − a³/3 + a⁵/10 − a⁷/42 + a⁹/216 − a¹¹/1320); the next term is < 2e-8 here.
    let a2 = a * a;
    let mut s = -1.0 / 1320.0;
    s = mul_add::<FMA>(s, a2, 1.0 / 216.0);
    s = mul_add::<FMA>(s, a2, -1.0 / 42.0);
    s = mul_add::<FMA>(s, a2, 1.0 / 10.0);
    s = mul_add::<FMA>(s, a2, -1.0 / 3.0);
    s = mul_add::<FMA>(s, a2, 1.0);
    let small = std::f32::consts::FRAC_2_SQRT_PI * a * s;
    let y = if a < 0.5 { small } else { large };
    y.copysign(x)
}

#[inline(always)]
fn activate_generic<const FMA: bool>(row: &mut [f32], act: Activation) {
    match act {
        Activation::GeluErf => {
            for v in row.iter_mut() {
                let x = *v;
                *v = 0.5 * x * (1.0 + erf::<FMA>(x * std::f32::consts::FRAC_1_SQRT_2));
            }
        }
        Activation::GeluTanh => {
            const SQRT_2_OVER_PI: f32 = 0.797_884_6;
            for v in row.iter_mut() {
                let x = *v;
                let z = SQRT_2_OVER_PI * mul_add::<FMA>(0.044_715 * x, x * x, x);
                // tanh(z) = 1 - 2 / (e^{2z} + 1), finite for every z after exp's clamp.
                let tanh = 1.0 - 2.0 / (exp::<FMA>(2.0 * z) + 1.0);
                *v = 0.5 * x * (1.0 + tanh);
            }
        }
        Activation::Relu => {
            for v in row.iter_mut() {
                *v = v.max(0.0);
            }
        }
    }
}

/// Lanes of the reductions below: 16 independent accumulators, because floating-point
/// addition is not associative and LLVM only vectorizes a reduction written out as lanes.
const LANES: usize = 16;

/// `Σ f(x)` over `xs`, lane-wise.
#[inline(always)]
fn sum_of(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest: f32 = chunks.remainder().iter().map(|&x| f(x)).sum();
    for chunk in chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane += f(x);
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// The largest element of `xs` (−∞ for none), lane-wise.
#[inline(always)]
fn max_of(xs: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder().iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    for chunk in chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(x);
        }
    }
    lanes.iter().fold(rest, |m, &x| m.max(x))
}

#[inline(always)]
fn layer_norm_generic<const FMA: bool>(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = row.len() as f32;
    let mean = sum_of(row, |x| x) / n;
    let variance = sum_of(row, |x| (x - mean) * (x - mean)) / n;
    let scale = 1.0 / (variance + eps).sqrt();
    for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = mul_add::<FMA>((*v - mean) * scale, *g, *b);
    }
}

#[inline(always)]
fn softmax_generic<const FMA: bool>(row: &mut [f32]) {
    let max = max_of(row);
    for v in row.iter_mut() {
        *v = exp::<FMA>(*v - max);
    }
    let inverse = 1.0 / sum_of(row, |x| x);
    for v in row.iter_mut() {
        *v *= inverse;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn erf_f64(x: f64) -> f64 {
        // Maclaurin series; converges fast for |x| ≤ 3.
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    fn grid() -> impl Iterator<Item = f32> {
        (-3000..=3000).map(|i| i as f32 / 1000.0)
    }

    #[test]
    fn exp_is_within_a_few_ulp_everywhere() {
        for fma in [false, true] {
            for i in -8700..=8800 {
                let x = i as f32 / 100.0;
                let got = if fma { exp::<true>(x) } else { exp::<false>(x) };
                let want = (x as f64).exp();
                assert!(((got as f64 - want) / want).abs() < 4e-7, "exp({x}) = {got}, want {want}");
            }
        }
        assert_eq!(exp::<false>(-1e9), exp::<false>(-87.0));
        assert!(exp::<true>(f32::NEG_INFINITY) >= 0.0);
    }

    #[test]
    fn erf_matches_the_series() {
        for x in grid() {
            let (a, b) = (erf::<true>(x), erf::<false>(x));
            let want = erf_f64(x as f64);
            assert!((a as f64 - want).abs() < 4e-7, "erf({x}) = {a}, want {want}");
            assert!((b as f64 - want).abs() < 4e-7, "erf({x}) = {b}, want {want}");
        }
    }

    #[test]
    fn dispatched_kernels_agree_with_scalar_math() {
        let input: Vec<f32> = grid().step_by(7).collect();
        let mut gelu = input.clone();
        activate(&mut gelu, Activation::GeluErf);
        let mut tanh = input.clone();
        activate(&mut tanh, Activation::GeluTanh);
        let mut relu = input.clone();
        activate(&mut relu, Activation::Relu);
        for (i, &x) in input.iter().enumerate() {
            let x64 = x as f64;
            let exact = 0.5 * x64 * (1.0 + erf_f64(x64 / std::f64::consts::SQRT_2));
            assert!((gelu[i] as f64 - exact).abs() < 1e-6, "gelu({x})");
            let z = (2.0 / std::f64::consts::PI).sqrt() * (x64 + 0.044715 * x64.powi(3));
            let approx = 0.5 * x64 * (1.0 + z.tanh());
            assert!((tanh[i] as f64 - approx).abs() < 1e-6, "gelu_tanh({x})");
            assert_eq!(relu[i], x.max(0.0));
        }

        let mut row: Vec<f32> = (0..300).map(|i| ((i * 37) % 101) as f32 / 7.0 - 5.0).collect();
        let want: Vec<f64> = {
            let max = row.iter().fold(f64::MIN, |m, &x| m.max(x as f64));
            let e: Vec<f64> = row.iter().map(|&x| (x as f64 - max).exp()).collect();
            let s: f64 = e.iter().sum();
            e.iter().map(|x| x / s).collect()
        };
        softmax(&mut row);
        for (got, want) in row.iter().zip(&want) {
            assert!((*got as f64 - want).abs() < 1e-7 + want * 1e-6);
        }

        let mut row: Vec<f32> = (0..384).map(|i| (i as f32 * 0.31).sin() * 3.0 + 1.0).collect();
        let gamma: Vec<f32> = (0..384).map(|i| 1.0 + i as f32 / 384.0).collect();
        let beta: Vec<f32> = (0..384).map(|i| i as f32 / 1000.0).collect();
        let mean = row.iter().map(|&x| x as f64).sum::<f64>() / 384.0;
        let var = row.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / 384.0;
        let want: Vec<f64> = row
            .iter()
            .enumerate()
            .map(|(i, &x)| (x as f64 - mean) / (var + 1e-12).sqrt() * gamma[i] as f64 + beta[i] as f64)
            .collect();
        layer_norm(&mut row, &gamma, &beta, 1e-12);
        for (got, want) in row.iter().zip(&want) {
            assert!((*got as f64 - want).abs() < 1e-5, "{got} vs {want}");
        }
    }
}
