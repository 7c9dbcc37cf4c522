//! Command line and environment: the article's start line, Docker link variables, `--mongo-uri`.

use std::time::Duration;

use clap::Parser;

/// Variables that `docker run --link mongodb:mongo` sets in the web server's container.
pub const ADDR_VAR: &str = "MONGO_PORT_27017_TCP_ADDR";
pub const PORT_VAR: &str = "MONGO_PORT_27017_TCP_PORT";

const LONG_ABOUT: &str = "\
The birthday web server of the article \"Docker Networking Made Simple\": POST / stores a JSON \
document (or an array of them) in MongoDB, GET / prints every stored document as one line of \
`key = value` pairs.

The article starts it as

    birthday-service 8080 $MONGO_PORT_27017_TCP_ADDR $MONGO_PORT_27017_TCP_PORT

The MongoDB address is taken from, in this order: --mongo-uri; the MONGO_HOST and MONGO_PORT \
arguments; the variables MONGO_PORT_27017_TCP_ADDR and MONGO_PORT_27017_TCP_PORT, which a Docker \
legacy link (--link mongodb:mongo) sets. Without any of them the service refuses to start. \
MongoDB does not need to be up at start: requests answer 503 until it is.

A POST takes at most 1 MiB and 10,000 documents (413 beyond: split the array). The whole body \
is checked before anything is stored, so a 400 or 413 stored nothing and a 201 stored everything. \
To make retries safe, send an Idempotency-Key header (documents without an _id get the key, or \
KEY/0, KEY/1, ... in an array, as _id) or an _id in every document: a retry then answers the \
original 201 and stores nothing twice. A 503 to a POST says whether nothing was stored or the \
outcome is unknown.

It listens on every address of its network namespace: IPv4, and IPv6 where the namespace has it.
Log level from RUST_LOG (default: info). SIGTERM or SIGINT stop it after in-flight requests.";

/// Command line of `birthday-service`.
#[derive(Debug, Clone, Parser)]
#[command(name = "birthday-service", version, about, long_about = LONG_ABOUT)]
pub struct Cli {
    /// TCP port to listen on (every address of the network namespace; 0 picks a free one)
    #[arg(value_name = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// MongoDB host name or IP address
    #[arg(value_name = "MONGO_HOST", env = ADDR_VAR, hide_env_values = true)]
    pub mongo_host: Option<String>,

    /// MongoDB port [default: 27017]
    // A string, not a u16: an empty variable (what `$VAR` gives without a link) means unset.
    #[arg(value_name = "MONGO_PORT", env = PORT_VAR, hide_env_values = true)]
    pub mongo_port: Option<String>,

    /// MongoDB connection string; overrides MONGO_HOST and MONGO_PORT, e.g. mongodb://10.2.0.2:27017/
    #[arg(long, value_name = "URI")]
    pub mongo_uri: Option<String>,

    /// Database name
    #[arg(long, value_name = "NAME", default_value = "demo")]
    pub db: String,

    /// Collection name
    #[arg(long, value_name = "NAME", default_value = "birthdays")]
    pub collection: String,

    /// How long a client may take to send a request's line and headers (e.g. 10s, 500ms, 2m);
    /// the connection is closed after that. Also how long an idle kept-alive connection stays open.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        env = "BIRTHDAY_HEADER_TIMEOUT",
        value_parser = parse_duration
    )]
    pub header_timeout: Duration,

    /// How long a client may take to send the whole body of a POST (at most 1 MiB), counted
    /// from the end of its headers; 408 and the connection closed after that
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30s",
        env = "BIRTHDAY_BODY_TIMEOUT",
        value_parser = parse_duration
    )]
    pub body_timeout: Duration,
}

/// A duration on the command line: a number with `ms`, `s` or `m`, or a bare number of
/// seconds; fractions allowed (`1.5s`). Zero is refused: it would close every connection.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let seconds_per_unit = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        _ => return Err(format!("unknown unit {unit:?}: use ms, s or m, e.g. 10s")),
    };
    let number: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: write e.g. 10s, 500ms or 2m"))?;
    Duration::try_from_secs_f64(number * seconds_per_unit)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?}: the duration must be more than zero"))
}

