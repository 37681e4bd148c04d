//! Who may talk to the server: the bearer token when one is configured;
//! without one, only clients that address the server by an IP literal or
//! `localhost` (a web page that rebinds its own DNS name to 127.0.0.1 sends
//! its own name as `Host`, and is refused).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

#[derive(Clone)]
pub struct Gate {
    pub token: Option<Arc<str>>,
}

pub async fn check(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    match &gate.token {
        Some(token) => {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
            match given {
                Some(given) if same(given.trim().as_bytes(), token.as_bytes()) => {}
                Some(_) => return unauthorized("the bearer token is wrong"),
                None => return unauthorized("this server needs `Authorization: Bearer <token>`"),
            }
        }
        None => {
            let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !is_local_name(host) {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    format!(
                        "host '{}' refused: without a token this server only answers requests addressed to an IP \
                         address or localhost (start it with --token to serve other names)",
                        host.escape_debug()
                    ),
                )
                .into_response();
            }
        }
    }
    next.run(req).await
}

fn unauthorized(message: &str) -> Response {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response()
}

/// Compares in time that depends only on the lengths, so the token cannot be
/// guessed byte by byte from response times.
fn same(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for (i, &x) in a.iter().enumerate() {
        diff |= x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0);
    }
    diff == 0
}

/// `127.0.0.1:7878`, `[::1]:7878`, `localhost`, `10.0.0.2` → true.
fn is_local_name(host: &str) -> bool {
    // An absent Host (HTTP/1.0) cannot come from a browser.
    if host.is_empty() {
        return true;
    }
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(n, port)| if port.bytes().all(|b| b.is_ascii_digit()) { n } else { host })
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secre", b"secret"));
        assert!(!same(b"secrets", b"secret"));
        assert!(!same(b"", b"secret"));
        assert!(same(b"", b""));
    }

    #[test]
    fn local_names() {
        for ok in ["127.0.0.1:7878", "127.0.0.1", "[::1]:80", "localhost:1", "LOCALHOST", "10.1.2.3:9", ""] {
            assert!(is_local_name(ok), "{ok}");
        }
        for bad in ["evil.example:7878", "evil.example", "127.0.0.1.evil.example", "localhost.evil:1"] {
            assert!(!is_local_name(bad), "{bad}");
        }
    }
}
