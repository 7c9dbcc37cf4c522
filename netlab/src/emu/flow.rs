//! Which stream a frame belongs to, read from its bytes: the key that seeded decisions
//! are made per, the addresses rules match peers on, and where its layer-4 payload is.
//!
//! - TCP and UDP (and other IP protocols): protocol, source, destination, ports;
//! - ICMP and ICMPv6 echo: protocol, source, destination, echo identifier;
//! - anything else (ARP, ...): ethertype and both MAC addresses.
//!
//! 802.1Q/802.1ad tags are skipped; IPv6 extension headers (hop-by-hop, routing,
//! destination options, fragment) are walked. Non-first IP fragments have no ports: they
//! form a flow of their own per address pair and protocol.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::hash::hash;

/// The stream a frame belongs to, direction included (a reply is another flow).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowKey {
    /// An IP packet: `ports` are (source, destination) for TCP/UDP/SCTP, (identifier, 0)
    /// for an echo request or reply, (0, 0) otherwise.
    Ip {
        /// IP protocol (IPv6: the last next-header).
        proto: u8,
        /// Source address.
        src: IpAddr,
        /// Destination address.
        dst: IpAddr,
        /// See above.
        ports: (u16, u16),
    },
    /// A frame of another kind.
    Ether {
        /// Its ethertype (after VLAN tags).
        ethertype: u16,
        /// Source MAC.
        src: [u8; 6],
        /// Destination MAC.
        dst: [u8; 6],
    },
}

impl FlowKey {
    /// A stable 64-bit identity of the flow (the same on every machine and Rust version).
    pub fn id(&self) -> u64 {
        match *self {
            FlowKey::Ip {
                proto,
                src,
                dst,
                ports,
            } => {
                let (s, d) = (ip_words(src), ip_words(dst));
                hash(&[
                    4,
                    u64::from(proto),
                    s.0,
                    s.1,
                    d.0,
                    d.1,
                    u64::from(ports.0) << 16 | u64::from(ports.1),
                ])
            }
            FlowKey::Ether {
                ethertype,
                src,
                dst,
            } => hash(&[6, u64::from(ethertype), mac_word(src), mac_word(dst)]),
        }
    }
}

fn ip_words(ip: IpAddr) -> (u64, u64) {
    let bits = match ip {
        // Mapped, so that 10.0.0.1 and ::a00:1 differ.
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    };
    ((bits >> 64) as u64, bits as u64)
}

fn mac_word(m: [u8; 6]) -> u64 {
    m.iter().fold(0, |w, b| w << 8 | u64::from(*b))
}

/// What the emulator needs to know of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Its flow.
    pub key: FlowKey,
    /// Offset of the layer-4 header (TCP, UDP, ICMP) in the frame, when there is one.
    pub l4: Option<usize>,
    /// Offset of the layer-4 payload, when the header is complete; may equal the frame's
    /// length (an empty payload, a bare ACK).
    pub payload: Option<usize>,
}

impl Parsed {
    /// The IP source and destination, for frames that are IP packets.
    pub fn ips(&self) -> Option<(IpAddr, IpAddr)> {
        match self.key {
            FlowKey::Ip { src, dst, .. } => Some((src, dst)),
            FlowKey::Ether { .. } => None,
        }
    }
}

const ETH_HLEN: usize = 14;
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_SCTP: u8 = 132;
const IPPROTO_ICMPV6: u8 = 58;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Reads a frame (Ethernet header first). `None` for a frame too short to have an
/// Ethernet header; a truncated IP packet falls back to its Ethernet flow.
pub fn parse(frame: &[u8]) -> Option<Parsed> {
    if frame.len() < ETH_HLEN {
        return None;
    }
    let mut dst = [0u8; 6];
    let mut src = [0u8; 6];
    dst.copy_from_slice(&frame[0..6]);
    src.copy_from_slice(&frame[6..12]);
    let mut at = 12;
    let mut ethertype = be16(frame, at)?;
    while matches!(ethertype, 0x8100 | 0x88a8) {
        at += 4;
        ethertype = be16(frame, at)?;
    }
    let l3 = at + 2;
    let ip = match ethertype {
        0x0800 => parse_v4(frame, l3),
        0x86dd => parse_v6(frame, l3),
        _ => None,
    };
    Some(ip.unwrap_or(Parsed {
        key: FlowKey::Ether {
            ethertype,
            src,
            dst,
        },
        l4: None,
        payload: None,
    }))
}

