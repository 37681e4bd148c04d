//! `Engine::search_overlay` and `Engine::symbols_overlay` against the real
//! thing: for random buffers laid over the working tree, the in-memory
//! overlay must report exactly what a search reports once the same bytes
//! are written to disk and the working tree is indexed.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::git;
use grove_engine::search::{CaseMode, CompiledPattern, LineKind, PatternOptions, SearchOptions, SearchOutput};
use grove_engine::{Engine, EngineOptions, NoProgress, Overlay, ResolvedRev, SymbolQuery, WORKTREE_NAME};

fn write(repo: &Path, path: &str, content: &[u8]) {
    let p = repo.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// A small deterministic generator (the test must be reproducible).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const LINES: &[&str] = &[
    "foo bar",
    "fn foo_1() {}",
    "baz qux",
    "",
    "QUX quux",
    "let x_2 = 1;",
    "struct Bar;",
    "bar",
    "def foo_bar():",
    "    return 'é😀 foo'",
];
const PATHS: &[&str] = &["a.txt", "src/lib.rs", "docs/readme.md", "tool.py", "new/file.rs", "new/deep/n.txt"];

fn random_content(rng: &mut Rng) -> Vec<u8> {
    let mut s = String::new();
    for _ in 0..rng.below(30) {
        s.push_str(LINES[rng.below(LINES.len())]);
        s.push('\n');
    }
    if rng.below(4) == 0 {
        s.push_str("no final newline foo");
    }
    let mut bytes = s.into_bytes();
    if rng.below(8) == 0 {
        bytes.insert(bytes.len() / 2, 0); // binary
    }
    bytes
}

/// What a search reported, in a comparable form.
type Shape = (Vec<(Vec<u8>, u64, Vec<(LineKind, u64, u64, Vec<u8>, Vec<(usize, usize)>)>)>, Vec<(Vec<u8>, String)>);

fn shape(out: &SearchOutput) -> Shape {
    let files = out
        .files
        .iter()
        .map(|f| {
            let lines = f
                .matches
                .lines
                .iter()
                .map(|l| (l.kind, l.line_number, l.offset, l.bytes.clone(), l.submatches.clone()))
                .collect();
            (f.path.clone(), f.matches.count, lines)
        })
        .collect();
    let skipped = out.skipped.iter().map(|s| (s.path.clone(), s.reason.as_str().to_string())).collect();
    (files, skipped)
}

fn worktree(engine: &Engine) -> ResolvedRev {
    engine.apply_worktree(WORKTREE_NAME, &NoProgress).unwrap();
    engine.resolve_one(WORKTREE_NAME).unwrap()
}

#[test]
fn overlay_equals_a_search_of_the_written_files() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    let mut rng = Rng(0x9e3779b97f4a7c15);
    for p in &PATHS[..4] {
        write(repo, p, &random_content(&mut rng).into_iter().filter(|&b| b != 0).collect::<Vec<_>>());
    }
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "base"]);
    // A small size limit, so that some buffers are too large.
    let mut opts = EngineOptions::default();
    opts.index.max_file_size = 300;
    let engine = Engine::open(repo, opts).unwrap();

    let patterns: &[(&str, CaseMode)] = &[
        ("foo", CaseMode::Sensitive),
        ("ba[rz]", CaseMode::Sensitive),
        ("qux", CaseMode::Insensitive),
        ("^$", CaseMode::Sensitive),
        (r"\w+_\d", CaseMode::Sensitive),
        ("😀", CaseMode::Sensitive),
    ];
    let globs: &[&[&str]] = &[&[], &["*.rs"], &["!docs/**"]];
    let mut compared = 0;
    let mut nonempty = 0;
    for case in 0..12 {
        git(repo, &["checkout", "-q", "--", "."]);
        git(repo, &["clean", "-fdq"]);
        let base = worktree(&engine);
        let mut overlay = Overlay::new();
        for _ in 0..1 + rng.below(3) {
            let path = PATHS[rng.below(PATHS.len())];
            overlay.insert(path.as_bytes().to_vec(), Arc::from(random_content(&mut rng)));
        }
        let mut in_memory = Vec::new();
        for (p, case_mode) in patterns {
            for g in globs {
                let pattern =
                    CompiledPattern::new(p, &PatternOptions { case: *case_mode, ..Default::default() }).unwrap();
                let sopts = SearchOptions {
                    globs: g.iter().map(|s| s.to_string()).collect(),
                    after_context: case % 2,
                    ..Default::default()
                };
                let out = engine.search_overlay(&base, &overlay, &pattern, &sopts, &NoProgress).unwrap();
                in_memory.push((pattern, sopts, shape(&out)));
            }
        }
        let q = SymbolQuery { query: "foo".into(), kinds: Vec::new(), limit: 0 };
        let symbols_in_memory = engine.symbols_overlay(&base, &overlay, &q, &NoProgress).unwrap();

        // Nothing of the overlay reached the disk.
        for (path, content) in overlay.iter() {
            let on_disk = std::fs::read(repo.join(std::str::from_utf8(path).unwrap())).ok();
            assert!(on_disk.as_deref() != Some(content) || content.is_empty(), "case {case}: buffer on disk");
        }

        for (path, content) in overlay.iter() {
            write(repo, std::str::from_utf8(path).unwrap(), content);
        }
        let written = worktree(&engine);
        for (pattern, sopts, expected) in &in_memory {
            let out = engine.search(std::slice::from_ref(&written), None, pattern, sopts, &NoProgress).unwrap();
            assert_eq!(&shape(&out), expected, "case {case}: overlay {overlay:?}, globs {:?}", sopts.globs);
            compared += 1;
            nonempty += usize::from(!expected.0.is_empty());
        }
        let symbols_written = engine.symbols(&written, &q, &NoProgress).unwrap();
        let key = |h: &grove_engine::SymbolHit| (h.path.clone(), h.name.clone(), h.start_line, h.end_line, h.kind);
        assert_eq!(
            symbols_in_memory.iter().map(key).collect::<Vec<_>>(),
            symbols_written.iter().map(key).collect::<Vec<_>>(),
            "case {case}: symbols"
        );
    }
    // The comparison was not vacuous.
    assert!(compared > 100 && nonempty > compared / 2, "{nonempty} of {compared} searches found something");
}

