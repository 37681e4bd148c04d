//! Refs: name → snapshot, one small file per ref under `refs.d/`.
//!
//! One file per ref makes a fork, and publishing one indexed commit, O(1)
//! whatever the number of refs: a single file is written (temp → fsync →
//! rename → fsync dir) under the store's writer lock. Readers look a ref up by
//! reading one file; a reader sees each ref either before or after an update.
//! Listing every ref reads the directory (gc, list, compaction).
//!
//! Index layout 1 kept all refs in one text table, `refs`; it is moved into
//! `refs.d/` the first time a newer grove opens the index (idempotent, under
//! the writer lock), then the table is removed and `FORMAT` says layout 2.

use std::collections::BTreeMap;

use grove_base::GitOid;
use grove_store::{ObjectId, Store};

use crate::ManifestError;

const DIR: &str = "refs.d";
const LEGACY_FILE: &str = "refs";
const LEGACY_HEADER: &str = "grove-refs 1";
const REF_HEADER: &str = "grove-ref 1";

/// A set of refs: name → snapshot id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Refs {
    map: BTreeMap<String, ObjectId>,
}

/// The ref under which the snapshot of an indexed commit is kept.
pub fn commit_ref(commit: GitOid) -> String {
    format!("commit/{}", commit.to_hex())
}

impl Refs {
    pub fn get(&self, name: &str) -> Option<ObjectId> {
        self.map.get(name).copied()
    }
    pub fn set(&mut self, name: String, id: ObjectId) {
        self.map.insert(name, id);
    }
    pub fn remove(&mut self, name: &str) -> Option<ObjectId> {
        self.map.remove(name)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, ObjectId)> {
        self.map.iter().map(|(k, v)| (k.as_str(), *v))
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The layout-1 table format (kept for reading old indexes, and for
    /// benchmarks of a whole-table encoding): a header line, one
    /// `<snapshot-hex> <name>` line per ref, and `crc32 <hex>` over the rest.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = String::from(LEGACY_HEADER);
        s.push('\n');
        for (name, id) in &self.map {
            s.push_str(&id.to_hex());
            s.push(' ');
            s.push_str(name);
            s.push('\n');
        }
        let crc = crc32fast::hash(s.as_bytes());
        s.push_str(&format!("crc32 {crc:08x}\n"));
        s.into_bytes()
    }

    pub fn decode(bytes: &[u8], path: &std::path::Path) -> Result<Refs, ManifestError> {
        let corrupt = |what: &str| ManifestError::Corrupt { path: path.to_path_buf(), what: what.to_string() };
        let text = std::str::from_utf8(bytes).map_err(|_| corrupt("not UTF-8"))?;
        let body_end = text.trim_end_matches('\n').rfind('\n').map(|i| i + 1).ok_or_else(|| corrupt("truncated"))?;
        let (body, trailer) = text.split_at(body_end);
        let want = trailer
            .trim_end()
            .strip_prefix("crc32 ")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| corrupt("missing checksum trailer"))?;
        if crc32fast::hash(body.as_bytes()) != want {
            return Err(corrupt("checksum mismatch"));
        }
        let mut lines = body.lines();
        if lines.next() != Some(LEGACY_HEADER) {
            return Err(corrupt("unknown refs header"));
        }
        let mut map = BTreeMap::new();
        for line in lines {
            let (hex, name) = line.split_once(' ').ok_or_else(|| corrupt("malformed line"))?;
            let id = ObjectId::from_hex(hex).ok_or_else(|| corrupt("malformed snapshot id"))?;
            map.insert(name.to_string(), id);
        }
        Ok(Refs { map })
    }
}

/// A ref name as a file name: `[A-Za-z0-9._-]` kept, every other byte `%XX`.
fn file_of(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    // "." and ".." are not names a directory can hold.
    if out.starts_with('.') {
        out.replace_range(..1, "%2E");
    }
    out
}

