//! The lexer: text and the tokens inside `{{ }}`, as Go's `text/template/parse` cuts them.
//! Trim markers (`{{- ` and ` -}}`) are applied here, and comments (`{{/* … */}}`) vanish.

use super::TemplateError;

/// A number as written: Go keeps integers and floats apart (`%d` takes only integers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Num {
    Int(i64),
    Float(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Text(String),
    Open,
    Close,
    /// `.` on its own.
    Dot,
    /// `.Name`: one segment of a field chain, without the dot.
    Field(String),
    /// `$` or `$name`, with the `$`.
    Var(String),
    /// A function name or a keyword (`if`, `range`, …).
    Ident(String),
    /// A string literal, decoded.
    Str(String),
    Num(Num),
    Bool(bool),
    Nil,
    LParen,
    RParen,
    Pipe,
    /// `:=`
    Declare,
    /// `=`
    Assign,
    Comma,
    Eof,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub tok: Tok,
    /// Byte offset in the template, for messages.
    pub pos: usize,
    /// Where it ends: `src[pos..end]` is the token as written.
    pub end: usize,
    /// Whether blank space comes right before it inside the action: `$x.A` is a chain,
    /// `$x .A` two arguments.
    pub spaced: bool,
}

const OPEN: &str = "{{";
const CLOSE: &str = "}}";

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// The 1-based line of a byte offset, as Go's messages count it.
pub(super) fn line_of(src: &str, pos: usize) -> usize {
    1 + src[..pos.min(src.len())].matches('\n').count()
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    out: Vec<Token>,
}

/// Cuts `src` into tokens; the list ends with [`Tok::Eof`].
pub(super) fn lex(src: &str) -> Result<Vec<Token>, TemplateError> {
    let mut l = Lexer {
        src,
        pos: 0,
        out: Vec::new(),
    };
    l.run()?;
    Ok(l.out)
}

