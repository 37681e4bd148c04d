use std::collections::BTreeMap;

use grove_base::GitOid;
use grove_store::{ObjectId, Store};

use crate::ManifestError;

const HEADER: &str = "grove-refs 1";
const FILE: &str = "refs";

/// The ref table: name → snapshot id.
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

    /// Text format: a header line, one `<snapshot-hex> <name>` line per ref,
    /// and a trailer `crc32 <hex>` over everything before it.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = String::from(HEADER);
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
        if lines.next() != Some(HEADER) {
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

/// Reads the current ref table (empty if none was written yet).
pub fn load_refs(store: &Store) -> Result<Refs, ManifestError> {
    match store.read_file(FILE)? {
        None => Ok(Refs::default()),
        Some(bytes) => Refs::decode(&bytes, &store.root().join(FILE)),
    }
}

/// Read-modify-write of the ref table under the store's writer lock, so two
/// writers never lose each other's updates. The new table replaces the old one
/// atomically (temp, fsync, rename, fsync dir) — only if `f` succeeds.
pub fn update_refs<T, E: From<ManifestError>>(
    store: &Store,
    f: impl FnOnce(&mut Refs) -> Result<T, E>,
) -> Result<T, E> {
    let _lock = store.write_lock().map_err(ManifestError::from)?;
    let mut refs = load_refs(store)?;
    let out = f(&mut refs)?;
    grove_store::failpoint("before-refs-swap");
    store.replace_file(FILE, &refs.encode()).map_err(ManifestError::from)?;
    grove_store::failpoint("after-refs-swap");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checksum() {
        let mut r = Refs::default();
        r.set(commit_ref(GitOid([9; 20])), ObjectId([1; 32]));
        r.set("fork/my branch".into(), ObjectId([2; 32]));
        let bytes = r.encode();
        assert_eq!(Refs::decode(&bytes, "refs".as_ref()).unwrap(), r);
        let mut bad = bytes.clone();
        bad[20] ^= 1;
        assert!(Refs::decode(&bad, "refs".as_ref()).is_err());
        assert!(Refs::decode(&bytes[..bytes.len() - 5], "refs".as_ref()).is_err());
    }

    #[test]
    fn update_under_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        update_refs::<_, ManifestError>(&store, |r| Ok(r.set("a".into(), ObjectId([1; 32])))).unwrap();
        update_refs::<_, ManifestError>(&store, |r| Ok(r.set("b".into(), ObjectId([2; 32])))).unwrap();
        // A failing update leaves the table as it was.
        let failed = update_refs::<(), ManifestError>(&store, |r| {
            r.set("c".into(), ObjectId([3; 32]));
            Err(ManifestError::Corrupt { path: "x".into(), what: "test".into() })
        });
        assert!(failed.is_err());
        let refs = load_refs(&store).unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs.get("a"), Some(ObjectId([1; 32])));
    }
}
