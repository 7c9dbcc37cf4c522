//! What the DNS server's tests and benchmark share: throwaway network namespaces with
//! nothing but `lo`, up, so 127.0.0.11 can be bound there (held only by the returned fd:
//! the namespace and every socket in it vanish with the last fd or socket), the client's
//! side of a query, and an answer's records as text. Panics on errors: test code.

use std::net::UdpSocket;
use std::os::fd::OwnedFd;
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};

use super::DNS_ADDR;
use crate::sys::nsfd::in_netns;

use crate::error::Result;
use crate::net::link;
use crate::sys::nsfd::create_net;
use crate::sys::rtnl::Rtnl;

/// `ip netns add X; ip -n X link set lo up`, without a name in `/run/netns`. Needs root
/// (or a user namespace of one's own).
pub fn loopback_netns() -> Result<OwnedFd> {
    Ok(create_net(|| {
        let mut nl = Rtnl::open()?;
        // `lo` is always index 1 in a new namespace.
        nl.batch(vec![link::set_up(1, "lo")])
    })?
    .0)
}

/// A query for `name` of type `rtype`, as bytes, with recursion desired (as stub
/// resolvers ask).
pub fn query(name: &str, rtype: RecordType, id: u16) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = id;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_str(name).unwrap(), rtype));
    m.to_vec().unwrap()
}

/// A UDP socket in `ns` connected to the server, so an ICMP "port unreachable" shows as
/// ECONNREFUSED; reads time out after 3 s.
pub fn udp_client(ns: &OwnedFd) -> UdpSocket {
    let s = in_netns(ns, || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.connect(DNS_ADDR).unwrap();
        Ok(s)
    })
    .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s
}

/// The answer's records as text: addresses, PTR targets, anything else debug-printed.
pub fn record_texts(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .map(|r| match &r.data {
            RData::A(a) => a.0.to_string(),
            RData::AAAA(a) => a.0.to_string(),
            RData::PTR(p) => p.0.to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}
