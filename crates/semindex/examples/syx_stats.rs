//! Where the bytes of an index's syntax files go.
//!
//! `cargo run --release -p grove-semindex --example syx_stats -- <index dir>`

use grove_semindex::{SyntaxFile, SyntaxFileStats};
use grove_store::{Kind, Store};

fn main() {
    let dir = std::env::args().nth(1).expect("usage: syx_stats <index dir>");
    let store = Store::open(std::path::Path::new(&dir)).expect("an index directory");
    let mut t = SyntaxFileStats::default();
    let (mut files, mut bytes, mut terms) = (0, 0u64, 0u64);
    for id in store.list(Kind::Syntax).expect("listing syntax files") {
        let map = store.map(Kind::Syntax, id).expect("mapping a syntax file");
        let size = map.bytes().len() as u64;
        let f = match SyntaxFile::open(map) {
            Ok(f) => f,
            Err(e) => {
                println!("{}: {e}", id.short());
                continue;
            }
        };
        let Some(s) = f.stats() else {
            println!("{}: a record does not decode", id.short());
            continue;
        };
        println!(
            "{}: {size} bytes, {} records, {} chunks, {} distinct terms",
            id.short(),
            s.records,
            s.chunks,
            f.terms()
        );
        files += 1;
        bytes += size;
        terms += f.terms() as u64;
        t.records += s.records;
        t.symbols += s.symbols;
        t.chunks += s.chunks;
        t.term_entries += s.term_entries;
        t.bytes_header_and_index += s.bytes_header_and_index;
        t.bytes_term_table += s.bytes_term_table;
        t.bytes_record_heads += s.bytes_record_heads;
        t.bytes_symbols += s.bytes_symbols;
        t.bytes_chunk_fields += s.bytes_chunk_fields;
        t.bytes_text_hashes += s.bytes_text_hashes;
        t.bytes_bags += s.bytes_bags;
        t.bytes_record_crcs += s.bytes_record_crcs;
    }
    println!(
        "\n{files} files, {bytes} bytes: {} records, {} symbols, {} chunks, {} term entries ({terms} distinct terms over the files)",
        t.records, t.symbols, t.chunks, t.term_entries
    );
    let pct = |v: u64| 100.0 * v as f64 / bytes.max(1) as f64;
    for (name, v) in [
        ("header + index", t.bytes_header_and_index),
        ("term tables", t.bytes_term_table),
        ("record heads (outcome, counts)", t.bytes_record_heads),
        ("symbols", t.bytes_symbols),
        ("chunk fields (positions, symbol, length)", t.bytes_chunk_fields),
        ("chunk text hashes", t.bytes_text_hashes),
        ("term bags", t.bytes_bags),
        ("record crcs", t.bytes_record_crcs),
    ] {
        println!("{name:>42}: {v:>10} ({:5.1}%)", pct(v));
    }
    println!("{:>42}: {:.2}", "bag bytes per term entry", t.bytes_bags as f64 / t.term_entries.max(1) as f64);
}
