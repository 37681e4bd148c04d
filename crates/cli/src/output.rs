//! Output formats: git-grep-like text (colour only on a terminal) and JSON Lines.

use std::io::{self, Write};
use std::time::Duration;

use grove_base::{lossy, lossy_offset, SkipReason};
use grove_engine::search::{FileResult, LineHit, LineKind, OutputMode, SearchOutput};
use grove_engine::ResolvedRev;
use serde_json::json;
use termcolor::{Buffer, Color, ColorSpec, WriteColor};

pub struct Printer<'a> {
    pub revs: &'a [ResolvedRev],
    pub mode: OutputMode,
    pub color: bool,
    pub context: bool,
}

impl Printer<'_> {
    fn multi(&self) -> bool {
        self.revs.len() > 1
    }

    /// Prints results like `git grep -n`; returns whether anything matched.
    pub fn text(&self, out: &SearchOutput) -> io::Result<bool> {
        let stdout = io::stdout();
        let mut lock = io::BufWriter::with_capacity(1 << 16, stdout.lock());
        let mut buf = if self.color { Buffer::ansi() } else { Buffer::no_color() };
        for (i, f) in out.files.iter().enumerate() {
            buf.clear();
            if self.context && i > 0 && self.mode == OutputMode::Lines {
                self.sep_line(&mut buf)?;
            }
            self.file(&mut buf, f)?;
            if let Err(e) = lock.write_all(buf.as_slice()) {
                return broken_pipe_ok(e).map(|_| true);
            }
        }
        if let Err(e) = lock.flush() {
            broken_pipe_ok(e)?;
        }
        Ok(!out.files.is_empty())
    }

    fn prefix(&self, buf: &mut Buffer, f: &FileResult) -> io::Result<()> {
        if self.multi() {
            buf.write_all(self.revs[f.target].label.as_bytes())?;
            buf.write_all(b":")?;
        }
        buf.set_color(ColorSpec::new().set_fg(Some(Color::Magenta)))?;
        buf.write_all(&f.path)?;
        buf.reset()
    }

    fn sep_line(&self, buf: &mut Buffer) -> io::Result<()> {
        buf.set_color(ColorSpec::new().set_fg(Some(Color::Cyan)))?;
        buf.write_all(b"--")?;
        buf.reset()?;
        buf.write_all(b"\n")
    }

    fn file(&self, buf: &mut Buffer, f: &FileResult) -> io::Result<()> {
        match self.mode {
            OutputMode::FilesWithMatches => {
                self.prefix(buf, f)?;
                buf.write_all(b"\n")
            }
            OutputMode::Count => {
                self.prefix(buf, f)?;
                writeln!(buf, ":{}", f.matches.count)
            }
            OutputMode::Lines => {
                for hit in &f.matches.lines {
                    self.hit(buf, f, hit)?;
                }
                Ok(())
            }
        }
    }

    fn hit(&self, buf: &mut Buffer, f: &FileResult, hit: &LineHit) -> io::Result<()> {
        let sep: &[u8] = match hit.kind {
            LineKind::Break => return self.sep_line(buf),
            LineKind::Match => b":",
            LineKind::Context => b"-",
        };
        // A multi-line match (-U) is printed one numbered line at a time.
        let mut line_start = 0usize;
        for (n, line) in hit.bytes.split(|&b| b == b'\n').enumerate() {
            self.prefix(buf, f)?;
            buf.write_all(sep)?;
            buf.set_color(ColorSpec::new().set_fg(Some(Color::Green)))?;
            write!(buf, "{}", hit.line_number + n as u64)?;
            buf.reset()?;
            buf.write_all(sep)?;
            let line_end = line_start + line.len();
            let mut pos = 0;
            for &(s, e) in &hit.submatches {
                let (s, e) = (s.clamp(line_start, line_end) - line_start, e.clamp(line_start, line_end) - line_start);
                if s >= e || s < pos {
                    continue;
                }
                buf.write_all(&line[pos..s])?;
                buf.set_color(ColorSpec::new().set_fg(Some(Color::Red)).set_bold(true))?;
                buf.write_all(&line[s..e])?;
                buf.reset()?;
                pos = e;
            }
            buf.write_all(&line[pos..])?;
            buf.write_all(b"\n")?;
            line_start = line_end + 1;
        }
        Ok(())
    }

    /// GitHub Actions workflow commands, one annotation per match (per file
    /// with -l, per file with its count with -c); returns whether anything matched.
    pub fn github(&self, out: &SearchOutput, pattern: &str, level: crate::args::Level) -> io::Result<bool> {
        let cmd = match level {
            crate::args::Level::Error => "error",
            crate::args::Level::Warning => "warning",
            crate::args::Level::Notice => "notice",
        };
        let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
        for f in &out.files {
            let rev = &self.revs[f.target].label;
            let file = annotation_property(&lossy(&f.path));
            let title = if self.multi() {
                annotation_property(&format!("grove: {pattern} (at {rev})"))
            } else {
                annotation_property(&format!("grove: {pattern}"))
            };
            match self.mode {
                OutputMode::FilesWithMatches | OutputMode::Count => {
                    let n = f.matches.count;
                    let msg = format!("{n} matching line{}", if n == 1 { "" } else { "s" });
                    writeln!(buf, "::{cmd} file={file},title={title}::{}", annotation_data(&msg))?;
                }
                OutputMode::Lines => {
                    for hit in f.matches.lines.iter().filter(|h| h.kind == LineKind::Match) {
                        let text = lossy(&hit.bytes);
                        // Columns are 1-based character positions in the line.
                        let first = hit.bytes.split(|&b| b == b'\n').next().unwrap_or_default();
                        let (col_start, col_end) = match hit.submatches.first() {
                            Some(&(s, e)) if e <= first.len() => {
                                let chars = |k: usize| lossy(&first[..k]).chars().count();
                                (chars(s) + 1, chars(e) + 1)
                            }
                            _ => (1, 1),
                        };
                        writeln!(
                            buf,
                            "::{cmd} file={file},line={},col={col_start},endColumn={col_end},title={title}::{}",
                            hit.line_number,
                            annotation_data(text.trim_end())
                        )?;
                    }
                }
            }
        }
        write_or_quiet(&buf)?;
        Ok(!out.files.is_empty())
    }

    /// JSON Lines; returns whether anything matched.
    pub fn json(&self, out: &SearchOutput, elapsed: Duration) -> io::Result<bool> {
        let stdout = io::stdout();
        let mut w = io::BufWriter::with_capacity(1 << 16, stdout.lock());
        let mut matches = 0u64;
        let r = (|| -> io::Result<()> {
            for f in &out.files {
                let rev = &self.revs[f.target];
                let path = lossy(&f.path);
                let commit = rev.commit.oid.to_hex();
                match self.mode {
                    OutputMode::FilesWithMatches => {
                        matches += f.matches.count;
                        let v = json!({"type": "file", "rev": rev.label, "commit": commit, "path": path});
                        writeln!(w, "{v}")?;
                    }
                    OutputMode::Count => {
                        matches += f.matches.count;
                        let v = json!({"type": "count", "rev": rev.label, "commit": commit, "path": path, "count": f.matches.count});
                        writeln!(w, "{v}")?;
                    }
                    OutputMode::Lines => {
                        for hit in f.matches.lines.iter().filter(|h| h.kind == LineKind::Match) {
                            matches += 1;
                            // Offsets index into `text`, which is lossy for
                            // invalid UTF-8 (each bad sequence becomes U+FFFD).
                            let at = |i: usize| lossy_offset(&hit.bytes, i);
                            let subs: Vec<_> =
                                hit.submatches.iter().map(|&(s, e)| json!({"start": at(s), "end": at(e)})).collect();
                            let column = hit.submatches.first().map_or(1, |&(s, _)| at(s) + 1);
                            let v = json!({
                                "type": "match", "rev": rev.label, "commit": commit, "path": path,
                                "line": hit.line_number, "column": column,
                                "text": lossy(&hit.bytes), "submatches": subs,
                            });
                            writeln!(w, "{v}")?;
                        }
                    }
                }
            }
            let skipped: Vec<_> = out
                .skipped
                .iter()
                .map(|s| json!({"rev": self.revs[s.target].label, "path": lossy(&s.path), "reason": s.reason.as_str()}))
                .collect();
            let summary = json!({
                "type": "summary",
                "matches": matches,
                "files": out.files.len(),
                "revisions": self.revs.len(),
                "elapsed_ms": elapsed.as_secs_f64() * 1000.0,
                "skipped": skipped,
                // How well the index filtered: distinct blobs in scope, those
                // the trigram plan let through, and those that matched.
                "stats": {
                    "live_docs": out.stats.live_docs,
                    "candidates": out.stats.candidates,
                    "matching_docs": out.stats.matching_docs,
                },
            });
            writeln!(w, "{summary}")?;
            w.flush()
        })();
        if let Err(e) = r {
            broken_pipe_ok(e)?;
        }
        Ok(!out.files.is_empty())
    }
}

