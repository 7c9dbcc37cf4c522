//! The functions: Go's builtins and the ones Docker adds, with Go's argument checks and
//! messages. `and` and `or` evaluate lazily and live in the executor.

use std::borrow::Cow;

use serde_json::{Number, Value};

use super::exec::{Val, child};
use super::{MAX_OUTPUT, go_json, go_print, go_quote, number_text};

pub(super) enum Known {
    Yes,
    /// A Go or Docker function netlab leaves out.
    NotInNetlab,
    No,
}

const GO: [&str; 14] = [
    "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "index", "len", "print", "printf",
    "println",
];
const DOCKER: [&str; 8] = [
    "json", "join", "split", "lower", "upper", "title", "pad", "truncate",
];
const LEFT_OUT: [&str; 5] = ["call", "html", "js", "slice", "urlquery"];

/// Most parts `split` may return.
const MAX_PARTS: usize = 1_000_000;

pub(super) fn known(name: &str) -> Known {
    if GO.contains(&name) || DOCKER.contains(&name) {
        Known::Yes
    } else if LEFT_OUT.contains(&name) {
        Known::NotInNetlab
    } else {
        Known::No
    }
}

/// Why a call failed: `Call` is the function's own error (Go prefixes it with `error
/// calling NAME:`), `Args` Go's check of the arguments before the call.
pub(super) enum FnError {
    Call(String),
    Args(String),
}

type FnResult<'d> = Result<Val<'d>, FnError>;

/// Go's name for the type of a decoded JSON value, as its messages say it.
pub(super) fn go_type(v: Option<&Value>) -> &'static str {
    match v {
        None | Some(Value::Null) => "<nil>",
        Some(Value::Bool(_)) => "bool",
        Some(Value::Number(n)) if n.is_f64() => "float64",
        Some(Value::Number(_)) => "int",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "[]interface {}",
        Some(Value::Object(_)) => "map[string]interface {}",
    }
}

/// Go's truth: false, 0, "", empty list or map, nil and missing are false.
pub(super) fn truth(v: &Val<'_>) -> bool {
    match v.as_deref() {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
    }
}

fn text(s: String) -> FnResult<'static> {
    if s.len() > MAX_OUTPUT {
        return Err(FnError::Call(format!(
            "the result is larger than {MAX_OUTPUT} bytes (netlab's limit)"
        )));
    }
    Ok(Some(Cow::Owned(Value::String(s))))
}

fn boolean(b: bool) -> FnResult<'static> {
    Ok(Some(Cow::Owned(Value::Bool(b))))
}

fn want_str<'a>(v: &'a Val<'_>) -> Result<&'a str, FnError> {
    match v.as_deref() {
        Some(Value::String(s)) => Ok(s),
        None => Err(FnError::Args("invalid value; expected string".into())),
        other => Err(FnError::Args(format!(
            "wrong type for value; expected string; got {}",
            go_type(other)
        ))),
    }
}

fn want_int(v: &Val<'_>) -> Result<i64, FnError> {
    match v.as_deref() {
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or(0)),
        None => Err(FnError::Args("invalid value; expected int".into())),
        other => Err(FnError::Args(format!(
            "wrong type for value; expected int; got {}",
            go_type(other)
        ))),
    }
}

