//! One query in, one answer out: the bytes of a client's message and its [`View`] of the
//! zone give the bytes to send back, or say that the name is not the lab's. Pure (no
//! sockets, no clock), so every rule is unit-tested with queries built by hickory.
//!
//! What the answers look like, after Docker's embedded resolver (moby's
//! `libnetwork/resolver.go`) where it has a rule:
//!
//! - a response has RA set and AA clear, copies RD and CD, and its records have TTL 600;
//! - A and AAAA give the name's addresses of that family (in the view's order; Docker
//!   shuffles them); a lab name with none of that family, or asked with another type
//!   (MX, TXT, ...), gives NOERROR with no answer (NODATA), never a forward: Docker does
//!   that for A, AAAA and MX and forwards the other types, but a lab name has no other
//!   records anywhere, so an upstream could only answer wrongly;
//! - ANY for a lab name gives its A and AAAA records;
//! - PTR for an address of one of the querier's networks gives `NAME.NETWORK.` (Docker's
//!   form) from the first such network: the name the caller set for it, or one record
//!   per name the address has when the caller set none;
//! - a name that is not the lab's is the caller's: [`Outcome::NotInLab`] carries the
//!   question to refuse, or to forward and relay the upstream's answer with
//!   [`Question::relay`];
//! - bad input: what is not even a 12-byte header, or is a response, is dropped; a header
//!   followed by garbage gets FORMERR; an opcode other than QUERY gets NOTIMP; not
//!   exactly one question gets FORMERR (Docker's DNS library refuses the same); an EDNS
//!   version above 0 gets BADVERS;
//! - size: an answer over UDP fits in 512 bytes, or in the query's EDNS payload size
//!   (capped at [`UDP_MAX`]); records that do not fit are left out and TC is set, so the
//!   client asks again over TCP, where answers go up to 65,535 bytes. A query with an OPT
//!   record gets one back (RFC 6891).

use std::net::IpAddr;

use hickory_proto::op::{
    Edns, Header, Message, MessageType, Metadata, OpCode, Query, ResponseCode,
};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};

use super::zone::View;

/// TTL of the lab's records, Docker's `respTTL`.
pub(crate) const TTL: u32 = 600;
/// The largest UDP answer without EDNS (RFC 1035).
pub(crate) const UDP_MIN: usize = 512;
/// The largest UDP answer whatever the client's EDNS says; also the payload size the
/// server announces. Loopback carries far more, but nothing a lab asks needs it.
pub(crate) const UDP_MAX: usize = 4096;
/// The largest message TCP's 2-byte length can frame.
pub(crate) const TCP_MAX: usize = 65535;

/// Which transport a query came by, which bounds the answer's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Udp,
    Tcp,
}

/// A well-formed query for a name that is not the lab's, kept to answer it later.
#[derive(Debug, Clone)]
pub(crate) struct Question {
    query: Message,
    /// The most bytes the client takes back.
    limit: usize,
}

/// What to do with a message a client sent.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Send these bytes back.
    Reply(Vec<u8>),
    /// Not a lab name: refuse it or forward it.
    NotInLab(Question),
    /// Not a query one can answer (too short, or a response): send nothing.
    Ignore,
}

