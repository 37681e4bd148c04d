//! Token counting for the chunk budget, and identifier-aware lexical tokens
//! for BM25.

/// Model-independent estimate of how many tokens `text` costs a subword
/// tokenizer (within a few percent of BERT WordPiece on C, Rust and shell;
/// see the crate docs):
///
/// * ASCII whitespace is free;
/// * a run of ASCII letters and digits costs `ceil(len / 4)`;
/// * every other ASCII byte (punctuation, `_`) costs 1;
/// * every non-ASCII character costs 1 (counted at its lead byte; a stray
///   continuation byte is free).
///
/// The estimate is sub-additive: splitting a text anywhere never makes the
/// parts cost less than the whole, so summing the estimates of adjacent
/// pieces is a safe upper bound for their concatenation.
pub fn estimate_tokens(text: &[u8]) -> usize {
    let mut tokens = 0;
    let mut run = 0usize;
    for &b in text {
        if b.is_ascii_alphanumeric() {
            run += 1;
            continue;
        }
        tokens += run.div_ceil(WORD_BYTES_PER_TOKEN);
        run = 0;
        tokens += byte_cost(b);
    }
    tokens + run.div_ceil(WORD_BYTES_PER_TOKEN)
}

pub(crate) const WORD_BYTES_PER_TOKEN: usize = 4;

/// Cost of a byte that is not part of an ASCII word.
#[inline]
pub(crate) fn byte_cost(b: u8) -> usize {
    match b {
        b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' => 0,
        0x80..=0xbf => 0, // UTF-8 continuation: its character was counted at the lead byte
        _ => 1,
    }
}

/// Appends the lexical tokens of `text` to `out`, for BM25 over code.
///
/// An identifier is a run of letters, digits and `_` (Unicode letters and
/// digits included; invalid UTF-8 separates). Each identifier yields its
/// whole lower-cased form (when it has more than one part) and then its
/// parts: split at `_`, at a lower-case letter or digit followed by an upper-case
/// one (`parseHttp` → `parse`, `http`), and before the last capital of a
/// capital run followed by a lower-case letter (`HTTPResponse` → `http`,
/// `response`). Letters followed by digits stay together (`v2`, `utf8`).
/// Everything else (punctuation, `-`, `.`, whitespace) separates. Tokens of
/// a single character are dropped.
///
/// `"parseHTTPResponse_v2"` → `parsehttpresponse_v2 parse http response v2`.
pub fn lexical_tokens(text: &[u8], out: &mut Vec<String>) {
    let mut word: Vec<char> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let (c, len) = decode_char(&text[i..]);
        let is_word = match c {
            Some(c) if c.is_ascii() => c.is_ascii_alphanumeric() || c == '_',
            Some(c) => c.is_alphanumeric(),
            None => false,
        };
        if is_word {
            if let Some(c) = c {
                word.push(c);
            }
        } else if !word.is_empty() {
            push_identifier(&word, out);
            word.clear();
        }
        i += len;
    }
    if !word.is_empty() {
        push_identifier(&word, out);
    }
}

fn push_identifier(word: &[char], out: &mut Vec<String>) {
    let whole_at = out.len();
    if word.len() >= 2 {
        out.push(lower(word));
    }
    let parts_at = out.len();
    let mut start = 0;
    for i in 0..=word.len() {
        let boundary = i == word.len() || word[i] == '_' || (i > start && is_hump(word, i));
        if !boundary {
            continue;
        }
        if i - start >= 2 {
            out.push(lower(&word[start..i]));
        }
        start = if i < word.len() && word[i] == '_' { i + 1 } else { i };
    }
    // A single part equal to the whole identifier is not repeated.
    if out.len() == parts_at + 1 && whole_at < parts_at && out[parts_at] == out[whole_at] {
        out.pop();
    }
}

/// Whether a camel-case word starts at `word[i]` (i > 0).
fn is_hump(word: &[char], i: usize) -> bool {
    let (prev, cur) = (word[i - 1], word[i]);
    if !cur.is_uppercase() {
        return false;
    }
    if prev.is_lowercase() || prev.is_numeric() {
        return true;
    }
    // "HTTPResponse": the R starts a word because a lower-case letter follows.
    prev.is_uppercase() && word.get(i + 1).is_some_and(|n| n.is_lowercase())
}

fn lower(chars: &[char]) -> String {
    let mut s = String::with_capacity(chars.len());
    for &c in chars {
        if c.is_ascii() {
            s.push(c.to_ascii_lowercase());
        } else {
            s.extend(c.to_lowercase());
        }
    }
    s
}

/// The character at the start of `bytes` and its length in bytes; `None`
/// with length 1 for a byte that does not start valid UTF-8.
pub(crate) fn decode_char(bytes: &[u8]) -> (Option<char>, usize) {
    let b = bytes[0];
    if b < 0x80 {
        return (Some(b as char), 1);
    }
    let len = match b {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return (None, 1),
    };
    match bytes.get(..len).map(std::str::from_utf8) {
        Some(Ok(s)) => (s.chars().next(), len),
        _ => (None, 1),
    }
}
