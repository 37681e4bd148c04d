//! Recursive tree-to-tree diff over raw tree objects.
//!
//! Both trees of a pair are walked in step, in git's tree order (a directory sorts as
//! if its name ended with '/'), like git's `tree-diff.c`. Entries with the same name
//! and the same oid are skipped, so an unchanged subtree is never read: the cost is
//! proportional to the number of trees on the paths to what changed.

use std::cmp::Ordering;

use grove_base::{EntryMode, GitOid};

use crate::{classify, load_tree, parse_entry, Kind, TreeChange, VcsError, MAX_TREE_DEPTH};

/// A pair of trees still to compare: `None` stands for a side that has no tree there
/// (a directory added or deleted as a whole).
struct Pending {
    prefix: Vec<u8>,
    from: Option<GitOid>,
    to: Option<GitOid>,
    depth: usize,
}

/// One parsed entry of a raw tree.
struct Entry<'a> {
    name: &'a [u8],
    mode: u32,
    oid: GitOid,
    is_tree: bool,
}

/// A cursor over the entries of one raw tree.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self, prefix: &[u8], root: GitOid) -> Result<Option<(Entry<'a>, usize)>, VcsError> {
        if self.pos >= self.data.len() {
            return Ok(None);
        }
        let Some((mode, name, oid, next)) = parse_entry(self.data, self.pos) else {
            return Err(VcsError::Git(format!(
                "malformed tree entry at byte {} of tree '{}' under root tree {root}",
                self.pos,
                String::from_utf8_lossy(prefix)
            )));
        };
        let entry = Entry { name: &self.data[name], mode, oid: GitOid(oid), is_tree: mode & 0o170000 == 0o040000 };
        Ok(Some((entry, next)))
    }
}

/// git's `base_name_compare`: names compare bytewise, a tree as if followed by '/'.
/// A file and a directory of the same name are two different entries.
fn tree_order(a: &Entry, b: &Entry) -> Ordering {
    let n = a.name.len().min(b.name.len());
    match a.name[..n].cmp(&b.name[..n]) {
        Ordering::Equal => {}
        other => return other,
    }
    let end = |e: &Entry| {
        if e.name.len() > n {
            e.name[n]
        } else if e.is_tree {
            b'/'
        } else {
            0
        }
    };
    end(a).cmp(&end(b))
}