fn parse_v4(f: &[u8], l3: usize) -> Option<Parsed> {
    let h = f.get(l3..l3 + 20)?;
    if h[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let proto = h[9];
    let src = IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19]));
    let later_fragment = be16(h, 6)? & 0x1fff != 0;
    // The packet's own length, not the frame's: short frames are padded to 60 bytes.
    let end = (l3 + usize::from(be16(h, 2)?)).min(f.len());
    if ihl < 20 || later_fragment {
        return Some(ip_only(proto, src, dst));
    }
    Some(transport(&f[..end], proto, src, dst, l3 + ihl, false))
}

fn parse_v6(f: &[u8], l3: usize) -> Option<Parsed> {
    let h = f.get(l3..l3 + 40)?;
    if h[0] >> 4 != 6 {
        return None;
    }
    let mut a = [0u8; 16];
    a.copy_from_slice(&h[8..24]);
    let src = IpAddr::V6(Ipv6Addr::from(a));
    a.copy_from_slice(&h[24..40]);
    let dst = IpAddr::V6(Ipv6Addr::from(a));
    let end = (l3 + 40 + usize::from(be16(h, 4)?)).min(f.len());
    let f = &f[..end];
    let mut next = h[6];
    let mut at = l3 + 40;
    loop {
        match next {
            // Hop-by-hop, routing, destination options: length in 8-byte units after 8.
            0 | 43 | 60 => {
                next = *f.get(at)?;
                at += 8 + usize::from(*f.get(at + 1)?) * 8;
            }
            // Fragment: fixed 8 bytes; later fragments have no layer-4 header.
            44 => {
                let offset = be16(f, at + 2)? & 0xfff8;
                next = *f.get(at)?;
                if offset != 0 {
                    return Some(ip_only(next, src, dst));
                }
                at += 8;
            }
            _ => break,
        }
    }
    Some(transport(f, next, src, dst, at, true))
}

fn ip_only(proto: u8, src: IpAddr, dst: IpAddr) -> Parsed {
    Parsed {
        key: FlowKey::Ip {
            proto,
            src,
            dst,
            ports: (0, 0),
        },
        l4: None,
        payload: None,
    }
}

