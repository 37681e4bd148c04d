use super::*;
use grove_base::ContentId;
use proptest::prelude::*;

fn sample(seed: u8) -> BlobSyntax {
    BlobSyntax {
        outcome: 1,
        symbols: vec![SymbolRec {
            name: format!("parse_{seed}"),
            kind: 3,
            container: "Parser".into(),
            start_line: 10,
            end_line: 20,
            start_byte: 100,
            end_byte: 400,
        }],
        chunks: vec![
            ChunkRec {
                start_byte: 0,
                end_byte: 400,
                start_line: 1,
                end_line: 20,
                symbol: "Parser::parse".into(),
                text_hash: [seed; 16],
                length: 42,
                terms: vec![(5, 2), (77, 1), (u32::MAX, 9)],
            },
            ChunkRec::default(),
        ],
    }
}

fn key(n: u8, lang: u8) -> SyntaxKey {
    SyntaxKey { content: ContentId([n; 32]), lang }
}

#[test]
fn syntax_records_round_trip_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_or_create(dir.path()).unwrap();
    let mut w = SyntaxFileWriter::new(7);
    for n in [9u8, 3, 200] {
        w.add(key(n, 1), sample(n));
    }
    w.add(key(3, 2), BlobSyntax::default());
    put_syntax_file(&store, w).unwrap();
    let idx = SemIndex::open(&store, 7).unwrap();
    assert_eq!(idx.syntax(&key(9, 1)), Some(sample(9)));
    assert_eq!(idx.syntax(&key(3, 2)), Some(BlobSyntax::default()));
    assert_eq!(idx.syntax(&key(3, 3)), None);
    assert!(idx.has_syntax(&key(200, 1)));
    // Another chunker version's records are not used.
    let other = SemIndex::open(&store, 8).unwrap();
    assert_eq!(other.syntax_files(), 0);
}

#[test]
fn damaged_syntax_record_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_or_create(dir.path()).unwrap();
    let mut w = SyntaxFileWriter::new(1);
    w.add(key(1, 1), sample(1));
    let f = put_syntax_file(&store, w).unwrap();
    assert_eq!(f.terms(), 3);
    let path = store.list(Kind::Syntax).unwrap()[0];
    let path = store.path_of(Kind::Syntax, path);
    drop(f);
    let good = std::fs::read(&path).unwrap();
    let mut bytes = good.clone();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    let idx = SemIndex::open(&store, 1).unwrap();
    assert!(idx.syntax(&key(1, 1)).is_none());
    assert!(idx.syntax_filtered(&key(1, 1), &idx.term_filter(&[5])).is_none());
    let f = SyntaxFile::open(store.map(Kind::Syntax, store.list(Kind::Syntax).unwrap()[0]).unwrap()).unwrap();
    assert!(f.get(&key(1, 1)).unwrap().is_err());
    drop(f);
    // A damaged header, index or term table makes the whole file unusable,
    // reported (its records are recomputed).
    let index_at = 32 + 10;
    let table_at = 32 + 48 + 4 + 2;
    for at in [16, index_at, table_at] {
        let mut bytes = good.clone();
        bytes[at] ^= 0x55;
        std::fs::write(&path, &bytes).unwrap();
        let idx = SemIndex::open(&store, 1).unwrap();
        assert_eq!(idx.syntax_files(), 0, "byte {at}");
        assert!(!idx.has_syntax(&key(1, 1)));
        assert_eq!(idx.unusable.len(), 1, "{:?}", idx.unusable);
    }
    // Truncated anywhere: never a panic.
    for len in 0..good.len() {
        std::fs::write(&path, &good[..len]).unwrap();
        let idx = SemIndex::open(&store, 1).unwrap();
        let _ = idx.syntax(&key(1, 1));
        let _ = idx.syntax_symbols(&key(1, 1));
    }
}

