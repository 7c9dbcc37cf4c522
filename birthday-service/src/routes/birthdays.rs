//! `POST /` stores JSON documents; `GET /` streams them back as the article's lines or as JSON.

use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures::{Stream, StreamExt as _};
use mongodb::Cursor;
use mongodb::bson::RawDocumentBuf;
use serde_json::json;

use crate::app::AppState;
use crate::body::{Documents, IdOrigin};
use crate::error::AppError;
use crate::idempotency::IdempotencyKey;
use crate::store::{InsertError, Store, StoreError};
use crate::{body, document};

/// A chunk of the response body is sent once it holds this much: few enough chunks to keep
/// per-chunk overhead low, small enough that memory stays flat.
const CHUNK: usize = 64 * 1024;
/// Rendered chunks that may wait for the client: enough to keep the cursor busy while one
/// chunk is being written.
const AHEAD: usize = 2;

/// `POST /`: a JSON object, or an array of objects, stored as is. `201` with
/// `{"id": "..."}` or `{"ids": [...]}`.
///
/// The whole body is checked before anything is stored (see `body`), so a 400 or 413
/// stored nothing; a 201 means every document is stored. With an `Idempotency-Key` (or an
/// `_id` in every document) a retry is safe: it answers the same 201 (see `idempotency`).
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    check_json_content_type(&headers)?;
    let key = IdempotencyKey::from_headers(&headers)?;
    let body = read_body(&headers, body, state.body_timeout).await?;
    // Held until the documents are stored: bounds the memory of all POSTs together.
    let _budget = state.post_budget(body.len()).await;
    // Parsing a megabyte takes milliseconds of CPU: off the threads that serve connections
    // and run the database's time-outs.
    let parse_key = key.clone();
    let documents = tokio::task::spawn_blocking(move || body::parse(&body, parse_key.as_ref()))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the body parser panicked");
            AppError::Internal
        })??;
    let ids: Vec<String> = documents.ids().map(|id| document::id_string(&id)).collect();
    let retry_safe = documents.retry_safe();
    let Documents {
        docs,
        origins,
        many,
    } = documents;
    if let Err(e) = state.store.insert(docs).await {
        let posted = Posted {
            key: key.as_ref(),
            ids: &ids,
            origins: &origins,
            many,
            retry_safe,
        };
        return Err(posted.insert_failed(e));
    }
    let body = if many {
        json!({ "ids": ids })
    } else {
        json!({ "id": ids.first() })
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// What was posted, for the answer to a failed insert.
struct Posted<'a> {
    key: Option<&'a IdempotencyKey>,
    ids: &'a [String],
    origins: &'a [IdOrigin],
    many: bool,
    retry_safe: bool,
}

impl Posted<'_> {
    /// The answer to an insert that stopped: what is stored, and what the client can do.
    fn insert_failed(&self, e: InsertError) -> AppError {
        let element = |index: usize| self.many.then_some(index);
        match e.error {
            StoreError::Unavailable {
                detail,
                maybe_applied,
            } => {
                let stored = e.stored;
                tracing::warn!(%detail, stored, maybe_applied, "database unavailable while storing");
                if stored == 0 && !maybe_applied {
                    AppError::NothingStored
                } else {
                    AppError::OutcomeUnknown {
                        retry_safe: self.retry_safe,
                    }
                }
            }
            StoreError::DuplicateId { index } => match (self.origins[index], self.key) {
                (IdOrigin::Key, Some(key)) => AppError::KeyReused {
                    key: key.as_str().to_owned(),
                    element: element(index),
                    id: self.ids[index].clone(),
                },
                _ => AppError::IdConflict {
                    element: element(index),
                    id: self.ids[index].clone(),
                },
            },
            StoreError::Rejected {
                index,
                code,
                detail,
            } => {
                tracing::info!(index, code, %detail, "database rejected a document");
                AppError::Rejected {
                    element: element(index),
                    code,
                }
            }
            error => AppError::from(error),
        }
    }
}

/// Reads a whole body of at most [`body::MAX_BYTES`] within `deadline` (one deadline for the
/// whole body, not per chunk: a client trickling a byte a second must not hold a connection
/// and a buffer for days). A `Content-Length` over the limit is refused before reading.
async fn read_body(headers: &HeaderMap, body: Body, deadline: Duration) -> Result<Bytes, AppError> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > body::MAX_BYTES as u64) {
        return Err(AppError::PayloadTooLarge);
    }
    let read = async {
        let capacity = announced.map_or(0, |len| len as usize);
        let mut buf = BytesMut::with_capacity(capacity);
        let mut frames = body.into_data_stream();
        while let Some(frame) = frames.next().await {
            let frame = frame.map_err(|e| {
                tracing::debug!(error = %e, "request body");
                AppError::BodyRead
            })?;
            if buf.len() + frame.len() > body::MAX_BYTES {
                return Err(AppError::PayloadTooLarge);
            }
            buf.extend_from_slice(&frame);
        }
        Ok(buf.freeze())
    };
    tokio::time::timeout(deadline, read)
        .await
        .map_err(|_| AppError::BodyTimeout(deadline))?
}