fn transport(f: &[u8], proto: u8, src: IpAddr, dst: IpAddr, l4: usize, v6: bool) -> Parsed {
    let (ports, payload) = match proto {
        IPPROTO_TCP => match (be16(f, l4), be16(f, l4 + 2), f.get(l4 + 12)) {
            (Some(s), Some(d), Some(off)) => {
                let p = l4 + usize::from(off >> 4) * 4;
                ((s, d), (p <= f.len() && off >> 4 >= 5).then_some(p))
            }
            _ => ((0, 0), None),
        },
        IPPROTO_UDP | IPPROTO_SCTP => match (be16(f, l4), be16(f, l4 + 2)) {
            (Some(s), Some(d)) => {
                let p = l4 + if proto == IPPROTO_UDP { 8 } else { 12 };
                ((s, d), (p <= f.len()).then_some(p))
            }
            _ => ((0, 0), None),
        },
        IPPROTO_ICMP | IPPROTO_ICMPV6 if (proto == IPPROTO_ICMPV6) == v6 => {
            let ty = f.get(l4).copied();
            let echo = if v6 {
                matches!(ty, Some(128 | 129))
            } else {
                matches!(ty, Some(0 | 8))
            };
            let id = if echo {
                be16(f, l4 + 4).unwrap_or(0)
            } else {
                0
            };
            ((id, 0), (l4 + 8 <= f.len()).then_some(l4 + 8))
        }
        _ => ((0, 0), None),
    };
    Parsed {
        key: FlowKey::Ip {
            proto,
            src,
            dst,
            ports,
        },
        l4: (l4 < f.len()).then_some(l4),
        payload,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A UDP datagram 10.9.0.1:5000 -> 10.9.0.2:6000 with payload "hi", as captured.
    pub(crate) fn udp_frame() -> Vec<u8> {
        hex(
            "02000000000202000000000108004500001e1234400040110000 0a090001 0a090002
             13881770000a0000 6869",
        )
    }

    #[test]
    fn real_frames() {
        let v4 = |s: &str| IpAddr::V4(s.parse().unwrap());
        let v6 = |s: &str| IpAddr::V6(s.parse().unwrap());
        // (name, frame, flow, layer-4 offset, payload offset)
        type Case = (&'static str, Vec<u8>, FlowKey, Option<usize>, Option<usize>);
        let cases: Vec<Case> = vec![
            (
                "udp",
                udp_frame(),
                FlowKey::Ip {
                    proto: 17,
                    src: v4("10.9.0.1"),
                    dst: v4("10.9.0.2"),
                    ports: (5000, 6000),
                },
                Some(34),
                Some(42),
            ),
            (
                "tcp syn with options (data offset 10), padded",
                hex("0200000000020200000000010800 4500003c00004000400600000a0900010a090002
                     d431 1389 00000000 00000000 a002 faf0 0000 0000
                     020405b4 0402 080a 00000000 00000000 01 030307 0000"),
                FlowKey::Ip {
                    proto: 6,
                    src: v4("10.9.0.1"),
                    dst: v4("10.9.0.2"),
                    ports: (54321, 5001),
                },
                Some(34),
                Some(74),
            ),
            (
                "icmp echo request id 0x1c2a",
                hex("02000000000202000000000108004500001c000040004001 0000 0a090001 0a090002 0800f7ff1c2a0001"),
                FlowKey::Ip {
                    proto: 1,
                    src: v4("10.9.0.1"),
                    dst: v4("10.9.0.2"),
                    ports: (0x1c2a, 0),
                },
                Some(34),
                Some(42),
            ),
            (
                "vlan-tagged udp",
                hex("020000000002020000000001 8100 0064 08004500001e1234400040110000 0a090001 0a090002
                     13881770000a0000 6869"),
                FlowKey::Ip {
                    proto: 17,
                    src: v4("10.9.0.1"),
                    dst: v4("10.9.0.2"),
                    ports: (5000, 6000),
                },
                Some(38),
                Some(46),
            ),
            (
                "ipv6 udp behind a hop-by-hop header",
                hex("333300000001 020000000001 86dd 60000000 0012 00 01 fe800000000000000000000000000001
                     ff020000000000000000000000000001 11 00 0000 00000000 0222 0223 000a 0000 6869"),
                FlowKey::Ip {
                    proto: 17,
                    src: v6("fe80::1"),
                    dst: v6("ff02::1"),
                    ports: (546, 547),
                },
                Some(62),
                Some(70),
            ),
            (
                "later ipv4 fragment: no ports",
                hex("02000000000202000000000108004500001e123400b940110000 0a090001 0a090002 13881770000a00006869"),
                FlowKey::Ip {
                    proto: 17,
                    src: v4("10.9.0.1"),
                    dst: v4("10.9.0.2"),
                    ports: (0, 0),
                },
                None,
                None,
            ),
            (
                "arp request",
                hex("ffffffffffff 020000000001 0806 0001080006040001 020000000001 0a090001 000000000000 0a090002"),
                FlowKey::Ether {
                    ethertype: 0x0806,
                    src: [2, 0, 0, 0, 0, 1],
                    dst: [0xff; 6],
                },
                None,
                None,
            ),
        ];
        for (name, bytes, key, l4, payload) in cases {
            let p = parse(&bytes).unwrap_or_else(|| panic!("{name}: not parsed"));
            assert_eq!(p.key, key, "{name}");
            assert_eq!(p.l4, l4, "{name}");
            assert_eq!(p.payload, payload, "{name}");
        }
        assert_eq!(parse(&[0u8; 13]), None);
    }

    #[test]
    fn ids_differ_per_flow_and_direction() {
        let a = parse(&udp_frame()).unwrap().key;
        let FlowKey::Ip {
            proto,
            src,
            dst,
            ports,
        } = a
        else {
            unreachable!()
        };
        let back = FlowKey::Ip {
            proto,
            src: dst,
            dst: src,
            ports: (ports.1, ports.0),
        };
        let other_port = FlowKey::Ip {
            proto,
            src,
            dst,
            ports: (ports.0 + 1, ports.1),
        };
        assert_eq!(a.id(), parse(&udp_frame()).unwrap().key.id());
        assert_ne!(a.id(), back.id());
        assert_ne!(a.id(), other_port.id());
    }
}
