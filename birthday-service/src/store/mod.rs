//! The database side: one collection, reached through the official driver with short,
//! bounded waits so an unreachable MongoDB turns into a quick 503 instead of a hung request.

use std::future::{Future, IntoFuture};
use std::time::Duration;

use mongodb::bson::{RawDocumentBuf, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Cursor, Database};

/// How long the driver looks for a usable server before giving up: a stopped MongoDB
/// (connection refused) turns into a 503 in about this time.
pub const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_millis(800);
/// TCP connect timeout: on a LAN or a lab bridge a connection takes well under a millisecond;
/// a silent peer (container gone, packets dropped) must not hold a request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(800);
/// How long an operation may take before we ask whether the server is there at all.
pub const PATIENCE: Duration = Duration::from_millis(1200);
/// How long that question (a `ping`) may take. PATIENCE + PROBE stays under the 2-second
/// promise, with room for the HTTP round trip.
pub const PROBE: Duration = Duration::from_millis(500);
/// Bound on an operation of a server that answers `ping` but is slow to finish it (a 1 MiB
/// batch on a busy SQLite-backed FerretDB can take seconds).
pub const SLOW_LIMIT: Duration = Duration::from_secs(60);
/// Documents per cursor batch: large enough to make round trips rare, small enough that a
/// batch of typical documents stays well under a megabyte (memory stays flat while streaming).
pub const BATCH_SIZE: u32 = 1000;
/// Documents per insert command at most. The driver copies a batch into its message, so the
/// batch bounds that copy; and a small insert finishes well within [`PATIENCE`] even on a
/// busy SQLite-backed FerretDB, where a 1 MiB one could take seconds.
pub const INSERT_BATCH: usize = 1000;
/// BSON bytes per insert command at most (a batch always holds at least one document).
pub const INSERT_BATCH_BYTES: usize = 256 * 1024;

