//! Running a parsed template over a document, as Go's `text/template/exec` does.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Number, Value};

use super::funcs::{self, FnError, truth};
use super::lex::{Num, line_of};
use super::parse::{Arg, Branch, Cmd, Node, Pipe, Term};
use super::{MAX_OUTPUT, MAX_STEPS, Options, TemplateError, go_print, go_quote};

/// A value during a run: `None` is Go's invalid value (a missing key), printed
/// `<no value>`; values of the document are borrowed, computed ones owned.
pub(super) type Val<'d> = Option<Cow<'d, Value>>;

/// A part of `v` chosen by `pick`, borrowed when `v` is.
pub(super) fn child<'d>(
    v: Cow<'d, Value>,
    pick: impl for<'x> Fn(&'x Value) -> Option<&'x Value>,
) -> Val<'d> {
    match v {
        Cow::Borrowed(b) => pick(b).map(Cow::Borrowed),
        Cow::Owned(o) => pick(&o).cloned().map(Cow::Owned),
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

struct Run<'d, 'r> {
    src: &'r str,
    opts: &'r Options<'d>,
    vars: Vec<(String, Val<'d>)>,
    out: String,
    steps: u64,
}

pub(super) fn run<'d>(
    src: &str,
    nodes: &[Node],
    data: &'d Value,
    opts: &Options<'d>,
) -> Result<String, TemplateError> {
    let mut r = Run {
        src,
        opts,
        vars: vec![("$".into(), Some(Cow::Borrowed(data)))],
        out: String::new(),
        steps: 0,
    };
    r.walk(&Some(Cow::Borrowed(data)), nodes)?;
    Ok(r.out)
}

/// Go unwraps a nil interface after each command: a JSON null becomes "no value".
fn dig(v: Val<'_>) -> Val<'_> {
    v.filter(|v| !v.is_null())
}

fn literal(term: &Term) -> Val<'static> {
    let v = match term {
        Term::Bool(b) => Value::Bool(*b),
        Term::Num(Num::Int(i), _) => Value::from(*i),
        Term::Num(Num::Float(f), _) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Term::Str(s) => Value::String(s.clone()),
        _ => Value::Null,
    };
    Some(Cow::Owned(v))
}

impl<'d> Run<'d, '_> {
    /// Go's message: `template: :LINE:COL: executing "" at <NODE>: WHAT`, the column being
    /// the byte offset in its line (0-based, as Go counts it).
    fn fail(&self, pos: usize, node: &dyn fmt::Display, what: impl fmt::Display) -> TemplateError {
        let pos = pos.min(self.src.len());
        let col = match self.src[..pos].rfind('\n') {
            None => pos,
            Some(nl) => pos - nl - 1,
        };
        TemplateError::exec(format!(
            "template: :{}:{col}: executing \"\" at <{}>: {what}",
            line_of(self.src, pos),
            crate::error::clip(&node.to_string()),
        ))
    }

    fn step(&mut self) -> Result<(), TemplateError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(TemplateError::exec(format!(
                "template: netlab stopped it after {MAX_STEPS} steps; it would run too long"
            )));
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> Result<(), TemplateError> {
        if self.out.len() + s.len() > MAX_OUTPUT {
            return Err(TemplateError::exec(format!(
                "template: the output is larger than {MAX_OUTPUT} bytes (netlab's limit)"
            )));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn walk(&mut self, dot: &Val<'d>, nodes: &[Node]) -> Result<Flow, TemplateError> {
        for node in nodes {
            self.step()?;
            let flow = match node {
                Node::Text(s) => {
                    self.write(s)?;
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let v = self.pipe(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        self.print(&v)?;
                    }
                    Flow::Normal
                }
                Node::If(b) => self.if_or_with(dot, b, false)?,
                Node::With(b) => self.if_or_with(dot, b, true)?,
                Node::Range(b) => self.range(dot, b)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn print(&mut self, v: &Val<'d>) -> Result<(), TemplateError> {
        match v.as_deref() {
            None => self.write("<no value>"),
            Some(Value::String(s)) => self.write(s),
            Some(other) => {
                let mut s = String::new();
                go_print(&mut s, other);
                self.write(&s)
            }
        }
    }

    fn if_or_with(&mut self, dot: &Val<'d>, b: &Branch, with: bool) -> Result<Flow, TemplateError> {
        let mark = self.vars.len();
        let v = self.pipe(dot, &b.pipe)?;
        let flow = if truth(&v) {
            let inner = if with { v } else { dot.clone() };
            self.walk(&inner, &b.list)?
        } else if let Some(e) = &b.else_list {
            self.walk(dot, e)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn range(&mut self, dot: &Val<'d>, b: &Branch) -> Result<Flow, TemplateError> {
        let mark = self.vars.len();
        let v = self.pipe(dot, &b.pipe)?;
        let items: Vec<(Val<'d>, Val<'d>)> = match v {
            None => vec![],
            Some(Cow::Borrowed(Value::Array(a))) => a
                .iter()
                .enumerate()
                .map(|(i, e)| (Some(Cow::Owned(Value::from(i))), Some(Cow::Borrowed(e))))
                .collect(),
            Some(Cow::Owned(Value::Array(a))) => a
                .into_iter()
                .enumerate()
                .map(|(i, e)| (Some(Cow::Owned(Value::from(i))), Some(Cow::Owned(e))))
                .collect(),
            Some(Cow::Borrowed(Value::Object(m))) => super::sorted_keys(m)
                .into_iter()
                .map(|k| {
                    (
                        Some(Cow::Owned(Value::String(k.clone()))),
                        Some(Cow::Borrowed(&m[k])),
                    )
                })
                .collect(),
            Some(Cow::Owned(Value::Object(m))) => {
                let mut pairs: Vec<(String, Value)> = m.into_iter().collect();
                pairs.sort_by(|x, y| x.0.cmp(&y.0));
                pairs
                    .into_iter()
                    .map(|(k, e)| (Some(Cow::Owned(Value::String(k))), Some(Cow::Owned(e))))
                    .collect()
            }
            Some(other) => {
                let mut shown = String::new();
                go_print(&mut shown, &other);
                return Err(self.fail(
                    b.pipe.pos,
                    &b.pipe,
                    format!("range can't iterate over {}", crate::error::clip(&shown)),
                ));
            }
        };
        let inner = self.vars.len();
        let mut flow = Flow::Normal;
        if items.is_empty()
            && let Some(e) = &b.else_list
        {
            flow = self.walk(dot, e)?;
        }
        for (key, elem) in items {
            self.step()?;
            // One variable is the element, two are the key (or position) and the element.
            let values: Vec<Val<'d>> = match b.pipe.decl.len() {
                0 => vec![],
                1 => vec![elem.clone()],
                _ => vec![key, elem.clone()],
            };
            for (name, value) in b.pipe.decl.iter().zip(values) {
                self.set(name, value);
            }
            let f = self.walk(&elem, &b.list)?;
            self.vars.truncate(inner);
            if matches!(f, Flow::Break) {
                break;
            }
        }
        self.vars.truncate(mark);
        // `{{break}}` in the body ends this range only; from the else list it is the
        // enclosing range's.
        Ok(flow)
    }

    /// Sets the innermost variable of that name: the one a range just declared, or the
    /// visible one `=` assigns to.
    fn set(&mut self, name: &str, value: Val<'d>) {
        if let Some(i) = self.vars.iter().rposition(|(n, _)| n == name) {
            self.vars[i].1 = value;
        }
    }

    fn var(&self, name: &str, arg: &Arg) -> Result<Val<'d>, TemplateError> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.fail(arg.pos, &arg.term, format!("undefined variable: {name}"))),
        }
    }

    fn pipe(&mut self, dot: &Val<'d>, pipe: &Pipe) -> Result<Val<'d>, TemplateError> {
        let mut value: Option<Val<'d>> = None;
        for cmd in &pipe.cmds {
            self.step()?;
            let v = self.command(dot, cmd, value.take())?;
            value = Some(dig(v));
        }
        let v = value.flatten();
        for name in &pipe.decl {
            if pipe.assign {
                self.set(name, v.clone());
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn command(
        &mut self,
        dot: &Val<'d>,
        cmd: &Cmd,
        last: Option<Val<'d>>,
    ) -> Result<Val<'d>, TemplateError> {
        let first = &cmd.args[0];
        let has_args = cmd.args.len() > 1 || last.is_some();
        let not_a_function = |r: &Self| {
            if has_args {
                Err(r.fail(
                    first.pos,
                    &first.term,
                    format!("can't give argument to non-function {}", first.term),
                ))
            } else {
                Ok(())
            }
        };
        match &first.term {
            Term::Field(path) => self.chain(dot.clone(), path, first, has_args),
            Term::Var(name, path) => {
                let v = self.var(name, first)?;
                if path.is_empty() {
                    not_a_function(self)?;
                    Ok(v)
                } else {
                    self.chain(v, path, first, has_args)
                }
            }
            Term::Paren(p, path) => {
                let v = self.pipe(dot, p)?;
                if path.is_empty() {
                    not_a_function(self)?;
                    Ok(v)
                } else {
                    self.chain(v, path, first, has_args)
                }
            }
            Term::Ident(name) => self.call(dot, name, &cmd.args[1..], last, cmd.pos, cmd),
            Term::Nil => Err(self.fail(first.pos, &first.term, "nil is not a command")),
            Term::Dot => {
                not_a_function(self)?;
                Ok(dot.clone())
            }
            term => {
                not_a_function(self)?;
                Ok(literal(term))
            }
        }
    }

    /// `.A.B` from `receiver`; the last field gets the command's arguments, which a field
    /// of data cannot take.
    fn chain(
        &self,
        receiver: Val<'d>,
        path: &[String],
        arg: &Arg,
        has_args: bool,
    ) -> Result<Val<'d>, TemplateError> {
        let mut cur = receiver;
        for (i, name) in path.iter().enumerate() {
            let args_here = has_args && i + 1 == path.len();
            cur = self.field(cur, name, arg, args_here)?;
        }
        Ok(cur)
    }

    fn field(
        &self,
        receiver: Val<'d>,
        name: &str,
        arg: &Arg,
        has_args: bool,
    ) -> Result<Val<'d>, TemplateError> {
        let fail = |what: String| self.fail(arg.pos, &arg.term, what);
        let Some(v) = receiver else {
            return if self.opts.missing_key_error {
                Err(fail(format!(
                    "nil data; no entry for key {}",
                    go_quote(name)
                )))
            } else {
                Ok(None)
            };
        };
        match v.as_ref() {
            Value::Object(m) => {
                if has_args {
                    return Err(fail(format!("{name} is not a method but has arguments")));
                }
                if !m.contains_key(name) {
                    let (exempt, zero) = match &v {
                        Cow::Borrowed(Value::Object(bm)) => (
                            self.opts.maps.iter().any(|x| std::ptr::eq(*x, bm)),
                            self.opts
                                .omitted
                                .iter()
                                .any(|(x, fields)| std::ptr::eq(*x, bm) && fields.contains(&name)),
                        ),
                        _ => (false, false),
                    };
                    if zero {
                        return Ok(Some(Cow::Owned(Value::String(String::new()))));
                    }
                    return if self.opts.missing_key_error && !exempt {
                        Err(fail(format!("map has no entry for key {}", go_quote(name))))
                    } else {
                        Ok(None)
                    };
                }
                Ok(child(v, |x| x.get(name)))
            }
            Value::Null => Err(fail(format!(
                "nil pointer evaluating interface {{}}.{name}"
            ))),
            other => Err(fail(format!(
                "can't evaluate field {name} in type {}",
                funcs::go_type(Some(other))
            ))),
        }
    }

    /// An argument of a function.
    fn arg(&mut self, dot: &Val<'d>, arg: &Arg) -> Result<Val<'d>, TemplateError> {
        match &arg.term {
            Term::Dot => Ok(dot.clone()),
            Term::Field(path) => self.chain(dot.clone(), path, arg, false),
            Term::Var(name, path) => {
                let v = self.var(name, arg)?;
                self.chain(v, path, arg, false)
            }
            Term::Paren(p, path) => {
                let v = self.pipe(dot, p)?;
                self.chain(v, path, arg, false)
            }
            Term::Ident(name) => self.call(dot, name, &[], None, arg.pos, &arg.term),
            term => Ok(literal(term)),
        }
    }

    fn call(
        &mut self,
        dot: &Val<'d>,
        name: &str,
        args: &[Arg],
        last: Option<Val<'d>>,
        pos: usize,
        node: &dyn fmt::Display,
    ) -> Result<Val<'d>, TemplateError> {
        if name == "and" || name == "or" {
            // Go 1.18 on: evaluated left to right, stopping at the first that decides.
            let count = args.len() + usize::from(last.is_some());
            if count == 0 {
                return Err(self.fail(
                    pos,
                    node,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let mut v = None;
            for a in args {
                v = self.arg(dot, a)?;
                if truth(&v) == (name == "or") {
                    return Ok(v);
                }
            }
            return Ok(last.unwrap_or(v));
        }
        let mut values = Vec::with_capacity(args.len() + 1);
        for a in args {
            values.push(self.arg(dot, a)?);
        }
        values.extend(last);
        funcs::call(name, values, self.opts.header).map_err(|e| match e {
            FnError::Call(m) => self.fail(pos, node, format!("error calling {name}: {m}")),
            FnError::Args(m) => self.fail(pos, node, m),
        })
    }
}
