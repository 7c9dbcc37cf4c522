//! What an Ethernet frame says, decoded far enough for a capture's summary line and its
//! filter: the EtherType, ARP, IPv4/IPv6 addresses, TCP/UDP ports and TCP flags, ICMP
//! types. A frame too short or malformed for a layer simply lacks that layer's fields.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;

/// The transport (or link) protocol a frame carries, as far as a capture tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP over IPv4 or IPv6.
    Tcp,
    /// UDP over IPv4 or IPv6.
    Udp,
    /// ICMP (IPv4).
    Icmp,
    /// ICMPv6.
    Icmpv6,
    /// ARP.
    Arp,
    /// Anything else (another IP protocol, another EtherType, a frame too short).
    Other,
}

/// TCP flags as a bit set, shown like tcpdump shows them: `[S]`, `[S.]`, `[.]`, `[P.]`,
/// `[F.]`, `[R]`, `[R.]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// SYN.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// RST.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// PSH.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// ACK.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// URG.
    pub const URG: TcpFlags = TcpFlags(0x20);

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Exactly SYN (the first packet of a handshake).
    pub fn is_syn(self) -> bool {
        self.0 & 0x17 == Self::SYN.0
    }

    /// Exactly SYN and ACK (the second).
    pub fn is_syn_ack(self) -> bool {
        self.0 & 0x17 == Self::SYN.0 | Self::ACK.0
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // tcpdump's order and letters; `.` is ACK.
        let mut s = String::from("[");
        for (bit, c) in [
            (Self::SYN, 'S'),
            (Self::FIN, 'F'),
            (Self::PSH, 'P'),
            (Self::RST, 'R'),
            (Self::URG, 'U'),
            (Self::ACK, '.'),
        ] {
            if self.contains(bit) {
                s.push(c);
            }
        }
        if s.len() == 1 {
            s.push_str("none");
        }
        s.push(']');
        f.write_str(&s)
    }
}

/// An ICMP or ICMPv6 message's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Icmp {
    /// The type (8 echo request, 0 echo reply; 128 and 129 in ICMPv6).
    pub kind: u8,
    /// The code.
    pub code: u8,
    /// Identifier and sequence number of an echo request or reply.
    pub echo: Option<(u16, u16)>,
}

/// The decoded headers of one Ethernet frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Source MAC address.
    pub src_mac: [u8; 6],
    /// Destination MAC address.
    pub dst_mac: [u8; 6],
    /// The EtherType (after one VLAN tag, if any); 0 when the frame is too short.
    pub ethertype: u16,
    /// What it carries.
    pub protocol: Protocol,
    /// IP source address; for ARP the sender's protocol address.
    pub src: Option<IpAddr>,
    /// IP destination address; for ARP the target's protocol address.
    pub dst: Option<IpAddr>,
    /// TCP or UDP source port.
    pub src_port: Option<u16>,
    /// TCP or UDP destination port.
    pub dst_port: Option<u16>,
    /// TCP flags.
    pub tcp_flags: Option<TcpFlags>,
    /// TCP sequence number.
    pub tcp_seq: Option<u32>,
    /// Length of the TCP or UDP payload, or of the ICMP message, per the IP header.
    pub payload_len: Option<usize>,
    /// ARP operation (1 request, 2 reply) and the sender's hardware address.
    pub arp: Option<(u16, [u8; 6])>,
    /// The ICMP or ICMPv6 header.
    pub icmp: Option<Icmp>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn mac(b: &[u8], at: usize) -> [u8; 6] {
    let mut m = [0u8; 6];
    if let Some(s) = b.get(at..at + 6) {
        m.copy_from_slice(s);
    }
    m
}

impl Frame {
    /// Decodes `data`, a frame as an AF_PACKET socket hands it over (Ethernet header
    /// first). Never fails: what cannot be decoded is left out.
    pub fn parse(data: &[u8]) -> Frame {
        let mut f = Frame {
            src_mac: mac(data, 6),
            dst_mac: mac(data, 0),
            ethertype: 0,
            protocol: Protocol::Other,
            src: None,
            dst: None,
            src_port: None,
            dst_port: None,
            tcp_flags: None,
            tcp_seq: None,
            payload_len: None,
            arp: None,
            icmp: None,
        };
        let Some(mut ethertype) = be16(data, 12) else {
            return f;
        };
        let mut at = 14;
        if ethertype == ETH_VLAN {
            let Some(inner) = be16(data, 16) else {
                return f;
            };
            ethertype = inner;
            at = 18;
        }
        f.ethertype = ethertype;
        let l3 = &data[at.min(data.len())..];
        match ethertype {
            ETH_ARP => f.arp_fields(l3),
            ETH_IPV4 => f.ipv4(l3),
            ETH_IPV6 => f.ipv6(l3),
            _ => {}
        }
        f
    }