fn arity(name: &str, args: &[Val<'_>], want: usize, at_least: bool) -> Result<(), FnError> {
    let got = args.len();
    if got == want || (at_least && got > want) {
        return Ok(());
    }
    let least = if at_least { "at least " } else { "" };
    Err(FnError::Args(format!(
        "wrong number of args for {name}: want {least}{want} got {got}"
    )))
}

/// Calls `name` (known to [`known`], not `and`/`or`) with its arguments, the pipeline's
/// value last.
pub(super) fn call<'d>(name: &str, mut args: Vec<Val<'d>>, header: bool) -> FnResult<'d> {
    if header
        && let Some(n) = match name {
            "json" | "title" | "lower" | "upper" => Some(1),
            "split" | "join" | "truncate" => Some(2),
            _ => None,
        }
    {
        // Docker's header functions: the column's name stays as it is.
        arity(name, &args, n, false)?;
        want_str(&args[0])?;
        return Ok(args.swap_remove(0));
    }
    match name {
        "not" => {
            arity(name, &args, 1, false)?;
            boolean(!truth(&args[0]))
        }
        "len" => {
            arity(name, &args, 1, false)?;
            let n = match args[0].as_deref() {
                Some(Value::String(s)) => s.len(),
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(m)) => m.len(),
                None | Some(Value::Null) => {
                    return Err(FnError::Call("len of nil pointer".into()));
                }
                other => return Err(FnError::Call(format!("len of type {}", go_type(other)))),
            };
            Ok(Some(Cow::Owned(Value::from(n))))
        }
        "index" => {
            arity(name, &args, 1, true)?;
            let mut it = args.into_iter();
            let item = it.next().flatten();
            index(item, it.collect())
        }
        "eq" => {
            arity(name, &args, 1, true)?;
            if args.len() == 1 {
                return Err(FnError::Call("missing argument for comparison".into()));
            }
            for b in &args[1..] {
                if equal(&args[0], b)? {
                    return boolean(true);
                }
            }
            boolean(false)
        }
        "ne" => {
            arity(name, &args, 2, false)?;
            boolean(!equal(&args[0], &args[1])?)
        }
        "lt" | "le" | "gt" | "ge" => {
            arity(name, &args, 2, false)?;
            let less = less(&args[0], &args[1])?;
            let eq = !less && equal(&args[0], &args[1])?;
            boolean(match name {
                "lt" => less,
                "le" => less || eq,
                "gt" => !less && !eq,
                _ => !less,
            })
        }
        "print" => {
            let mut out = String::new();
            for (i, a) in args.iter().enumerate() {
                let is_str = |v: &Val<'_>| matches!(v.as_deref(), Some(Value::String(_)));
                if i > 0 && !is_str(a) && !is_str(&args[i - 1]) {
                    out.push(' ');
                }
                print_arg(&mut out, a);
            }
            text(out)
        }
        "println" => {
            let mut out = String::new();
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_arg(&mut out, a);
            }
            out.push('\n');
            text(out)
        }
        "printf" => {
            arity(name, &args, 1, true)?;
            let format = want_str(&args[0])?.to_string();
            text(sprintf(&format, &args[1..])?)
        }
        "json" => {
            arity(name, &args, 1, false)?;
            text(match args[0].as_deref() {
                None => "null".into(),
                Some(v) => go_json(v),
            })
        }
        "lower" | "upper" | "title" => {
            arity(name, &args, 1, false)?;
            let s = want_str(&args[0])?;
            text(match name {
                "lower" => s.to_lowercase(),
                "upper" => s.to_uppercase(),
                _ => title(s),
            })
        }
        "split" => {
            arity(name, &args, 2, false)?;
            let (s, sep) = (want_str(&args[0])?, want_str(&args[1])?);
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars()
                    .take(MAX_PARTS + 1)
                    .map(|c| Value::String(c.to_string()))
                    .collect()
            } else {
                s.split(sep)
                    .take(MAX_PARTS + 1)
                    .map(|p| Value::String(p.into()))
                    .collect()
            };
            if parts.len() > MAX_PARTS {
                return Err(FnError::Call(format!(
                    "more than {MAX_PARTS} parts (netlab's limit)"
                )));
            }
            Ok(Some(Cow::Owned(Value::Array(parts))))
        }
        "join" => {
            arity(name, &args, 2, false)?;
            let sep = want_str(&args[1])?;
            let parts: Vec<&str> = match args[0].as_deref() {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        FnError::Args(
                            "wrong type for value; expected []string; got []interface {}".into(),
                        )
                    })?,
                other => {
                    return Err(FnError::Args(format!(
                        "wrong type for value; expected []string; got {}",
                        go_type(other)
                    )));
                }
            };
            let total: usize =
                parts.iter().map(|p| p.len()).sum::<usize>() + sep.len() * parts.len();
            if total > MAX_OUTPUT {
                return Err(FnError::Call(format!(
                    "the result is larger than {MAX_OUTPUT} bytes (netlab's limit)"
                )));
            }
            text(parts.join(sep))
        }
        "pad" => {
            arity(name, &args, 3, false)?;
            let s = want_str(&args[0])?;
            let (before, after) = (want_int(&args[1])?, want_int(&args[2])?);
            if s.is_empty() {
                return text(String::new());
            }
            let (Ok(before), Ok(after)) = (usize::try_from(before), usize::try_from(after)) else {
                return Err(FnError::Call("strings: negative Repeat count".into()));
            };
            if before.saturating_add(after).saturating_add(s.len()) > MAX_OUTPUT {
                return Err(FnError::Call(format!(
                    "the result is larger than {MAX_OUTPUT} bytes (netlab's limit)"
                )));
            }
            text(format!("{}{s}{}", " ".repeat(before), " ".repeat(after)))
        }
        "truncate" => {
            arity(name, &args, 2, false)?;
            let s = want_str(&args[0])?;
            let n = want_int(&args[1])?;
            let Ok(n) = usize::try_from(n) else {
                return Err(FnError::Call(format!("slice bounds out of range [:{n}]")));
            };
            if s.len() < n {
                return text(s.to_string());
            }
            // Docker cuts bytes; netlab stops at the character boundary before.
            let mut cut = n;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            text(s[..cut].to_string())
        }
        other => Err(FnError::Call(format!("function {other:?} is not callable"))),
    }
}

