//! The capture filter: a small expression language in tcpdump's words, parsed once and
//! evaluated in user space on each decoded [`Frame`] (no BPF).
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := not (["and"] not)*        juxtaposition means "and": `tcp port 80`
//! not     := ("not" | "!") not | primary
//! primary := "(" expr ")" | tcp | udp | icmp | icmp6 | arp | ip | ip6
//!          | [src | dst] host ADDR | [src | dst] net CIDR | [src | dst] port N
//! ```
//! `&&`, `||` are accepted for `and`, `or`. `host` and `net` match IP addresses and ARP's
//! sender and target; `port` matches TCP and UDP ports; as in tcpdump, `icmp` is ICMP for
//! IPv4 and `icmp6` ICMPv6 (which a fresh interface sends on its own: neighbour and router
//! solicitations).

use std::fmt;
use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::model::capture::frame::{Frame, Protocol};

/// The words a filter may use, for error messages.
const WORDS: &str =
    "host, net, port, src, dst, tcp, udp, icmp, icmp6, arp, ip, ip6, and, or, not, ( )";

/// A parsed capture filter; [`Filter::matches`] evaluates it on a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    text: String,
    expr: Option<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Either,
    Src,
    Dst,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    Proto(Protocol),
    /// `ip` (4) or `ip6` (6).
    Family(u8),
    Host(Dir, IpAddr),
    Net(Dir, IpAddr, u8),
    Port(Dir, u16),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// One word of the filter with the column (1-based, in characters) where it starts.
#[derive(Debug, Clone)]
struct Tok {
    text: String,
    col: usize,
}

fn tokenize(s: &str) -> Vec<Tok> {
    let mut toks = vec![];
    let mut cur: Option<Tok> = None;
    for (i, c) in s.chars().enumerate() {
        let col = i + 1;
        if c.is_whitespace() || c == '(' || c == ')' || c == '!' {
            if let Some(t) = cur.take() {
                toks.push(t);
            }
            if !c.is_whitespace() {
                toks.push(Tok {
                    text: c.to_string(),
                    col,
                });
            }
        } else {
            cur.get_or_insert(Tok {
                text: String::new(),
                col,
            })
            .text
            .push(c);
        }
    }
    toks.extend(cur);
    toks
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Tok>,
    at: usize,
}

