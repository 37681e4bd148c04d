//! Embedding throughput with the system allocator (glibc malloc), for comparison with
//! `throughput` (mimalloc). Same arguments.

#[path = "common/throughput.rs"]
mod bench;

fn main() {
    bench::main("system (glibc)");
}