/// What went wrong in the database, sorted by what the client should be told.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid MongoDB connection string: {0}")]
    InvalidUri(#[source] mongodb::error::Error),
    /// Not reachable, not answering, or shutting down. The detail is for logs only.
    /// `maybe_applied`: the operation may have reached the server and taken effect (its
    /// answer was lost); false when it was never sent (no server could be selected).
    #[error("database unavailable: {detail}")]
    Unavailable { detail: String, maybe_applied: bool },
    /// Ordered insert stopped at element `index` because a different document with its `_id`
    /// is stored; earlier ones are stored.
    #[error("a different document with the _id of element {index} is stored")]
    DuplicateId { index: usize },
    /// The server refused element `index` as a document (a bad `_id`, too deep, ...).
    #[error("element {index} rejected by the database (code {code}): {detail}")]
    Rejected {
        index: usize,
        code: i32,
        detail: String,
    },
    #[error("database error: {0}")]
    Other(#[source] mongodb::error::Error),
}

impl StoreError {
    fn from_driver(e: mongodb::error::Error) -> Self {
        // Server error codes that mean "not now" rather than "wrong request":
        // HostUnreachable, HostNotFound, NetworkTimeout, ShutdownInProgress,
        // InterruptedAtShutdown, NotWritablePrimary, NotPrimaryNoSecondaryOk,
        // NotPrimaryOrSecondary, PrimarySteppedDown.
        const UNAVAILABLE_CODES: [i32; 9] = [6, 7, 89, 91, 11600, 10107, 13435, 13436, 189];
        match e.kind.as_ref() {
            // Server selection comes before anything is sent (and a retryable write whose
            // retry finds no server reports the first attempt's error, not this one).
            ErrorKind::ServerSelection { .. } | ErrorKind::DnsResolve { .. } => {
                StoreError::Unavailable {
                    detail: e.to_string(),
                    maybe_applied: false,
                }
            }
            ErrorKind::Io(_) | ErrorKind::ConnectionPoolCleared { .. } | ErrorKind::Shutdown => {
                StoreError::Unavailable {
                    detail: e.to_string(),
                    maybe_applied: true,
                }
            }
            ErrorKind::Command(c) if UNAVAILABLE_CODES.contains(&c.code) => {
                StoreError::Unavailable {
                    detail: e.to_string(),
                    maybe_applied: true,
                }
            }
            ErrorKind::Write(WriteFailure::WriteError(w)) => write_error(0, w.code, &w.message),
            ErrorKind::InsertMany(m) => match m.write_errors.as_ref().and_then(|w| w.first()) {
                Some(w) => write_error(w.index, w.code, &w.message),
                None => StoreError::Other(e),
            },
            _ => StoreError::Other(e),
        }
    }
}

/// Why [`Store::insert`] stopped: the first `stored` documents are stored for sure; of the
/// rest, nothing is, except where `error` is [`StoreError::Unavailable`] with
/// `maybe_applied` (the batch in flight may or may not have been written).
#[derive(Debug, thiserror::Error)]
#[error("insert stopped after {stored} stored documents: {error}")]
pub struct InsertError {
    pub stored: usize,
    #[source]
    pub error: StoreError,
}

fn write_error(index: usize, code: i32, message: &str) -> StoreError {
    const DUPLICATE_KEY: i32 = 11000;
    if code == DUPLICATE_KEY {
        StoreError::DuplicateId { index }
    } else {
        StoreError::Rejected {
            index,
            code,
            detail: message.to_owned(),
        }
    }
}

/// Waits for `op`. If it takes longer than `patience`, asks `probe` whether the server is
/// there at all: if not (no answer within [`PROBE`]), the database is unavailable; if it is,
/// the operation is merely slow and may run on up to [`SLOW_LIMIT`].
///
/// A plain deadline would turn a slow but successful insert into a 503 whose document is
/// stored anyway (and a retry would store it twice); waiting for the driver alone could hang
/// on a server that accepts TCP but never answers (until the monitor's next heartbeat, 10 s).
pub(crate) async fn patiently<T>(
    what: &str,
    op: impl IntoFuture<Output = mongodb::error::Result<T>>,
    patience: Duration,
    probe: impl Future<Output = bool>,
) -> Result<T, StoreError> {
    let op = op.into_future();
    tokio::pin!(op);
    if let Ok(result) = tokio::time::timeout(patience, &mut op).await {
        return result.map_err(StoreError::from_driver);
    }
    let probe = tokio::time::timeout(PROBE, probe);
    tokio::select! {
        result = &mut op => return result.map_err(StoreError::from_driver),
        up = probe => if !matches!(up, Ok(true)) {
            return Err(StoreError::Unavailable {
                detail: format!("{what}: no answer within {patience:?}, and no answer to ping"),
                maybe_applied: true,
            });
        },
    }
    tracing::debug!(what, "slow operation, but the server answers ping: waiting");
    match tokio::time::timeout(SLOW_LIMIT, op).await {
        Ok(result) => result.map_err(StoreError::from_driver),
        Err(_) => Err(StoreError::Unavailable {
            detail: format!("{what}: no answer within {SLOW_LIMIT:?}"),
            maybe_applied: true,
        }),
    }
}

/// The birthdays collection. Cheap to clone: the driver's client is shared.
#[derive(Clone)]
pub struct Store {
    client: Client,
    db: Database,
    raw: Collection<RawDocumentBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("db", &self.db.name())
            .field("collection", &self.raw.name())
            .finish()
    }
}

impl Store {
    /// Configures the driver without contacting the server: the client connects in the
    /// background, so the service starts even when MongoDB is not up yet (in the article the
    /// web servers start right after the database container). Timeouts set in the URI win.
    pub async fn connect(uri: &str, database: &str, collection: &str) -> Result<Self, StoreError> {
        // `parse` does DNS only for mongodb+srv:// URIs.
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(StoreError::InvalidUri)?;
        options
            .server_selection_timeout
            .get_or_insert(SERVER_SELECTION_TIMEOUT);
        options.connect_timeout.get_or_insert(CONNECT_TIMEOUT);
        options
            .app_name
            .get_or_insert_with(|| "birthday-service".to_owned());
        let client = Client::with_options(options).map_err(StoreError::InvalidUri)?;
        let db = client.database(database);
        Ok(Store {
            client,
            raw: db.collection(collection),
            db,
        })
    }

