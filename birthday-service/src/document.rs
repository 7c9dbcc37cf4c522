//! Documents out: stored BSON rendered as the article's `key = value` lines or as JSON, and
//! ids as strings. Pure functions, no I/O. (Documents in: `body`.)
//!
//! Rendering walks the raw BSON and writes as it goes. Converting a value to `Bson` and then
//! to a `serde_json::Value` first costs a few hundred bytes per value: one stored document of
//! 340,000 empty objects (a 1 MiB POST) took 40 MiB for every `GET /` that printed it.

use mongodb::bson::Bson;
use mongodb::bson::raw::{RawBsonRef, RawDocument};
use serde_json::Value;

/// A document id as a string: ObjectIds in hex, strings as they are, anything else as
/// compact JSON.
pub fn id_string(id: &Bson) -> String {
    match id {
        Bson::ObjectId(oid) => oid.to_hex(),
        Bson::String(s) => s.clone(),
        other => other.clone().into_relaxed_extjson().to_string(),
    }
}

/// Writes one document as the article's line: `key = value` pairs joined by `, `, every key
/// except `_id`, in the document's order; strings bare, other values as compact JSON.
pub fn write_line(doc: &RawDocument, out: &mut Vec<u8>) -> Result<(), RenderError> {
    let mut first = true;
    for element in doc {
        let (key, value) = element?;
        if key == "_id" {
            continue;
        }
        if !first {
            out.extend_from_slice(b", ");
        }
        first = false;
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b" = ");
        match value {
            RawBsonRef::String(s) => out.extend_from_slice(s.as_bytes()),
            other => write_value(other, out)?,
        }
    }
    out.push(b'\n');
    Ok(())
}

/// Writes one document as a JSON object in its own key order, `_id` as a string.
pub fn write_json(doc: &RawDocument, out: &mut Vec<u8>) -> Result<(), RenderError> {
    out.push(b'{');
    for (i, element) in doc.into_iter().enumerate() {
        let (key, value) = element?;
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, key)?;
        out.push(b':');
        match (key, value) {
            ("_id", RawBsonRef::ObjectId(oid)) => serde_json::to_writer(&mut *out, &oid.to_hex())?,
            ("_id", RawBsonRef::String(s)) => serde_json::to_writer(&mut *out, s)?,
            ("_id", other) => serde_json::to_writer(&mut *out, &json(other)?.to_string())?,
            (_, other) => write_value(other, out)?,
        }
    }
    out.push(b'}');
    Ok(())
}

/// Writes a value as relaxed extended JSON, exactly as `Bson::into_relaxed_extjson` would
/// print it: documents and arrays walked in place, the common scalars written directly, the
/// rest (dates, binary, ...) converted one leaf at a time.
fn write_value(value: RawBsonRef<'_>, out: &mut Vec<u8>) -> Result<(), RenderError> {
    match value {
        RawBsonRef::Document(doc) => {
            out.push(b'{');
            for (i, element) in doc.into_iter().enumerate() {
                let (key, value) = element?;
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key)?;
                out.push(b':');
                write_value(value, out)?;
            }
            out.push(b'}');
        }
        RawBsonRef::Array(array) => {
            out.push(b'[');
            for (i, value) in array.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(value?, out)?;
            }
            out.push(b']');
        }
        RawBsonRef::String(s) => serde_json::to_writer(&mut *out, s)?,
        RawBsonRef::Int32(v) => serde_json::to_writer(&mut *out, &v)?,
        RawBsonRef::Int64(v) => serde_json::to_writer(&mut *out, &v)?,
        RawBsonRef::Boolean(v) => serde_json::to_writer(&mut *out, &v)?,
        RawBsonRef::Null => out.extend_from_slice(b"null"),
        RawBsonRef::Double(v) if v.is_finite() => serde_json::to_writer(&mut *out, &v)?,
        other => serde_json::to_writer(&mut *out, &json(other)?)?,
    }
    Ok(())
}

/// Relaxed extended JSON: numbers stay numbers; types JSON lacks become `{"$date": ...}` etc.
fn json(value: RawBsonRef<'_>) -> Result<Value, RenderError> {
    Ok(Bson::try_from(value)?.into_relaxed_extjson())
}