/// GitHub's workflow-command escaping for a message.
fn annotation_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// ... and for a property value, where ':' and ',' separate fields.
fn annotation_property(s: &str) -> String {
    annotation_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `grove search ... | head` must end quietly, like grep.
fn broken_pipe_ok(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    Err(e)
}

/// One stderr line about files that were not searched: never silent.
pub fn report_skipped(out: &SearchOutput, revs: &[ResolvedRev], max_size: u64) {
    if out.skipped.is_empty() {
        return;
    }
    let binary = out.skipped.iter().filter(|s| s.reason == SkipReason::Binary).count();
    let large = out.skipped.len() - binary;
    let mut parts = Vec::new();
    if binary > 0 {
        parts.push(format!("{binary} binary file{}", if binary == 1 { "" } else { "s" }));
    }
    if large > 0 {
        // The limit may have been smaller when the file was indexed, so name
        // the current one only as a hint.
        parts.push(format!(
            "{large} file{} too large (--max-filesize, now {})",
            if large == 1 { "" } else { "s" },
            human_bytes(max_size)
        ));
    }
    let scope = if revs.len() > 1 { " (over all revisions)" } else { "" };
    eprintln!("grove: not searched{scope}: {} (--json lists them)", parts.join(", "));
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Writes a finished buffer to stdout; a closed pipe ends quietly.
pub fn write_or_quiet(buf: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(buf).or_else(broken_pipe_ok)?;
    out.flush().or_else(broken_pipe_ok)
}