/// A file of the first format (term hashes in the bags, no term table) is
/// not read: its records are missing, so they are recomputed, and gc
/// removes it.
#[test]
fn syntax_files_of_the_first_format_are_ignored_and_collected() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_or_create(dir.path()).unwrap();
    // Format 1, as grove wrote it: one empty record of key(1, 1).
    let mut record = vec![0u8, 0, 0];
    record.extend_from_slice(&crc32fast::hash(&record).to_le_bytes());
    let mut index = Vec::new();
    index.extend_from_slice(&[1; 32]);
    index.extend_from_slice(&[1, 0, 0, 0]);
    index.extend_from_slice(&(record.len() as u32).to_le_bytes());
    index.extend_from_slice(&(24u64 + 48).to_le_bytes());
    let mut v1 = b"GRVSYX\0\x01".to_vec();
    for v in [1u32, 7, 1, crc32fast::hash(&index)] {
        v1.extend_from_slice(&v.to_le_bytes());
    }
    v1.extend_from_slice(&index);
    v1.extend_from_slice(&record);
    store.put(Kind::Syntax, &v1).unwrap();
    let idx = SemIndex::open(&store, 7).unwrap();
    assert_eq!(idx.syntax_files(), 0);
    assert!(!idx.has_syntax(&key(1, 1)));
    assert!(idx.unusable[0].contains("syntax file format 1"), "{:?}", idx.unusable);
    // The recomputed record goes to a file of this format, used alongside.
    let mut w = SyntaxFileWriter::new(7);
    w.add(key(1, 1), sample(1));
    put_syntax_file(&store, w).unwrap();
    let idx = SemIndex::open(&store, 7).unwrap();
    assert_eq!(idx.syntax(&key(1, 1)), Some(sample(1)));
    let r = collect_syntax(&store, 7, &|_| true).unwrap();
    assert_eq!((r.files_removed, r.files_written), (1, 0));
    assert_eq!(store.list(Kind::Syntax).unwrap().len(), 1);
}

/// Ids far apart (id deltas of three varint bytes) and counts of up to
/// three bytes read back the same filtered as whole.
#[test]
fn filtered_reads_match_whole_reads_with_large_ids_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_or_create(dir.path()).unwrap();
    let mut w = SyntaxFileWriter::new(7);
    let all: Vec<(u32, u16)> = (0..60_000u32).map(|i| (i * 65_537, 1)).collect();
    let many = ChunkRec { terms: all.clone(), ..ChunkRec::default() };
    w.add(key(1, 1), BlobSyntax { outcome: 1, symbols: Vec::new(), chunks: vec![many] });
    let counts = [1u16, 2, 127, 128, 200, 16_383, 16_384, 20_000, u16::MAX];
    let sparse: Vec<ChunkRec> = (0..4u32)
        .map(|c| ChunkRec {
            terms: (0..60_000u32)
                .step_by(9_000 + c as usize * 1_000)
                .enumerate()
                // Each term in one chunk only: ids among the 60,000 others.
                .map(|(j, i)| (i * 65_537 + 1 + c, counts[(j + c as usize) % counts.len()]))
                .collect(),
            ..ChunkRec::default()
        })
        .collect();
    let rec = BlobSyntax { outcome: 1, symbols: Vec::new(), chunks: sparse };
    w.add(key(2, 1), rec.clone());
    put_syntax_file(&store, w).unwrap();
    let sem = SemIndex::open(&store, 7).unwrap();
    assert_eq!(sem.syntax(&key(2, 1)), Some(rec.clone()));
    let f = SyntaxFile::open(store.map(Kind::Syntax, store.list(Kind::Syntax).unwrap()[0]).unwrap()).unwrap();
    let id = format!("{:?}", f.term_ids(&[54_000 * 65_537 + 1]));
    let id: u32 = id.trim_start_matches("FileTerms([(").split(',').next().unwrap().parse().unwrap();
    // Ids ~9,000 apart in a bag: deltas of three varint bytes.
    assert!(id > 50_000, "{id}");
    let picks = |step: usize, c: u32| (0..60_000u32).step_by(step).map(move |i| i * 65_537 + 1 + c);
    for keep in [
        vec![1],
        vec![9_000 * 65_537 + 1, 54_000 * 65_537 + 1, 5],
        picks(9_000, 0).chain(picks(10_000, 1)).chain(picks(12_000, 3)).collect(),
        picks(3_000, 0).chain([0, 65_537]).collect(),
    ] {
        let filter = sem.term_filter(&keep);
        assert_eq!(sem.syntax_filtered(&key(2, 1), &filter), Some(filtered(&rec, &keep)), "{keep:?}");
        let whole = sem.syntax_filtered(&key(1, 1), &filter).unwrap();
        assert_eq!(whole.chunks[0].terms, all.iter().filter(|(t, _)| keep.contains(t)).copied().collect::<Vec<_>>());
    }
}