/// Answers the message `packet` from a querier with `view`.
pub(crate) fn answer(packet: &[u8], view: &View<'_>, transport: Transport) -> Outcome {
    let Ok(header) = Header::read(&mut BinDecoder::new(packet)) else {
        tracing::debug!("dns: {} bytes are no DNS header; ignored", packet.len());
        return Outcome::Ignore;
    };
    if header.metadata.message_type == MessageType::Response {
        // Answering a response could make two servers talk to each other forever.
        tracing::debug!("dns: a response sent to the server; ignored");
        return Outcome::Ignore;
    }
    let query = match Message::from_vec(packet) {
        Ok(query) => query,
        Err(e) => {
            tracing::debug!("dns: undecodable query ({e}); FORMERR");
            return error(&header.metadata, ResponseCode::FormErr, transport);
        }
    };
    let limit = limit(&query, transport);
    if query.metadata.op_code != OpCode::Query {
        tracing::debug!("dns: opcode {:?}; NOTIMP", query.metadata.op_code);
        return reply_to(&query, ResponseCode::NotImp, limit);
    }
    let [question] = query.queries.as_slice() else {
        tracing::debug!("dns: {} questions; FORMERR", query.queries.len());
        return reply_to(&query, ResponseCode::FormErr, limit);
    };
    if query.edns.as_ref().is_some_and(|e| e.version() > 0) {
        tracing::debug!("dns: EDNS version above 0; BADVERS");
        return reply_to(&query, ResponseCode::BADVERS, limit);
    }
    match records(question, view) {
        Some(records) => {
            tracing::debug!(
                "dns: {} {} is a lab name: {} record(s)",
                question.query_type(),
                question.name(),
                records.len()
            );
            let mut resp = response(&query, ResponseCode::NoError);
            resp.answers = records;
            encode(resp, limit).map_or(Outcome::Ignore, Outcome::Reply)
        }
        None => Outcome::NotInLab(Question { query, limit }),
    }
}

/// The lab's records answering `q`, `None` when its name is not a lab name.
fn records(q: &Query, view: &View<'_>) -> Option<Vec<Record>> {
    if q.query_class() != DNSClass::IN {
        return None;
    }
    let name = q.name();
    if q.query_type() == RecordType::PTR {
        let net = name.parse_arpa_name().ok()?;
        let full = if net.addr().is_ipv4() { 32 } else { 128 };
        if net.prefix_len() != full {
            return None;
        }
        let ptrs = view
            .reverse(net.addr())?
            .into_iter()
            .filter_map(|target| Name::from_ascii(format!("{target}.")).ok())
            .map(|target| Record::from_rdata(name.clone(), TTL, RData::PTR(PTR(target))))
            .collect();
        return Some(ptrs);
    }
    let addrs = view.lookup(&plain(name)?)?;
    let wanted = |addr: &IpAddr| match q.query_type() {
        RecordType::A => addr.is_ipv4(),
        RecordType::AAAA => addr.is_ipv6(),
        RecordType::ANY => true,
        _ => false,
    };
    let records = addrs
        .into_iter()
        .filter(wanted)
        .map(|addr| {
            let data = match addr {
                IpAddr::V4(v4) => RData::A(A(v4)),
                IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
            };
            Record::from_rdata(name.clone(), TTL, data)
        })
        .collect();
    Some(records)
}

/// A name from the wire as the zone spells names, `None` when a label holds something
/// no lab name has (a dot, a byte that is not printable ASCII).
fn plain(name: &Name) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    for label in name.iter() {
        if label.iter().any(|b| *b == b'.' || !b.is_ascii_graphic()) {
            return None;
        }
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(std::str::from_utf8(label).ok()?);
    }
    Some(out)
}

/// The most bytes a client of `transport` takes: 512 over UDP, or its EDNS payload size
/// up to [`UDP_MAX`]; 65,535 over TCP.
fn limit(query: &Message, transport: Transport) -> usize {
    match transport {
        Transport::Tcp => TCP_MAX,
        Transport::Udp => usize::from(query.max_payload()).clamp(UDP_MIN, UDP_MAX),
    }
}

/// A response to `query` with no records yet: its question, RD and CD copied, RA set, AA
/// clear (what Docker sends), and an OPT record when the query had one.
fn response(query: &Message, rcode: ResponseCode) -> Message {
    let mut metadata = Metadata::response_from_request(&query.metadata);
    metadata.recursion_available = true;
    metadata.response_code = rcode;
    let mut resp = Message::response(metadata.id, metadata.op_code);
    resp.metadata = metadata;
    resp.queries = query.queries.clone();
    if query.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(UDP_MAX as u16);
        resp.set_edns(edns);
    }
    resp
}

