//! Embedding throughput with mimalloc as the global allocator (what grove's binary uses).
//! `cargo run --release -p grove-embed --example throughput -- --src DIR [--sweep]`

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/throughput.rs"]
mod bench;

fn main() {
    bench::main("mimalloc");
}
