//! HTTP handlers: `birthdays` is the article's API, `health` the probes.

pub mod birthdays;
pub mod health;

use axum::http::Uri;

use crate::error::AppError;

pub async fn not_found(uri: Uri) -> AppError {
    AppError::NotFound(uri.path().to_owned())
}

pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