fn reply_to(query: &Message, rcode: ResponseCode, limit: usize) -> Outcome {
    encode(response(query, rcode), limit).map_or(Outcome::Ignore, Outcome::Reply)
}

/// An error answer when only the header could be read: no question to echo.
fn error(request: &Metadata, rcode: ResponseCode, transport: Transport) -> Outcome {
    let mut metadata = Metadata::response_from_request(request);
    metadata.recursion_available = true;
    metadata.response_code = rcode;
    let mut resp = Message::response(metadata.id, metadata.op_code);
    resp.metadata = metadata;
    let limit = match transport {
        Transport::Tcp => TCP_MAX,
        Transport::Udp => UDP_MIN,
    };
    encode(resp, limit).map_or(Outcome::Ignore, Outcome::Reply)
}

/// `msg` in at most `limit` bytes: whole if it fits, else with the records that fit in
/// front of its OPT record and TC set. `None` only if hickory cannot encode it at all.
fn encode(mut msg: Message, limit: usize) -> Option<Vec<u8>> {
    let whole = msg.to_vec().ok()?;
    if whole.len() <= limit {
        return Some(whole);
    }
    // hickory's encoder leaves out whole records past a size and counts what it wrote;
    // the OPT record is set aside first, so records make room for it and it survives.
    let edns = msg.edns.take();
    let opt_len = match &edns {
        Some(e) => Record::from(e).to_bytes().ok()?.len(),
        None => 0,
    };
    let room = u16::try_from(limit.checked_sub(opt_len)?).ok()?;
    let mut buf = Vec::with_capacity(limit);
    let mut encoder = BinEncoder::new(&mut buf);
    encoder.set_max_size(room);
    // The header and question always fit: a name is at most 255 bytes.
    msg.emit(&mut encoder).ok()?;
    let counts = Header::read(&mut BinDecoder::new(&buf)).ok()?.counts;
    msg.answers.truncate(counts.answers.into());
    msg.authorities.truncate(counts.authorities.into());
    msg.additionals.truncate(counts.additionals.into());
    msg.metadata.truncation = true;
    msg.edns = edns;
    msg.to_vec().ok()
}

impl Question {
    /// The client's query ID.
    pub(crate) fn id(&self) -> u16 {
        self.query.metadata.id
    }

    /// `TYPE NAME`, for logs.
    pub(crate) fn describe(&self) -> String {
        self.query
            .queries
            .first()
            .map(|q| format!("{} {}", q.query_type(), q.name()))
            .unwrap_or_default()
    }

    /// An answer with no records and `rcode` (REFUSED, SERVFAIL).
    pub(crate) fn reply(&self, rcode: ResponseCode) -> Vec<u8> {
        match reply_to(&self.query, rcode, self.limit) {
            Outcome::Reply(bytes) => bytes,
            // An empty answer to a question that decoded always encodes; if hickory ever
            // disagrees, the client times out, which is what SERVFAIL would say too.
            _ => Vec::new(),
        }
    }

    /// The query to send upstream, under the server's own ID `id`.
    pub(crate) fn upstream_query(&self, id: u16) -> Option<Vec<u8>> {
        let mut query = self.query.clone();
        query.metadata.id = id;
        query.to_vec().ok()
    }

