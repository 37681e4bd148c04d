//! stdio framing that survives bad input. lsp-server's own stdio reader
//! stops the server at the first frame whose body is not a JSON-RPC
//! message; a client bug must not take the server down, so frames are read
//! here: a body that is not JSON gets a `-32700` parse error, one that is
//! JSON but not a message (or is over the size limit) a `-32600`, and the
//! server goes on with the next frame. Good messages go to lsp-server's
//! in-memory connection, which the server loop reads as usual.

use std::io::{self, BufRead, Read, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use lsp_server::{Connection, Message};
use serde_json::{json, Value};

/// The largest frame body read; larger ones are skipped and answered with
/// an error (a whole file's text in a didOpen fits many times over).
pub const MAX_FRAME_BYTES: usize = 64 << 20;

/// The server's end of a connection over stdin/stdout, and the writer
/// thread to join once the server has dropped its end.
pub fn stdio() -> (Connection, JoinHandle<()>) {
    let (server, client) = Connection::memory();
    let out = Arc::new(Mutex::new(io::stdout()));
    let writer = {
        let out = out.clone();
        std::thread::Builder::new()
            .name("grove-lsp-writer".into())
            .spawn(move || {
                for msg in client.receiver {
                    let mut w = out.lock().unwrap_or_else(|e| e.into_inner());
                    if msg.write(&mut *w).is_err() {
                        return;
                    }
                }
            })
            .expect("spawn the writer thread")
    };
    let sender = client.sender;
    // Not joined: it blocks in a read until the client closes stdin.
    let _reader = std::thread::Builder::new()
        .name("grove-lsp-reader".into())
        .spawn(move || {
            let stdin = io::stdin();
            let mut input = stdin.lock();
            loop {
                match read_frame(&mut input) {
                    Ok(None) => return,
                    Ok(Some(Frame::Message(m))) => {
                        if sender.send(m).is_err() {
                            return;
                        }
                    }
                    Ok(Some(Frame::Bad(error))) => {
                        let mut w = out.lock().unwrap_or_else(|e| e.into_inner());
                        if write_raw(&mut *w, &error).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        })
        .expect("spawn the reader thread");
    (server, writer)
}

#[derive(Debug)]
pub enum Frame {
    Message(Message),
    /// The JSON-RPC error response to send for a frame that could not be used.
    Bad(Value),
}

fn error(id: Value, code: i32, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

/// Reads one frame: headers up to an empty line, then `Content-Length`
/// bytes. `Ok(None)` at the end of input.
pub fn read_frame(r: &mut impl BufRead) -> io::Result<Option<Frame>> {
    let mut length: Option<usize> = None;
    let mut bad_header = false;
    let mut saw_any = false;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if saw_any {
                break;
            }
            continue; // stray blank lines between frames
        }
        saw_any = true;
        match line.split_once(':') {
            Some((name, value)) if name.eq_ignore_ascii_case("content-length") => {
                length = value.trim().parse().ok();
                bad_header |= length.is_none();
            }
            Some(_) => {} // Content-Type and other headers
            None => bad_header = true,
        }
    }
    let Some(length) = length.filter(|_| !bad_header) else {
        return Ok(Some(Frame::Bad(error(Value::Null, -32700, "malformed header: expected `Content-Length: N`"))));
    };
    if length > MAX_FRAME_BYTES {
        io::copy(&mut r.by_ref().take(length as u64), &mut io::sink())?;
        return Ok(Some(Frame::Bad(error(
            Value::Null,
            -32600,
            format!("message of {length} bytes is over this server's limit of {MAX_FRAME_BYTES}"),
        ))));
    }
    let mut body = vec![0u8; length];
    r.read_exact(&mut body)?;
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return Ok(Some(Frame::Bad(error(Value::Null, -32700, format!("parse error: {e}"))))),
    };
    let id = value.get("id").cloned().filter(|id| id.is_string() || id.is_number()).unwrap_or(Value::Null);
    // lsp-server's untagged enum would take anything with an `id` for a
    // response; hold messages to JSON-RPC's shapes first.
    let shaped = match value.get("method") {
        Some(m) => m.is_string(),
        None => value.get("id").is_some() && (value.get("result").is_some() || value.get("error").is_some()),
    };
    if !shaped || !value.is_object() {
        return Ok(Some(Frame::Bad(error(id, -32600, "not a JSON-RPC request, response or notification"))));
    }
    match serde_json::from_value::<Message>(value) {
        Ok(m) => Ok(Some(Frame::Message(m))),
        Err(e) => {
            Ok(Some(Frame::Bad(error(id, -32600, format!("not a JSON-RPC request, response or notification: {e}")))))
        }
    }
}

fn write_raw(w: &mut impl Write, v: &Value) -> io::Result<()> {
    let body = serde_json::to_vec(v)?;
    write!(w, "Content-Length: {}\r\n\r\n", body.len())?;
    w.write_all(&body)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Frame> {
        let mut r = io::BufReader::new(input);
        let mut out = Vec::new();
        while let Some(f) = read_frame(&mut r).unwrap() {
            out.push(f);
        }
        out
    }

    fn frame(body: &str) -> Vec<u8> {
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    }

    #[test]
    fn bad_frames_become_errors_and_reading_goes_on() {
        let mut input = Vec::new();
        input.extend(frame("{not json"));
        input.extend(frame(r#"{"jsonrpc":"2.0","id":7,"method":5}"#));
        input.extend(b"Content-Length: x\r\n\r\n");
        input.extend(frame(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#));
        let got = frames(&input);
        assert_eq!(got.len(), 4, "{got:?}");
        let code = |f: &Frame| match f {
            Frame::Bad(v) => (v["error"]["code"].as_i64().unwrap(), v["id"].clone()),
            Frame::Message(m) => panic!("unexpected message {m:?}"),
        };
        assert_eq!(code(&got[0]), (-32700, Value::Null));
        assert_eq!(code(&got[1]), (-32600, json!(7)));
        assert_eq!(code(&got[2]).0, -32700);
        assert!(matches!(&got[3], Frame::Message(Message::Request(r)) if r.method == "shutdown"));
    }

    #[test]
    fn oversized_bodies_are_skipped_whole() {
        let big = format!("Content-Length: {}\r\n\r\n", MAX_FRAME_BYTES + 1).into_bytes();
        let mut input = big;
        input.extend(std::iter::repeat_n(b'x', MAX_FRAME_BYTES + 1));
        input.extend(frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
        let got = frames(&input);
        assert!(matches!(&got[0], Frame::Bad(v) if v["error"]["code"] == -32600));
        assert!(matches!(&got[1], Frame::Message(Message::Notification(n)) if n.method == "exit"));
    }
}