    /// Stores documents as they are (each with its `_id` already), in order, in ordered
    /// insert commands of at most [`INSERT_BATCH`] documents and [`INSERT_BATCH_BYTES`].
    /// A batch is dropped once stored, so memory shrinks as the request proceeds. The first
    /// failure stops it: the documents before the failing one are stored, the rest are not.
    ///
    /// A document whose `_id` is taken by an equal document counts as stored, and the insert
    /// goes on after it: that is a retry of a request whose answer was lost (see
    /// `idempotency`), which then answers like the original and stores only what is missing.
    /// A different document under that `_id` stops it with [`StoreError::DuplicateId`].
    pub async fn insert(&self, mut docs: Vec<RawDocumentBuf>) -> Result<(), InsertError> {
        let mut offset = 0;
        while !docs.is_empty() {
            let mut bytes = 0;
            let len = docs
                .iter()
                .take(INSERT_BATCH)
                .take_while(|doc| {
                    bytes += doc.as_bytes().len();
                    bytes <= INSERT_BATCH_BYTES
                })
                .count()
                .max(1);
            let batch: Vec<RawDocumentBuf> = docs.drain(..len).collect();
            // The first document of the batch not known to be stored.
            let mut from = 0;
            while from < batch.len() {
                let error = match self
                    .patiently("insert", self.raw.insert_many(&batch[from..]))
                    .await
                {
                    Ok(_) => break,
                    Err(error) => error,
                };
                let (stored, error) = match error {
                    StoreError::DuplicateId { index } => {
                        let at = from + index;
                        match self.stored_equal(&batch[at]).await {
                            Ok(true) => {
                                tracing::info!(
                                    element = offset + at,
                                    "document already stored (a retry): going on after it"
                                );
                                from = at + 1;
                                continue;
                            }
                            Ok(false) => {
                                (offset + at, StoreError::DuplicateId { index: offset + at })
                            }
                            Err(error) => (offset + at, error),
                        }
                    }
                    StoreError::Rejected {
                        index,
                        code,
                        detail,
                    } => {
                        let index = offset + from + index;
                        (
                            index,
                            StoreError::Rejected {
                                index,
                                code,
                                detail,
                            },
                        )
                    }
                    error => (offset + from, error),
                };
                return Err(InsertError { stored, error });
            }
            offset += len;
        }
        Ok(())
    }

    /// Is a document equal to `doc` stored under its `_id`? Equal as documents (same fields
    /// and values, numbers of the same type), so a server that moves `_id` to the front, as
    /// MongoDB does, still counts as the same document.
    async fn stored_equal(&self, doc: &RawDocumentBuf) -> Result<bool, StoreError> {
        let posted = doc
            .to_document()
            .map_err(|e| StoreError::Other(mongodb::error::Error::custom(e)))?;
        let Some(id) = posted.get("_id") else {
            return Ok(false);
        };
        let found = self
            .patiently("find", self.raw.find_one(doc! {"_id": id.clone()}))
            .await?;
        Ok(match found {
            Some(stored) => stored.to_document().is_ok_and(|stored| stored == posted),
            None => false,
        })
    }

    /// A cursor over every document in the server's natural order (no sort: `_id` order
    /// across several web servers is not the posting order). Raw BSON, so documents are
    /// rendered straight from the driver's buffer without building maps.
    pub async fn find_all(&self) -> Result<Cursor<RawDocumentBuf>, StoreError> {
        self.patiently("find", self.raw.find(doc! {}).batch_size(BATCH_SIZE))
            .await
    }

    /// Moves a cursor to its next document (fetching the next batch when needed), with the
    /// same patience as every operation.
    pub async fn advance(&self, cursor: &mut Cursor<RawDocumentBuf>) -> Result<bool, StoreError> {
        self.patiently("getMore", cursor.advance()).await
    }

    async fn patiently<T>(
        &self,
        what: &str,
        op: impl IntoFuture<Output = mongodb::error::Result<T>>,
    ) -> Result<T, StoreError> {
        patiently(what, op, PATIENCE, self.answers_ping()).await
    }

    /// True when the server answers `ping` right now (on a connection of its own).
    async fn answers_ping(&self) -> bool {
        self.db.run_command(doc! {"ping": 1}).await.is_ok()
    }

