//! Shared body of the throughput examples (one with mimalloc, one with the system
//! allocator; a global allocator is fixed at compile time, hence two binaries).
//!
//! Chunks source files into ~200-token pieces, embeds them and prints tokens/s next to
//! the arithmetic bound: FLOPs per token of the encoder ÷ the measured peak of one
//! candle f32 matmul (1024×1024) on this machine.

use candle_core::{Device, Tensor};
use grove_embed::{BatchLimits, DeviceChoice, EmbedOptions, Embedder, EncoderEmbedder, TextRole};
use std::path::{Path, PathBuf};
use std::time::Instant;

struct Args {
    model: PathBuf,
    src: PathBuf,
    chunks: usize,
    chunk_tokens: usize,
    reps: usize,
    sweep: bool,
    /// Writes the chunks (a JSON array of strings) for the PyTorch anchor to embed.
    dump: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut args = Args {
        model: std::env::var_os("GROVE_MODEL_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| manifest.join("../../../shared/models/all-MiniLM-L6-v2")),
        src: manifest.join(".."),
        chunks: 256,
        chunk_tokens: 200,
        reps: 3,
        sweep: false,
        dump: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--model" => args.model = value()?.into(),
            "--src" => args.src = value()?.into(),
            "--chunks" => args.chunks = value()?.parse().map_err(|e| format!("--chunks: {e}"))?,
            "--chunk-tokens" => args.chunk_tokens = value()?.parse().map_err(|e| format!("--chunk-tokens: {e}"))?,
            "--reps" => args.reps = value()?.parse().map_err(|e| format!("--reps: {e}"))?,
            "--sweep" => args.sweep = true,
            "--dump" => args.dump = Some(value()?.into()),
            _ => {
                return Err(format!(
                    "unknown argument {flag}; usage: [--model DIR] [--src DIR] [--chunks N] \
                     [--chunk-tokens N] [--reps N] [--sweep] [--dump FILE]"
                ))
            }
        }
    }
    Ok(args)
}

pub fn main(allocator: &str) {
    if let Err(e) = run(allocator) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(allocator: &str) -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let threads = candle_core::utils::get_num_threads();
    println!("allocator: {allocator}; threads: {threads} (RAYON_NUM_THREADS to change)");

    let t = Instant::now();
    let model = EncoderEmbedder::load(&args.model, DeviceChoice::Cpu)?;
    println!("model: {} loaded in {:.0} ms (identity {})", model.name(), ms(t), model.identity());

    let chunks = chunk_sources(&model, &args.src, args.chunks, args.chunk_tokens)?;
    let tokens: usize =
        chunks.iter().map(|c| model.count_tokens(c).map(|n| n.min(model.max_tokens()))).sum::<Result<usize, _>>()?;
    println!(
        "corpus: {} chunks from {}, {} tokens ({:.0} per chunk)",
        chunks.len(),
        args.src.display(),
        tokens,
        tokens as f64 / chunks.len().max(1) as f64
    );
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    if let Some(path) = &args.dump {
        std::fs::write(path, serde_json::to_vec(&chunks)?)?;
        println!("chunks written to {}", path.display());
    }

    let gflops = matmul_peak_gflops()?;
    let per_token = flops_per_token(&args.model, tokens as f64 / chunks.len().max(1) as f64)?;
    let bound = gflops * 1e9 / per_token;
    println!(
        "bound: candle f32 matmul 1024x1024 peak {gflops:.1} GFLOP/s; {:.1} MFLOP/token \
         => at most {bound:.0} tokens/s",
        per_token / 1e6
    );

    // Best of `reps` after a warm-up: (wall seconds, CPU seconds of this process). On a
    // shared machine wall time swings with other load; CPU time per token does not.
    let seconds = |model: &EncoderEmbedder,
                   call: &dyn Fn(&EncoderEmbedder) -> Result<(), grove_embed::EmbedError>|
     -> Result<(f64, f64), grove_embed::EmbedError> {
        call(model)?;
        let mut best = (f64::INFINITY, f64::INFINITY);
        for _ in 0..args.reps.max(1) {
            let (t, cpu) = (Instant::now(), cpu_seconds());
            call(model)?;
            let run = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu);
            if run.0 < best.0 {
                best = run;
            }
        }
        Ok(best)
    };
    let report = |label: &str, tokens: usize, (wall, cpu): (f64, f64)| {
        let rate = tokens as f64 / wall;
        println!(
            "{label:<46} {rate:>6.0} tokens/s ({:>3.0}% of bound), {:>6.0} tokens per CPU-second",
            100.0 * rate / bound,
            tokens as f64 / cpu
        );
    };

    let bucketed = seconds(&model, &|m| m.embed(&refs, TextRole::Document).map(drop))?;
    report("length-bucketed, default batches (32 / 8192)", tokens, bucketed);
    // Baseline: batches of 32 in file order, each padded to its longest text.
    let unbucketed = seconds(&model, &|m| {
        for slice in refs.chunks(32) {
            m.embed(slice, TextRole::Document)?;
        }
        Ok(())
    })?;
    report("file order, batches of 32 (no bucketing)", tokens, unbucketed);
    let few = &refs[..refs.len().min(32)];
    let few_tokens: usize =
        few.iter().map(|c| model.count_tokens(c).map(|n| n.min(model.max_tokens()))).sum::<Result<usize, _>>()?;
    let single = seconds(&model, &|m| {
        for text in few {
            m.embed(&[text], TextRole::Document)?;
        }
        Ok(())
    })?;
    report("one text per call (first 32 chunks)", few_tokens, single);

    if args.sweep {
        for max_texts in [4, 8, 16, 32, 64, 128] {
            let options = EmbedOptions {
                batch: BatchLimits { max_texts, max_tokens: max_texts * 256 },
                ..EmbedOptions::default()
            };
            let m = EncoderEmbedder::load_with(&args.model, &options)?;
            let t = seconds(&m, &|m| m.embed(&refs, TextRole::Document).map(drop))?;
            report(&format!("length-bucketed, batch {max_texts}"), tokens, t);
        }
    }
    Ok(())
}

