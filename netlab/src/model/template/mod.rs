//! Go's `text/template`, the part Docker's `--format` and `-f` users write, evaluated over
//! a JSON document (`serde_json::Value`): `netlab ps --format` and `netlab inspect -f`.
//!
//! # What is supported
//!
//! - Text and actions `{{ }}`, trim markers `{{- ` and ` -}}`, comments `{{/* … */}}`.
//! - `.`, field chains `.A.B`, `$` (the whole document), variables `$x := …`, `$x = …`,
//!   `$x.A`, `(pipeline).A`; literals: strings (`"…"` with Go's escapes, `` `raw` ``),
//!   numbers, characters (`'a'`), `true`, `false`, `nil`.
//! - Pipelines `{{.X | json}}`: each command's result is the last argument of the next.
//! - `{{if}}` / `{{else if}}` / `{{else}}` / `{{end}}`, `{{with}}` (and `{{else with}}`),
//!   `{{range}}` with `$i, $e :=`, `{{else}}`, `{{break}}`, `{{continue}}`.
//! - Go's functions `and`, `or`, `not`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `index`, `len`,
//!   `print`, `printf` (`%v %s %d %q %t %x %X %f %e %g %c %T %%`, flags, width and
//!   precision), `println`; Docker's `json`, `join`, `split`, `lower`, `upper`, `title`,
//!   `pad`, `truncate`.
//!
//! Not supported, and refused when parsed: `{{define}}`, `{{template}}`, `{{block}}`
//! (there is one template) and the functions `call`, `html`, `js`, `slice`, `urlquery`.
//!
//! # Semantics (Go's, over the document as Docker's raw fallback decodes it)
//!
//! Docker runs `inspect -f` over its Go structures, and when a field does not exist there,
//! again over the JSON decoded into `map[string]interface{}` with `missingkey=error`. This
//! module works on the JSON and reproduces what a user sees:
//!
//! - A field of an object that is missing: Go's default prints `<no value>` (and `.A.B`
//!   past it is `<no value>` too); with [`Options::missing_key_error`] it is the error
//!   `map has no entry for key "A"`, except in the objects listed in [`Options::maps`],
//!   which stand for Go maps (`Networks`, `Ports`…), where Docker prints `<no value>`,
//!   and except the fields [`Options::omitted`] names, which Docker's JSON leaves out when
//!   they are empty (`omitempty`): they are the empty string, as the typed field is.
//! - A JSON `null` printed on its own is `<no value>` (Go unwraps the nil interface), inside
//!   a list or map `<nil>`; a field of `null` is the error `nil pointer evaluating
//!   interface {}.A`; a field of a string, number or list is `can't evaluate field A in
//!   type string`.
//! - Printing: strings bare, numbers as written, lists `[a b]`, objects `map[k:v]` with
//!   keys sorted; `range` over an object also visits keys in sorted order.
//! - Truth (`if`, `with`, `and`, `or`, `not`): false, 0, "", empty list or object, null
//!   and missing are false.
//! - `eq`/`lt`/…: strings with strings, numbers with numbers (integers and floats
//!   compare by value, as Docker's typed fields do), bools with bools (`eq` only); null
//!   and missing equal only each other; anything else is an error.
//! - `index` of a missing key gives `<no value>` whatever the mode, as in Go.
//!
//! Errors are Go's words: `template: :1: function "foo" not defined` when parsing,
//! `template: :1:8: executing "" at <.State.Foo>: map has no entry for key "Foo"` when
//! running, with the line and the byte column of the node Go would name.
//!
//! # Bounds
//!
//! No input panics. Nesting is limited to 100 levels, a run to [`MAX_STEPS`] steps and
//! [`MAX_OUTPUT`] bytes of output, widths in `printf` to Go's own 1,000,000.

mod exec;
mod funcs;
mod lex;
mod parse;

use std::fmt;

use serde_json::{Map, Value};

/// Most output one run may produce (a `{{json .}}` of a container publishing all 65,535
/// ports is about 10 MB).
pub const MAX_OUTPUT: usize = 64 << 20;