pub(crate) fn diff_trees(repo: &gix::Repository, from: GitOid, to: GitOid) -> Result<Vec<TreeChange>, VcsError> {
    let mut out = Vec::new();
    if from == to {
        return Ok(out);
    }
    let mut pending = vec![Pending { prefix: Vec::new(), from: Some(from), to: Some(to), depth: 0 }];
    let (mut from_buf, mut to_buf) = (Vec::new(), Vec::new());
    let mut path = Vec::new();
    while let Some(p) = pending.pop() {
        if p.depth >= MAX_TREE_DEPTH {
            return Err(VcsError::Git(format!(
                "tree {} is nested deeper than {MAX_TREE_DEPTH} levels at '{}'",
                p.to.or(p.from).unwrap_or(to),
                String::from_utf8_lossy(&p.prefix)
            )));
        }
        let load = |oid: Option<GitOid>, buf: &mut Vec<u8>| match oid {
            Some(oid) => load_tree(repo, oid, &p.prefix, buf),
            None => {
                buf.clear();
                Ok(())
            }
        };
        load(p.from, &mut from_buf)?;
        load(p.to, &mut to_buf)?;
        let mut a = Cursor { data: &from_buf, pos: 0 };
        let mut b = Cursor { data: &to_buf, pos: 0 };
        let mut child = |name: &[u8], from: Option<GitOid>, to: Option<GitOid>| {
            let mut prefix = Vec::with_capacity(p.prefix.len() + name.len() + 1);
            prefix.extend_from_slice(&p.prefix);
            prefix.extend_from_slice(name);
            prefix.push(b'/');
            pending.push(Pending { prefix, from, to, depth: p.depth + 1 });
        };
        loop {
            let ea = a.peek(&p.prefix, from)?;
            let eb = b.peek(&p.prefix, to)?;
            let order = match (&ea, &eb) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((x, _)), Some((y, _))) => tree_order(x, y),
            };
            let set_path = |path: &mut Vec<u8>, name: &[u8]| {
                path.clear();
                path.extend_from_slice(&p.prefix);
                path.extend_from_slice(name);
            };
            match order {
                Ordering::Less => {
                    let (x, next) = ea.expect("Less implies an old entry");
                    a.pos = next;
                    match classify(x.mode) {
                        Kind::Tree => child(x.name, Some(x.oid), None),
                        Kind::Entry(_) => {
                            set_path(&mut path, x.name);
                            out.push(TreeChange::Deleted { path: path.clone() });
                        }
                        Kind::Gitlink => {}
                    }
                }
                Ordering::Greater => {
                    let (y, next) = eb.expect("Greater implies a new entry");
                    b.pos = next;
                    match classify(y.mode) {
                        Kind::Tree => child(y.name, None, Some(y.oid)),
                        Kind::Entry(mode) => {
                            set_path(&mut path, y.name);
                            out.push(added(&path, y.oid, mode));
                        }
                        Kind::Gitlink => {}
                    }
                }
                Ordering::Equal => {
                    let ((x, next_a), (y, next_b)) = (ea.expect("Equal: old"), eb.expect("Equal: new"));
                    a.pos = next_a;
                    b.pos = next_b;
                    if x.oid == y.oid && x.mode == y.mode {
                        continue;
                    }
                    // Equal oids with different raw modes ("100664" and "100644", say)
                    // are no change once the modes are canonical.
                    match (classify(x.mode), classify(y.mode)) {
                        (Kind::Tree, Kind::Tree) if x.oid != y.oid => {
                            child(x.name, Some(x.oid), Some(y.oid));
                        }
                        (Kind::Entry(old), Kind::Entry(new)) if x.oid != y.oid || old != new => {
                            set_path(&mut path, y.name);
                            out.push(TreeChange::Modified { path: path.clone(), oid: y.oid, mode: new });
                        }
                        (Kind::Entry(_), Kind::Gitlink) => {
                            set_path(&mut path, x.name);
                            out.push(TreeChange::Deleted { path: path.clone() });
                        }
                        (Kind::Gitlink, Kind::Entry(mode)) => {
                            set_path(&mut path, y.name);
                            out.push(added(&path, y.oid, mode));
                        }
                        // Unchanged after all; gitlink to gitlink (ignored); same name
                        // with one a tree and one not cannot happen (tree_order keeps
                        // them apart).
                        _ => {}
                    }
                }
            }
        }
    }
    out.sort_unstable_by(|x, y| x.path().cmp(y.path()));
    Ok(out)
}

fn added(path: &[u8], oid: GitOid, mode: EntryMode) -> TreeChange {
    TreeChange::Added { path: path.to_vec(), oid, mode }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(name: &str, is_tree: bool) -> Entry<'_> {
        Entry { name: name.as_bytes(), mode: if is_tree { 0o040000 } else { 0o100644 }, oid: GitOid::NULL, is_tree }
    }

    #[test]
    fn order_is_gits() {
        use Ordering::*;
        assert_eq!(tree_order(&e("a", false), &e("a", true)), Less);
        assert_eq!(tree_order(&e("a", true), &e("a", true)), Equal);
        assert_eq!(tree_order(&e("a", false), &e("a", false)), Equal);
        assert_eq!(tree_order(&e("a.c", false), &e("a", true)), Less);
        assert_eq!(tree_order(&e("a0", false), &e("a", true)), Greater);
        assert_eq!(tree_order(&e("a-b", true), &e("a", false)), Greater);
        assert_eq!(tree_order(&e("a", false), &e("a-b", true)), Less);
    }
}
