//! Request extractors whose every failure is an [`ApiError`] (axum's own
//! rejections answer in plain text).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body. The media type must be `application/json`: a
/// browser cannot send that cross-origin without asking first, which keeps
/// web pages from posting to a server on the user's loopback.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            // An empty body is the request with every field defaulted; a
            // request that needs a field says so when it is missing.
            return parse(b"{}").map(JsonBody);
        }
        let is_json = content_type.as_deref().is_some_and(|t| {
            let essence = t.split(';').next().unwrap_or("").trim();
            essence.eq_ignore_ascii_case("application/json")
        });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the request body as JSON with `Content-Type: application/json`",
            ));
        }
        parse(&bytes).map(JsonBody)
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() { "malformed JSON" } else { "invalid request" };
        ApiError::invalid(format!("{what}: {e}"))
    })
}

fn body_error(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", e.body_text())
    } else {
        ApiError::new(e.status(), "invalid_request", e.body_text())
    }
}

/// Query-string parameters, taken one by one; any left over at the end is
/// an error, so a misspelt parameter is not silently ignored.
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid(format!("invalid query string: {}", e.body_text())))?;
        Ok(Params(pairs))
    }
}

impl Params {
    /// The value of a parameter given at most once.
    pub fn string(&mut self, name: &str) -> Result<Option<String>, ApiError> {
        let mut all = self.strings(name);
        if all.len() > 1 {
            return Err(ApiError::invalid(format!("parameter `{name}` is given more than once")));
        }
        Ok(all.pop())
    }

    pub fn required(&mut self, name: &str) -> Result<String, ApiError> {
        self.string(name)?.ok_or_else(|| ApiError::invalid(format!("parameter `{name}` is required")))
    }

    /// Every value of a repeatable parameter, in order.
    pub fn strings(&mut self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.0.retain(|(k, v)| {
            if k == name {
                out.push(v.clone());
                false
            } else {
                true
            }
        });
        out
    }

    /// `name`, `name=true|1` or `name=false|0`.
    pub fn flag(&mut self, name: &str) -> Result<bool, ApiError> {
        match self.string(name)?.as_deref() {
            None | Some("false" | "0") => Ok(false),
            Some("" | "true" | "1") => Ok(true),
            Some(v) => Err(ApiError::invalid(format!("parameter `{name}`: expected true or false, got '{v}'"))),
        }
    }

    pub fn number(&mut self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.string(name)? {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid(format!("parameter `{name}`: expected a number, got '{v}'"))),
        }
    }

    pub fn count(&mut self, name: &str) -> Result<Option<usize>, ApiError> {
        Ok(self.number(name)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)))
    }

    /// Fails on the first parameter nobody took.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.0.first() {
            None => Ok(()),
            Some((k, _)) => Err(ApiError::invalid(format!("unknown parameter `{k}`"))),
        }
    }
}
