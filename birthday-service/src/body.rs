//! The body of `POST /`: JSON read straight into BSON, checked as it is read. Pure, no I/O.
//!
//! Memory is what this module is about. Building a `serde_json::Value` and then a BSON
//! `Document` for every element costs a few hundred bytes per JSON value: one 1 MiB body of
//! 340,000 empty objects took 150 MiB, eight at once nearly 1 GiB. Here serde hands every JSON
//! token to a visitor that appends it to a BSON byte buffer (about 13 bytes for `{}` in an
//! array), so a body of at most [`MAX_BYTES`] becomes at most a few MiB of BSON, and an array
//! stops being read at element [`MAX_DOCUMENTS`] + 1. The whole body is checked before
//! anything is stored: a 400 or 413 means nothing of the request was stored.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;

use mongodb::bson::oid::ObjectId;
use mongodb::bson::spec::ElementType;
use mongodb::bson::{Bson, RawDocumentBuf};
use serde::de::{self, DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Visitor};

use crate::idempotency::IdempotencyKey;

/// Largest body of `POST /`, in bytes.
pub const MAX_BYTES: usize = 1024 * 1024;
/// Most documents in one `POST /`. Bounds the work and the answer (an id per document) of
/// one request; MongoDB's own bound per insert command is 100,000.
pub const MAX_DOCUMENTS: usize = 10_000;
/// The longest part of a path quoted back to the client: a name can be almost a megabyte.
const QUOTE_MAX: usize = 120;

/// A checked body, ready to store: every document has its `_id`, so the ids are known
/// before anything is written.
#[derive(Debug)]
pub struct Documents {
    pub docs: Vec<RawDocumentBuf>,
    /// Where each document's `_id` came from.
    pub origins: Vec<IdOrigin>,
    /// The client sent an array (the answer lists ids), not a single object.
    pub many: bool,
}

/// Where a document's `_id` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdOrigin {
    /// The document's own `_id`.
    Client,
    /// Made from the request's `Idempotency-Key` (`idempotency`).
    Key,
    /// A new ObjectId made here, put first (what the driver would do): a retry of the same
    /// request gets new ones, so it would store the document again.
    New,
}

impl Documents {
    /// Storing the same request again cannot store a document twice: every `_id` was chosen
    /// by the client or made from its key.
    pub fn retry_safe(&self) -> bool {
        !self.origins.contains(&IdOrigin::New)
    }

    /// The `_id` of every document, in order.
    pub fn ids(&self) -> impl Iterator<Item = Bson> + '_ {
        self.docs.iter().map(|doc| {
            doc.get("_id")
                .ok()
                .flatten()
                .and_then(|id| Bson::try_from(id).ok())
                .unwrap_or(Bson::Null)
        })
    }
}

/// Why a body cannot be stored; the message goes to the client.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("malformed JSON: {0}")]
    Malformed(#[source] serde_json::Error),
    #[error("expected a JSON object or an array of objects, got {0}")]
    NotAnObject(&'static str),
    #[error("element {index} of the array is {kind}, expected an object")]
    ElementNotObject { index: usize, kind: &'static str },
    #[error(
        "{}field name {} is not allowed: {problem}; rename the field",
        at(*element),
        quote(path)
    )]
    InvalidFieldName {
        /// Index in the posted array; `None` for a single object.
        element: Option<usize>,
        /// Dotted path to the field, e.g. `a.b[2].$x`.
        path: String,
        problem: NameProblem,
    },
    #[error(
        "{}field name {} appears twice in the same object; keep one",
        at(*element),
        quote(path)
    )]
    DuplicateField {
        element: Option<usize>,
        path: String,
    },
    #[error("{}_id must not be an array (MongoDB refuses it); use a string, a number or an object", at(*element))]
    IdIsArray { element: Option<usize> },
    #[error("element {index} has the same _id as element {first}; every document needs its own")]
    DuplicateId { index: usize, first: usize },
    #[error(
        "the array has more than {MAX_DOCUMENTS} documents, the most one request may store; \
         split it into several requests of at most {MAX_DOCUMENTS}"
    )]
    TooManyDocuments,
    /// A document this module wrote is not valid BSON: a bug, never the client's fault.
    #[error("internal error: a document could not be encoded as BSON: {0}")]
    Encode(#[source] mongodb::bson::raw::Error),
}

