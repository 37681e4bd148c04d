//! Invariants every analysis must satisfy, whatever the input.

use grove_syntax::{chunk_text, estimate_tokens, ChunkLimits, FileSyntax, ParseOutcome};

/// Checks ranges, line numbers, coverage of every non-blank line, order,
/// disjointness (outside line-window fallbacks) and the token budget (for
/// valid UTF-8, where lossy decoding adds nothing).
pub fn check_invariants(path: &[u8], content: &[u8], limits: &ChunkLimits, syntax: &FileSyntax) {
    let newlines_before: Vec<u32> = std::iter::once(0)
        .chain(content.iter().scan(0u32, |n, &b| {
            *n += u32::from(b == b'\n');
            Some(*n)
        }))
        .collect();
    let line_of = |offset: usize| 1 + newlines_before[offset];
    let mut covered = vec![false; content.len()];
    let mut previous_end = 0usize;
    let parsed = matches!(syntax.outcome, ParseOutcome::Parsed(_));
    for chunk in &syntax.chunks {
        let (start, end) = (chunk.start_byte as usize, chunk.end_byte as usize);
        assert!(start < end && end <= content.len(), "chunk {chunk:?} outside 0..{}", content.len());
        assert_eq!(chunk.start_line, line_of(start), "start line of {chunk:?}");
        assert_eq!(chunk.end_line, line_of(end - 1), "end line of {chunk:?}");
        if parsed {
            assert!(start >= previous_end, "chunks overlap or are out of order at {chunk:?}");
        }
        previous_end = end;
        covered[start..end].iter_mut().for_each(|c| *c = true);
        if std::str::from_utf8(content).is_ok() && std::str::from_utf8(path).is_ok() {
            let text = chunk_text(path, content, chunk);
            let tokens = estimate_tokens(text.as_bytes());
            // A header taking most of the budget still leaves a quarter for the body.
            let header = estimate_tokens(path) + chunk.symbol.as_ref().map_or(0, |s| 2 + estimate_tokens(s.as_bytes()));
            let allowed = limits.max_tokens.max(header + (limits.max_tokens / 4).max(1));
            assert!(tokens <= allowed, "chunk {chunk:?} has {tokens} tokens > {allowed}:\n{text}");
        }
    }
    for (i, &b) in content.iter().enumerate() {
        if !b.is_ascii_whitespace() {
            assert!(covered[i], "byte {i} ({:?}) on line {} is in no chunk", b as char, line_of(i));
        }
    }
    for symbol in &syntax.symbols {
        let (start, end) = (symbol.start_byte as usize, symbol.end_byte as usize);
        assert!(start <= end && end <= content.len(), "symbol {symbol:?} outside the file");
        assert_eq!(symbol.start_line, line_of(start));
        assert!(symbol.end_line >= symbol.start_line);
        assert!(!symbol.name.is_empty());
    }
}