/// The term table: frequent terms get the small ids, lookups find every
/// term of the file and no other.
#[test]
fn term_ids_are_small_for_frequent_terms() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_or_create(dir.path()).unwrap();
    let mut w = SyntaxFileWriter::new(7);
    for n in 0..40u8 {
        let terms: Vec<(u32, u16)> = vec![(7, 1), (1000 + n as u32, 2), (u32::MAX - (n % 4) as u32, 1)];
        let chunk = ChunkRec { terms, ..ChunkRec::default() };
        w.add(key(n, 1), BlobSyntax { outcome: 1, symbols: Vec::new(), chunks: vec![chunk] });
    }
    let f = put_syntax_file(&store, w).unwrap();
    assert_eq!(f.terms(), 1 + 40 + 4);
    let ids = |hashes: &[u32]| format!("{:?}", f.term_ids(hashes));
    // 7 is in every chunk (id 0), u32::MAX - k in 10 each (ids 1..=4).
    assert_eq!(ids(&[7]), "FileTerms([(0, 7)])");
    assert_eq!(ids(&[u32::MAX - 3, 8, u32::MAX]), format!("FileTerms([(1, {}), (4, {})])", u32::MAX - 3, u32::MAX));
    assert_eq!(ids(&[1039]), "FileTerms([(44, 1039)])");
    assert_eq!(ids(&[6, 8, 999, 1040]), "FileTerms([])");
}

#[test]
fn vectors_round_trip_and_are_per_model() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_or_create(dir.path()).unwrap();
    let model = [7u8; 32];
    let keys: Vec<ChunkKey> = (0..50u8).map(|i| ChunkKey::new(&model, b"src/a.rs", &[i; 16])).collect();
    let mut w = VectorFileWriter::new(model, 4);
    for (i, k) in keys.iter().enumerate() {
        w.add(*k, i as f32, vec![i as i8, -(i as i8), 0, 127]);
    }
    put_vector_file(&store, w).unwrap();
    let idx = SemIndex::open(&store, 1).unwrap();
    for (i, k) in keys.iter().enumerate() {
        let (s, v) = idx.vector(&model, k).unwrap();
        assert_eq!(s, i as f32);
        assert_eq!(v, &[i as i8, -(i as i8), 0, 127]);
        assert!(idx.vector(&[8u8; 32], k).is_none());
    }
    assert!(idx.vector(&model, &ChunkKey::new(&model, b"src/b.rs", &[0; 16])).is_none());
    assert_eq!(idx.vector_count(&model), 50);
}

#[test]
fn chunk_keys_depend_on_model_path_and_text() {
    let a = ChunkKey::new(&[1; 32], b"a", &[0; 16]);
    assert_ne!(a, ChunkKey::new(&[2; 32], b"a", &[0; 16]));
    assert_ne!(a, ChunkKey::new(&[1; 32], b"b", &[0; 16]));
    assert_ne!(a, ChunkKey::new(&[1; 32], b"a", &[1; 16]));
    assert_eq!(a, ChunkKey::new(&[1; 32], b"a", &[0; 16]));
}

proptest! {
    #[test]
    fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = syntax_file::decode_for_tests(&bytes, &[]);
        let _ = syntax_file::decode_for_tests(&bytes, &[1, 5, 9, 0xffff_0000]);
    }
}