impl BodyError {
    /// Too much for one request (413) rather than wrong (400).
    pub fn is_too_large(&self) -> bool {
        matches!(self, BodyError::TooManyDocuments)
    }
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

fn at(element: Option<usize>) -> String {
    element
        .map(|i| format!("element {i}: "))
        .unwrap_or_default()
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

/// A path (or an id) quoted for a message, escaped (control characters show as `\n`,
/// `\u{1}`) and cut after [`QUOTE_MAX`] characters so an answer never echoes a large request
/// back.
pub fn quote(path: &str) -> String {
    match path.char_indices().nth(QUOTE_MAX) {
        None => format!("{path:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &path[..cut], path.len()),
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
pub fn check_field_name(key: &str) -> Result<(), NameProblem> {
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

/// Parses and checks a whole body. Nothing is stored yet; the result holds every document
/// as BSON, in order, each with an `_id`: its own, else one made from `key`, else a new
/// ObjectId.
pub fn parse(body: &[u8], key: Option<&IdempotencyKey>) -> Result<Documents, BodyError> {
    let mut ctx = Ctx {
        key: key.cloned(),
        ..Ctx::default()
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let result = de
        .deserialize_any(Top { ctx: &mut ctx })
        .and_then(|documents| de.end().map(|()| documents));
    // A failure of ours is reported as such; serde's error only carries it out of the parse.
    if let Some(failure) = ctx.failure.take() {
        return Err(failure.into_error());
    }
    let documents = result.map_err(BodyError::Malformed)?;
    check_unique_ids(&documents, &ctx.client_ids)?;
    Ok(documents)
}

/// Two documents of one request with the same `_id` (a client's, or one made from the key):
/// the second would be refused by the database after the first was stored; refusing it here
/// stores nothing. Ids are compared as BSON bytes (type and value), so `1` and `1.0` differ
/// here; the database, which treats them as equal, then answers for them.
fn check_unique_ids(documents: &Documents, client_ids: &[ClientId]) -> Result<(), BodyError> {
    let mut seen: HashMap<&[u8], usize> = HashMap::with_capacity(client_ids.len());
    for ClientId { index, at } in client_ids {
        let id = &documents.docs[*index].as_bytes()[at.clone()];
        if let Some(&first) = seen.get(id) {
            return Err(BodyError::DuplicateId {
                index: *index,
                first,
            });
        }
        seen.insert(id, *index);
    }
    Ok(())
}

/// State shared by the visitors of one parse.
#[derive(Default)]
struct Ctx {
    /// The document being written; a new buffer for each document, handed over when done
    /// (no copy: a document can be megabytes).
    out: Vec<u8>,
    /// Where the current document's own `_id` element is in `out`, if it has one.
    id_at: Option<Range<usize>>,
    /// The documents whose `_id` was chosen (by the client or from the key), and where it is.
    client_ids: Vec<ClientId>,
    origins: Vec<IdOrigin>,
    key: Option<IdempotencyKey>,
    failure: Option<Failure>,
}

/// A chosen `_id`: document `index`, element bytes (type, name, value) at `at`.
struct ClientId {
    index: usize,
    at: Range<usize>,
}

/// Room for an `_id` element with an ObjectId (type, `_id\0`, 12 bytes), written at the
/// front of every document; replaced when the `_id` is the client's or the key's.
const OID_ELEMENT: usize = 1 + 4 + 12;

/// A failure found by a visitor, with the path to it, innermost first (each enclosing
/// object or array adds its part while the error travels out).
struct Failure {
    kind: FailureKind,
    element: Option<usize>,
    path: Vec<Segment>,
}

enum FailureKind {
    Name(NameProblem),
    DuplicateField,
    IdIsArray,
    ElementNotObject { index: usize, kind: &'static str },
    NotAnObject(&'static str),
    TooMany,
    Encode(mongodb::bson::raw::Error),
}

enum Segment {
    Key(String),
    Index(usize),
}

impl Failure {
    fn new(kind: FailureKind) -> Failure {
        Failure {
            kind,
            element: None,
            path: Vec::new(),
        }
    }

    fn into_error(self) -> BodyError {
        let element = self.element;
        let path = || {
            let mut path = String::new();
            for segment in self.path.iter().rev() {
                match segment {
                    Segment::Key(key) => {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(key);
                    }
                    Segment::Index(i) => path.push_str(&format!("[{i}]")),
                }
            }
            path
        };
        match self.kind {
            FailureKind::Name(problem) => BodyError::InvalidFieldName {
                element,
                path: path(),
                problem,
            },
            FailureKind::DuplicateField => BodyError::DuplicateField {
                element,
                path: path(),
            },
            FailureKind::IdIsArray => BodyError::IdIsArray { element },
            FailureKind::ElementNotObject { index, kind } => {
                BodyError::ElementNotObject { index, kind }
            }
            FailureKind::NotAnObject(kind) => BodyError::NotAnObject(kind),
            FailureKind::TooMany => BodyError::TooManyDocuments,
            FailureKind::Encode(e) => BodyError::Encode(e),
        }
    }
}

impl Ctx {
    /// Records a failure and returns the error that stops serde; the failure is what counts.
    fn fail<E: de::Error>(&mut self, kind: FailureKind) -> E {
        self.failure = Some(Failure::new(kind));
        E::custom("invalid document")
    }

    /// Adds a part of the path to a failure travelling out (no-op for serde's own errors).
    fn within(&mut self, segment: impl FnOnce(&[u8]) -> Segment) {
        if let Some(failure) = self.failure.as_mut() {
            failure.path.push(segment(&self.out));
        }
    }

    /// Writes one document to store from `map` into a buffer of its own, with an `_id`: the
    /// client's where it has one, else one made from the key, else a new ObjectId in the room
    /// left at the front. `element`: its index in the posted array, `None` for a single object.
    fn document<'de, A: MapAccess<'de>>(
        &mut self,
        map: A,
        element: Option<usize>,
    ) -> Result<RawDocumentBuf, A::Error> {
        let index = element.unwrap_or(0);
        self.out = Vec::new();
        self.id_at = None;
        write_document(self, map, true)?;
        let mut doc = std::mem::take(&mut self.out);
        let room = 4..4 + OID_ELEMENT;
        match (self.id_at.take(), &self.key) {
            (Some(at), _) => {
                doc.copy_within(room.end.., room.start);
                doc.truncate(doc.len() - OID_ELEMENT);
                let at = at.start - OID_ELEMENT..at.end - OID_ELEMENT;
                self.client_ids.push(ClientId { index, at });
                self.origins.push(IdOrigin::Client);
            }
            (None, Some(key)) => {
                let id = key.id_for(element);
                let mut element = vec![ElementType::String as u8];
                element.extend_from_slice(b"_id\0");
                // A key is at most idempotency::MAX_LEN bytes.
                let len = i32::try_from(id.len() + 1).unwrap_or(i32::MAX);
                element.extend_from_slice(&len.to_le_bytes());
                element.extend_from_slice(id.as_bytes());
                element.push(0);
                let at = room.start..room.start + element.len();
                doc.splice(room, element);
                self.client_ids.push(ClientId { index, at });
                self.origins.push(IdOrigin::Key);
            }
            (None, None) => {
                let oid = ObjectId::new().bytes();
                doc[room.end - oid.len()..room.end].copy_from_slice(&oid);
                self.origins.push(IdOrigin::New);
            }
        }
        patch_len(&mut doc, 0);
        doc.shrink_to_fit();
        RawDocumentBuf::from_bytes(doc).map_err(|e| self.fail(FailureKind::Encode(e)))
    }
}

/// Writes the length of the document or array that starts at `start` and ends at the end of
/// `out`. A body of at most [`MAX_BYTES`] gives a few MiB of BSON at most, far below i32.
fn patch_len(out: &mut [u8], start: usize) {
    let len = i32::try_from(out.len() - start).unwrap_or(i32::MAX);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// The whole body: one object, or an array of objects.
struct Top<'c> {
    ctx: &'c mut Ctx,
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Documents;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or an array of objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Documents, A::Error> {
        Ok(Documents {
            docs: vec![self.ctx.document(map, None)?],
            origins: std::mem::take(&mut self.ctx.origins),
            many: false,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Documents, A::Error> {
        let ctx = self.ctx;
        let mut docs = Vec::new();
        loop {
            let index = docs.len();
            let next = if index == MAX_DOCUMENTS {
                // One more element: refused before a byte of it is read.
                seq.next_element_seed(TooMany { ctx: &mut *ctx })?
            } else {
                seq.next_element_seed(Element {
                    ctx: &mut *ctx,
                    index,
                })
                .inspect_err(|_| {
                    if let Some(failure) = ctx.failure.as_mut() {
                        failure.element = Some(index);
                    }
                })?
            };
            match next {
                Some(doc) => docs.push(doc),
                None => break,
            }
        }
        Ok(Documents {
            docs,
            origins: std::mem::take(&mut ctx.origins),
            many: true,
        })
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Documents, E> {
        Err(self.ctx.fail(FailureKind::NotAnObject("a boolean")))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Documents, E> {
        Err(self.ctx.fail(FailureKind::NotAnObject("a number")))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Documents, E> {
        Err(self.ctx.fail(FailureKind::NotAnObject("a number")))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Documents, E> {
        Err(self.ctx.fail(FailureKind::NotAnObject("a number")))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Documents, E> {
        Err(self.ctx.fail(FailureKind::NotAnObject("a string")))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Documents, E> {
        Err(self.ctx.fail(FailureKind::NotAnObject("null")))
    }
}

/// The element after the last one allowed: never read.
struct TooMany<'c> {
    ctx: &'c mut Ctx,
}

impl<'de> DeserializeSeed<'de> for TooMany<'_> {
    type Value = RawDocumentBuf;

    fn deserialize<D: de::Deserializer<'de>>(self, _: D) -> Result<RawDocumentBuf, D::Error> {
        Err(self.ctx.fail(FailureKind::TooMany))
    }
}

/// One element of the posted array: an object, written as a document.
struct Element<'c> {
    ctx: &'c mut Ctx,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for Element<'_> {
    type Value = RawDocumentBuf;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<RawDocumentBuf, D::Error> {
        d.deserialize_any(self)
    }
}

impl Element<'_> {
    fn not_an_object<E: de::Error>(self, kind: &'static str) -> Result<RawDocumentBuf, E> {
        let index = self.index;
        Err(self.ctx.fail(FailureKind::ElementNotObject { index, kind }))
    }
}

impl<'de> Visitor<'de> for Element<'_> {
    type Value = RawDocumentBuf;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawDocumentBuf, A::Error> {
        self.ctx.document(map, Some(self.index))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<RawDocumentBuf, A::Error> {
        self.not_an_object("an array")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawDocumentBuf, E> {
        self.not_an_object("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawDocumentBuf, E> {
        self.not_an_object("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawDocumentBuf, E> {
        self.not_an_object("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawDocumentBuf, E> {
        self.not_an_object("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<RawDocumentBuf, E> {
        self.not_an_object("a string")
    }
    fn visit_unit<E: de::Error>(self) -> Result<RawDocumentBuf, E> {
        self.not_an_object("null")
    }
}

/// Writes a JSON object as a BSON document at the end of `out`, checking every field name.
/// `top`: the object is a document to store (room for an `_id` first, the client's `_id`
/// remembered).
fn write_document<'de, A: MapAccess<'de>>(
    ctx: &mut Ctx,
    mut map: A,
    top: bool,
) -> Result<(), A::Error> {
    let start = ctx.out.len();
    ctx.out.extend_from_slice(&[0; 4]);
    if top {
        ctx.out.push(ElementType::ObjectId as u8);
        ctx.out.extend_from_slice(b"_id\0");
        ctx.out.extend_from_slice(&[0; 12]);
    }
    // (start, end) of every name in `out`, to find a name given twice.
    let mut names: Vec<(usize, usize)> = Vec::new();
    loop {
        let type_at = ctx.out.len();
        ctx.out.push(0); // the element's type, written once the value is read
        let name_start = ctx.out.len();
        if map.next_key_seed(Name { ctx: &mut *ctx })?.is_none() {
            ctx.out.truncate(type_at);
            break;
        }
        let name_end = ctx.out.len();
        ctx.out.push(0);
        let element_type = map
            .next_value_seed(Value { ctx: &mut *ctx })
            .inspect_err(|_| {
                ctx.within(|out| {
                    Segment::Key(String::from_utf8_lossy(&out[name_start..name_end]).into_owned())
                });
            })?;
        ctx.out[type_at] = element_type as u8;
        if top && &ctx.out[name_start..name_end] == b"_id" {
            if element_type == ElementType::Array {
                return Err(ctx.fail(FailureKind::IdIsArray));
            }
            ctx.id_at = Some(type_at..ctx.out.len());
        }
        names.push((name_start, name_end));
    }
    ctx.out.push(0);
    patch_len(&mut ctx.out, start);
    if let Some((start, end)) = duplicate_name(&ctx.out, &names) {
        let name = String::from_utf8_lossy(&ctx.out[start..end]).into_owned();
        let err = ctx.fail(FailureKind::DuplicateField);
        ctx.within(|_| Segment::Key(name));
        return Err(err);
    }
    Ok(())
}

/// The second occurrence of a name given twice in one object. JSON allows it; a document
/// with it would keep one value or both depending on the server.
fn duplicate_name(out: &[u8], names: &[(usize, usize)]) -> Option<(usize, usize)> {
    let name = |&(s, e): &(usize, usize)| &out[s..e];
    if names.len() <= 16 {
        return names
            .iter()
            .enumerate()
            .find(|(i, n)| names[..*i].iter().any(|m| name(m) == name(n)))
            .map(|(_, n)| *n);
    }
    let mut seen = HashSet::with_capacity(names.len());
    names.iter().find(|n| !seen.insert(name(n))).copied()
}

/// Writes a JSON array as a BSON array (a document with the names "0", "1", ...).
fn write_array<'de, A: SeqAccess<'de>>(ctx: &mut Ctx, mut seq: A) -> Result<(), A::Error> {
    let start = ctx.out.len();
    ctx.out.extend_from_slice(&[0; 4]);
    let mut index = 0_usize;
    let mut digits = Digits([0; 20]);
    loop {
        let type_at = ctx.out.len();
        ctx.out.push(0);
        ctx.out.extend_from_slice(digits.format(index));
        ctx.out.push(0);
        match seq
            .next_element_seed(Value { ctx: &mut *ctx })
            .inspect_err(|_| ctx.within(|_| Segment::Index(index)))?
        {
            Some(element_type) => ctx.out[type_at] = element_type as u8,
            None => {
                ctx.out.truncate(type_at);
                break;
            }
        }
        index += 1;
    }
    ctx.out.push(0);
    patch_len(&mut ctx.out, start);
    Ok(())
}

/// Decimal digits of an index without an allocation per array element.
struct Digits([u8; 20]);

impl Digits {
    fn format(&mut self, mut n: usize) -> &[u8] {
        let mut i = self.0.len();
        loop {
            i -= 1;
            self.0[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                return &self.0[i..];
            }
        }
    }
}

/// A field name: checked, then written as a C string (without its NUL).
struct Name<'c> {
    ctx: &'c mut Ctx,
}

impl<'de> DeserializeSeed<'de> for Name<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<(), E> {
        if let Err(problem) = check_field_name(name) {
            let err = self.ctx.fail(FailureKind::Name(problem));
            self.ctx.within(|_| Segment::Key(name.to_owned()));
            return Err(err);
        }
        self.ctx.out.extend_from_slice(name.as_bytes());
        Ok(())
    }
}

/// Any JSON value, written as a BSON value; gives back its BSON type.
///
/// Integers become Int32 when they fit, else Int64, like pymongo (the article's driver)
/// does; fractions are doubles. Integers beyond i64 (JSON allows them, BSON has no such
/// type) become doubles, as they would in JavaScript.
struct Value<'c> {
    ctx: &'c mut Ctx,
}

impl<'de> DeserializeSeed<'de> for Value<'_> {
    type Value = ElementType;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<ElementType, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value<'_> {
    type Value = ElementType;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<ElementType, E> {
        self.ctx.out.push(u8::from(v));
        Ok(ElementType::Boolean)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ElementType, E> {
        match i32::try_from(v) {
            Ok(small) => {
                self.ctx.out.extend_from_slice(&small.to_le_bytes());
                Ok(ElementType::Int32)
            }
            Err(_) => {
                self.ctx.out.extend_from_slice(&v.to_le_bytes());
                Ok(ElementType::Int64)
            }
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ElementType, E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => self.visit_f64(v as f64),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<ElementType, E> {
        self.ctx.out.extend_from_slice(&v.to_le_bytes());
        Ok(ElementType::Double)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ElementType, E> {
        // Length with the trailing NUL; a string fits: the body is at most MAX_BYTES.
        let len = i32::try_from(v.len() + 1).unwrap_or(i32::MAX);
        self.ctx.out.extend_from_slice(&len.to_le_bytes());
        self.ctx.out.extend_from_slice(v.as_bytes());
        self.ctx.out.push(0);
        Ok(ElementType::String)
    }

    fn visit_unit<E: de::Error>(self) -> Result<ElementType, E> {
        Ok(ElementType::Null)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ElementType, A::Error> {
        write_document(self.ctx, map, false)?;
        Ok(ElementType::EmbeddedDocument)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ElementType, A::Error> {
        write_array(self.ctx, seq)?;
        Ok(ElementType::Array)
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::{Document, doc};

    use super::*;

    /// The documents of a body, without the `_id`s made here.
    fn docs(body: &[u8]) -> (Vec<Document>, bool) {
        let parsed = parse(body, None).unwrap();
        let docs = parsed
            .docs
            .iter()
            .map(|raw| {
                let mut doc = raw.to_document().unwrap();
                if let Some(Bson::ObjectId(_)) = doc.get("_id") {
                    doc.remove("_id");
                }
                doc
            })
            .collect();
        (docs, parsed.many)
    }

    #[test]
    fn bodies() {
        assert_eq!(
            docs(br#"{"name":"Albert Einstein","birthday":"14.03.1879"}"#),
            (
                vec![doc! {"name": "Albert Einstein", "birthday": "14.03.1879"}],
                false
            )
        );
        assert_eq!(
            docs(br#"[{"a":1},{"b":[1,2.5,"x",null,{"c":false}]}]"#),
            (
                vec![doc! {"a": 1}, doc! {"b": [1, 2.5, "x", null, {"c": false}]}],
                true
            )
        );
        assert_eq!(docs(b" [ ] "), (vec![], true));
        assert_eq!(
            docs(br#"{"e":{},"l":[],"s":"","n":null}"#).0,
            vec![doc! {"e": {}, "l": [], "s": "", "n": null}]
        );
        // Key order survives: z before a.
        let (d, _) = docs(br#"{"z":1,"a":2}"#);
        assert_eq!(d[0].keys().collect::<Vec<_>>(), ["z", "a"]);
        // Integer widths.
        let (d, _) = docs(br#"{"a":1,"b":5000000000,"c":18446744073709551615,"d":-3}"#);
        assert_eq!(d[0].get("a"), Some(&Bson::Int32(1)));
        assert_eq!(d[0].get("b"), Some(&Bson::Int64(5_000_000_000)));
        assert!(matches!(d[0].get("c"), Some(Bson::Double(_))));
        assert_eq!(d[0].get("d"), Some(&Bson::Int32(-3)));
        // Strings with escapes and every kind of character, NUL included (values may hold it).
        let (d, _) = docs("{\"s\":\"a\\u0000b\\n\\\"é☃🐈\"}".as_bytes());
        assert_eq!(d[0].get_str("s").unwrap(), "a\0b\n\"é☃🐈");
    }

    #[test]
    fn a_clients_id_is_kept_in_place_and_a_new_one_comes_first() {
        let parsed = parse(br#"[{"a":1,"_id":"mine","b":2},{"c":3}]"#, None).unwrap();
        let first = parsed.docs[0].to_document().unwrap();
        assert_eq!(first.keys().collect::<Vec<_>>(), ["a", "_id", "b"]);
        assert_eq!(first.get_str("_id").unwrap(), "mine");
        let second = parsed.docs[1].to_document().unwrap();
        assert_eq!(second.keys().collect::<Vec<_>>(), ["_id", "c"]);
        assert!(matches!(second.get("_id"), Some(Bson::ObjectId(_))));
        let ids: Vec<Bson> = parsed.ids().collect();
        assert_eq!(ids[0], Bson::String("mine".into()));
        assert_eq!(ids[1], second.get("_id").unwrap().clone());
        // Ids of every JSON kind but arrays.
        for id in [
            r#""s""#,
            "7",
            "5000000000",
            "2.5",
            "true",
            "null",
            r#"{"k":[1]}"#,
        ] {
            let body = format!(r#"{{"x":1,"_id":{id}}}"#);
            let doc = parse(body.as_bytes(), None).unwrap().docs[0]
                .to_document()
                .unwrap();
            assert_eq!(doc.keys().collect::<Vec<_>>(), ["x", "_id"], "{id}");
            assert_eq!(doc.get_i32("x").unwrap(), 1, "{id}");
        }
    }

    #[test]
    fn ids_from_the_key() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("idempotency-key", "K".parse().unwrap());
        let key = IdempotencyKey::from_headers(&headers).unwrap().unwrap();
        let one = parse(br#"{"a":1}"#, Some(&key)).unwrap();
        assert_eq!(one.ids().collect::<Vec<_>>(), [Bson::String("K".into())]);
        assert_eq!(one.origins, [IdOrigin::Key]);
        assert!(one.retry_safe());
        let doc = one.docs[0].to_document().unwrap();
        assert_eq!(doc, doc! {"_id": "K", "a": 1});
        let many = parse(br#"[{"a":1},{"_id":7,"b":2},{}]"#, Some(&key)).unwrap();
        assert_eq!(
            many.ids().collect::<Vec<_>>(),
            [
                Bson::String("K/0".into()),
                Bson::Int32(7),
                Bson::String("K/2".into())
            ]
        );
        assert_eq!(
            many.origins,
            [IdOrigin::Key, IdOrigin::Client, IdOrigin::Key]
        );
        assert_eq!(many.docs[2].to_document().unwrap(), doc! {"_id": "K/2"});
        // Without a key, new ids make a retry unsafe; with ids of its own it is safe.
        assert!(!parse(br#"[{"_id":1},{}]"#, None).unwrap().retry_safe());
        assert!(
            parse(br#"[{"_id":1},{"_id":2}]"#, None)
                .unwrap()
                .retry_safe()
        );
        // A client id equal to one made from the key is the same id twice.
        let err = parse(br#"[{"_id":"K/1"},{}]"#, Some(&key)).unwrap_err();
        assert!(
            matches!(err, BodyError::DuplicateId { index: 1, first: 0 }),
            "{err}"
        );
    }

    #[test]
    fn bad_bodies_name_the_problem() {
        let cases: &[(&[u8], &str)] = &[
            (b"{", "malformed JSON"),
            (b"", "malformed JSON"),
            (b"{} x", "malformed JSON: trailing characters"),
            (b"[{}", "malformed JSON"),
            (b"42", "got a number"),
            (b"\"x\"", "got a string"),
            (b"null", "got null"),
            (b"true", "got a boolean"),
            (b"[{}, 3]", "element 1 of the array is a number"),
            (b"[{}, {}, []]", "element 2 of the array is an array"),
            (br#"{"$set":1}"#, "field name \"$set\" is not allowed"),
            (br#"{"a":{"b":[{"$x":1}]}}"#, "\"a.b[0].$x\""),
            (br#"{"a":[0,[1,{"$x":1}]]}"#, "\"a[1][1].$x\""),
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
            (
                br#"{"a":1,"b":{"c":1,"c":2}}"#,
                "field name \"b.c\" appears twice in the same object; keep one",
            ),
            (
                br#"[{"_id":1,"a":1,"_id":2}]"#,
                "element 0: field name \"_id\" appears twice",
            ),
            (
                br#"{"_id":[1,2]}"#,
                "_id must not be an array (MongoDB refuses it)",
            ),
            (
                br#"[{"_id":"a"},{"_id":"b"},{"x":1,"_id":"a"}]"#,
                "element 2 has the same _id as element 0",
            ),
        ];
        for (body, want) in cases {
            let msg = parse(body, None).unwrap_err().to_string();
            assert!(
                msg.contains(want),
                "{:?}: {msg}",
                String::from_utf8_lossy(body)
            );
        }
        // A name given twice among many (the hashed path).
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":1")).collect();
        let body = format!("{{{},\"k7\":2}}", many.join(","));
        assert!(matches!(
            parse(body.as_bytes(), None),
            Err(BodyError::DuplicateField { .. })
        ));
    }

    #[test]
    fn at_most_max_documents() {
        let array = |n: usize| format!("[{}]", vec!["{}"; n].join(","));
        assert_eq!(
            parse(array(MAX_DOCUMENTS).as_bytes(), None)
                .unwrap()
                .docs
                .len(),
            MAX_DOCUMENTS
        );
        let err = parse(array(MAX_DOCUMENTS + 1).as_bytes(), None).unwrap_err();
        assert!(err.is_too_large(), "{err}");
        // The rest of a long array is not even read: broken JSON after the limit is not seen.
        let cut = format!("[{},{{", vec!["{}"; MAX_DOCUMENTS + 1].join(","));
        assert!(parse(cut.as_bytes(), None).unwrap_err().is_too_large());
    }

    #[test]
    fn long_paths_are_quoted_in_part() {
        let key = format!("{}\n", "k".repeat(100_000));
        let body = format!("{{\"{}\":1}}", key.replace('\n', "\\n"));
        let msg = parse(body.as_bytes(), None).unwrap_err().to_string();
        assert!(msg.len() < 400, "{} bytes", msg.len());
        assert!(
            msg.contains("(100001 bytes)") && msg.contains("U+000A"),
            "{msg}"
        );
    }
}
