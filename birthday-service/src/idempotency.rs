//! `Idempotency-Key`: a client-chosen key that makes a retried `POST /` safe.
//!
//! A POST whose answer is lost (a 503 while the database died mid-write, a dropped
//! connection) may or may not have stored its documents; retrying it blindly can store them
//! twice. With `Idempotency-Key: K`, every document without an `_id` of its own gets the `_id`
//! `K` (a single object) or `K/0`, `K/1`, ... (the elements of an array). A retry then meets
//! its own documents under the same ids, and the store counts a stored document that is equal
//! to the one posted as stored (`Store::insert`): the retry answers the original 201, stores
//! only what was missing, and never a duplicate. No state beyond the documents themselves,
//! and the same on MongoDB and FerretDB (unique `_id`, duplicate-key code 11000).
//!
//! A client-chosen `_id` in the document works the same way without the header.

use axum::http::HeaderMap;

/// The header's name (case-insensitive, as every HTTP header).
pub const HEADER: &str = "idempotency-key";
/// Longest key accepted: a UUID is 36 characters; 200 leaves room for any scheme.
pub const MAX_LEN: usize = 200;

/// A valid key: 1 to [`MAX_LEN`] visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

/// Why an `Idempotency-Key` header cannot be used; the message goes to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the Idempotency-Key header is given more than once; send one key per request")]
    Repeated,
    #[error(
        "the Idempotency-Key header must be 1 to {MAX_LEN} visible ASCII characters \
         (a UUID, for example), without spaces"
    )]
    Invalid,
}

impl IdempotencyKey {
    /// The key of a request, if it has one. The structured-field form of the IETF draft (a
    /// quoted string, `"K"`) and the bare form (`K`) both give the key `K`.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, KeyError> {
        let mut values = headers.get_all(HEADER).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(KeyError::Repeated);
        }
        let text = value.to_str().map_err(|_| KeyError::Invalid)?.trim();
        let text = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text);
        let valid = (1..=MAX_LEN).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_graphic() && b != b'"');
        if valid {
            Ok(Some(IdempotencyKey(text.to_owned())))
        } else {
            Err(KeyError::Invalid)
        }
    }

    /// The `_id` of a document without one: the key for a single object, `key/index` for
    /// element `index` of an array.
    pub fn id_for(&self, element: Option<usize>) -> String {
        match element {
            None => self.0.clone(),
            Some(index) => format!("{}/{index}", self.0),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn key(values: &[&[u8]]) -> Result<Option<IdempotencyKey>, KeyError> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(HEADER, HeaderValue::from_bytes(value).unwrap());
        }
        IdempotencyKey::from_headers(&headers)
    }

    #[test]
    fn keys() {
        let k = |s: &str| Ok(Some(IdempotencyKey(s.to_owned())));
        assert_eq!(key(&[]), Ok(None));
        assert_eq!(key(&[b"abc-123"]), k("abc-123"));
        assert_eq!(key(&[b"\"abc-123\""]), k("abc-123"));
        assert_eq!(key(&[b" padded "]), k("padded"));
        let uuid = b"8e3f1c5a-7d2b-4c1e-9a0f-3b6d2e1f4a5c";
        assert_eq!(key(&[uuid]), k(std::str::from_utf8(uuid).unwrap()));
        assert_eq!(key(&[&[b'x'; MAX_LEN]]), k(&"x".repeat(MAX_LEN)));
        for bad in [
            &b""[..],
            b"\"\"",
            b"two words",
            b"tab\there",
            b"caf\xc3\xa9",
            &[b'x'; MAX_LEN + 1],
        ] {
            assert_eq!(key(&[bad]), Err(KeyError::Invalid), "{bad:?}");
        }
        assert_eq!(key(&[b"a", b"b"]), Err(KeyError::Repeated));
    }

    #[test]
    fn ids() {
        let k = IdempotencyKey("K".into());
        assert_eq!(k.id_for(None), "K");
        assert_eq!(k.id_for(Some(3)), "K/3");
    }
}
