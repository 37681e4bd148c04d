//! Unified diffs in memory: parse a patch and apply it to file contents.
//!
//! This crate is pure: it does no I/O and knows no git library. grove uses it
//! to search the result of a patch that was never written to disk
//! (`grove apply NAME --patch FILE`): the caller reads each file's old
//! content from a revision, calls [`apply_file`], and indexes the result.
//!
//! # Accepted input
//!
//! * `git diff` / `git show` / `git format-patch` output: `diff --git` headers
//!   with their extended lines (`index`, `new file mode`, `deleted file mode`,
//!   `old mode`/`new mode`, `similarity index`, `dissimilarity index`,
//!   `rename from`/`rename to`, `copy from`/`copy to`, `Binary files … differ`,
//!   `GIT binary patch`), C-quoted paths (`"a/caf\303\251.txt"`) and
//!   `/dev/null`. The first path component (`a/`, `b/`, …) is stripped, as
//!   `git apply` does by default.
//! * Plain `diff -u` / `diff -ru` / `diff -N` output: `---`/`+++` headers with an
//!   optional timestamp after a tab; an epoch timestamp on a side whose hunks
//!   are all empty means the file does not exist on that side (as GNU patch
//!   reads `diff -N`). A leading `a/` on the old path and `b/` on the new one
//!   are stripped (the form agents write); other paths are kept as written.
//! * Any text before the first file header (a commit message, mail headers,
//!   a diffstat) and between files (`diff -ru` lines, `Only in …`, a mail
//!   signature) is ignored.
//! * Hunks: omitted lengths (`@@ -1 +1 @@`), `\ No newline at end of file`,
//!   CR bytes kept as content, an entirely empty line inside a hunk read as
//!   an empty context line (editors and agents strip trailing whitespace),
//!   a missing final newline at the very end of the patch.
//!
//! # Application
//!
//! Like `git apply` without fuzz: the context and removed lines of each hunk
//! must match the old content exactly; the match is sought at the stated line
//! (shifted by the offset the previous hunk of the file needed), then at
//! increasing distances before and after, never overlapping the previous
//! hunk. See [`apply_file`].

mod apply;
mod parse;

pub use apply::apply_file;
pub use parse::parse;

/// A parsed patch: the file patches in input order. A file may appear more
/// than once (a mail series touching it twice); apply them in order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Patch {
    pub files: Vec<FilePatch>,
}

/// The changes to one file.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FilePatch {
    /// Path before the change (prefix stripped); `None` for a new file
    /// (`/dev/null`, `new file mode`).
    pub old_path: Option<Vec<u8>>,
    /// Path after the change; `None` for a deletion.
    pub new_path: Option<Vec<u8>>,
    /// Mode before the change, from `old mode`/`deleted file mode`.
    pub old_mode: Option<FileMode>,
    /// Mode after the change, from `new mode`/`new file mode`.
    pub new_mode: Option<FileMode>,
    /// A git rename (`rename from`/`rename to`): the old path goes away.
    pub is_rename: bool,
    /// A git copy (`copy from`/`copy to`): the old path stays.
    pub is_copy: bool,
    pub hunks: Vec<Hunk>,
    /// `Binary files … differ` or `GIT binary patch`: the content change is
    /// not in the patch, so [`apply_file`] refuses it (except a deletion).
    pub binary: bool,
}

impl FilePatch {
    /// The path this patch produces, or the deleted path for a deletion.
    pub fn path(&self) -> &[u8] {
        self.new_path.as_deref().or(self.old_path.as_deref()).unwrap_or(b"")
    }

    /// The path for messages: [`FilePatch::path`], lossily decoded.
    pub fn display_path(&self) -> String {
        String::from_utf8_lossy(self.path()).into_owned()
    }

    pub fn is_new(&self) -> bool {
        self.old_path.is_none()
    }

    pub fn is_deletion(&self) -> bool {
        self.new_path.is_none()
    }
}

/// A git file mode as it appears in `new file mode 100644` and friends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileMode {
    /// 100644 (also the historical 100664).
    Regular,
    /// 100755.
    Executable,
    /// 120000.
    Symlink,
    /// 160000, a submodule.
    Gitlink,
}

