//! `AppError`: every way a request can fail, with its HTTP status and a JSON body
//! `{"error": "..."}` that names the problem. Database error text never reaches the client;
//! it is logged here, once, where the error is turned into a response.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::body::{BodyError, MAX_BYTES, quote};
use crate::idempotency::KeyError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("missing Content-Type: send the body as application/json")]
    MissingContentType,
    #[error("unsupported Content-Type {0:?}: send the body as application/json")]
    UnsupportedMediaType(String),
    #[error(
        "request body is larger than the limit of 1 MiB ({MAX_BYTES} bytes); split the \
         documents into several requests"
    )]
    PayloadTooLarge,
    #[error("could not read the request body")]
    BodyRead,
    #[error(
        "the request body did not arrive within {}s (the service's --body-timeout); send the \
         whole body without pauses, or ask for a longer time-out",
        .0.as_secs_f64()
    )]
    BodyTimeout(std::time::Duration),
    #[error(transparent)]
    BadBody(BodyError),
    #[error(transparent)]
    BadKey(#[from] KeyError),
    /// A different document is stored under the client's `_id`.
    #[error(
        "{}a different document with _id {} is already stored; give a new document another \
         _id (sending the same document again answers 201){}",
        at(*element),
        quote(id),
        stored_before(*element)
    )]
    IdConflict { element: Option<usize>, id: String },
    /// A different document is stored under an `_id` made from the request's key: the key
    /// was used before for another request (422, as the IETF draft on the header says).
    #[error(
        "the Idempotency-Key {} was already used for a different request: the stored document \
         {} differs from {}this one; use a new key for a new request{}",
        quote(key),
        quote(id),
        at(*element),
        stored_before(*element)
    )]
    KeyReused {
        key: String,
        element: Option<usize>,
        id: String,
    },
    #[error(
        "{}the database rejected this document (MongoDB error code {code}); check its _id and \
         field names{}",
        at(*element),
        stored_before(*element)
    )]
    Rejected { element: Option<usize>, code: i32 },
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    /// A POST that the database could not take, before anything was sent to it.
    #[error("the database is unavailable and nothing was stored; try again shortly")]
    NothingStored,
    /// A POST whose write may have reached the database before it became unavailable.
    #[error(
        "the database became unavailable while storing: the outcome is unknown, the documents \
         may or may not be stored. {}",
        if *retry_safe {
            "Retrying this request with the same Idempotency-Key (or the same _id values) is \
             safe: it answers 201 and stores nothing twice"
        } else {
            "A plain retry may store them twice: check GET / first. Send an Idempotency-Key \
             header (or an _id in every document) so that a retry is safe"
        }
    )]
    OutcomeUnknown { retry_safe: bool },
    #[error("internal error")]
    Internal,
    #[error("no route for {0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::MissingContentType | AppError::UnsupportedMediaType(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::BadBody(e) if e.is_too_large() => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BodyRead
            | AppError::BadBody(_)
            | AppError::BadKey(_)
            | AppError::Rejected { .. } => StatusCode::BAD_REQUEST,
            AppError::IdConflict { .. } => StatusCode::CONFLICT,
            AppError::KeyReused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable | AppError::NothingStored | AppError::OutcomeUnknown { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }
}

impl From<BodyError> for AppError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Encode(_) => {
                tracing::error!(error = %e, "request body");
                AppError::Internal
            }
            e => AppError::BadBody(e),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable { detail, .. } => {
                tracing::warn!(%detail, "database unavailable");
                AppError::Unavailable
            }
            // Only inserts give these, and `routes::birthdays` answers them with context.
            e @ (StoreError::InvalidUri(_)
            | StoreError::Other(_)
            | StoreError::DuplicateId { .. }
            | StoreError::Rejected { .. }) => {
                tracing::error!(error = %e, "database error");
                AppError::Internal
            }
        }
    }
}

/// "element 3: " for an element of an array, nothing for a single object.
fn at(element: Option<usize>) -> String {
    element
        .map(|i| format!("element {i}: "))
        .unwrap_or_default()
}

/// What an ordered insert that stopped at `element` left stored.
fn stored_before(element: Option<usize>) -> String {
    match element {
        None => String::new(),
        Some(0) => "; nothing of the array is stored".to_owned(),
        Some(1) => "; element 0 is stored, this one and the rest are not".to_owned(),
        Some(i) => format!(
            "; elements 0 to {} are stored, this one and the rest are not",
            i - 1
        ),
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        // What a POST answered 503 left stored, for programs that retry.
        let stored = match self {
            AppError::NothingStored => Some("nothing"),
            AppError::OutcomeUnknown { .. } => Some("unknown"),
            _ => None,
        };
        let body = match stored {
            Some(stored) => json!({ "error": self.to_string(), "stored": stored }),
            None => json!({ "error": self.to_string() }),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        // The rest of the body was not read: the connection cannot carry another request.
        if matches!(
            status,
            StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE
        ) {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