/// An argument as `print` shows it: `<nil>` for nothing, `%v` otherwise.
fn print_arg(out: &mut String, v: &Val<'_>) {
    match v.as_deref() {
        None => out.push_str("<nil>"),
        Some(v) => go_print(out, v),
    }
}

/// Go's `index`: through lists (integer positions) and maps (string keys); a missing key
/// gives nothing (`<no value>`), a position out of range is an error.
fn index<'d>(item: Val<'d>, keys: Vec<Val<'d>>) -> FnResult<'d> {
    let mut cur = item;
    for key in keys {
        let Some(v) = cur.filter(|v| !v.is_null()) else {
            return Err(FnError::Call("index of untyped nil".into()));
        };
        let position = |len: usize| -> Result<usize, FnError> {
            match key.as_deref() {
                Some(Value::Number(n)) if n.as_i64().is_some() => {
                    let i = n.as_i64().unwrap_or(-1);
                    usize::try_from(i)
                        .ok()
                        .filter(|i| *i < len)
                        .ok_or_else(|| FnError::Call(format!("index out of range: {i}")))
                }
                None | Some(Value::Null) => {
                    Err(FnError::Call("cannot index slice/array with nil".into()))
                }
                other => Err(FnError::Call(format!(
                    "cannot index slice/array with type {}",
                    go_type(other)
                ))),
            }
        };
        cur = match v.as_ref() {
            Value::Array(a) => {
                let i = position(a.len())?;
                child(v, |x| x.as_array().and_then(|a| a.get(i)))
            }
            Value::String(s) => {
                let i = position(s.len())?;
                Some(Cow::Owned(Value::from(s.as_bytes()[i])))
            }
            Value::Object(_) => {
                let name = match key.as_deref() {
                    Some(Value::String(k)) => k.clone(),
                    other => {
                        return Err(FnError::Call(format!(
                            "value has type {}; should be string",
                            go_type(other)
                        )));
                    }
                };
                child(v, |x| x.get(&name))
            }
            other => {
                return Err(FnError::Call(format!(
                    "can't index item of type {}",
                    go_type(Some(other))
                )));
            }
        };
    }
    Ok(cur)
}

enum Basic<'a> {
    Nil,
    Bool(bool),
    Num(&'a Number),
    Str(&'a str),
    Other,
}

fn basic<'a>(v: &'a Val<'_>) -> Basic<'a> {
    match v.as_deref() {
        None | Some(Value::Null) => Basic::Nil,
        Some(Value::Bool(b)) => Basic::Bool(*b),
        Some(Value::Number(n)) => Basic::Num(n),
        Some(Value::String(s)) => Basic::Str(s),
        Some(_) => Basic::Other,
    }
}

fn num_cmp(a: &Number, b: &Number) -> std::cmp::Ordering {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Less)
        }
    }
}