/// Most steps (actions, commands, range iterations) one run may take.
pub const MAX_STEPS: u64 = 20_000_000;

/// A parse or run failure, in Go's words (`template: :1: …`). Callers know which of the
/// two it is by what they called, and word and exit as Docker does for each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    message: String,
}

impl TemplateError {
    fn parse(message: String) -> Self {
        TemplateError { message }
    }

    fn exec(message: String) -> Self {
        TemplateError { message }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateError {}

/// How to run a template.
#[derive(Debug, Clone, Default)]
pub struct Options<'d> {
    /// Go's `missingkey=error`, as Docker's `inspect -f` runs its raw fallback: a missing
    /// field is an error rather than `<no value>`.
    pub missing_key_error: bool,
    /// Objects of the document that are Go maps in Docker's types: their missing keys
    /// print `<no value>` even with [`missing_key_error`](Self::missing_key_error).
    /// Compared by address, so they must be borrowed from the document being run.
    pub maps: Vec<&'d Map<String, Value>>,
    /// Objects of the document that are Go structs, with the string fields Docker's JSON
    /// leaves out when empty (`omitempty`, as `IPAM.Config`'s `Gateway`): a missing one
    /// prints as the empty string, as the typed field does. Compared by address, like
    /// [`maps`](Self::maps).
    pub omitted: Vec<(&'d Map<String, Value>, &'static [&'static str])>,
    /// Docker's table header pass: `json`, `split`, `join`, `title`, `lower`, `upper` and
    /// `truncate` return their argument unchanged, so `{{upper .Names}}` heads its
    /// column with `NAMES`.
    pub header: bool,
}

/// A parsed template, ready to run over any number of documents.
#[derive(Debug)]
pub struct Template {
    src: String,
    nodes: Vec<parse::Node>,
}

impl Template {
    /// Parses Go template text.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        Ok(Template {
            src: text.to_string(),
            nodes: parse::parse(text)?,
        })
    }

    /// Runs the template with `data` as `.` and `$`.
    pub fn execute<'d>(
        &self,
        data: &'d Value,
        options: &Options<'d>,
    ) -> Result<String, TemplateError> {
        exec::run(&self.src, &self.nodes, data, options)
    }
}

/// Go's `strconv.Quote`: double quotes, Go's escapes, printable Unicode kept as is
/// (Docker quotes `ps`'s COMMAND column with it).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if go_printable(c) => out.push(c),
            c if u32::from(c) < 0x80 => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if u32::from(c) <= 0xffff => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// Close to Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the
/// ASCII space; not controls, other spaces or invisible format characters.
fn go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    let invisible = matches!(u32::from(c),
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f
        | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb
        | 0xe000..=0xf8ff | 0xf0000..=0x10ffff);
    !(c.is_control() || c.is_whitespace() || invisible)
}

/// Go's `%v` of a float64 (`strconv`'s shortest `%g`): the shortest digits that read
/// back the same, with an exponent when it is below -4 or from 6 on (`1e+06`, `123456`).
fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    // Rust's `{:e}` is also the shortest representation that reads back: "1.2345e6".
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if f != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// Writes `v` as Go's `fmt` `%v` writes the decoded JSON: `[a b]`, `map[k:v]` (sorted
/// keys), `<nil>` for null.
fn go_print(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                go_print(out, e);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push_str("map[");
            for (i, k) in sorted_keys(m).into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                go_print(out, &m[k]);
            }
            out.push(']');
        }
    }
}

fn number_text(n: &serde_json::Number) -> String {
    match (n.as_i64(), n.as_u64(), n.as_f64()) {
        (Some(i), _, _) => i.to_string(),
        (_, Some(u), _) => u.to_string(),
        (_, _, Some(f)) => go_float(f),
        _ => n.to_string(),
    }
}

fn sorted_keys(m: &Map<String, Value>) -> Vec<&String> {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    keys
}

/// Docker's `json` function, and how its API writes JSON: Go's encoder without HTML
/// escaping, on one line.
pub fn go_json(v: &Value) -> String {
    serde_json::to_string(v)
        .unwrap_or_default()
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests;