/// A chunk's symbol: none, the previous chunk's, a symbol's qualified name
/// (`k` modulo their number) or any text.
#[derive(Clone, Debug)]
enum ChunkSymbol {
    Empty,
    Previous,
    Def(usize),
    Literal(String),
}

fn arb_symbol() -> impl Strategy<Value = SymbolRec> {
    (
        "[a-c_]{0,3}",
        any::<u8>(),
        prop::sample::select(vec!["", "Outer", "a::b", "\u{e9}"]),
        (0u32..u32::MAX / 2, 0u32..5000),
        (0u32..u32::MAX / 2, 0u32..100_000),
    )
        .prop_map(|(name, kind, container, (line, lines), (byte, bytes))| SymbolRec {
            name,
            kind,
            container: container.to_string(),
            start_line: line,
            end_line: line + lines,
            start_byte: byte,
            end_byte: byte + bytes,
        })
}

fn arb_chunk() -> impl Strategy<Value = (ChunkRec, ChunkSymbol)> {
    let symbol = prop_oneof![
        Just(ChunkSymbol::Empty),
        Just(ChunkSymbol::Previous),
        any::<usize>().prop_map(ChunkSymbol::Def),
        "\\PC{0,12}".prop_map(ChunkSymbol::Literal),
    ];
    // Term hashes from a small range recur across chunks and records (so
    // ids are shared and frequencies differ); the others are anywhere.
    let term = prop_oneof![0u32..48, any::<u32>()];
    let freq = prop_oneof![Just(1u16), any::<u16>()];
    (
        (0u32..u32::MAX / 2, 0u32..20_000),
        (0u32..u32::MAX / 2, 0u32..500),
        symbol,
        any::<[u8; 16]>(),
        any::<u32>(),
        proptest::collection::btree_map(term, freq, 0..40),
    )
        .prop_map(|((byte, bytes), (line, lines), symbol, text_hash, length, terms)| {
            let chunk = ChunkRec {
                start_byte: byte,
                end_byte: byte + bytes,
                start_line: line,
                end_line: line + lines,
                symbol: String::new(),
                text_hash,
                length,
                terms: terms.into_iter().collect(),
            };
            (chunk, symbol)
        })
}

fn arb_record() -> impl Strategy<Value = BlobSyntax> {
    (any::<u8>(), proptest::collection::vec(arb_symbol(), 0..6), proptest::collection::vec(arb_chunk(), 0..8)).prop_map(
        |(outcome, symbols, chunks)| {
            let mut out: Vec<ChunkRec> = Vec::new();
            for (mut c, how) in chunks {
                c.symbol = match how {
                    ChunkSymbol::Empty => String::new(),
                    ChunkSymbol::Previous => out.last().map(|p| p.symbol.clone()).unwrap_or_default(),
                    ChunkSymbol::Def(_) if symbols.is_empty() => "orphan".into(),
                    ChunkSymbol::Def(k) => {
                        let s = &symbols[k % symbols.len()];
                        if s.container.is_empty() {
                            s.name.clone()
                        } else {
                            format!("{}::{}", s.container, s.name)
                        }
                    }
                    ChunkSymbol::Literal(s) => s,
                };
                out.push(c);
            }
            BlobSyntax { outcome, symbols, chunks: out }
        },
    )
}

