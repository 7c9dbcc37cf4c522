//! `AppError`: every way a request can fail, with its HTTP status and a JSON body
//! `{"error": "..."}` that names the problem. Database error text never reaches the client;
//! it is logged here, once, where the error is turned into a response.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::body::{BodyError, MAX_BYTES};
use crate::store::{InsertError, StoreError};

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
    #[error(
        "element {index}: a document with this _id already exists (an array is stored in order: the elements before it were stored)"
    )]
    DuplicateId { index: usize },
    #[error(
        "element {index}: the database rejected this document (MongoDB error code {code}); check its _id and field names"
    )]
    Rejected { index: usize, code: i32 },
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
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
            AppError::BodyRead | AppError::BadBody(_) | AppError::Rejected { .. } => {
                StatusCode::BAD_REQUEST
            }
            AppError::DuplicateId { .. } => StatusCode::CONFLICT,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
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

impl From<InsertError> for AppError {
    fn from(e: InsertError) -> Self {
        AppError::from(e.error)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable { detail } => {
                tracing::warn!(%detail, "database unavailable");
                AppError::Unavailable
            }
            StoreError::DuplicateId { index } => AppError::DuplicateId { index },
            StoreError::Rejected {
                index,
                code,
                detail,
            } => {
                tracing::info!(index, code, %detail, "database rejected a document");
                AppError::Rejected { index, code }
            }
            e @ (StoreError::InvalidUri(_) | StoreError::Other(_)) => {
                tracing::error!(error = %e, "database error");
                AppError::Internal
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(json!({ "error": self.to_string() }))).into_response();
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
