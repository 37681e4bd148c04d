"""The PyTorch anchor for grove's embedding throughput: sentence-transformers encodes
the same chunks grove's throughput example wrote with --dump, on the same threads.

    python benches/embed/pytorch_anchor.py MODEL_DIR CHUNKS.json [--threads N] [--reps N]

Prints one line: tokens/s (best of reps after a warm-up) and tokens per CPU-second.
Tokens are counted as the model sees them (special tokens in, truncated to
max_seq_length), as grove counts them.
"""

import argparse
import json
import os
import time

import torch
from sentence_transformers import SentenceTransformer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("chunks")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model = SentenceTransformer(args.model, device="cpu")
    chunks = json.load(open(args.chunks))
    limit = model.max_seq_length
    tokens = sum(min(len(ids), limit) for ids in model.tokenizer(chunks)["input_ids"])

    model.encode(chunks, batch_size=args.batch)  # warm-up
    best = (float("inf"), float("inf"))
    for _ in range(max(args.reps, 1)):
        wall, cpu = time.perf_counter(), time.process_time()
        model.encode(chunks, batch_size=args.batch)
        run = (time.perf_counter() - wall, time.process_time() - cpu)
        best = min(best, run)
    print(
        f"sentence-transformers {torch.__version__} ({args.threads} threads, batch {args.batch}): "
        f"{tokens / best[0]:.0f} tokens/s, {tokens / best[1]:.0f} tokens per CPU-second "
        f"({len(chunks)} chunks, {tokens} tokens)"
    )


if __name__ == "__main__":
    main()
