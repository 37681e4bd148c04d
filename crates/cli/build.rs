//! Links the `grove` binary as a position-dependent executable on Linux.
//!
//! As a PIE, this binary carries ~41k relative relocations (vtables, string
//! and grammar tables) that the dynamic loader applies at every start,
//! copying each page they touch: ~0.7 ms of a process that indexes one
//! commit in ~10 ms (`benches/commits.sh`). Without PIE the linker resolves
//! them once. Libraries, heap and stack stay randomized.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bin=grove=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