    fn arp_fields(&mut self, b: &[u8]) {
        // Ethernet/IPv4 ARP only: hardware length 6, protocol length 4.
        if b.len() < 28 || b[4] != 6 || b[5] != 4 {
            return;
        }
        self.protocol = Protocol::Arp;
        let op = be16(b, 6).unwrap_or(0);
        self.arp = Some((op, mac(b, 8)));
        self.src = Some(IpAddr::V4(Ipv4Addr::new(b[14], b[15], b[16], b[17])));
        self.dst = Some(IpAddr::V4(Ipv4Addr::new(b[24], b[25], b[26], b[27])));
    }

    fn ipv4(&mut self, b: &[u8]) {
        if b.len() < 20 || b[0] >> 4 != 4 {
            return;
        }
        let ihl = usize::from(b[0] & 0x0f) * 4;
        let total = usize::from(be16(b, 2).unwrap_or(0));
        self.src = Some(IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15])));
        self.dst = Some(IpAddr::V4(Ipv4Addr::new(b[16], b[17], b[18], b[19])));
        // Only the first fragment has the transport header.
        let frag_offset = be16(b, 6).unwrap_or(0) & 0x1fff;
        if ihl < 20 || frag_offset != 0 {
            return;
        }
        // A GSO super-frame's total length may be 0 (BIG TCP) or stale: trust the
        // bytes at hand then.
        let l4_len = if total >= ihl {
            total - ihl
        } else {
            b.len().saturating_sub(ihl)
        };
        self.transport(b[9], b.get(ihl..).unwrap_or(&[]), l4_len, false);
    }

    fn ipv6(&mut self, b: &[u8]) {
        if b.len() < 40 || b[0] >> 4 != 6 {
            return;
        }
        let mut a = [0u8; 16];
        a.copy_from_slice(&b[8..24]);
        self.src = Some(IpAddr::V6(Ipv6Addr::from(a)));
        a.copy_from_slice(&b[24..40]);
        self.dst = Some(IpAddr::V6(Ipv6Addr::from(a)));
        let payload = usize::from(be16(b, 4).unwrap_or(0));
        let payload = if payload == 0 { b.len() - 40 } else { payload };
        // Extension headers are not followed: such packets count as `Other`.
        self.transport(b[6], &b[40..], payload, true);
    }

    fn transport(&mut self, proto: u8, b: &[u8], l4_len: usize, v6: bool) {
        match proto {
            6 => {
                self.protocol = Protocol::Tcp;
                self.src_port = be16(b, 0);
                self.dst_port = be16(b, 2);
                self.tcp_seq = be32(b, 4);
                if b.len() >= 20 {
                    let off = usize::from(b[12] >> 4) * 4;
                    self.tcp_flags = Some(TcpFlags(b[13]));
                    self.payload_len = Some(l4_len.saturating_sub(off));
                }
            }
            17 => {
                self.protocol = Protocol::Udp;
                self.src_port = be16(b, 0);
                self.dst_port = be16(b, 2);
                self.payload_len = Some(l4_len.saturating_sub(8));
            }
            1 | 58 if (proto == 58) == v6 => {
                self.protocol = if v6 { Protocol::Icmpv6 } else { Protocol::Icmp };
                if b.len() >= 4 {
                    let echo = matches!((v6, b[0]), (false, 0 | 8) | (true, 128 | 129))
                        .then(|| Some((be16(b, 4)?, be16(b, 6)?)))
                        .flatten();
                    self.icmp = Some(Icmp {
                        kind: b[0],
                        code: b[1],
                        echo,
                    });
                }
                self.payload_len = Some(l4_len);
            }
            _ => {}
        }
    }

    /// The summary tcpdump prints after the time and interface, e.g.
    /// `IP 172.17.0.3.41234 > 172.17.0.2.8000: Flags [S], seq 1, length 0` or
    /// `ARP, Request who-has 172.17.0.2 tell 172.17.0.3, length 28`. `len` is the frame's
    /// length on the wire.
    pub fn summary(&self, len: usize) -> String {
        let mut s = String::new();
        let ip = if matches!(self.src, Some(IpAddr::V6(_))) {
            "IP6"
        } else {
            "IP"
        };
        let ends = |with_ports: bool| -> String {
            let one = |a: Option<IpAddr>, p: Option<u16>| match (a, p, with_ports) {
                (Some(a), Some(p), true) => format!("{a}.{p}"),
                (Some(a), _, _) => a.to_string(),
                (None, _, _) => "?".into(),
            };
            format!(
                "{} > {}",
                one(self.src, self.src_port),
                one(self.dst, self.dst_port)
            )
        };
        match self.protocol {
            Protocol::Arp => {
                let (op, sha) = self.arp.unwrap_or((0, [0; 6]));
                let (src, dst) = (
                    self.src.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                    self.dst.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                );
                let l = len.saturating_sub(14);
                let _ = match op {
                    1 => write!(s, "ARP, Request who-has {dst} tell {src}, length {l}"),
                    2 => write!(s, "ARP, Reply {src} is-at {}, length {l}", mac_text(&sha)),
                    op => write!(s, "ARP, op {op}, length {l}"),
                };
            }
            Protocol::Tcp => {
                let _ = write!(s, "{ip} {}: Flags ", ends(true));
                match self.tcp_flags {
                    Some(fl) => {
                        let _ = write!(s, "{fl}");
                    }
                    None => s.push_str("[?]"),
                }
                if let Some(seq) = self.tcp_seq {
                    let _ = write!(s, ", seq {seq}");
                }
                let _ = write!(s, ", length {}", self.payload_len.unwrap_or(0));
            }
            Protocol::Udp => {
                let _ = write!(
                    s,
                    "{ip} {}: UDP, length {}",
                    ends(true),
                    self.payload_len.unwrap_or(0)
                );
            }
            Protocol::Icmp | Protocol::Icmpv6 => {
                let Icmp {
                    kind: t,
                    code,
                    echo,
                } = self.icmp.unwrap_or(Icmp {
                    kind: 255,
                    code: 0,
                    echo: None,
                });
                let what = match (self.protocol, t) {
                    (Protocol::Icmp, 8) | (Protocol::Icmpv6, 128) => "echo request".to_string(),
                    (Protocol::Icmp, 0) | (Protocol::Icmpv6, 129) => "echo reply".to_string(),
                    (Protocol::Icmp, 3) => format!("unreachable, code {code}"),
                    (Protocol::Icmpv6, 135) => "neighbor solicitation".to_string(),
                    (Protocol::Icmpv6, 136) => "neighbor advertisement".to_string(),
                    _ => format!("type {t}, code {code}"),
                };
                let name = if self.protocol == Protocol::Icmp {
                    "ICMP"
                } else {
                    "ICMP6"
                };
                let _ = write!(s, "{ip} {}: {name} {what}", ends(false));
                if let Some((id, seq)) = echo {
                    let _ = write!(s, ", id {id}, seq {seq}");
                }
                let _ = write!(s, ", length {}", self.payload_len.unwrap_or(0));
            }
            Protocol::Other => match (self.ethertype, self.src) {
                (ETH_IPV4 | ETH_IPV6, Some(_)) => {
                    let _ = write!(s, "{ip} {}: length {len}", ends(false));
                }
                (t, _) => {
                    let _ = write!(
                        s,
                        "{} > {}, ethertype 0x{t:04x}, length {len}",
                        mac_text(&self.src_mac),
                        mac_text(&self.dst_mac)
                    );
                }
            },
        }
        s
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_text(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Builders of test frames, shared by the filter's and the pcapng writer's tests.
#[cfg(test)]
pub(crate) mod build {
    /// An Ethernet/IPv4/TCP frame with `payload` bytes of data.
    pub fn tcp(
        src: [u8; 4],
        sport: u16,
        dst: [u8; 4],
        dport: u16,
        flags: u8,
        payload: usize,
    ) -> Vec<u8> {
        let mut f = eth(0x0800);
        let total = 20 + 20 + payload;
        ipv4_header(&mut f, 6, total, src, dst);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&7u32.to_be_bytes());
        f.extend_from_slice(&0u32.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend(std::iter::repeat_n(b'x', payload));
        f
    }

    /// An IPv4 header without options (checksum left 0: the decoder does not check it).
    fn ipv4_header(f: &mut Vec<u8>, proto: u8, total: usize, src: [u8; 4], dst: [u8; 4]) {
        let len = (total as u16).to_be_bytes();
        f.extend_from_slice(&[0x45, 0, len[0], len[1], 0, 0, 0x40, 0, 64, proto, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
    }

    /// An Ethernet/IPv4/UDP frame.
    pub fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: usize) -> Vec<u8> {
        let mut f = eth(0x0800);
        let total = 20 + 8 + payload;
        ipv4_header(&mut f, 17, total, src, dst);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend(std::iter::repeat_n(0u8, payload));
        f
    }

    /// An ICMP echo request (type 8) or reply (0).
    pub fn icmp(src: [u8; 4], dst: [u8; 4], kind: u8) -> Vec<u8> {
        let mut f = eth(0x0800);
        f.extend_from_slice(&[0x45, 0, 0, 84, 0, 0, 0x40, 0, 64, 1, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&[kind, 0, 0, 0, 0, 42, 0, 1]);
        f.extend(std::iter::repeat_n(0u8, 56));
        f
    }

    /// An ARP request (op 1) or reply (op 2) from `sender` about `target`.
    pub fn arp(op: u16, sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
        let mut f = eth(0x0806);
        f.extend_from_slice(&[0, 1, 8, 0, 6, 4]);
        f.extend_from_slice(&op.to_be_bytes());
        f.extend_from_slice(&[2, 0x42, 0xac, 0x11, 0, 3]);
        f.extend_from_slice(&sender);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&target);
        f
    }

    fn eth(ethertype: u16) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0x42, 0xac, 0x11, 0, 3]);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    #[test]
    fn summaries_read_like_tcpdump() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                tcp([172, 17, 0, 3], 41234, [172, 17, 0, 2], 8000, 0x02, 0),
                "IP 172.17.0.3.41234 > 172.17.0.2.8000: Flags [S], seq 7, length 0",
            ),
            (
                tcp([172, 17, 0, 2], 8000, [172, 17, 0, 3], 41234, 0x12, 0),
                "IP 172.17.0.2.8000 > 172.17.0.3.41234: Flags [S.], seq 7, length 0",
            ),
            (
                tcp([172, 17, 0, 3], 1, [172, 17, 0, 2], 2, 0x18, 18),
                "IP 172.17.0.3.1 > 172.17.0.2.2: Flags [P.], seq 7, length 18",
            ),
            (
                tcp([172, 17, 0, 3], 1, [172, 17, 0, 2], 2, 0x11, 0),
                "IP 172.17.0.3.1 > 172.17.0.2.2: Flags [F.], seq 7, length 0",
            ),
            (
                tcp([172, 17, 0, 3], 1, [172, 17, 0, 2], 2, 0x04, 0),
                "IP 172.17.0.3.1 > 172.17.0.2.2: Flags [R], seq 7, length 0",
            ),
            (
                tcp([172, 17, 0, 3], 1, [172, 17, 0, 2], 2, 0x10, 0),
                "IP 172.17.0.3.1 > 172.17.0.2.2: Flags [.], seq 7, length 0",
            ),
            (
                udp([10, 0, 0, 1], 5353, [10, 0, 0, 2], 53, 12),
                "IP 10.0.0.1.5353 > 10.0.0.2.53: UDP, length 12",
            ),
            (
                icmp([10, 0, 0, 1], [10, 0, 0, 2], 8),
                "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 42, seq 1, length 64",
            ),
            (
                icmp([10, 0, 0, 2], [10, 0, 0, 1], 0),
                "IP 10.0.0.2 > 10.0.0.1: ICMP echo reply, id 42, seq 1, length 64",
            ),
            (
                arp(1, [172, 17, 0, 3], [172, 17, 0, 2]),
                "ARP, Request who-has 172.17.0.2 tell 172.17.0.3, length 28",
            ),
            (
                arp(2, [172, 17, 0, 3], [172, 17, 0, 2]),
                "ARP, Reply 172.17.0.3 is-at 02:42:ac:11:00:03, length 28",
            ),
        ];
        for (frame, want) in cases {
            assert_eq!(Frame::parse(&frame).summary(frame.len()), want);
        }
    }

    #[test]
    fn short_and_odd_frames_do_not_panic() {
        let full = tcp([1, 2, 3, 4], 1, [5, 6, 7, 8], 2, 2, 10);
        for cut in 0..full.len() {
            let f = Frame::parse(&full[..cut]);
            let _ = f.summary(cut);
        }
        let f = Frame::parse(&full[..30]);
        assert_eq!(f.protocol, Protocol::Other);
        assert_eq!(f.ethertype, 0x0800);
    }

    #[test]
    fn flags_helpers() {
        assert!(TcpFlags::SYN.is_syn());
        assert!((TcpFlags::SYN | TcpFlags::ACK).is_syn_ack());
        assert!(!(TcpFlags::SYN | TcpFlags::ACK).is_syn());
        assert_eq!(TcpFlags(0).to_string(), "[none]");
    }
}
