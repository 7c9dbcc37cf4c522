//! The database side: one collection, reached through the official driver with short,
//! bounded waits so an unreachable MongoDB turns into a quick 503 instead of a hung request.

use std::future::IntoFuture;
use std::time::Duration;

use mongodb::bson::{Bson, Document, RawDocumentBuf, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Cursor, Database};

/// How long the driver looks for a usable server before giving up. Requests must answer
/// 503 within 2 s when MongoDB is down; this leaves room for the one retry the driver
/// makes on a network error and for the HTTP round trip.
pub const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_millis(800);
/// TCP connect timeout: on a LAN or a lab bridge a connection takes well under a millisecond;
/// a silent peer (container gone, packets dropped) must not hold a request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(800);
/// Hard bound on one database operation, whatever the driver does inside (retries, pool
/// waits): the 2-second promise holds even when the server accepts TCP but does not answer.
pub const OPERATION_DEADLINE: Duration = Duration::from_millis(1700);
/// Bound on fetching the next batch of a cursor while a response is streaming.
pub const GET_MORE_DEADLINE: Duration = Duration::from_secs(10);
/// Documents per cursor batch: large enough to make round trips rare, small enough that a
/// batch of typical documents stays well under a megabyte (memory stays flat while streaming).
pub const BATCH_SIZE: u32 = 1000;

/// What went wrong in the database, sorted by what the client should be told.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid MongoDB connection string: {0}")]
    InvalidUri(#[source] mongodb::error::Error),
    /// Not reachable, not answering, or shutting down. The detail is for logs only.
    #[error("database unavailable: {detail}")]
    Unavailable { detail: String },
    /// Ordered insert stopped at element `index` because its `_id` exists; earlier ones are stored.
    #[error("duplicate _id at element {index}")]
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
            ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. }
            | ErrorKind::Shutdown => StoreError::Unavailable {
                detail: e.to_string(),
            },
            ErrorKind::Command(c) if UNAVAILABLE_CODES.contains(&c.code) => {
                StoreError::Unavailable {
                    detail: e.to_string(),
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

/// Runs a driver call with the hard deadline of [`OPERATION_DEADLINE`].
async fn bounded<T>(
    what: &str,
    op: impl IntoFuture<Output = mongodb::error::Result<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(OPERATION_DEADLINE, op.into_future()).await {
        Ok(result) => result.map_err(StoreError::from_driver),
        Err(_) => Err(StoreError::Unavailable {
            detail: format!("{what}: no answer within {OPERATION_DEADLINE:?}"),
        }),
    }
}

/// The birthdays collection. Cheap to clone: the driver's client is shared.
#[derive(Clone)]
pub struct Store {
    db: Database,
    docs: Collection<Document>,
    raw: Collection<RawDocumentBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("db", &self.db.name())
            .field("collection", &self.docs.name())
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
            docs: db.collection(collection),
            raw: db.collection(collection),
            db,
        })
    }

    /// Stores documents as they are, in one ordered bulk insert; returns their ids in order.
    pub async fn insert(&self, mut docs: Vec<Document>) -> Result<Vec<Bson>, StoreError> {
        match docs.len() {
            0 => Ok(Vec::new()),
            1 => {
                let doc = docs.pop().unwrap_or_default();
                let result = bounded("insert", self.docs.insert_one(doc)).await?;
                Ok(vec![result.inserted_id])
            }
            n => {
                let result = bounded("insert", self.docs.insert_many(docs)).await?;
                let mut ids: Vec<(usize, Bson)> = result.inserted_ids.into_iter().collect();
                ids.sort_unstable_by_key(|(i, _)| *i);
                debug_assert_eq!(ids.len(), n);
                Ok(ids.into_iter().map(|(_, id)| id).collect())
            }
        }
    }

    /// A cursor over every document in the server's natural order (no sort: `_id` order
    /// across several web servers is not the posting order). Raw BSON, so documents are
    /// rendered straight from the driver's buffer without building maps.
    pub async fn find_all(&self) -> Result<Cursor<RawDocumentBuf>, StoreError> {
        bounded("find", self.raw.find(doc! {}).batch_size(BATCH_SIZE)).await
    }

    /// Moves a cursor to its next document, bounded by [`GET_MORE_DEADLINE`].
    pub async fn advance(cursor: &mut Cursor<RawDocumentBuf>) -> Result<bool, StoreError> {
        match tokio::time::timeout(GET_MORE_DEADLINE, cursor.advance()).await {
            Ok(result) => result.map_err(StoreError::from_driver),
            Err(_) => Err(StoreError::Unavailable {
                detail: format!("getMore: no answer within {GET_MORE_DEADLINE:?}"),
            }),
        }
    }

    /// Does the server answer right now? (`ping`, bounded like every request.)
    pub async fn ping(&self) -> Result<(), StoreError> {
        bounded("ping", self.db.run_command(doc! {"ping": 1}))
            .await
            .map(drop)
    }
}