/// User + system CPU time of this process, from /proc (0 where there is none).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // Linux reports in USER_HZ, which is 100 on every mainstream architecture.
    (ticks(11) + ticks(12)) / 100.0
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Cuts source files into chunks of about `target` tokens along line boundaries.
fn chunk_sources(
    model: &EncoderEmbedder,
    src: &Path,
    want: usize,
    target: usize,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut files = Vec::new();
    collect_files(src, &mut files)?;
    files.sort();
    let mut chunks = Vec::new();
    'files: for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let mut chunk = String::new();
        let mut chunk_tokens = 0;
        for line in text.lines() {
            // Special tokens are counted once per chunk, not per line.
            let line_tokens = model.count_tokens(line)?.saturating_sub(2);
            if chunk_tokens + line_tokens > target && !chunk.is_empty() {
                chunks.push(std::mem::take(&mut chunk));
                chunk_tokens = 0;
                if chunks.len() == want {
                    break 'files;
                }
            }
            chunk.push_str(line);
            chunk.push('\n');
            chunk_tokens += line_tokens;
        }
    }
    if chunks.is_empty() {
        return Err(format!("no source text under {}", src.display()).into());
    }
    Ok(chunks)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("c" | "h" | "rs" | "py" | "go" | "java" | "js" | "ts")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// Peak GFLOP/s of one candle f32 matmul, 1024×1024 by 1024×1024 (best of 10).
fn matmul_peak_gflops() -> candle_core::Result<f64> {
    let a = Tensor::randn(0f32, 1.0, (1024, 1024), &Device::Cpu)?;
    let b = Tensor::randn(0f32, 1.0, (1024, 1024), &Device::Cpu)?;
    a.matmul(&b)?;
    let mut best = f64::INFINITY;
    for _ in 0..10 {
        let t = Instant::now();
        a.matmul(&b)?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(2.0 * 1024f64.powi(3) / best / 1e9)
}

/// FLOPs per token of a BERT encoder at sequence length `seq`: the weight matmuls
/// (2 × (4H² + 2HI) per layer) plus attention scores and mixing (2 × 2 × seq × H).
fn flops_per_token(model_dir: &Path, seq: f64) -> Result<f64, Box<dyn std::error::Error>> {
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(model_dir.join("config.json"))?)?;
    let get = |k: &str| config[k].as_f64().ok_or_else(|| format!("config.json has no {k}"));
    let (h, i, layers) = (get("hidden_size")?, get("intermediate_size")?, get("num_hidden_layers")?);
    Ok(layers * (2.0 * (4.0 * h * h + 2.0 * h * i) + 4.0 * seq * h))
}