impl Lexer<'_> {
    fn err(&self, at: usize, msg: impl std::fmt::Display) -> TemplateError {
        TemplateError::parse(format!("template: :{}: {msg}", line_of(self.src, at)))
    }

    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn push(&mut self, tok: Tok, pos: usize, spaced: bool) {
        let end = self.pos.max(pos);
        self.out.push(Token {
            tok,
            pos,
            end,
            spaced,
        });
    }

    fn run(&mut self) -> Result<(), TemplateError> {
        // Whether the previous action ended with ` -}}`: the text after it loses its
        // leading blank space.
        let mut trim_next = false;
        loop {
            let text_start = self.pos;
            let (text_end, found) = match self.rest().find(OPEN) {
                Some(i) => (self.pos + i, true),
                None => (self.src.len(), false),
            };
            let mut text = &self.src[text_start..text_end];
            if trim_next {
                text = text.trim_start_matches(is_space);
            }
            // `{{- ` (a blank after the dash; `{{-3}}` is the number -3).
            let after_open = text_end + OPEN.len();
            let trim_left = found
                && self.src[after_open..].starts_with('-')
                && self.src[after_open + 1..].starts_with(is_space);
            if trim_left {
                text = text.trim_end_matches(is_space);
            }
            if !text.is_empty() {
                // Text around a comment is one text.
                match self.out.last_mut() {
                    Some(Token {
                        tok: Tok::Text(before),
                        ..
                    }) => before.push_str(text),
                    _ => self.push(Tok::Text(text.to_string()), text_start, false),
                }
            }
            if !found {
                self.push(Tok::Eof, self.src.len(), false);
                return Ok(());
            }
            self.pos = after_open + if trim_left { 2 } else { 0 };
            trim_next = self.action(text_end)?;
        }
    }

    /// The inside of one action, from after `{{` (and its trim marker) to after `}}`.
    /// Returns whether it ended with a trim marker.
    fn action(&mut self, open_at: usize) -> Result<bool, TemplateError> {
        // A comment fills the whole action: `{{/* … */}}`, `{{- /* … */ -}}`.
        if self.rest().starts_with("/*") {
            let Some(end) = self.rest().find("*/") else {
                return Err(self.err(open_at, "unclosed comment"));
            };
            self.pos += end + 2;
            return match self.close_here() {
                Some(trim) => Ok(trim),
                None => Err(self.err(open_at, "comment ends before closing delimiter")),
            };
        }
        self.push(Tok::Open, open_at, false);
        let mut spaced = false;
        loop {
            let close_at = self.pos;
            if let Some(trim) = self.close_here() {
                self.push(Tok::Close, close_at, spaced);
                return Ok(trim);
            }
            let start = self.pos;
            let Some(c) = self.peek() else {
                return Err(self.err(start, "unclosed action"));
            };
            if is_space(c) {
                self.pos += c.len_utf8();
                spaced = true;
                continue;
            }
            let tok = match c {
                '(' => self.one(Tok::LParen),
                ')' => self.one(Tok::RParen),
                '|' => self.one(Tok::Pipe),
                ',' => self.one(Tok::Comma),
                '=' => self.one(Tok::Assign),
                ':' => {
                    if !self.rest().starts_with(":=") {
                        return Err(self.err(start, "expected :="));
                    }
                    self.pos += 2;
                    Tok::Declare
                }
                '"' => Tok::Str(self.quoted()?),
                '`' => Tok::Str(self.raw()?),
                '\'' => Tok::Num(Num::Int(self.char_constant()?)),
                '$' => {
                    self.pos += 1;
                    let name = self.word();
                    self.word_end(start)?;
                    Tok::Var(format!("${name}"))
                }
                '.' => {
                    let next = self.rest()[1..].chars().next();
                    if next.is_some_and(|d| d.is_ascii_digit()) {
                        Tok::Num(self.number()?)
                    } else {
                        self.pos += 1;
                        let name = self.word();
                        self.word_end(start)?;
                        if name.is_empty() {
                            Tok::Dot
                        } else {
                            Tok::Field(name)
                        }
                    }
                }
                '+' | '-' | '0'..='9' => Tok::Num(self.number()?),
                c if is_alnum(c) => {
                    let w = self.word();
                    self.word_end(start)?;
                    match w.as_str() {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        _ => Tok::Ident(w),
                    }
                }
                c => {
                    return Err(self.err(
                        start,
                        format!("unrecognized character in action: {}", unicode_name(c)),
                    ));
                }
            };
            self.push(tok, start, spaced);
            spaced = false;
        }
    }

    /// At `}}` or ` -}}` (only after blank space, and `spaced` already consumed it):
    /// consumes it and says whether it trims.
    fn close_here(&mut self) -> Option<bool> {
        if self.rest().starts_with(CLOSE) {
            self.pos += CLOSE.len();
            return Some(false);
        }
        let before_blank = self.pos > 0 && self.src[..self.pos].ends_with(is_space);
        if before_blank && self.rest().starts_with("-}}") {
            self.pos += 3;
            return Some(true);
        }
        // ` -}}` seen from the blank before the dash.
        if let Some(c) = self.peek()
            && is_space(c)
            && self.rest()[c.len_utf8()..].starts_with("-}}")
        {
            self.pos += c.len_utf8() + 3;
            return Some(true);
        }
        None
    }

    fn one(&mut self, tok: Tok) -> Tok {
        self.pos += 1;
        tok
    }

    fn word(&mut self) -> String {
        let len = self
            .rest()
            .char_indices()
            .find(|(_, c)| !is_alnum(*c))
            .map_or(self.rest().len(), |(i, _)| i);
        let w = self.rest()[..len].to_string();
        self.pos += len;
        w
    }

    /// Go's rule after a field, variable or identifier: a delimiter must follow, so that
    /// `.A-B` is an error rather than `.A` minus something.
    fn word_end(&self, start: usize) -> Result<(), TemplateError> {
        let rest = self.rest();
        let ok = match rest.chars().next() {
            None => true,
            Some(c) => {
                is_space(c)
                    || matches!(c, '.' | ',' | '|' | ':' | ')' | '(' | '=')
                    || rest.starts_with(CLOSE)
            }
        };
        if ok {
            Ok(())
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            Err(self.err(start, format!("bad character {}", unicode_name(c))))
        }
    }

    fn quoted(&mut self) -> Result<String, TemplateError> {
        let start = self.pos;
        let mut i = 1;
        let bytes = self.src.as_bytes();
        loop {
            match bytes.get(self.pos + i) {
                None | Some(b'\n') => return Err(self.err(start, "unterminated quoted string")),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let body = &self.src[self.pos + 1..self.pos + i];
        self.pos += i + 1;
        unquote(body, '"').ok_or_else(|| self.err(start, "invalid syntax"))
    }

    fn raw(&mut self) -> Result<String, TemplateError> {
        let start = self.pos;
        let Some(end) = self.rest()[1..].find('`') else {
            return Err(self.err(start, "unterminated raw quoted string"));
        };
        let s = self.rest()[1..1 + end].replace('\r', "");
        self.pos += end + 2;
        Ok(s)
    }

    fn char_constant(&mut self) -> Result<i64, TemplateError> {
        let start = self.pos;
        let mut i = 1;
        let bytes = self.src.as_bytes();
        loop {
            match bytes.get(self.pos + i) {
                None | Some(b'\n') => {
                    return Err(self.err(start, "unterminated character constant"));
                }
                Some(b'\\') => i += 2,
                Some(b'\'') => break,
                Some(_) => i += 1,
            }
        }
        let body = &self.src[self.pos + 1..self.pos + i];
        self.pos += i + 1;
        let text = unquote(body, '\'').ok_or_else(|| self.err(start, "invalid syntax"))?;
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(i64::from(u32::from(c))),
            _ => Err(self.err(
                start,
                format!("malformed character constant: '{}'", clip_text(body)),
            )),
        }
    }

    /// Go's number syntax, in the part netlab needs: optional sign, decimal, `0x`, `0o`,
    /// `0b` and `_` separators, fractions and exponents. No imaginary numbers.
    fn number(&mut self) -> Result<Num, TemplateError> {
        let start = self.pos;
        let rest = self.rest();
        let mut len = 0;
        let mut prev = None;
        for (i, c) in rest.char_indices() {
            let sign_ok =
                matches!(c, '+' | '-') && (i == 0 || matches!(prev, Some('e' | 'E' | 'p' | 'P')));
            if !(is_alnum(c) || c == '.' || sign_ok) {
                break;
            }
            len = i + c.len_utf8();
            prev = Some(c);
        }
        let text = rest[..len].to_string();
        self.pos += len;
        parse_number(&text).ok_or_else(|| {
            self.err(
                start,
                format!("bad number syntax: \"{}\"", clip_text(&text)),
            )
        })
    }
}