/// A configuration that names no database.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "no MongoDB address: pass MONGO_HOST [MONGO_PORT] after the listen port, set \
         {ADDR_VAR} and {PORT_VAR} (as `docker run --link mongodb:mongo` does), or use --mongo-uri"
    )]
    NoAddress,
    #[error("invalid MongoDB port {0:?}: expected a number from 1 to 65535")]
    InvalidPort(String),
}

impl Cli {
    /// The connection string the service uses. An empty variable counts as unset: that is
    /// what a shell gives for `$MONGO_PORT_27017_TCP_ADDR` when no link exists.
    pub fn mongo_uri(&self) -> Result<String, ConfigError> {
        if let Some(uri) = self.mongo_uri.as_deref().filter(|u| !u.is_empty()) {
            return Ok(uri.to_owned());
        }
        let host = self
            .mongo_host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or(ConfigError::NoAddress)?;
        let port = match self.mongo_port.as_deref().map(str::trim) {
            None | Some("") => 27017,
            Some(text) => text
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| ConfigError::InvalidPort(text.to_owned()))?,
        };
        // An IPv6 literal needs brackets in a URI.
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        Ok(format!("mongodb://{host}:{port}/"))
    }
}

/// The connection string without a password, for logs.
pub fn redact_uri(uri: &str) -> String {
    match (uri.find("://"), uri.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &uri[..scheme], &uri[at + 1..])
        }
        _ => uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["birthday-service"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap()
    }

    #[test]
    fn address_resolution() {
        let cases: &[(&[&str], Result<&str, ConfigError>)] = &[
            (
                &["8080", "10.2.0.2", "27017"],
                Ok("mongodb://10.2.0.2:27017/"),
            ),
            (&["8080", "mongo"], Ok("mongodb://mongo:27017/")),
            (
                &["8080", "fd00::2", "27018"],
                Ok("mongodb://[fd00::2]:27018/"),
            ),
            (
                &["8080", "h", "1", "--mongo-uri", "mongodb://x:9/"],
                Ok("mongodb://x:9/"),
            ),
            (&["8080", ""], Err(ConfigError::NoAddress)),
            (&["8080", "h", ""], Ok("mongodb://h:27017/")),
            (
                &["8080", "h", "x"],
                Err(ConfigError::InvalidPort("x".into())),
            ),
            (
                &["8080", "h", "0"],
                Err(ConfigError::InvalidPort("0".into())),
            ),
        ];
        for (args, want) in cases {
            assert_eq!(
                cli(args).mongo_uri().as_deref(),
                want.as_deref(),
                "{args:?}"
            );
        }
    }

    #[test]
    fn no_address_names_the_variables() {
        let msg = ConfigError::NoAddress.to_string();
        assert!(msg.contains(ADDR_VAR) && msg.contains(PORT_VAR), "{msg}");
    }

    #[test]
    fn durations() {
        let ok = [
            ("10s", Duration::from_secs(10)),
            ("500ms", Duration::from_millis(500)),
            ("2m", Duration::from_secs(120)),
            ("3", Duration::from_secs(3)),
            ("1.5s", Duration::from_millis(1500)),
            (" 7 s", Duration::from_secs(7)),
        ];
        for (text, want) in ok {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        for (text, why) in [
            ("0s", "more than zero"),
            ("-1s", "more than zero"),
            ("10h", "unknown unit"),
            ("s", "not a duration"),
            ("", "not a duration"),
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
        let cli = cli(&["8080", "h"]);
        assert_eq!(cli.header_timeout, Duration::from_secs(10));
        assert_eq!(cli.body_timeout, Duration::from_secs(30));
    }

    #[test]
    fn redaction() {
        assert_eq!(redact_uri("mongodb://u:p@h:1/"), "mongodb://***@h:1/");
        assert_eq!(redact_uri("mongodb://h:1/"), "mongodb://h:1/");
    }
}
