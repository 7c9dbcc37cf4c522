//! The parser: tokens to a tree of text, actions and control structures, with Go's
//! checks at parse time (unknown functions, undefined variables, `{{break}}` outside
//! `{{range}}`) and Go's messages.

use std::fmt;

use super::TemplateError;
use super::funcs::{self, Known};
use super::lex::{Num, Tok, Token, lex, line_of};

/// How deeply control structures and parentheses may nest: deep enough for any real
/// template, shallow enough that neither parsing nor running can exhaust the stack.
pub(super) const MAX_DEPTH: usize = 100;

#[derive(Debug)]
pub(super) enum Node {
    Text(String),
    /// `{{pipeline}}`: printed unless it declares or assigns variables.
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Break,
    Continue,
}

/// `{{if|range|with pipeline}} list {{else}} else_list {{end}}`; `{{else if …}}` is an
/// `else_list` holding one `If`.
#[derive(Debug)]
pub(super) struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug)]
pub(super) struct Pipe {
    pub pos: usize,
    /// `$x :=` (or `$i, $e :=` in range).
    pub decl: Vec<String>,
    /// `=` rather than `:=`.
    pub assign: bool,
    pub cmds: Vec<Cmd>,
}

/// One stage of a pipeline: an operand, or a function and its arguments.
#[derive(Debug)]
pub(super) struct Cmd {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug)]
pub(super) struct Arg {
    pub term: Term,
    /// Where Go says the node is: for a chain `.A.B` that is the second field.
    pub pos: usize,
}

#[derive(Debug)]
pub(super) enum Term {
    Dot,
    Nil,
    Bool(bool),
    /// The number and how it was written.
    Num(Num, String),
    Str(String),
    /// A function.
    Ident(String),
    /// `.A.B` on dot.
    Field(Vec<String>),
    /// `$x.A.B` (no fields for plain `$x`).
    Var(String, Vec<String>),
    /// `(pipeline).A.B`.
    Paren(Box<Pipe>, Vec<String>),
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            let op = if self.assign { "=" } else { ":=" };
            write!(f, "{} {op} ", self.decl.join(", "))?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}", a.term)?;
        }
        Ok(())
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields = |f: &mut fmt::Formatter<'_>, path: &[String]| {
            path.iter().try_for_each(|p| write!(f, ".{p}"))
        };
        match self {
            Term::Dot => f.write_str("."),
            Term::Nil => f.write_str("nil"),
            Term::Bool(b) => write!(f, "{b}"),
            Term::Num(_, text) => f.write_str(text),
            Term::Str(s) => f.write_str(&super::go_quote(s)),
            Term::Ident(name) => f.write_str(name),
            Term::Field(path) => fields(f, path),
            Term::Var(name, path) => {
                f.write_str(name)?;
                fields(f, path)
            }
            Term::Paren(pipe, path) => {
                write!(f, "({pipe})")?;
                fields(f, path)
            }
        }
    }
}

/// Where a list of nodes stopped.
enum Stop {
    Eof,
    End,
    Else,
}

const KEYWORDS: [&str; 10] = [
    "if", "else", "end", "range", "with", "break", "continue", "define", "template", "block",
];

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    vars: Vec<String>,
    depth: usize,
    in_range: usize,
}

/// Parses a whole template.
pub(super) fn parse(src: &str) -> Result<Vec<Node>, TemplateError> {
    let mut p = Parser {
        src,
        toks: lex(src)?,
        i: 0,
        vars: vec!["$".into()],
        depth: 0,
        in_range: 0,
    };
    let (list, stop) = p.list()?;
    match stop {
        Stop::Eof => Ok(list),
        Stop::End => Err(p.err_at(p.prev_pos(), "unexpected {{end}}")),
        Stop::Else => Err(p.err_at(p.prev_pos(), "unexpected {{else}}")),
    }
}