#[test]
fn an_empty_overlay_is_the_plain_search() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    write(repo, "a.txt", b"one foo\ntwo\n");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "base"]);
    let engine = Engine::open(repo, EngineOptions::default()).unwrap();
    let head = engine.resolve_one("HEAD").unwrap();
    let pattern = CompiledPattern::new("foo", &PatternOptions::default()).unwrap();
    let opts = SearchOptions::default();
    let plain = engine.search(std::slice::from_ref(&head), None, &pattern, &opts, &NoProgress).unwrap();
    let overlaid = engine.search_overlay(&head, &Overlay::new(), &pattern, &opts, &NoProgress).unwrap();
    assert_eq!(shape(&plain), shape(&overlaid));
    assert_eq!(shape(&plain).0.len(), 1);

    // A buffer hides the file's indexed content entirely.
    let mut overlay = Overlay::new();
    overlay.insert(b"a.txt".to_vec(), Arc::from(&b"nothing here\n"[..]));
    let hidden = engine.search_overlay(&head, &overlay, &pattern, &opts, &NoProgress).unwrap();
    assert!(hidden.files.is_empty());
}

/// Every file under the index directory with its size: what a request wrote.
fn index_files(dir: &Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), m.len()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn find_sees_buffers_and_stores_nothing_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    write(&repo, "src/net.py", b"def connect(host):\n    return open_socket(host)\n");
    write(&repo, "src/util.py", b"def helper():\n    return 1\n");
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models/all-MiniLM-L6-v2");
    let model = std::env::var_os("GROVE_TEST_MODEL_DIR").map(Into::into).unwrap_or(model);
    let has_model = model.join("model.safetensors").is_file();
    if !has_model {
        eprintln!("SKIPPED (dense part): no embedding model at {}", model.display());
    }
    let index = dir.path().join("index");
    let opts = EngineOptions { index_dir: Some(index.clone()), model_dir: Some(model), ..Default::default() };
    let engine = Engine::open(&repo, opts).unwrap();
    let wt = worktree(&engine);
    let modes: &[grove_engine::FindMode] = if has_model {
        &[grove_engine::FindMode::Lexical, grove_engine::FindMode::Dense, grove_engine::FindMode::Hybrid]
    } else {
        &[grove_engine::FindMode::Lexical]
    };
    let buffer: &[u8] = b"def frobnicate_widgets(count):\n    \"\"\"Spin every widget round.\"\"\"\n    return count\n";
    let mut overlay = Overlay::new();
    overlay.insert(b"src/util.py".to_vec(), Arc::from(buffer));
    for &mode in modes {
        let fopts = grove_engine::FindOptions { mode, k: 3, ..Default::default() };
        // Warm: the snapshot's own files are analysed (and embedded) and stored.
        engine.find(&wt, "frobnicate widgets", &fopts, &NoProgress).unwrap();
        let before = index_files(&index);
        let out = engine.find_overlay(&wt, &overlay, "frobnicate widgets", &fopts, &NoProgress).unwrap();
        assert_eq!(out.hits[0].path, b"src/util.py", "{mode:?}: {:?}", out.hits);
        assert!(out.hits[0].text.contains("frobnicate_widgets"), "{mode:?}: {:?}", out.hits[0]);
        assert_eq!(out.unembedded, 0, "{mode:?}: the buffer's chunks are embedded in memory");
        assert_eq!(index_files(&index), before, "{mode:?}: nothing of the buffer may be stored");
        // Without the overlay, the buffer's text is nowhere.
        let plain = engine.find(&wt, "frobnicate widgets", &fopts, &NoProgress).unwrap();
        assert!(plain.hits.iter().all(|h| !h.text.contains("frobnicate")), "{mode:?}");
    }
}