impl Parser<'_> {
    fn err(&self, problem: String) -> Error {
        Error::InvalidSpec {
            what: "filter".into(),
            value: self.text.into(),
            reason: problem,
        }
    }

    fn peek(&self) -> Option<&str> {
        self.toks.get(self.at).map(|t| t.text.as_str())
    }

    fn end_col(&self) -> usize {
        self.text.chars().count() + 1
    }

    fn next_tok(&mut self, wanted: &str) -> Result<Tok> {
        match self.toks.get(self.at) {
            Some(t) => {
                self.at += 1;
                Ok(t.clone())
            }
            None => Err(self.err(format!(
                "expected {wanted} at column {} (the end)",
                self.end_col()
            ))),
        }
    }

    fn or(&mut self) -> Result<Expr> {
        let mut left = self.and()?;
        while matches!(self.peek(), Some("or" | "||")) {
            self.at += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr> {
        let mut left = self.not()?;
        loop {
            match self.peek() {
                Some("and" | "&&") => self.at += 1,
                // Juxtaposition: `tcp port 80`.
                Some(w) if w != "or" && w != "||" && w != ")" => {}
                _ => break,
            }
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr> {
        if matches!(self.peek(), Some("not" | "!")) {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr> {
        let t = self.next_tok("a condition (e.g. `tcp`, `host 10.0.0.1`, `port 80`)")?;
        let dir = match t.text.as_str() {
            "src" => Some(Dir::Src),
            "dst" => Some(Dir::Dst),
            _ => None,
        };
        if let Some(dir) = dir {
            let what = self.next_tok("host, net or port")?;
            return match what.text.as_str() {
                "host" | "net" | "port" => self.qualified(dir, &what),
                w => Err(self.err(format!(
                    "expected host, net or port after {} at column {}, found {w:?}",
                    t.text, what.col
                ))),
            };
        }
        match t.text.as_str() {
            "(" => {
                let e = self.or()?;
                let close = self.next_tok("`)`")?;
                if close.text != ")" {
                    return Err(self.err(format!(
                        "expected `)` at column {}, found {:?}",
                        close.col, close.text
                    )));
                }
                Ok(e)
            }
            "tcp" => Ok(Expr::Proto(Protocol::Tcp)),
            "udp" => Ok(Expr::Proto(Protocol::Udp)),
            "icmp" => Ok(Expr::Proto(Protocol::Icmp)),
            "icmp6" => Ok(Expr::Proto(Protocol::Icmpv6)),
            "arp" => Ok(Expr::Proto(Protocol::Arp)),
            "ip" => Ok(Expr::Family(4)),
            "ip6" => Ok(Expr::Family(6)),
            "host" | "net" | "port" => self.qualified(Dir::Either, &t),
            ")" => Err(self.err(format!("unexpected `)` at column {}", t.col))),
            "and" | "or" | "&&" | "||" => Err(self.err(format!(
                "{:?} at column {} has nothing on its left; put a condition before it",
                t.text, t.col
            ))),
            w => Err(self.err(format!(
                "unknown word {w:?} at column {}; words are {WORDS}",
                t.col
            ))),
        }
    }

    /// The value after `host`, `net` or `port` (`kw`).
    fn qualified(&mut self, dir: Dir, kw: &Tok) -> Result<Expr> {
        let v = self.next_tok(&format!("a value after {}", kw.text))?;
        let bad = |p: &Self, want: &str| {
            p.err(format!(
                "{} wants {want}, found {:?} at column {}",
                kw.text, v.text, v.col
            ))
        };
        match kw.text.as_str() {
            "host" => v
                .text
                .parse::<IpAddr>()
                .map(|a| Expr::Host(dir, a))
                .map_err(|_| bad(self, "an IP address (e.g. 172.17.0.2)")),
            "port" => v
                .text
                .parse::<u16>()
                .map(|p| Expr::Port(dir, p))
                .map_err(|_| bad(self, "a port number 0-65535")),
            _ => {
                let want = "an address/prefix (e.g. 172.17.0.0/16)";
                let (a, len) = v.text.split_once('/').ok_or_else(|| bad(self, want))?;
                let a: IpAddr = a.parse().map_err(|_| bad(self, want))?;
                let max = if a.is_ipv4() { 32 } else { 128 };
                match len.parse::<u8>() {
                    Ok(l) if l <= max => Ok(Expr::Net(dir, a, l)),
                    _ => Err(bad(self, want)),
                }
            }
        }
    }
}

fn in_net(a: IpAddr, net: IpAddr, len: u8) -> bool {
    match (a, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn either<T: Copy>(dir: Dir, src: Option<T>, dst: Option<T>, f: impl Fn(T) -> bool) -> bool {
    let s = || src.is_some_and(&f);
    let d = || dst.is_some_and(&f);
    match dir {
        Dir::Either => s() || d(),
        Dir::Src => s(),
        Dir::Dst => d(),
    }
}

impl Expr {
    fn eval(&self, f: &Frame) -> bool {
        match self {
            Expr::Proto(p) => f.protocol == *p,
            Expr::Family(4) => f.ethertype == 0x0800,
            Expr::Family(_) => f.ethertype == 0x86dd,
            Expr::Host(d, a) => either(*d, f.src, f.dst, |x| x == *a),
            Expr::Net(d, n, l) => either(*d, f.src, f.dst, |x| in_net(x, *n, *l)),
            Expr::Port(d, p) => either(*d, f.src_port, f.dst_port, |x| x == *p),
            Expr::Not(e) => !e.eval(f),
            Expr::And(a, b) => a.eval(f) && b.eval(f),
            Expr::Or(a, b) => a.eval(f) || b.eval(f),
        }
    }
}

impl Filter {
    /// Parses a filter; the empty text (or only spaces) matches every frame. Errors
    /// ([`Error::InvalidSpec`] for `filter`) give the column of the word at fault.
    pub fn parse(text: &str) -> Result<Filter> {
        let mut p = Parser {
            text,
            toks: tokenize(text),
            at: 0,
        };
        if p.toks.is_empty() {
            return Ok(Filter {
                text: String::new(),
                expr: None,
            });
        }
        let expr = p.or()?;
        if let Some(t) = p.toks.get(p.at) {
            return Err(p.err(format!("unexpected {:?} at column {}", t.text, t.col)));
        }
        Ok(Filter {
            text: text.trim().to_string(),
            expr: Some(expr),
        })
    }

    /// Whether the frame passes.
    pub fn matches(&self, f: &Frame) -> bool {
        self.expr.as_ref().is_none_or(|e| e.eval(f))
    }

    /// Whether this filter lets everything through.
    pub fn is_empty(&self) -> bool {
        self.expr.is_none()
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::capture::frame::build::*;

    fn frames() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            (
                "syn",
                tcp([172, 17, 0, 3], 40000, [172, 17, 0, 2], 27017, 0x02, 0),
            ),
            (
                "http",
                tcp([10, 2, 0, 1], 40001, [10, 2, 0, 10], 8080, 0x02, 0),
            ),
            ("dns", udp([172, 17, 0, 3], 5353, [8, 8, 8, 8], 53, 20)),
            ("ping", icmp([172, 17, 0, 3], [172, 17, 0, 1], 8)),
            ("arp", arp(1, [172, 17, 0, 3], [172, 17, 0, 2])),
        ]
    }

    fn selected(filter: &str) -> Vec<&'static str> {
        let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        frames()
            .into_iter()
            .filter(|(_, b)| f.matches(&Frame::parse(b)))
            .map(|(n, _)| n)
            .collect()
    }

    #[test]
    fn filters_select_frames() {
        let cases: &[(&str, &[&str])] = &[
            ("", &["syn", "http", "dns", "ping", "arp"]),
            ("tcp", &["syn", "http"]),
            ("udp", &["dns"]),
            ("icmp", &["ping"]),
            ("icmp6", &[]),
            ("arp", &["arp"]),
            ("ip", &["syn", "http", "dns", "ping"]),
            ("ip6", &[]),
            ("tcp port 27017", &["syn"]),
            ("tcp and port 27017", &["syn"]),
            ("port 27017 or port 53", &["syn", "dns"]),
            ("dst port 8080", &["http"]),
            ("src port 8080", &[]),
            ("host 172.17.0.2", &["syn", "arp"]),
            ("src host 172.17.0.3", &["syn", "dns", "ping", "arp"]),
            ("dst host 172.17.0.3", &[]),
            ("net 10.0.0.0/8", &["http"]),
            ("dst net 172.17.0.0/16", &["syn", "ping", "arp"]),
            ("not arp", &["syn", "http", "dns", "ping"]),
            ("! tcp", &["dns", "ping", "arp"]),
            ("not (tcp or udp)", &["ping", "arp"]),
            ("tcp || icmp && host 172.17.0.1", &["syn", "http", "ping"]),
            ("(tcp or icmp) and host 172.17.0.1", &["ping"]),
            ("not not arp", &["arp"]),
            ("net 0.0.0.0/0 and not net 172.16.0.0/12", &["http"]),
        ];
        for (filter, want) in cases {
            assert_eq!(selected(filter), *want, "filter {filter:?}");
        }
    }

    #[test]
    fn errors_point_at_the_column() {
        let cases = [
            (
                "tcp and por 80",
                "unknown word \"por\" at column 9; words are host",
            ),
            (
                "port http",
                "port wants a port number 0-65535, found \"http\" at column 6",
            ),
            ("port 70000", "found \"70000\" at column 6"),
            ("host 10.0.0", "host wants an IP address"),
            ("net 10.0.0.0", "net wants an address/prefix"),
            ("net 10.0.0.0/33", "found \"10.0.0.0/33\" at column 5"),
            (
                "tcp and",
                "expected a condition (e.g. `tcp`, `host 10.0.0.1`, `port 80`) at column 8 (the end)",
            ),
            ("(tcp", "expected `)` at column 5 (the end)"),
            ("tcp)", "unexpected \")\" at column 4"),
            ("or tcp", "\"or\" at column 1 has nothing on its left"),
            (
                "src tcp",
                "expected host, net or port after src at column 5, found \"tcp\"",
            ),
            ("port", "expected a value after port at column 5 (the end)"),
        ];
        for (filter, want) in cases {
            let e = Filter::parse(filter).unwrap_err();
            let text = e.to_string();
            assert!(
                matches!(&e, Error::InvalidSpec { what, .. } if what == "filter"),
                "{e:?}"
            );
            assert!(text.contains(want), "filter {filter:?}: {text}");
            assert!(text.contains(&format!("{filter:?}")), "{text}");
        }
    }

    #[test]
    fn display_is_the_text() {
        assert_eq!(
            Filter::parse(" tcp  port 80 ").unwrap().to_string(),
            "tcp  port 80"
        );
        assert!(Filter::parse("   ").unwrap().is_empty());
    }
}
