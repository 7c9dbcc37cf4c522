//! Documents in and out: request JSON to BSON (order and types kept), and BSON back to the
//! article's `key = value` lines or to JSON. Pure functions, no I/O.

use std::io::Write;

use mongodb::bson::raw::{RawBsonRef, RawDocument};
use mongodb::bson::{Bson, Document};
use serde_json::{Map, Value};

/// What a `POST /` body holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A JSON object: one document.
    One(Document),
    /// A JSON array of objects: stored together in one bulk insert.
    Many(Vec<Document>),
}

/// Why a body cannot be stored; the message goes to the client.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("malformed JSON: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("expected a JSON object or an array of objects, got {0}")]
    NotAnObject(&'static str),
    #[error("element {index} of the array is {kind}, expected an object")]
    ElementNotObject { index: usize, kind: &'static str },
    #[error(
        "{location}field name {} is not allowed: {problem}; rename the field",
        quote(path)
    )]
    InvalidFieldName {
        /// "element 3: " for arrays, empty for a single object.
        location: String,
        /// Dotted path to the field, e.g. `a.b[2].$x`.
        path: String,
        problem: NameProblem,
    },
}

/// What is wrong with a field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    #[error("field names must not start with '$'")]
    DollarFirst,
    #[error("field names must not contain '.'")]
    Dot,
    #[error("field names must not be empty")]
    Empty,
    #[error(
        "it contains {}; field names must not contain control characters, '\"' or '\\'",
        describe(*.0)
    )]
    Character(char),
}

/// `U+000A (line feed)`: the code point, and a name where it has a common one.
fn describe(c: char) -> String {
    let name = match c {
        '\0' => Some("NUL"),
        '\t' => Some("tab"),
        '\n' => Some("line feed"),
        '\r' => Some("carriage return"),
        '\u{7f}' => Some("delete"),
        '"' => Some("quotation mark"),
        '\\' => Some("backslash"),
        c if c.is_control() => Some("a control character"),
        _ => None,
    };
    match name {
        Some(name) => format!("U+{:04X} ({name})", c as u32),
        None => format!("U+{:04X}", c as u32),
    }
}

/// The longest part of a path quoted back to the client: a name can be almost a megabyte.
const QUOTE_MAX: usize = 120;

/// A path quoted for a message, escaped (control characters show as `\n`, `\u{1}`) and cut
/// after [`QUOTE_MAX`] characters so an answer never echoes a large request back.
fn quote(path: &str) -> String {
    match path.char_indices().nth(QUOTE_MAX) {
        None => format!("{path:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &path[..cut], path.len()),
    }
}

/// Parses and checks a request body.
pub fn parse_body(body: &[u8]) -> Result<Payload, BodyError> {
    match serde_json::from_slice::<Value>(body)? {
        Value::Object(map) => Ok(Payload::One(to_document(map, "")?)),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::Object(map) => to_document(map, &format!("element {index}: ")),
                other => Err(BodyError::ElementNotObject {
                    index,
                    kind: kind(&other),
                }),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Payload::Many),
        other => Err(BodyError::NotAnObject(kind(&other))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn to_document(map: Map<String, Value>, location: &str) -> Result<Document, BodyError> {
    let mut path = String::new();
    object(map, location, &mut path)
}

/// Converts an object, checking every field name at every depth. `path` is the dotted path of
/// the object itself, reused as a buffer to avoid an allocation per field.
fn object(
    map: Map<String, Value>,
    location: &str,
    path: &mut String,
) -> Result<Document, BodyError> {
    let mut doc = Document::new();
    for (key, value) in map {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&key);
        check_field_name(&key).map_err(|problem| BodyError::InvalidFieldName {
            location: location.to_owned(),
            path: path.clone(),
            problem,
        })?;
        let value = bson(value, location, path)?;
        path.truncate(len);
        doc.insert(key, value);
    }
    Ok(doc)
}

fn bson(value: Value, location: &str, path: &mut String) -> Result<Bson, BodyError> {
    Ok(match value {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(b),
        Value::String(s) => Bson::String(s),
        Value::Number(n) => number(&n),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(bson(item, location, path)?);
                path.truncate(len);
            }
            Bson::Array(out)
        }
        Value::Object(map) => Bson::Document(object(map, location, path)?),
    })
}