    /// The upstream's `answer`, if it answers this question, re-encoded for the client:
    /// the client's ID, within the client's size (TC set when records had to go).
    pub(crate) fn relay(&self, answer: &Message) -> Option<Vec<u8>> {
        if answer.metadata.message_type != MessageType::Response
            || answer.queries != self.query.queries
        {
            return None;
        }
        let mut answer = answer.clone();
        answer.metadata.id = self.id();
        encode(answer, self.limit)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::str::FromStr;

    use super::*;
    use crate::dns::zone::Zone;

    fn zone() -> Zone {
        let mut z = Zone::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut names = BTreeMap::new();
        names.insert("web".to_string(), vec![ip("10.0.0.2"), ip("fd00::2")]);
        names.insert("db".to_string(), vec![ip("10.0.0.3")]);
        names.insert("v6".to_string(), vec![ip("fd00::6")]);
        // 100 addresses: 100 A records (16 bytes each, compressed) are over 512 bytes.
        names.insert(
            "many".to_string(),
            (0..100u8).map(|i| ip(&format!("10.0.1.{i}"))).collect(),
        );
        z.set_names("front", names);
        z
    }

    fn query(name: &str, rtype: RecordType) -> Message {
        let mut m = Message::query();
        m.metadata.id = 0x1234;
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_str(name).unwrap(), rtype));
        m
    }

    fn ask(msg: &Message, transport: Transport) -> Outcome {
        let z = zone();
        let networks = vec!["front".to_string()];
        answer(&msg.to_vec().unwrap(), &z.view(&networks), transport)
    }

    fn reply(msg: &Message, transport: Transport) -> (Message, usize) {
        match ask(msg, transport) {
            Outcome::Reply(bytes) => (Message::from_vec(&bytes).unwrap(), bytes.len()),
            other => panic!("{msg}: {other:?}"),
        }
    }

    use crate::dns::testns::record_texts as addrs;

    /// A, AAAA, ANY, NODATA, PTR, case and trailing dots: the records, the rcode and the
    /// header bits of each answer.
    #[test]
    fn lab_names() {
        let cases: &[(&str, RecordType, &[&str])] = &[
            // (names on the wire are always absolute: the zone's tests cover "web" vs "web.")
            ("web.", RecordType::A, &["10.0.0.2"]),
            ("WeB.", RecordType::A, &["10.0.0.2"]),
            ("web.", RecordType::AAAA, &["fd00::2"]),
            ("web.", RecordType::ANY, &["10.0.0.2", "fd00::2"]),
            ("db.front.", RecordType::A, &["10.0.0.3"]),
            // NODATA: a lab name without that family, or another type
            ("db.", RecordType::AAAA, &[]),
            ("v6.", RecordType::A, &[]),
            ("web.", RecordType::MX, &[]),
            ("web.", RecordType::TXT, &[]),
            // PTR, v4 and v6, Docker's NAME.NETWORK form
            ("2.0.0.10.in-addr.arpa.", RecordType::PTR, &["web.front."]),
            (
                "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
                RecordType::PTR,
                &["web.front."],
            ),
        ];
        for (name, rtype, want) in cases {
            let q = query(name, *rtype);
            for transport in [Transport::Udp, Transport::Tcp] {
                let (r, _) = reply(&q, transport);
                assert_eq!(addrs(&r), *want, "{name} {rtype}");
                assert_eq!(r.metadata.response_code, ResponseCode::NoError);
                assert_eq!(r.metadata.id, 0x1234);
                assert_eq!(r.metadata.message_type, MessageType::Response);
                assert!(r.metadata.recursion_available, "RA like Docker");
                assert!(r.metadata.recursion_desired, "RD copied");
                assert!(!r.metadata.authoritative, "no AA, like Docker");
                assert!(!r.metadata.truncation);
                assert_eq!(r.queries, q.queries, "question echoed");
                assert!(r.answers.iter().all(|a| a.ttl == TTL));
                // the answer's owner is the name as asked (case kept)
                assert!(
                    r.answers
                        .iter()
                        .all(|a| a.name.to_string() == q.queries[0].name().to_string())
                );
                assert!(r.edns.is_none(), "no OPT unless asked");
            }
        }
    }

    #[test]
    fn names_not_in_the_lab_are_the_callers() {
        let cases: &[(&str, RecordType)] = &[
            ("example.org.", RecordType::A),
            ("cache.", RecordType::AAAA),
            ("web.back.", RecordType::A),
            ("9.9.9.9.in-addr.arpa.", RecordType::PTR),
            // a network, not an address: not the lab's
            ("0.10.in-addr.arpa.", RecordType::PTR),
            ("web.", RecordType::PTR),
            (".", RecordType::NS),
        ];
        for (name, rtype) in cases {
            let q = query(name, *rtype);
            let Outcome::NotInLab(question) = ask(&q, Transport::Udp) else {
                panic!("{name} {rtype} should not be the lab's");
            };
            assert_eq!(question.id(), 0x1234);
            for rcode in [ResponseCode::Refused, ResponseCode::ServFail] {
                let r = Message::from_vec(&question.reply(rcode)).unwrap();
                assert_eq!(r.metadata.response_code, rcode);
                assert_eq!(r.metadata.id, 0x1234);
                assert_eq!(r.queries, q.queries);
                assert!(r.answers.is_empty());
            }
        }
        // another class is not the lab's either
        let mut q = query("web.", RecordType::A);
        q.queries[0].set_query_class(DNSClass::CH);
        assert!(matches!(ask(&q, Transport::Udp), Outcome::NotInLab(_)));
    }

    #[test]
    fn malformed_and_unsupported_queries() {
        let z = zone();
        let networks = vec!["front".to_string()];
        let view = z.view(&networks);
        let good = query("web.", RecordType::A).to_vec().unwrap();
        // No header, or a response: nothing is sent.
        for bytes in [&[][..], &[0u8; 5][..], &good[..11]] {
            assert!(matches!(
                answer(bytes, &view, Transport::Udp),
                Outcome::Ignore
            ));
        }
        let mut resp = query("web.", RecordType::A);
        resp.metadata.message_type = MessageType::Response;
        assert!(matches!(
            answer(&resp.to_vec().unwrap(), &view, Transport::Udp),
            Outcome::Ignore
        ));
        // A header and garbage: FORMERR with the client's ID.
        let mut garbage = good[..12].to_vec();
        garbage.extend_from_slice(&[0xff; 40]);
        let mut cut = good.clone();
        cut.truncate(good.len() - 3);
        for bytes in [garbage, cut] {
            let Outcome::Reply(r) = answer(&bytes, &view, Transport::Udp) else {
                panic!("FORMERR expected");
            };
            let r = Message::from_vec(&r).unwrap();
            assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
            assert_eq!(r.metadata.id, 0x1234);
        }
        // Two questions, none: FORMERR. NOTIFY, STATUS: NOTIMP. EDNS version 1: BADVERS.
        let mut two = query("web.", RecordType::A);
        two.add_query(Query::query(Name::from_str("db.").unwrap(), RecordType::A));
        let mut none = query("web.", RecordType::A);
        none.queries.clear();
        let mut notify = query("web.", RecordType::A);
        notify.metadata.op_code = OpCode::Notify;
        let mut status = query("web.", RecordType::A);
        status.metadata.op_code = OpCode::Status;
        let mut v1 = query("web.", RecordType::A);
        let mut edns = Edns::new();
        edns.set_version(1);
        v1.set_edns(edns);
        for (msg, rcode) in [
            (two, ResponseCode::FormErr),
            (none, ResponseCode::FormErr),
            (notify, ResponseCode::NotImp),
            (status, ResponseCode::NotImp),
            (v1, ResponseCode::BADVERS),
        ] {
            let (r, _) = reply(&msg, Transport::Udp);
            // By number: 16 is BADVERS in an OPT and BADSIG in a TSIG, and hickory decodes
            // it as the latter.
            assert_eq!(
                u16::from(r.metadata.response_code),
                u16::from(rcode),
                "{msg}"
            );
            assert!(r.answers.is_empty());
        }
        // Valid queries with bytes flipped, cut or repeated never panic.
        let mut edns_query = query("2.0.0.10.in-addr.arpa.", RecordType::PTR);
        edns_query.set_edns(Edns::new());
        let seeds = [good.clone(), edns_query.to_vec().unwrap()];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let mut bytes = seeds[round % 2].clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % bytes.len();
                match next() % 3 {
                    0 => bytes[at] = next() as u8,
                    1 => bytes.truncate(at.max(12)),
                    _ => bytes.extend_from_within(at..),
                }
            }
            let _ = answer(&bytes, &view, Transport::Udp);
        }
        // Random bytes never panic.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..600 {
            let bytes: Vec<u8> = (0..len % 97)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = answer(&bytes, &view, Transport::Udp);
            let mut framed = good[..12].to_vec();
            framed.extend_from_slice(&bytes);
            framed[2] &= 0x7f; // a query, so decoding goes on past the header
            let _ = answer(&framed, &view, Transport::Tcp);
        }
    }

    /// 100 addresses: over UDP without EDNS the answer fits 512 bytes with TC set; with an
    /// EDNS size of 4096, and over TCP, all 100 come.
    #[test]
    fn truncation() {
        let plain = query("many.", RecordType::A);
        let (r, len) = reply(&plain, Transport::Udp);
        assert!(len <= UDP_MIN, "{len} bytes");
        assert!(r.metadata.truncation, "TC set");
        assert!(
            !r.answers.is_empty() && r.answers.len() < 100,
            "{}",
            r.answers.len()
        );
        assert_eq!(addrs(&r)[0], "10.0.1.0", "the first records kept");

        let (r, len) = reply(&plain, Transport::Tcp);
        assert!(!r.metadata.truncation);
        assert_eq!(r.answers.len(), 100, "{len} bytes");

        let mut big = query("many.", RecordType::A);
        let mut edns = Edns::new();
        edns.set_max_payload(4096);
        big.set_edns(edns);
        let (r, _) = reply(&big, Transport::Udp);
        assert!(!r.metadata.truncation);
        assert_eq!(r.answers.len(), 100);
        assert_eq!(
            r.edns.as_ref().map(|e| e.max_payload()),
            Some(UDP_MAX as u16)
        );

        // EDNS at 1232 bytes: truncated there, and the OPT record survives truncation.
        let mut mid = query("many.", RecordType::A);
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        mid.set_edns(edns);
        let (r, len) = reply(&mid, Transport::Udp);
        assert!(len <= 1232 && len > UDP_MIN, "{len} bytes");
        assert!(r.metadata.truncation);
        assert!(r.edns.is_some(), "OPT kept in a truncated answer");
    }

    /// The relay accepts only an answer to the same question, gives it the client's ID and
    /// truncates it to the client's size.
    #[test]
    fn relaying_an_upstream_answer() {
        let q = query("example.org.", RecordType::A);
        let Outcome::NotInLab(question) = ask(&q, Transport::Udp) else {
            panic!("not a lab name");
        };
        let sent = Message::from_vec(&question.upstream_query(0xbeef).unwrap()).unwrap();
        assert_eq!(sent.metadata.id, 0xbeef);
        assert_eq!(sent.queries, q.queries);
        assert!(sent.metadata.recursion_desired);

        let mut upstream = sent.clone();
        upstream.metadata.message_type = MessageType::Response;
        for i in 0..100u8 {
            upstream.add_answer(Record::from_rdata(
                Name::from_str("example.org.").unwrap(),
                60,
                RData::A(A([192, 0, 2, i].into())),
            ));
        }
        let bytes = question.relay(&upstream).unwrap();
        assert!(bytes.len() <= UDP_MIN);
        let r = Message::from_vec(&bytes).unwrap();
        assert_eq!(r.metadata.id, 0x1234);
        assert!(r.metadata.truncation);

        // another question, or a query instead of a response: not this client's answer
        let mut other = upstream.clone();
        other.queries[0].set_name(Name::from_str("example.net.").unwrap());
        assert!(question.relay(&other).is_none());
        let mut not_response = upstream;
        not_response.metadata.message_type = MessageType::Query;
        assert!(question.relay(&not_response).is_none());
    }
}