fn equal(a: &Val<'_>, b: &Val<'_>) -> Result<bool, FnError> {
    match (basic(a), basic(b)) {
        (Basic::Other, _) | (_, Basic::Other) => {
            Err(FnError::Call("invalid type for comparison".into()))
        }
        (Basic::Nil, Basic::Nil) => Ok(true),
        (Basic::Nil, _) | (_, Basic::Nil) => Ok(false),
        (Basic::Bool(x), Basic::Bool(y)) => Ok(x == y),
        (Basic::Num(x), Basic::Num(y)) => Ok(num_cmp(x, y).is_eq()),
        (Basic::Str(x), Basic::Str(y)) => Ok(x == y),
        _ => Err(FnError::Call("incompatible types for comparison".into())),
    }
}

fn less(a: &Val<'_>, b: &Val<'_>) -> Result<bool, FnError> {
    match (basic(a), basic(b)) {
        (Basic::Num(x), Basic::Num(y)) => Ok(num_cmp(x, y).is_lt()),
        (Basic::Str(x), Basic::Str(y)) => Ok(x < y),
        (Basic::Num(_), Basic::Str(_)) | (Basic::Str(_), Basic::Num(_)) => {
            Err(FnError::Call("incompatible types for comparison".into()))
        }
        _ => Err(FnError::Call("invalid type for comparison".into())),
    }
}

/// Go's `strings.Title`: upper-case the first letter of every word; words are separated
/// by anything but ASCII letters, digits and `_` (and non-ASCII letters and digits).
fn title(s: &str) -> String {
    let separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !c.is_alphanumeric() && c.is_whitespace()
        }
    };
    let mut prev = ' ';
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if separator(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%v %s %d %q %t %x %X %c %f %e %g %T
/// %%`, with the flags `-`, `+`, `0`, ` ` and `#` (read, and used as Go does for `-`, `+`,
/// `0`), a width and a precision. A wrong argument is written as Go does:
/// `%!d(string=abc)`, `%!s(MISSING)`, `%!(EXTRA int=3)`.
pub(super) fn sprintf(format: &str, args: &[Val<'_>]) -> Result<String, FnError> {
    const TOO_LARGE: usize = 1_000_000;
    let mut out = String::new();
    let mut next_arg = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if out.len() > MAX_OUTPUT {
            return Err(FnError::Call(format!(
                "the result is larger than {MAX_OUTPUT} bytes (netlab's limit)"
            )));
        }
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut minus, mut plus, mut zero) = (false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        let number = |chars: &mut std::iter::Peekable<std::str::Chars>| {
            let mut n: Option<usize> = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
                chars.next();
            }
            n
        };
        let mut width = number(&mut chars);
        if width.is_some_and(|w| w > TOO_LARGE) {
            out.push_str("%!(BADWIDTH)");
            width = None;
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            precision = Some(number(&mut chars).unwrap_or(0));
            if precision.is_some_and(|p| p > TOO_LARGE) {
                out.push_str("%!(BADPREC)");
                precision = None;
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next_arg += 1;
        let (s, numeric) = format_one(verb, arg.as_deref(), plus, precision);
        let len = s.chars().count();
        match width {
            Some(w) if w > len => {
                let fill = w - len;
                if minus {
                    out.push_str(&s);
                    out.extend(std::iter::repeat_n(' ', fill));
                } else if zero && numeric {
                    let (sign, digits) = match s.strip_prefix(['-', '+']) {
                        Some(rest) => (&s[..1], rest),
                        None => ("", s.as_str()),
                    };
                    out.push_str(sign);
                    out.extend(std::iter::repeat_n('0', fill));
                    out.push_str(digits);
                } else {
                    out.extend(std::iter::repeat_n(' ', fill));
                    out.push_str(&s);
                }
            }
            _ => out.push_str(&s),
        }
    }
    if next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[next_arg..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&typed(a.as_deref()));
        }
        out.push(')');
    }
    if out.len() > MAX_OUTPUT {
        return Err(FnError::Call(format!(
            "the result is larger than {MAX_OUTPUT} bytes (netlab's limit)"
        )));
    }
    Ok(out)
}