/// `rec` as a filtered read returns it: each chunk's terms limited to `keep`.
fn filtered(rec: &BlobSyntax, keep: &[u32]) -> BlobSyntax {
    let mut r = rec.clone();
    for c in &mut r.chunks {
        c.terms.retain(|(t, _)| keep.contains(t));
    }
    r
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random records written into several files (some records in two of
    /// them) read back identical, whole, symbols only and filtered; and
    /// again after `collect_syntax` merged the live ones into one file.
    #[test]
    fn records_round_trip_through_files_and_collection(
        recs in proptest::collection::btree_map((any::<u8>(), 0u8..3), (arb_record(), 0usize..3, any::<bool>(), any::<bool>()), 1..24),
        keep in proptest::collection::vec(prop_oneof![0u32..48, any::<u32>()], 0..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        let mut writers: Vec<SyntaxFileWriter> = (0..3).map(|_| SyntaxFileWriter::new(7)).collect();
        let key = |&(n, lang): &(u8, u8)| SyntaxKey { content: ContentId([n; 32]), lang };
        for (k, (rec, file, twice, _)) in &recs {
            writers[*file].add(key(k), rec.clone());
            if *twice {
                writers[(file + 1) % 3].add(key(k), rec.clone());
            }
        }
        for w in writers.into_iter().filter(|w| !w.is_empty()) {
            put_syntax_file(&store, w).unwrap();
        }
        let check = |sem: &SemIndex, live: &dyn Fn(&(u8, u8)) -> bool| -> Result<(), TestCaseError> {
            let filter = sem.term_filter(&keep);
            for (k, (rec, ..)) in &recs {
                if !live(k) {
                    prop_assert_eq!(sem.syntax(&key(k)), None);
                    continue;
                }
                prop_assert_eq!(sem.syntax(&key(k)), Some(rec.clone()));
                let symbols = BlobSyntax { chunks: Vec::new(), ..rec.clone() };
                prop_assert_eq!(sem.syntax_symbols(&key(k)), Some(symbols));
                prop_assert_eq!(sem.syntax_filtered(&key(k), &filter), Some(filtered(rec, &keep)));
            }
            Ok(())
        };
        let sem = SemIndex::open(&store, 7).unwrap();
        check(&sem, &|_| true)?;
        drop(sem);
        let r = collect_syntax(&store, 7, &|k| recs.iter().any(|(n, (_, _, _, live))| *live && key(n) == *k)).unwrap();
        let sem = SemIndex::open(&store, 7).unwrap();
        prop_assert!(r.records_dropped == 0 || sem.syntax_files() <= 1);
        check(&sem, &|k| recs[k].3)?;
    }
}

/// All that is live sits in one file already: the merged file is that very
/// file (same bytes, same name) and must survive the removal of the old ones.
#[test]
fn collecting_keeps_a_merged_file_identical_to_an_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_or_create(dir.path()).unwrap();
    let mut a = SyntaxFileWriter::new(7);
    a.add(key(1, 2), sample(1));
    a.add(key(2, 2), sample(2));
    put_syntax_file(&store, a).unwrap();
    let mut b = SyntaxFileWriter::new(7);
    b.add(key(3, 2), sample(3));
    put_syntax_file(&store, b).unwrap();
    let r = collect_syntax(&store, 7, &|k| *k != key(3, 2)).unwrap();
    assert_eq!((r.records_dropped, r.files_written, r.files_removed), (1, 1, 1));
    let sem = SemIndex::open(&store, 7).unwrap();
    assert_eq!(sem.syntax(&key(1, 2)), Some(sample(1)));
    assert_eq!(sem.syntax(&key(2, 2)), Some(sample(2)));
    assert_eq!(sem.syntax(&key(3, 2)), None);

    let model = [9u8; 32];
    let mut w = VectorFileWriter::new(model, 4);
    let k1 = ChunkKey::new(&model, b"a.rs", &[1; 16]);
    let k2 = ChunkKey::new(&model, b"b.rs", &[2; 16]);
    w.add(k1, 0.5, vec![1, 2, 3, 4]);
    put_vector_file(&store, w).unwrap();
    let mut w = VectorFileWriter::new(model, 4);
    w.add(k2, 0.5, vec![4, 3, 2, 1]);
    put_vector_file(&store, w).unwrap();
    let r = collect_vectors(&store, &|_, k| *k == k1).unwrap();
    assert_eq!((r.vectors_dropped, r.files_written, r.files_removed), (1, 1, 1));
    let sem = SemIndex::open(&store, 7).unwrap();
    assert_eq!(sem.vector(&model, &k1), Some((0.5, &[1i8, 2, 3, 4][..])));
    assert_eq!(sem.vector(&model, &k2), None);
}