fn parse_number(text: &str) -> Option<Num> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return None;
    }
    let digits = body.replace('_', "");
    let lower = digits.to_ascii_lowercase();
    let radix = [("0x", 16), ("0o", 8), ("0b", 2)]
        .into_iter()
        .find(|(p, _)| lower.starts_with(p));
    let int = match radix {
        Some((p, r)) => u64::from_str_radix(&digits[p.len()..], r).ok(),
        None if digits.len() > 1
            && digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            u64::from_str_radix(&digits[1..], 8).ok()
        }
        None => digits.parse::<u64>().ok(),
    };
    if let Some(u) = int {
        let i = i64::try_from(u).ok()?;
        return Some(Num::Int(if neg { -i } else { i }));
    }
    if radix.is_some()
        || !digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b))
    {
        return None;
    }
    let f: f64 = digits.parse().ok()?;
    f.is_finite()
        .then_some(Num::Float(if neg { -f } else { f }))
}

/// Go's `strconv.Unquote` for the inside of a `"…"` or `'…'` literal.
fn unquote(body: &str, quote: char) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == quote {
            return None;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        let hex = |chars: &mut std::iter::Peekable<std::str::Chars>, n: usize| {
            let s: String = (0..n).filter_map(|_| chars.next()).collect();
            (s.len() == n)
                .then(|| u32::from_str_radix(&s, 16).ok())
                .flatten()
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '"' | '\'' if e == quote => out.push(e),
            // \x and octal give bytes; netlab's strings are UTF-8, so only ASCII bytes.
            'x' => out.push(char::from_u32(hex(&mut chars, 2)?).filter(char::is_ascii)?),
            'u' => out.push(char::from_u32(hex(&mut chars, 4)?)?),
            'U' => out.push(char::from_u32(hex(&mut chars, 8)?)?),
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    v = v * 8 + chars.next()?.to_digit(8)?;
                }
                out.push(char::from_u32(v).filter(char::is_ascii)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// `U+0023 '#'`, as Go's `%#U` writes a character.
fn unicode_name(c: char) -> String {
    format!("U+{:04X} '{c}'", u32::from(c))
}

fn clip_text(s: &str) -> String {
    crate::error::clip(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens_and_trimming() {
        use Tok::*;
        assert_eq!(
            toks("a {{- .A.B $x | f 1 \"s\" -}} b"),
            vec![
                Text("a".into()),
                Open,
                Field("A".into()),
                Field("B".into()),
                Var("$x".into()),
                Pipe,
                Ident("f".into()),
                Num(super::Num::Int(1)),
                Str("s".into()),
                Close,
                Text("b".into()),
                Eof
            ]
        );
        assert_eq!(
            toks("{{-3}}"),
            vec![Open, Num(super::Num::Int(-3)), Close, Eof]
        );
        assert_eq!(toks("x {{- /* c */ -}} y"), vec![Text("xy".into()), Eof]);
        assert_eq!(toks("{{'a' 0x10 1.5 .5 1e3}}")[1..6].to_vec(), {
            use super::Num::*;
            vec![
                Num(Int(97)),
                Num(Int(16)),
                Num(Float(1.5)),
                Num(Float(0.5)),
                Num(Float(1000.0)),
            ]
        });
    }

    #[test]
    fn errors() {
        for (src, msg) in [
            ("{{.A", "template: :1: unclosed action"),
            ("{{\"a}}", "template: :1: unterminated quoted string"),
            ("\n{{`a}}", "template: :2: unterminated raw quoted string"),
            (
                "{{ # }}",
                "template: :1: unrecognized character in action: U+0023 '#'",
            ),
            ("{{.A-B}}", "template: :1: bad character U+002D '-'"),
            ("{{3x}}", "template: :1: bad number syntax: \"3x\""),
            ("{{/* a }}", "template: :1: unclosed comment"),
            (
                "{{/* a */ .X}}",
                "template: :1: comment ends before closing delimiter",
            ),
            ("{{\"\\q\"}}", "template: :1: invalid syntax"),
            (
                "{{'ab'}}",
                "template: :1: malformed character constant: 'ab'",
            ),
            ("{{a : b}}", "template: :1: expected :="),
        ] {
            assert_eq!(lex(src).unwrap_err().to_string(), msg, "{src}");
        }
    }
}