/// Integers become Int32 when they fit, else Int64, like pymongo (the article's driver)
/// does; fractions are doubles. Integers beyond i64 (JSON allows them, BSON has no such
/// type) become doubles, as they would in JavaScript.
fn number(n: &serde_json::Number) -> Bson {
    if let Some(i) = n.as_i64() {
        match i32::try_from(i) {
            Ok(small) => Bson::Int32(small),
            Err(_) => Bson::Int64(i),
        }
    } else {
        Bson::Double(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Field names that MongoDB, FerretDB or a BSON encoder refuse, or that FerretDB stores but
/// cannot read back, checked here so the client gets a 400 that names the field, and the same
/// answer whichever server runs behind us. The same rule holds at every depth.
///
/// - Control characters (U+0000 to U+001F, U+007F to U+009F), `"` and `\`: FerretDB 1.24
///   stores a top-level field named so and then fails every read of the collection (`GET /`
///   answers 500 for everyone, or a 200 cut in the middle); `"` fails the insert itself.
///   NUL cannot be in a BSON field name at all (names are C strings). The rest of the control
///   characters are stored fine, but they would break the article's one-line-per-document
///   output, and no one names a field with them on purpose.
/// - `$` at the start: operator syntax. MongoDB before 5.0 and FerretDB reject it at every
///   depth, MongoDB 5.0+ accepts some cases; rejecting it everywhere also means a stored
///   `{"$oid": ...}` can never be mistaken for extended JSON on the way out.
/// - `.` anywhere: dot notation. FerretDB rejects it (code 2, "key must not contain '.'"),
///   as did pymongo's `insert` in the original Python demo; MongoDB 5.0+ stores it but such
///   fields cannot be queried normally.
/// - Empty: both servers store it, but no query path can name it and the article's line
///   would print ` = value`.
fn check_field_name(key: &str) -> Result<(), NameProblem> {
    if let Some(c) = key
        .chars()
        .find(|c| c.is_control() || *c == '"' || *c == '\\')
    {
        Err(NameProblem::Character(c))
    } else if key.starts_with('$') {
        Err(NameProblem::DollarFirst)
    } else if key.contains('.') {
        Err(NameProblem::Dot)
    } else if key.is_empty() {
        Err(NameProblem::Empty)
    } else {
        Ok(())
    }
}

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
            other => serde_json::to_writer(&mut *out, &json(other)?)?,
        }
    }
    out.push(b'\n');
    Ok(())
}

/// Writes one document as a JSON object in its own key order, `_id` as a string.
pub fn write_json(doc: &RawDocument, out: &mut Vec<u8>) -> Result<(), RenderError> {
    let mut map = Map::new();
    for element in doc {
        let (key, value) = element?;
        let value = match (key, value) {
            ("_id", RawBsonRef::ObjectId(oid)) => Value::String(oid.to_hex()),
            ("_id", RawBsonRef::String(s)) => Value::String(s.to_owned()),
            ("_id", other) => Value::String(json(other)?.to_string()),
            (_, other) => json(other)?,
        };
        map.insert(key.to_owned(), value);
    }
    out.write_all(&serde_json::to_vec(&Value::Object(map))?)?;
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
    use mongodb::bson::{RawDocumentBuf, doc};

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

    #[test]
    fn bodies() {
        let one = parse_body(br#"{"name":"Albert Einstein","birthday":"14.03.1879"}"#).unwrap();
        assert_eq!(
            one,
            Payload::One(doc! {"name": "Albert Einstein", "birthday": "14.03.1879"})
        );
        let many = parse_body(br#"[{"a":1},{"b":[1,2.5,"x",null,{"c":false}]}]"#).unwrap();
        assert_eq!(
            many,
            Payload::Many(vec![
                doc! {"a": 1},
                doc! {"b": [1, 2.5, "x", null, {"c": false}]}
            ])
        );
        // Key order survives: z before a.
        let Payload::One(d) = parse_body(br#"{"z":1,"a":2}"#).unwrap() else {
            panic!()
        };
        assert_eq!(d.keys().collect::<Vec<_>>(), ["z", "a"]);
        // Integer widths.
        let Payload::One(d) =
            parse_body(br#"{"a":1,"b":5000000000,"c":18446744073709551615}"#).unwrap()
        else {
            panic!()
        };
        assert_eq!(d.get("a"), Some(&Bson::Int32(1)));
        assert_eq!(d.get("b"), Some(&Bson::Int64(5_000_000_000)));
        assert!(matches!(d.get("c"), Some(Bson::Double(_))));
    }

    #[test]
    fn bad_bodies_name_the_problem() {
        let cases: &[(&[u8], &str)] = &[
            (b"{", "malformed JSON"),
            (b"", "malformed JSON"),
            (b"42", "got a number"),
            (b"\"x\"", "got a string"),
            (b"null", "got null"),
            (b"[{}, 3]", "element 1 of the array is a number"),
            (br#"{"$set":1}"#, "field name \"$set\" is not allowed"),
            (br#"{"a":{"b":[{"$x":1}]}}"#, "\"a.b[0].$x\""),
            (
                br#"[{}, {"ok":1,"$bad":2}]"#,
                "element 1: field name \"$bad\"",
            ),
            (
                b"{\"a\\u0000b\":1}",
                r#"field name "a\0b" is not allowed: it contains U+0000 (NUL)"#,
            ),
            (
                br#"{"x":[{"a\nb":1}]}"#,
                r#"field name "x[0].a\nb" is not allowed: it contains U+000A (line feed); field names must not contain control characters, '"' or '\'; rename the field"#,
            ),
            (br#"{"a\"b":1}"#, "U+0022 (quotation mark)"),
            (br#"{"a\\b":1}"#, "U+005C (backslash)"),
            (b"{\"\x7f\":1}", "U+007F (delete)"),
            (b"{\"\xc2\x85\":1}", "U+0085 (a control character)"),
            (
                br#"{"":1}"#,
                "field names must not be empty; rename the field",
            ),
            (
                br#"{"a":{"b.c":1}}"#,
                "field name \"a.b.c\" is not allowed: field names must not contain '.'",
            ),
        ];
        for (body, want) in cases {
            let msg = parse_body(body).unwrap_err().to_string();
            assert!(
                msg.contains(want),
                "{:?}: {msg}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn ids() {
        let oid = ObjectId::new();
        assert_eq!(id_string(&Bson::ObjectId(oid)), oid.to_hex());
        assert_eq!(id_string(&Bson::String("k".into())), "k");
        assert_eq!(id_string(&Bson::Int32(5)), "5");
    }
}
