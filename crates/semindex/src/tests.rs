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
        w.add(key(n, 1), &sample(n));
    }
    w.add(key(3, 2), &BlobSyntax::default());
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
    w.add(key(1, 1), &sample(1));
    let f = put_syntax_file(&store, w).unwrap();
    let path = store.list(Kind::Syntax).unwrap()[0];
    let path = store.path_of(Kind::Syntax, path);
    drop(f);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    let idx = SemIndex::open(&store, 1).unwrap();
    assert!(idx.syntax(&key(1, 1)).is_none());
    let f = SyntaxFile::open(store.map(Kind::Syntax, store.list(Kind::Syntax).unwrap()[0]).unwrap()).unwrap();
    assert!(f.get(&key(1, 1)).unwrap().is_err());
    // A damaged index makes the whole file unusable, reported.
    bytes[30] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    let idx = SemIndex::open(&store, 1).unwrap();
    assert_eq!(idx.syntax_files(), 0);
    assert_eq!(idx.unusable.len(), 1, "{:?}", idx.unusable);
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
        let _ = syntax_file::decode_for_tests(&bytes);
    }

    #[test]
    fn records_round_trip(name in "\\PC{0,20}", terms in proptest::collection::btree_map(any::<u32>(), 1u16.., 0..40), line in 1u32..1_000_000) {
        let rec = BlobSyntax {
            outcome: 2,
            symbols: vec![SymbolRec { name: name.clone(), kind: 1, container: String::new(), start_line: line, end_line: line + 3, start_byte: 5, end_byte: 9 }],
            chunks: vec![ChunkRec { symbol: name, start_line: line, end_line: line, terms: terms.into_iter().collect(), ..ChunkRec::default() }],
        };
        prop_assert_eq!(syntax_file::round_trip_for_tests(&rec), Some(rec));
    }
}

/// All that is live sits in one file already: the merged file is that very
/// file (same bytes, same name) and must survive the removal of the old ones.
#[test]
fn collecting_keeps_a_merged_file_identical_to_an_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_or_create(dir.path()).unwrap();
    let mut a = SyntaxFileWriter::new(7);
    a.add(key(1, 2), &sample(1));
    a.add(key(2, 2), &sample(2));
    put_syntax_file(&store, a).unwrap();
    let mut b = SyntaxFileWriter::new(7);
    b.add(key(3, 2), &sample(3));
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