impl FileMode {
    /// Reads an octal mode the way git canonicalises it; `None` for a mode
    /// that is not a file, link or submodule.
    pub fn from_octal(text: &[u8]) -> Option<FileMode> {
        if text.is_empty() || text.len() > 7 {
            return None;
        }
        let mut v: u32 = 0;
        for &b in text {
            if !(b'0'..=b'7').contains(&b) {
                return None;
            }
            v = v * 8 + u32::from(b - b'0');
        }
        match v & 0o170000 {
            0o100000 if v & 0o100 != 0 => Some(FileMode::Executable),
            0o100000 => Some(FileMode::Regular),
            0o120000 => Some(FileMode::Symlink),
            0o160000 => Some(FileMode::Gitlink),
            _ => None,
        }
    }

    pub fn as_octal(self) -> &'static str {
        match self {
            FileMode::Regular => "100644",
            FileMode::Executable => "100755",
            FileMode::Symlink => "120000",
            FileMode::Gitlink => "160000",
        }
    }
}

/// One `@@ -a,b +c,d @@` hunk.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Hunk {
    pub old_start: u32,
    pub old_len: u32,
    pub new_start: u32,
    pub new_len: u32,
    /// The header line as written, without its line ending, lossily decoded:
    /// `@@ -12,7 +12,8 @@ fn main() {`.
    pub header: String,
    pub lines: Vec<HunkLine>,
}

/// One line of a hunk, without its `' '`/`'-'`/`'+'` marker.
///
/// The bytes are the file's line byte-exactly, *including* its line ending
/// (`"\n"`, or `"\r\n"` for a CRLF line). A line followed by
/// `\ No newline at end of file` has no trailing `'\n'`
/// ([`HunkLine::missing_newline`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HunkLine {
    Context(Vec<u8>),
    Remove(Vec<u8>),
    Add(Vec<u8>),
}

impl HunkLine {
    /// The line's bytes including its line ending, if any.
    pub fn bytes(&self) -> &[u8] {
        match self {
            HunkLine::Context(b) | HunkLine::Remove(b) | HunkLine::Add(b) => b,
        }
    }

    /// The line's bytes without the final `'\n'` (a CR before it is kept).
    pub fn text(&self) -> &[u8] {
        let b = self.bytes();
        b.strip_suffix(b"\n").unwrap_or(b)
    }

    /// True for a line marked `\ No newline at end of file`.
    pub fn missing_newline(&self) -> bool {
        !self.bytes().ends_with(b"\n")
    }

    /// Whether the line is on the old side (context or removed).
    pub fn is_old(&self) -> bool {
        !matches!(self, HunkLine::Add(_))
    }

    /// Whether the line is on the new side (context or added).
    pub fn is_new(&self) -> bool {
        !matches!(self, HunkLine::Remove(_))
    }
}

/// Everything that can go wrong; every variant names the file or the patch
/// line, and none is ever a panic.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum PatchError {
    /// The patch text is malformed at `line` (1-based).
    #[error("patch line {line}: {message}")]
    Parse { line: usize, message: String },
    /// Hunk number `hunk` (1-based, within its file) matched nowhere.
    /// `expected` lists the context (`' '`) and removed (`'-'`) lines that
    /// were sought, one per line.
    #[error(
        "{path}: hunk #{hunk} ({header}) does not apply: these lines were not found \
         in the file (it differs from the one the patch was made against):\n{expected}"
    )]
    HunkFailed { path: String, hunk: usize, header: String, expected: String },
    #[error("{path}: the patch changes a binary file and carries no textual hunks for it, so it cannot be applied")]
    Binary { path: String },
    #[error("{path}: the patch changes this file but it does not exist")]
    MissingFile { path: String },
    #[error("{path}: the patch creates this file but it already exists")]
    FileExists { path: String },
    /// A deletion whose hunks leave content behind.
    #[error(
        "{path}: the patch deletes this file but {remaining} byte(s) of it would remain \
         (it differs from the one the patch was made against)"
    )]
    DeletionIncomplete { path: String, remaining: usize },
    #[error("the patch contains no file changes (no `diff --git` or `---`/`+++` file headers)")]
    Empty,
}