impl Parser<'_> {
    fn err_at(&self, pos: usize, msg: impl fmt::Display) -> TemplateError {
        TemplateError::parse(format!("template: :{}: {msg}", line_of(self.src, pos)))
    }

    fn peek(&self) -> &Token {
        // The lexer always ends the list with Eof, and `next` never passes it.
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn prev_pos(&self) -> usize {
        self.toks[self.i.saturating_sub(1)].pos
    }

    /// Go's way of naming a token in a message: `"}}"`, `<end>`, `EOF`.
    fn describe(&self, t: &Token) -> String {
        match &t.tok {
            Tok::Eof => "EOF".into(),
            Tok::Ident(k) if KEYWORDS.contains(&k.as_str()) => format!("<{k}>"),
            _ => {
                let text = &self.src[t.pos..t.end.max(t.pos)];
                let cut: String = text.chars().take(10).collect();
                let more = if cut.len() < text.len() { "..." } else { "" };
                format!("{}{more}", super::go_quote(&cut))
            }
        }
    }

    fn unexpected(&self, t: &Token, context: &str) -> TemplateError {
        self.err_at(
            t.pos,
            format!("unexpected {} in {context}", self.describe(t)),
        )
    }

    fn deeper(&mut self, pos: usize) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_at(
                pos,
                format!("nesting deeper than {MAX_DEPTH} levels (netlab's limit)"),
            ));
        }
        Ok(())
    }

    fn expect_close(&mut self, context: &str) -> Result<(), TemplateError> {
        let t = self.next();
        match t.tok {
            Tok::Close => Ok(()),
            _ => Err(self.unexpected(&t, context)),
        }
    }

    /// Nodes up to `{{end}}`, `{{else` or the end of the template.
    fn list(&mut self) -> Result<(Vec<Node>, Stop), TemplateError> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Text(s) => nodes.push(Node::Text(s)),
                Tok::Eof => return Ok((nodes, Stop::Eof)),
                Tok::Open => {
                    let kw = match &self.peek().tok {
                        Tok::Ident(k) if KEYWORDS.contains(&k.as_str()) => Some(k.clone()),
                        _ => None,
                    };
                    let Some(kw) = kw else {
                        let pipe = self.pipeline("command", true)?;
                        nodes.push(Node::Action(pipe));
                        continue;
                    };
                    let at = self.next().pos;
                    match kw.as_str() {
                        "end" => {
                            self.expect_close("end")?;
                            return Ok((nodes, Stop::End));
                        }
                        "else" => return Ok((nodes, Stop::Else)),
                        "if" => nodes.push(Node::If(self.control("if", at)?)),
                        "range" => nodes.push(Node::Range(self.control("range", at)?)),
                        "with" => nodes.push(Node::With(self.control("with", at)?)),
                        "break" | "continue" => {
                            if self.in_range == 0 {
                                return Err(
                                    self.err_at(at, format!("{{{{{kw}}}}} outside {{{{range}}}}"))
                                );
                            }
                            self.expect_close(&kw)?;
                            nodes.push(if kw == "break" {
                                Node::Break
                            } else {
                                Node::Continue
                            });
                        }
                        other => {
                            return Err(self.err_at(
                                at,
                                format!("{{{{{other}}}}} is not supported by netlab: write the template inline"),
                            ));
                        }
                    }
                }
                _ => return Err(self.unexpected(&t, "input")),
            }
        }
    }

    /// After `{{if`, `{{range` or `{{with`: the pipeline, the list, the optional else
    /// list, through the `{{end}}`.
    fn control(&mut self, context: &str, at: usize) -> Result<Branch, TemplateError> {
        self.deeper(at)?;
        let mark = self.vars.len();
        let pipe = self.pipeline(context, true)?;
        if context == "range" {
            self.in_range += 1;
        }
        let listed = self.list();
        if context == "range" {
            self.in_range -= 1;
        }
        let (list, stop) = listed?;
        let else_list = match stop {
            Stop::Eof => return Err(self.err_at(self.src.len(), "unexpected EOF")),
            Stop::End => None,
            Stop::Else => {
                let chained = match &self.peek().tok {
                    Tok::Ident(k) if (k == "if" || k == "with") && k == context => Some(k.clone()),
                    _ => None,
                };
                match chained {
                    // `{{else if …}}` is `{{else}}{{if …}}…{{end}}` sharing the one `{{end}}`.
                    Some(k) => {
                        let at = self.next().pos;
                        let inner = self.control(&k, at)?;
                        Some(vec![if k == "if" {
                            Node::If(inner)
                        } else {
                            Node::With(inner)
                        }])
                    }
                    None => {
                        self.expect_close("else")?;
                        let (else_list, stop) = self.list()?;
                        match stop {
                            Stop::End => Some(else_list),
                            Stop::Eof => return Err(self.err_at(self.src.len(), "unexpected EOF")),
                            Stop::Else => {
                                return Err(
                                    self.err_at(self.prev_pos(), "expected end; found {{else}}")
                                );
                            }
                        }
                    }
                }
            }
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    /// A pipeline up to `}}` (`in_action`) or `)`, with its declarations.
    fn pipeline(&mut self, context: &str, in_action: bool) -> Result<Pipe, TemplateError> {
        let pos = self.peek().pos;
        let mut decl = Vec::new();
        let mut assign = false;
        if let Tok::Var(first) = &self.peek().tok {
            let first = first.clone();
            let toks = &self.toks[self.i..];
            let op_at = match toks.get(1).map(|t| &t.tok) {
                Some(Tok::Declare | Tok::Assign) => Some(1),
                Some(Tok::Comma) => {
                    match (toks.get(2).map(|t| &t.tok), toks.get(3).map(|t| &t.tok)) {
                        (Some(Tok::Var(_)), Some(Tok::Declare | Tok::Assign)) => Some(3),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(op_at) = op_at {
                if op_at == 3 && context != "range" {
                    return Err(self.err_at(pos, format!("too many declarations in {context}")));
                }
                decl.push(first);
                if let Tok::Var(second) = &toks[2].tok
                    && op_at == 3
                {
                    decl.push(second.clone());
                }
                assign = matches!(toks[op_at].tok, Tok::Assign);
                self.i += op_at + 1;
                for v in &decl {
                    if assign {
                        if !self.vars.contains(v) {
                            return Err(self.err_at(pos, format!("undefined variable \"{v}\"")));
                        }
                    } else {
                        self.vars.push(v.clone());
                    }
                }
            }
        }
        let mut cmds = Vec::new();
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Close if in_action => {
                    self.next();
                    break;
                }
                Tok::RParen if !in_action => {
                    self.next();
                    break;
                }
                Tok::Eof if in_action => return Err(self.err_at(t.pos, "unclosed action")),
                Tok::Eof | Tok::Close => return Err(self.err_at(t.pos, "unclosed left paren")),
                Tok::RParen => return Err(self.err_at(t.pos, "unexpected right paren")),
                _ => {}
            }
            let cmd = self.command()?;
            cmds.push(cmd);
            if matches!(self.peek().tok, Tok::Pipe) {
                self.next();
                if matches!(self.peek().tok, Tok::Close | Tok::RParen | Tok::Pipe) {
                    return Err(self.err_at(self.peek().pos, "missing command"));
                }
            }
        }
        if cmds.is_empty() {
            return Err(self.err_at(pos, format!("missing value for {context}")));
        }
        for (i, c) in cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0].term,
                Term::Bool(_) | Term::Dot | Term::Nil | Term::Num(..) | Term::Str(_)
            ) {
                return Err(self.err_at(
                    c.pos,
                    format!("non executable command in pipeline stage {}", i + 1),
                ));
            }
        }
        Ok(Pipe {
            pos,
            decl,
            assign,
            cmds,
        })
    }

    /// Operands up to `|`, `}}` or `)`.
    fn command(&mut self) -> Result<Cmd, TemplateError> {
        let pos = self.peek().pos;
        let mut args = Vec::new();
        loop {
            let t = self.peek().clone();
            if matches!(t.tok, Tok::Close | Tok::RParen | Tok::Pipe | Tok::Eof) {
                break;
            }
            if !args.is_empty() && !t.spaced {
                return Err(self.unexpected(&t, "operand"));
            }
            let arg = self.operand()?;
            args.push(arg);
        }
        if args.is_empty() {
            return Err(self.err_at(pos, "missing value for command"));
        }
        Ok(Cmd { pos, args })
    }

    /// A term and the fields chained to it (`$x.A.B`, `(…).A`).
    fn operand(&mut self) -> Result<Arg, TemplateError> {
        let (mut term, mut pos) = self.term()?;
        let chained = |p: &Self| matches!(p.peek().tok, Tok::Field(_)) && !p.peek().spaced;
        if chained(self) {
            pos = self.peek().pos;
            let mut more = Vec::new();
            while chained(self) {
                if let Tok::Field(f) = self.next().tok {
                    more.push(f);
                }
            }
            match &mut term {
                Term::Field(path) | Term::Var(_, path) | Term::Paren(_, path) => path.extend(more),
                other => {
                    return Err(self.err_at(
                        pos,
                        format!(
                            "unexpected . after term {}",
                            super::go_quote(&other.to_string())
                        ),
                    ));
                }
            }
        }
        Ok(Arg { term, pos })
    }

    fn term(&mut self) -> Result<(Term, usize), TemplateError> {
        let t = self.next();
        let term = match t.tok {
            Tok::Ident(name) if KEYWORDS.contains(&name.as_str()) => {
                return Err(self.unexpected(
                    &Token {
                        tok: Tok::Ident(name),
                        ..t
                    },
                    "command",
                ));
            }
            Tok::Ident(name) => match funcs::known(&name) {
                Known::Yes => Term::Ident(name),
                Known::NotInNetlab => {
                    return Err(self.err_at(
                        t.pos,
                        format!("function \"{name}\" is not supported by netlab"),
                    ));
                }
                Known::No => {
                    return Err(self.err_at(t.pos, format!("function \"{name}\" not defined")));
                }
            },
            Tok::Dot => Term::Dot,
            Tok::Nil => Term::Nil,
            Tok::Bool(b) => Term::Bool(b),
            Tok::Num(n) => Term::Num(n, self.src[t.pos..t.end].to_string()),
            Tok::Str(s) => Term::Str(s),
            Tok::Field(f) => Term::Field(vec![f]),
            Tok::Var(name) => {
                if !self.vars.contains(&name) {
                    return Err(self.err_at(t.pos, format!("undefined variable \"{name}\"")));
                }
                Term::Var(name, vec![])
            }
            Tok::LParen => {
                self.deeper(t.pos)?;
                let pipe = self.pipeline("parenthesized pipeline", false)?;
                self.depth -= 1;
                Term::Paren(Box::new(pipe), vec![])
            }
            Tok::RParen => return Err(self.err_at(t.pos, "unexpected right paren")),
            _ => return Err(self.unexpected(&t, "operand")),
        };
        Ok((term, t.pos))
    }
}