fn name_of(file: &str) -> Option<String> {
    let b = file.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn encode_ref(id: ObjectId) -> Vec<u8> {
    let hex = id.to_hex();
    format!("{REF_HEADER} {hex} {:08x}\n", crc32fast::hash(hex.as_bytes())).into_bytes()
}

fn decode_ref(bytes: &[u8], path: &std::path::Path) -> Result<ObjectId, ManifestError> {
    let corrupt = |what: &str| ManifestError::Corrupt { path: path.to_path_buf(), what: what.to_string() };
    let text = std::str::from_utf8(bytes).map_err(|_| corrupt("not UTF-8"))?;
    let rest =
        text.strip_suffix('\n').and_then(|t| t.strip_prefix(REF_HEADER)).ok_or_else(|| corrupt("not a ref file"))?;
    let mut parts = rest.split_whitespace();
    let (Some(hex), Some(crc), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(corrupt("malformed ref"));
    };
    if u32::from_str_radix(crc, 16).ok() != Some(crc32fast::hash(hex.as_bytes())) {
        return Err(corrupt("checksum mismatch"));
    }
    ObjectId::from_hex(hex).ok_or_else(|| corrupt("malformed snapshot id"))
}

/// Moves a layout-1 ref table into per-ref files, once.
fn upgrade_legacy(store: &Store) -> Result<(), ManifestError> {
    if !store.root().join(LEGACY_FILE).is_file() {
        return Ok(());
    }
    let _lock = store.write_lock()?;
    let Some(bytes) = store.read_file(LEGACY_FILE)? else { return Ok(()) }; // another process did it
    let legacy = Refs::decode(&bytes, &store.root().join(LEGACY_FILE))?;
    for (name, id) in legacy.iter() {
        let file = format!("{DIR}/{}", file_of(name));
        if store.read_file(&file)?.is_none() {
            store.replace_file(&file, &encode_ref(id))?;
        }
    }
    store.replace_file("FORMAT", format!("{}\n", grove_store::LAYOUT).as_bytes())?;
    store.remove_file(LEGACY_FILE)?;
    Ok(())
}

/// Looks one ref up (reads one file).
pub fn get_ref(store: &Store, name: &str) -> Result<Option<ObjectId>, ManifestError> {
    upgrade_legacy(store)?;
    let file = format!("{DIR}/{}", file_of(name));
    match store.read_file(&file)? {
        None => Ok(None),
        Some(bytes) => decode_ref(&bytes, &store.root().join(&file)).map(Some),
    }
}

/// Reads every ref (one file each).
pub fn load_refs(store: &Store) -> Result<Refs, ManifestError> {
    upgrade_legacy(store)?;
    let mut map = BTreeMap::new();
    for file in store.list_files(DIR)? {
        let path = store.root().join(DIR).join(&file);
        let Some(name) = name_of(&file) else {
            // Temp files never live here (they are written under tmp/).
            return Err(ManifestError::Corrupt { path, what: "not a ref file name".into() });
        };
        // A ref removed between listing and reading is simply gone.
        if let Some(bytes) = store.read_file(&format!("{DIR}/{file}"))? {
            map.insert(name, decode_ref(&bytes, &path)?);
        }
    }
    Ok(Refs { map })
}

/// Ref files written ahead of the writer lock: complete and durable temp
/// files (staged together with the objects they name, in one fsync round),
/// installed by [`RefWriter::install`] with one rename each; `refs.d/` is
/// fsynced by the next write's directory round or by gc (`Store::install`).
#[derive(Debug)]
pub struct PreparedRefs {
    names: Vec<String>,
    staged: grove_store::Staged,
}

/// The bytes of the ref files for `refs`, to stage with
/// `Store::put_many_staging`; pair the result with [`PreparedRefs::new`].
pub fn ref_files(refs: &[(String, ObjectId)]) -> Vec<Vec<u8>> {
    refs.iter().map(|(_, id)| encode_ref(*id)).collect()
}

impl PreparedRefs {
    /// `staged` holds the files of [`ref_files`]`(refs)`, in order.
    pub fn new(refs: &[(String, ObjectId)], staged: grove_store::Staged) -> PreparedRefs {
        PreparedRefs { names: refs.iter().map(|(n, _)| n.clone()).collect(), staged }
    }

    /// Keeps the refs whose flag in `keep` is set (in the order of the refs
    /// given to [`PreparedRefs::new`]) and discards the others' files.
    pub fn retain(&mut self, keep: &[bool]) {
        self.staged.retain(keep);
        let mut flags = keep.iter();
        self.names.retain(|_| flags.next().copied().unwrap_or(false));
    }
}

/// Point updates of refs under the store's writer lock.
pub struct RefWriter<'a> {
    store: &'a Store,
    wrote: bool,
}

impl RefWriter<'_> {
    pub fn get(&self, name: &str) -> Result<Option<ObjectId>, ManifestError> {
        get_ref(self.store, name)
    }
    /// Writes one ref atomically (temp, fsync, rename, fsync dir).
    pub fn set(&mut self, name: &str, id: ObjectId) -> Result<(), ManifestError> {
        self.before_write();
        self.store.replace_file(&format!("{DIR}/{}", file_of(name)), &encode_ref(id))?;
        Ok(())
    }
    /// Writes several refs, each atomically, as one durable group (their
    /// temp files fsynced together, `refs.d/` fsynced once).
    pub fn set_many(&mut self, refs: &[(&str, ObjectId)]) -> Result<(), ManifestError> {
        if refs.is_empty() {
            return Ok(());
        }
        self.before_write();
        let files: Vec<(String, Vec<u8>)> =
            refs.iter().map(|(name, id)| (format!("{DIR}/{}", file_of(name)), encode_ref(*id))).collect();
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
        self.store.replace_files(&files)?;
        Ok(())
    }
    /// Points refs at their snapshots by renaming prepared files.
    pub fn install(&mut self, prepared: PreparedRefs) -> Result<(), ManifestError> {
        if prepared.names.is_empty() {
            return Ok(());
        }
        self.before_write();
        let files: Vec<String> = prepared.names.iter().map(|n| format!("{DIR}/{}", file_of(n))).collect();
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        self.store.install(prepared.staged, &files)?;
        Ok(())
    }
    pub fn remove(&mut self, name: &str) -> Result<(), ManifestError> {
        self.before_write();
        self.store.remove_file(&format!("{DIR}/{}", file_of(name)))?;
        Ok(())
    }
    fn before_write(&mut self) {
        if !self.wrote {
            grove_store::failpoint("before-refs-swap");
            self.wrote = true;
        }
    }
}