/// A stored document that cannot be rendered (corrupt BSON from the server).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("malformed BSON from the database: {0}")]
    Bson(#[from] mongodb::bson::raw::Error),
    #[error("cannot render a value as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("write: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use mongodb::bson::oid::ObjectId;
    use mongodb::bson::{Document, RawDocumentBuf, doc};

    use super::*;

    fn line(doc: Document) -> String {
        let raw = RawDocumentBuf::from_document(&doc).unwrap();
        let mut out = Vec::new();
        write_line(&raw, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn json_of(doc: Document) -> String {
        let raw = RawDocumentBuf::from_document(&doc).unwrap();
        let mut out = Vec::new();
        write_json(&raw, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lines_as_the_article_prints_them() {
        let oid = ObjectId::new();
        let cases = [
            (
                doc! {"_id": oid, "name": "James Clerk Maxwell", "birthday": "13.06.1831"},
                "name = James Clerk Maxwell, birthday = 13.06.1831\n",
            ),
            (doc! {"_id": oid}, "\n"),
            (
                doc! {"tags": ["a", "b"], "n": 1, "x": 1.5, "ok": true, "none": null},
                "tags = [\"a\",\"b\"], n = 1, x = 1.5, ok = true, none = null\n",
            ),
            (
                doc! {"nested": {"z": 1, "a": "é"}, "name": "Ünïcödé ☃"},
                "nested = {\"z\":1,\"a\":\"é\"}, name = Ünïcödé ☃\n",
            ),
            (
                doc! {"big": 1_i64 << 40, "f": 2.0},
                "big = 1099511627776, f = 2.0\n",
            ),
        ];
        for (doc, want) in cases {
            assert_eq!(line(doc), want);
        }
    }

    #[test]
    fn json_keeps_order_and_stringifies_ids() {
        let oid = ObjectId::new();
        assert_eq!(
            json_of(doc! {"_id": oid, "b": 1, "a": [true]}),
            format!("{{\"_id\":\"{}\",\"b\":1,\"a\":[true]}}", oid.to_hex())
        );
        assert_eq!(json_of(doc! {"_id": 7, "x": "y"}), r#"{"_id":"7","x":"y"}"#);
        assert_eq!(json_of(doc! {"_id": "mine"}), r#"{"_id":"mine"}"#);
    }

    /// The raw rendering prints every BSON type as the tree conversion did.
    #[test]
    fn raw_rendering_equals_relaxed_extended_json() {
        use mongodb::bson::{Binary, DateTime, Regex, Timestamp, spec::BinarySubtype};
        let doc = doc! {
            "s": "é\"\n☃", "i": 7, "neg": -7, "l": 1_i64 << 40, "t": true, "n": null,
            "d": 2.5, "whole": 2.0, "tiny": 1e-7, "negzero": -0.0, "big": 1e300,
            "nan": f64::NAN, "inf": f64::INFINITY, "ninf": f64::NEG_INFINITY,
            "nested": {"z": [1, {"a": []}, [[]]], "e": {}},
            "date": DateTime::from_millis(1_700_000_000_000),
            "old": DateTime::from_millis(-10),
            "bin": Binary { subtype: BinarySubtype::Generic, bytes: vec![1, 2, 3] },
            "re": Regex { pattern: "a.*".into(), options: "mi".into() },
            "ts": Timestamp { time: 1, increment: 2 },
            "oid": ObjectId::new(),
            "dec": mongodb::bson::Decimal128::from_bytes([1; 16]),
        };
        let raw = RawDocumentBuf::from_document(&doc).unwrap();
        let mut out = Vec::new();
        write_value(RawBsonRef::Document(&raw), &mut out).unwrap();
        let want = serde_json::to_string(&Bson::Document(doc.clone()).into_relaxed_extjson());
        assert_eq!(String::from_utf8(out).unwrap(), want.unwrap());
    }

    #[test]
    fn ids() {
        let oid = ObjectId::new();
        assert_eq!(id_string(&Bson::ObjectId(oid)), oid.to_hex());
        assert_eq!(id_string(&Bson::String("k".into())), "k");
        assert_eq!(id_string(&Bson::Int32(5)), "5");
    }
}
