use grove_engine::EngineError;

/// What went wrong, as far as a client is concerned; each protocol maps it
/// to its own codes (JSON-RPC error codes, HTTP statuses, MCP tool errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request is wrong: a bad regex, glob, path, name or patch.
    InvalidRequest,
    /// A revision, snapshot or file that does not exist.
    NotFound,
    /// A capability this server lacks right now (no embedding model).
    Unavailable,
    /// The index or repository failed; the message says how to repair it.
    Internal,
}

#[derive(thiserror::Error, Debug, Clone)]
#[error("{message}")]
pub struct ServiceError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ServiceError {
    pub fn invalid(message: impl Into<String>) -> ServiceError {
        ServiceError { kind: ErrorKind::InvalidRequest, message: message.into() }
    }

    pub fn not_found(message: impl Into<String>) -> ServiceError {
        ServiceError { kind: ErrorKind::NotFound, message: message.into() }
    }
}

impl From<EngineError> for ServiceError {
    fn from(e: EngineError) -> ServiceError {
        use grove_engine::search::SearchError;
        use grove_engine::VcsError;
        let kind = match &e {
            EngineError::Vcs(VcsError::UnknownRevision { .. } | VcsError::NotACommit { .. }) => ErrorKind::NotFound,
            EngineError::NoRevisions(_) => ErrorKind::NotFound,
            EngineError::Vcs(VcsError::InvalidGlob { .. } | VcsError::NoWorkTree { .. }) => ErrorKind::InvalidRequest,
            EngineError::Search(SearchError::InvalidPattern(_) | SearchError::InvalidGlob(_)) => {
                ErrorKind::InvalidRequest
            }
            EngineError::Patch(_) | EngineError::Invalid(_) => ErrorKind::InvalidRequest,
            EngineError::Model(_) => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        };
        ServiceError { kind, message: e.to_string() }
    }
}