/// Runs `f` holding the writer lock; refs it sets are visible when it
/// returns. Point operations: cost independent of how many refs exist.
pub fn with_ref_lock<T, E: From<ManifestError>>(
    store: &Store,
    f: impl FnOnce(&mut RefWriter<'_>) -> Result<T, E>,
) -> Result<T, E> {
    upgrade_legacy(store)?;
    let _lock = store.write_lock().map_err(ManifestError::from)?;
    let mut w = RefWriter { store, wrote: false };
    let out = f(&mut w)?;
    if w.wrote {
        grove_store::failpoint("after-refs-swap");
    }
    Ok(out)
}

/// Read-modify-write of the whole ref set under the writer lock (for
/// operations that need every ref: compaction's compare-and-swap, gc, drop).
/// Only refs that changed are written; nothing is written if `f` fails.
pub fn update_refs<T, E: From<ManifestError>>(
    store: &Store,
    f: impl FnOnce(&mut Refs) -> Result<T, E>,
) -> Result<T, E> {
    with_ref_lock(store, |w| {
        let before = load_refs(w.store)?;
        let mut refs = before.clone();
        let out = f(&mut refs)?;
        let changed: Vec<(&str, ObjectId)> = refs.iter().filter(|(name, id)| before.get(name) != Some(*id)).collect();
        w.set_many(&changed)?;
        for (name, _) in before.iter() {
            if refs.get(name).is_none() {
                w.remove(name)?;
            }
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_table_round_trip_and_checksum() {
        let mut r = Refs::default();
        r.set(commit_ref(GitOid([9; 20])), ObjectId([1; 32]));
        r.set("name/my branch".into(), ObjectId([2; 32]));
        let bytes = r.encode();
        assert_eq!(Refs::decode(&bytes, "refs".as_ref()).unwrap(), r);
        let mut bad = bytes.clone();
        bad[20] ^= 1;
        assert!(Refs::decode(&bad, "refs".as_ref()).is_err());
        assert!(Refs::decode(&bytes[..bytes.len() - 5], "refs".as_ref()).is_err());
    }

    #[test]
    fn file_names_round_trip() {
        for name in ["commit/0123abcd", "name/.worktree", "name/a b/c%d", "name/ü", ".hidden", "x"] {
            let f = file_of(name);
            assert!(!f.contains('/') && f != "." && f != ".." && !f.starts_with('.'), "{f}");
            assert_eq!(name_of(&f).as_deref(), Some(name));
        }
    }

    #[test]
    fn point_updates_and_whole_set_updates() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        with_ref_lock::<_, ManifestError>(&store, |w| w.set("a", ObjectId([1; 32]))).unwrap();
        update_refs::<_, ManifestError>(&store, |r| {
            r.set("b".into(), ObjectId([2; 32]));
            Ok(())
        })
        .unwrap();
        assert_eq!(get_ref(&store, "a").unwrap(), Some(ObjectId([1; 32])));
        assert_eq!(load_refs(&store).unwrap().len(), 2);
        // A failing update leaves the refs as they were.
        let failed = update_refs::<(), ManifestError>(&store, |r| {
            r.set("c".into(), ObjectId([3; 32]));
            Err(ManifestError::Corrupt { path: "x".into(), what: "test".into() })
        });
        assert!(failed.is_err());
        assert_eq!(get_ref(&store, "c").unwrap(), None);
        update_refs::<_, ManifestError>(&store, |r| Ok(r.remove("a"))).unwrap();
        assert_eq!(get_ref(&store, "a").unwrap(), None);
        // A damaged ref file is reported, naming it.
        let f = dir.path().join("refs.d/b");
        std::fs::write(&f, "grove-ref 1 zz 0\n").unwrap();
        assert!(get_ref(&store, "b").unwrap_err().to_string().contains("refs.d/b"));
    }

    #[test]
    fn a_layout_1_table_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        let mut legacy = Refs::default();
        legacy.set("commit/ab".into(), ObjectId([5; 32]));
        store.replace_file("refs", &legacy.encode()).unwrap();
        store.replace_file("FORMAT", b"grove-index layout 1\n").unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(get_ref(&store, "commit/ab").unwrap(), Some(ObjectId([5; 32])));
        assert!(!dir.path().join("refs").exists());
        assert!(std::fs::read_to_string(dir.path().join("FORMAT")).unwrap().contains("layout 2"));
    }
}
