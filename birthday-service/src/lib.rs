//! The article's birthday web server, in Rust: axum in front of the official MongoDB driver.
//!
//! `POST /` stores JSON documents as they are, `GET /` prints them one per line the way the
//! article shows (`name = James Clerk Maxwell, birthday = 13.06.1831`), streamed from the
//! database cursor. The binary (`main.rs`) adds configuration, logging and shutdown; this
//! library holds the rest so tests can drive [`app::app`] without a listening socket.

pub mod app;
pub mod body;
pub mod config;
pub mod document;
pub mod error;
pub mod idempotency;
pub mod listen;
pub mod routes;
pub mod serve;
pub mod store;

pub use app::{AppState, app};
pub use store::Store;