/// Accepts `application/json` (any parameters) and `application/<something>+json`.
fn check_json_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .ok_or(AppError::MissingContentType)?;
    let text = value.to_str().unwrap_or_default();
    let essence = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if is_json {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType(text.to_owned()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// The article's `key = value` lines.
    Text,
    /// A JSON array of the documents.
    Json,
}

/// `GET /`: every document, streamed from the cursor in the server's order.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let format = if wants_json(headers.get(header::ACCEPT)) {
        Format::Json
    } else {
        Format::Text
    };
    // The first batch is fetched here, so an unavailable database is still a clean 503.
    let cursor = state.store.find_all().await?;
    let content_type = match format {
        Format::Text => "text/plain; charset=utf-8",
        Format::Json => "application/json",
    };
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        Body::from_stream(render(state.store.clone(), cursor, format)),
    )
        .into_response())
}

/// The response body. A task reads the cursor and renders chunks while hyper writes the
/// previous ones, so the database round trips overlap with sending instead of adding to it.
/// The channel holds at most [`AHEAD`] chunks: memory stays flat, and a slow client slows
/// the cursor. When the client goes away the task stops and the cursor is dropped
/// (the driver then sends `killCursors`).
fn render(
    store: Store,
    cursor: Cursor<RawDocumentBuf>,
    format: Format,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let (tx, rx) = tokio::sync::mpsc::channel(AHEAD);
    tokio::spawn(async move {
        let mut chunks = std::pin::pin!(render_chunks(store, cursor, format));
        while let Some(chunk) = chunks.next().await {
            if tx.send(chunk).await.is_err() {
                tracing::debug!("client went away: stopping the cursor");
                break;
            }
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    })
}

/// Documents rendered into chunks of about [`CHUNK`] bytes as the cursor yields them.
/// An error mid-stream ends the body abruptly (the client sees a truncated transfer, never
/// a silently short list).
fn render_chunks(
    store: Store,
    cursor: Cursor<RawDocumentBuf>,
    format: Format,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    struct Render {
        store: Store,
        cursor: Cursor<RawDocumentBuf>,
        format: Format,
        count: u64,
        done: bool,
    }
    let start = Render {
        store,
        cursor,
        format,
        count: 0,
        done: false,
    };
    futures::stream::unfold(start, |mut st| async move {
        if st.done {
            return None;
        }
        let mut buf = Vec::with_capacity(CHUNK + 4096);
        if st.format == Format::Json && st.count == 0 {
            buf.push(b'[');
        }
        while buf.len() < CHUNK {
            match st.store.advance(&mut st.cursor).await {
                Ok(true) => {}
                Ok(false) => {
                    st.done = true;
                    if st.format == Format::Json {
                        buf.push(b']');
                    }
                    break;
                }
                Err(e) => {
                    st.done = true;
                    return Some((Err(stream_error(e)), st));
                }
            }
            let doc = st.cursor.current();
            let rendered = match st.format {
                Format::Text => document::write_line(doc, &mut buf),
                Format::Json => {
                    if st.count > 0 {
                        buf.push(b',');
                    }
                    document::write_json(doc, &mut buf)
                }
            };
            if let Err(e) = rendered {
                tracing::error!(error = %e, "cannot render a stored document");
                st.done = true;
                return Some((Err(std::io::Error::other(e)), st));
            }
            st.count += 1;
        }
        Some((Ok(Bytes::from(buf)), st))
    })
}

/// Logs why a streaming response was cut (headers are gone: no status can say it).
fn stream_error(e: StoreError) -> std::io::Error {
    tracing::warn!(error = %e, "response cut: the cursor failed while streaming");
    std::io::Error::other(e)
}

/// Content negotiation for `GET /`: JSON when the client asks for `application/json` and
/// does not prefer `text/plain` (higher q, or equal q listed first); wildcards mean text.
fn wants_json(accept: Option<&HeaderValue>) -> bool {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // (q, position) of the best mention of each type.
    let mut json: Option<(f32, usize)> = None;
    let mut text: Option<(f32, usize)> = None;
    for (position, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let slot = match media.as_str() {
            "application/json" => &mut json,
            "text/plain" => &mut text,
            _ => continue,
        };
        if slot.is_none_or(|(best, _)| q > best) {
            *slot = Some((q, position));
        }
    }
    match (json, text) {
        (Some((jq, _)), None) => jq > 0.0,
        (Some((jq, jp)), Some((tq, tp))) => jq > 0.0 && (jq > tq || (jq == tq && jp < tp)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        let cases = [
            (None, false),
            (Some("*/*"), false),
            (Some("application/json"), true),
            (Some("application/json; charset=utf-8"), true),
            (Some("text/plain, application/json"), false),
            (Some("application/json, text/plain, */*"), true),
            (Some("text/plain;q=0.5, application/json"), true),
            (Some("application/json;q=0"), false),
            (Some("text/html"), false),
        ];
        for (accept, want) in cases {
            let header = accept.map(HeaderValue::from_static);
            assert_eq!(wants_json(header.as_ref()), want, "{accept:?}");
        }
    }

    #[test]
    fn content_types() {
        let cases = [
            (Some("application/json"), true),
            (Some("Application/JSON; charset=utf-8"), true),
            (Some("application/merge-patch+json"), true),
            (Some("text/plain"), false),
            (Some("application/x-www-form-urlencoded"), false),
            (None, false),
        ];
        for (ct, want) in cases {
            let mut headers = HeaderMap::new();
            if let Some(ct) = ct {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            }
            assert_eq!(check_json_content_type(&headers).is_ok(), want, "{ct:?}");
        }
    }
}