    /// Closes the driver at shutdown. On MongoDB: the driver's `shutdown` (waits for pending
    /// cleanup such as `killCursors`, ends the pooled implicit sessions with `endSessions`).
    ///
    /// FerretDB 1.x has no `endSessions` command: the driver sends it whenever its last client
    /// handle goes away, FerretDB answers "no such command" and logs a warning. The driver
    /// ignores the answer (the sessions spec says to), so nothing breaks, but we do not send
    /// a command we know is unsupported: on FerretDB (recognised by the `ferretdbVersion`
    /// field of `buildInfo`) the client is closed without it. Its sessions need no ending
    /// there, and MongoDB still gets the full clean-up. See NOTES.md.
    pub async fn close(self) {
        const ASK: Duration = Duration::from_millis(500);
        const CLEAN_UP: Duration = Duration::from_secs(2);
        let admin = self.client.database("admin");
        let build_info = admin.run_command(doc! {"buildInfo": 1});
        let ferretdb = matches!(
            tokio::time::timeout(ASK, build_info.into_future()).await,
            Ok(Ok(info)) if info.contains_key("ferretdbVersion")
        );
        let Store { client, db, raw } = self;
        drop((admin, db, raw));
        if ferretdb {
            tracing::debug!("FerretDB: closing the driver without endSessions");
            // The last handle is never dropped, so the driver's drop hook never queues
            // `endSessions`; the process is exiting and the OS closes the sockets.
            std::mem::forget(client);
        } else if tokio::time::timeout(CLEAN_UP, client.shutdown().into_future())
            .await
            .is_err()
        {
            tracing::warn!("driver shutdown took over {CLEAN_UP:?}; exiting anyway");
        }
    }

    /// Does the server answer right now? (`ping`, answered or not within 2 seconds.)
    pub async fn ping(&self) -> Result<(), StoreError> {
        let ping = self.db.run_command(doc! {"ping": 1});
        patiently("ping", ping, PATIENCE, std::future::ready(false))
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never<T>() -> std::future::Pending<mongodb::error::Result<T>> {
        std::future::pending()
    }

    async fn after<T>(d: Duration, value: T) -> mongodb::error::Result<T> {
        tokio::time::sleep(d).await;
        Ok(value)
    }

    async fn probe(d: Duration, up: bool) -> bool {
        tokio::time::sleep(d).await;
        up
    }

    const MS: Duration = Duration::from_millis(1);

    // Paused time: sleeps complete instantly and in order, so timing is exact.
    #[tokio::test(start_paused = true)]
    async fn fast_operations_need_no_probe() {
        let started = tokio::time::Instant::now();
        let r = patiently(
            "op",
            after(PATIENCE - MS, 1),
            PATIENCE,
            probe(Duration::ZERO, false),
        )
        .await;
        assert_eq!(r.unwrap(), 1);
        assert!(started.elapsed() < PATIENCE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_is_unavailable_within_two_seconds() {
        for probe_answer in [probe(PROBE * 2, true), probe(10 * MS, false)] {
            let started = tokio::time::Instant::now();
            let r = patiently::<()>("op", never(), PATIENCE, probe_answer).await;
            assert!(matches!(r, Err(StoreError::Unavailable { .. })), "{r:?}");
            assert!(started.elapsed() <= PATIENCE + PROBE);
            assert!(PATIENCE + PROBE < Duration::from_millis(1800));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_server_that_answers_ping_gets_time() {
        let r = patiently(
            "op",
            after(Duration::from_secs(5), 7),
            PATIENCE,
            probe(MS, true),
        )
        .await;
        assert_eq!(r.unwrap(), 7);
        // Finishing while the probe is still out counts too.
        let r = patiently(
            "op",
            after(PATIENCE + MS, 8),
            PATIENCE,
            probe(PROBE * 2, false),
        )
        .await;
        assert_eq!(r.unwrap(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn even_a_slow_server_has_a_limit() {
        let r = patiently::<()>("op", never(), PATIENCE, probe(MS, true)).await;
        assert!(matches!(r, Err(StoreError::Unavailable { .. })), "{r:?}");
    }
}