/// `int=3`, `string=abc`, `<nil>`: how Go names a value it cannot format.
fn typed(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "<nil>".into(),
        Some(v) => {
            let mut s = format!("{}=", go_type(Some(v)));
            go_print(&mut s, v);
            s
        }
    }
}

/// One verb's text, and whether it is a number (for `0` padding).
fn format_one(
    verb: char,
    v: Option<&Value>,
    plus: bool,
    precision: Option<usize>,
) -> (String, bool) {
    let bad = || (format!("%!{verb}({})", typed(v)), false);
    let int = v
        .and_then(Value::as_i64)
        .filter(|_| !v.is_some_and(|v| v.as_number().is_some_and(Number::is_f64)));
    let float = v
        .and_then(|v| v.as_number())
        .filter(|n| n.is_f64())
        .and_then(Number::as_f64);
    let signed = |s: String, negative: bool| {
        if plus && !negative {
            format!("+{s}")
        } else {
            s
        }
    };
    let cut = |s: &str| match precision {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    };
    match verb {
        'v' => match v {
            None | Some(Value::Null) => ("<nil>".into(), false),
            Some(Value::Number(n)) => (
                signed(number_text(n), n.as_f64().is_some_and(|f| f < 0.0)),
                true,
            ),
            Some(v) => {
                let mut s = String::new();
                go_print(&mut s, v);
                (s, false)
            }
        },
        's' => match v {
            Some(Value::String(s)) => (cut(s), false),
            Some(a @ (Value::Array(_) | Value::Object(_))) => {
                let mut s = String::new();
                go_print(&mut s, a);
                (s, false)
            }
            _ => bad(),
        },
        'q' => match (v, int) {
            (Some(Value::String(s)), _) => (go_quote(&cut(s)), false),
            (_, Some(i)) => match u32::try_from(i).ok().and_then(char::from_u32) {
                Some(c) => {
                    let q = go_quote(&c.to_string());
                    let inner = &q[1..q.len() - 1];
                    let inner = if c == '"' {
                        "\""
                    } else if c == '\'' {
                        "\\'"
                    } else {
                        inner
                    };
                    (format!("'{inner}'"), false)
                }
                None => ("'\u{fffd}'".into(), false),
            },
            _ => bad(),
        },
        'd' => match int {
            Some(i) => (signed(i.to_string(), i < 0), true),
            None => bad(),
        },
        't' => match v {
            Some(Value::Bool(b)) => (b.to_string(), false),
            _ => bad(),
        },
        'x' | 'X' => {
            let s = match (v, int) {
                (_, Some(i)) if i < 0 => format!("-{:x}", i.unsigned_abs()),
                (_, Some(i)) => format!("{i:x}"),
                (Some(Value::String(s)), _) => s.bytes().map(|b| format!("{b:02x}")).collect(),
                _ => return bad(),
            };
            (
                if verb == 'X' { s.to_uppercase() } else { s },
                int.is_some(),
            )
        }
        'c' => match int
            .and_then(|i| u32::try_from(i).ok())
            .and_then(char::from_u32)
        {
            Some(c) => (c.to_string(), false),
            None => bad(),
        },
        'f' | 'F' | 'e' | 'E' | 'g' | 'G' => match float {
            Some(f) => {
                let s = match verb {
                    'f' | 'F' => format!("{f:.*}", precision.unwrap_or(6)),
                    'e' | 'E' => {
                        let e = format!("{f:.*e}", precision.unwrap_or(6));
                        let (m, x) = e.split_once('e').unwrap_or((&e, "0"));
                        let x: i32 = x.parse().unwrap_or(0);
                        let s = format!("{m}e{}{:02}", if x < 0 { '-' } else { '+' }, x.abs());
                        if verb == 'E' { s.to_uppercase() } else { s }
                    }
                    _ => super::go_float(f),
                };
                (signed(s, f < 0.0), true)
            }
            None => bad(),
        },
        'T' => (go_type(v).to_string(), false),
        _ => bad(),
    }
}
