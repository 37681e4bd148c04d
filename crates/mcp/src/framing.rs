//! Newline-delimited JSON-RPC on stdio, between the client and rmcp.
//!
//! rmcp silently drops lines that are not JSON and lines over its size
//! limit, so a client whose request was lost waits forever. This layer
//! answers those itself, as JSON-RPC 2.0 says: `-32700` for a line that is
//! not JSON, `-32600` for a message over [`MAX_MESSAGE_BYTES`] (with the
//! request's id when it can be read, so the caller is not left waiting).
//! Everything else goes to rmcp unchanged. Both rmcp's replies and these go
//! to stdout through one writer, a whole line at a time.

use rmcp::model::ClientJsonRpcMessage;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::error::Category;
use serde_json::{json, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// The largest message served. Patches may be up to 8 MiB, and JSON string
/// escaping can double that.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;
/// Oversized messages up to this size are still read whole to find their
/// id; beyond it they are skipped unread and answered with a null id.
const MAX_BUFFERED_BYTES: usize = 64 << 20;

pub type Replies = mpsc::Sender<Vec<u8>>;

enum LineRead {
    Line,
    /// Longer than the buffer cap; nothing of it kept.
    Overflow(usize),
    Eof,
}

/// Reads one line (its `\n` included) into `buf`, keeping at most `cap`
/// bytes: a peer that never sends a newline costs bounded memory.
async fn read_line_bounded<R: AsyncBufRead + Unpin>(
    input: &mut R,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<LineRead> {
    buf.clear();
    let mut total = 0usize;
    loop {
        let chunk = input.fill_buf().await?;
        if chunk.is_empty() {
            // An unterminated last line is still a message.
            return Ok(match total {
                0 => LineRead::Eof,
                n if n > cap => LineRead::Overflow(n),
                _ => LineRead::Line,
            });
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        total += take;
        if total <= cap {
            buf.extend_from_slice(&chunk[..take]);
        } else if !buf.is_empty() {
            buf.clear();
            buf.shrink_to(1 << 16);
        }
        input.consume(take);
        if done {
            return Ok(if total > cap { LineRead::Overflow(total) } else { LineRead::Line });
        }
    }
}

fn error_line(id: Value, code: i64, message: String) -> Vec<u8> {
    let mut line = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string();
    line.push('\n');
    line.into_bytes()
}

/// The `id` of a JSON-RPC message without building the rest of it.
fn request_id(line: &[u8]) -> Value {
    struct IdOnly;
    impl<'de> Visitor<'de> for IdOnly {
        type Value = Value;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON-RPC message")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut id = Value::Null;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "id" {
                    id = map.next_value::<Value>()?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(id)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(line);
    match de.deserialize_map(IdOnly) {
        Ok(id @ (Value::String(_) | Value::Number(_))) => id,
        _ => Value::Null,
    }
}

/// Reads client messages from `input`: valid JSON goes to rmcp through
/// `to_server`; the rest is answered through `replies`. Returns at the
/// client's end of input, which closes `to_server` and so ends the session.
pub async fn read_requests<R, W>(input: R, mut to_server: W, replies: Replies)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut input = BufReader::with_capacity(1 << 16, input);
    let mut line = Vec::new();
    loop {
        let reply = match read_line_bounded(&mut input, &mut line, MAX_BUFFERED_BYTES).await {
            Err(_) | Ok(LineRead::Eof) => return,
            Ok(LineRead::Overflow(n)) => Some(error_line(Value::Null, -32600, too_large(n))),
            Ok(LineRead::Line) => {
                let body = line.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(&line);
                let body = body.strip_suffix(b"\n").unwrap_or(body);
                let body = body.strip_suffix(b"\r").unwrap_or(body);
                if body.iter().all(u8::is_ascii_whitespace) {
                    None
                } else if body.len() > MAX_MESSAGE_BYTES {
                    Some(error_line(request_id(body), -32600, too_large(body.len())))
                } else if let Some(reply) = check_message(body) {
                    Some(reply)
                } else {
                    if !line.ends_with(b"\n") {
                        line.push(b'\n');
                    }
                    if to_server.write_all(&line).await.is_err() || to_server.flush().await.is_err() {
                        return;
                    }
                    None
                }
            }
        };
        if let Some(reply) = reply {
            if replies.send(reply).await.is_err() {
                return;
            }
        }
    }
}

/// The answer to a line that is not a JSON-RPC message rmcp can route, if
/// it is not. rmcp would drop unparsable lines and answer malformed requests
/// without their id; a client waiting on that id would wait forever.
fn check_message(body: &[u8]) -> Option<Vec<u8>> {
    let e = match serde_json::from_slice::<ClientJsonRpcMessage>(body) {
        Ok(_) => return None,
        Err(e) => e,
    };
    if matches!(e.classify(), Category::Syntax | Category::Eof) {
        return Some(error_line(Value::Null, -32700, format!("Parse error: {e}")));
    }
    // Notifications get no answer; rmcp ignores the ones it does not know.
    let value: Value = serde_json::from_slice(body).ok()?;
    if value.get("method").is_some() && value.get("id").is_none() {
        return None;
    }
    let what = if value.is_array() { "batches are not supported" } else { "not a valid JSON-RPC 2.0 message" };
    Some(error_line(request_id(body), -32600, format!("Invalid request: {what} ({e})")))
}

/// rmcp answers some invalid messages with an error that has no `id`;
/// JSON-RPC 2.0 wants `"id": null` there.
fn with_null_id(line: Vec<u8>) -> Vec<u8> {
    if line.windows(5).any(|w| w == b"\"id\":") {
        return line;
    }
    match serde_json::from_slice::<Value>(&line) {
        Ok(Value::Object(mut m)) if m.contains_key("error") => {
            m.insert("id".into(), Value::Null);
            let mut fixed = serde_json::to_vec(&m).unwrap_or(line);
            if !fixed.ends_with(b"\n") {
                fixed.push(b'\n');
            }
            fixed
        }
        _ => line,
    }
}

fn too_large(n: usize) -> String {
    format!("Invalid request: the message is {n} bytes; this server accepts at most {MAX_MESSAGE_BYTES}")
}

/// Passes rmcp's output on to the writer, one whole message at a time.
pub async fn forward_replies<R: AsyncRead + Unpin>(from_server: R, replies: Replies) {
    let mut from_server = BufReader::new(from_server);
    loop {
        let mut line = Vec::new();
        match from_server.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if replies.send(with_null_id(line)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Writes replies to stdout, flushing each: the client waits for them.
pub async fn write_replies<W: AsyncWrite + Unpin>(mut replies: mpsc::Receiver<Vec<u8>>, mut out: W) {
    while let Some(line) = replies.recv().await {
        if out.write_all(&line).await.is_err() || out.flush().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_reads_only_the_id() {
        assert_eq!(request_id(br#"{"params":{"id":9},"id":7,"method":"x"}"#), json!(7));
        assert_eq!(request_id(br#"{"id":"a"}"#), json!("a"));
        assert_eq!(request_id(b"not json"), Value::Null);
        assert_eq!(request_id(br#"{"id":{"x":1}}"#), Value::Null);
    }

    #[tokio::test]
    async fn bad_lines_are_answered_and_good_ones_passed_on() {
        let ping = |id: u32| format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
        let input = format!("{}\nnot json\n\n{{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":7}}\n{}", ping(1), ping(2));
        let (tx, mut rx) = mpsc::channel(8);
        let mut to_server = Vec::new();
        read_requests(input.as_bytes(), &mut to_server, tx).await;
        assert_eq!(String::from_utf8(to_server).unwrap(), format!("{}\n{}\n", ping(1), ping(2)));
        let reply: Value = serde_json::from_slice(&rx.recv().await.unwrap()).unwrap();
        assert_eq!(reply["error"]["code"], -32700);
        assert_eq!(reply["id"], Value::Null);
        let reply: Value = serde_json::from_slice(&rx.recv().await.unwrap()).unwrap();
        assert_eq!(reply["error"]["code"], -32600);
        assert_eq!(reply["id"], 5);
        assert!(rx.recv().await.is_none());
    }

    #[test]
    fn errors_without_an_id_get_a_null_one() {
        let fixed = with_null_id(b"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"x\"}}\n".to_vec());
        let v: Value = serde_json::from_slice(&fixed).unwrap();
        assert_eq!(v["id"], Value::Null);
        assert!(v.as_object().unwrap().contains_key("id"));
        let ok = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n".to_vec();
        assert_eq!(with_null_id(ok.clone()), ok);
    }
}
