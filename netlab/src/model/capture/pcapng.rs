//! A pcapng writer (the format of Wireshark and of `tcpdump -w` today): one Section Header
//! Block, one Interface Description Block per interface (its name, a description naming
//! the lab and the container, nanosecond timestamps), and one Enhanced Packet Block per
//! frame with its direction. Blocks are written in this machine's byte order, which the
//! Section Header's byte-order magic tells readers.
//!
//! Reference: the pcapng specification (IETF draft-ietf-opsawg-pcapng), sections 4.1,
//! 4.2 and 4.3.

use std::io::{self, Write};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// LINKTYPE_ETHERNET: every interface of a lab (veths, bridges, even `lo`) hands frames
/// over with an Ethernet header.
pub const LINKTYPE_ETHERNET: u16 = 1;
/// The snapshot length recorded: what the capture reads of a frame at most.
pub const SNAPLEN: u32 = 262_144;

const OPT_END: u16 = 0;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_DESCRIPTION: u16 = 3;
const IF_TSRESOL: u16 = 9;
const EPB_FLAGS: u16 = 2;

/// Which way a frame went on its interface, as pcapng's `epb_flags` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received by the interface.
    Inbound,
    /// Sent by it.
    Outbound,
}

/// Writes a pcapng section to `W` as packets come.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    interfaces: u32,
}

fn option(buf: &mut Vec<u8>, code: u16, value: &[u8]) {
    buf.extend_from_slice(&code.to_ne_bytes());
    buf.extend_from_slice(&(value.len() as u16).to_ne_bytes());
    buf.extend_from_slice(value);
    pad(buf);
}

fn pad(buf: &mut Vec<u8>) {
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

/// A whole block: type, total length, `body`, total length again.
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let total = (12 + body.len()) as u32;
    let mut b = Vec::with_capacity(total as usize);
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(&total.to_ne_bytes());
    b.extend_from_slice(body);
    b.extend_from_slice(&total.to_ne_bytes());
    b
}

impl<W: Write> Writer<W> {
    /// Starts a section (the Section Header Block), naming netlab as the writer.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut body = vec![];
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_ne_bytes());
        body.extend_from_slice(&1u16.to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        // Section length: not given.
        body.extend_from_slice(&(-1i64).to_ne_bytes());
        option(
            &mut body,
            SHB_USERAPPL,
            concat!("netlab ", env!("CARGO_PKG_VERSION")).as_bytes(),
        );
        option(&mut body, OPT_END, &[]);
        out.write_all(&block(SHB, &body))?;
        Ok(Writer { out, interfaces: 0 })
    }

    /// Declares an interface; returns the id its packets are written with (0, 1, ... in
    /// the order of the calls). Its timestamps are in nanoseconds (`if_tsresol` 9).
    pub fn add_interface(&mut self, name: &str, description: &str) -> io::Result<u32> {
        let mut body = vec![];
        body.extend_from_slice(&LINKTYPE_ETHERNET.to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        body.extend_from_slice(&SNAPLEN.to_ne_bytes());
        option(&mut body, IF_NAME, name.as_bytes());
        if !description.is_empty() {
            option(&mut body, IF_DESCRIPTION, description.as_bytes());
        }
        option(&mut body, IF_TSRESOL, &[9]);
        option(&mut body, OPT_END, &[]);
        self.out.write_all(&block(IDB, &body))?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Writes one frame: `data` as captured (perhaps cut), `orig_len` its length on the
    /// wire, `ns` nanoseconds since the Unix epoch.
    pub fn write_packet(
        &mut self,
        interface: u32,
        ns: u64,
        orig_len: u32,
        data: &[u8],
        direction: Option<Direction>,
    ) -> io::Result<()> {
        debug_assert!(interface < self.interfaces, "declare interfaces first");
        // Written piece by piece (the output is buffered): no copy of the frame per packet.
        let padded = data.len().div_ceil(4) * 4;
        let options = if direction.is_some() { 8 + 4 } else { 0 };
        let total = (12 + 20 + padded + options) as u32;
        let flags: u32 = match direction {
            Some(Direction::Inbound) => 1,
            Some(Direction::Outbound) => 2,
            None => 0,
        };
        let mut head = [0u8; 28];
        for (i, v) in [
            EPB,
            total,
            interface,
            (ns >> 32) as u32,
            ns as u32,
            data.len() as u32,
            orig_len,
        ]
        .into_iter()
        .enumerate()
        {
            head[i * 4..i * 4 + 4].copy_from_slice(&v.to_ne_bytes());
        }
        self.out.write_all(&head)?;
        self.out.write_all(data)?;
        self.out.write_all(&[0u8; 3][..padded - data.len()])?;
        if direction.is_some() {
            let mut opt = [0u8; 12];
            opt[0..2].copy_from_slice(&EPB_FLAGS.to_ne_bytes());
            opt[2..4].copy_from_slice(&4u16.to_ne_bytes());
            opt[4..8].copy_from_slice(&flags.to_ne_bytes());
            // opt_endofopt: code 0, length 0.
            self.out.write_all(&opt)?;
        }
        self.out.write_all(&total.to_ne_bytes())
    }

    /// The output, flushed.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::capture::frame::build::tcp;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_ne_bytes(b[at..at + 4].try_into().unwrap())
    }

    /// Splits a file into (type, body) blocks, checking each block's framing.
    fn blocks(b: &[u8]) -> Vec<(u32, Vec<u8>)> {
        let mut at = 0;
        let mut out = vec![];
        while at < b.len() {
            let kind = u32_at(b, at);
            let total = u32_at(b, at + 4) as usize;
            assert_eq!(total % 4, 0, "blocks are 32-bit aligned");
            assert_eq!(u32_at(b, at + total - 4) as usize, total, "trailing length");
            out.push((kind, b[at + 8..at + total - 4].to_vec()));
            at += total;
        }
        assert_eq!(at, b.len());
        out
    }

    /// The options of a block body from `from`: (code, value).
    fn options(body: &[u8], mut at: usize) -> Vec<(u16, Vec<u8>)> {
        let mut out = vec![];
        while at + 4 <= body.len() {
            let code = u16::from_ne_bytes(body[at..at + 2].try_into().unwrap());
            let len = u16::from_ne_bytes(body[at + 2..at + 4].try_into().unwrap()) as usize;
            out.push((code, body[at + 4..at + 4 + len].to_vec()));
            at += 4 + len.div_ceil(4) * 4;
            if code == OPT_END {
                break;
            }
        }
        out
    }

    #[test]
    fn a_file_has_its_blocks_in_order() {
        let mut w = Writer::new(Vec::new()).unwrap();
        let eth0 = w.add_interface("eth0", "lab t1, container web").unwrap();
        let lo = w.add_interface("lo", "").unwrap();
        assert_eq!((eth0, lo), (0, 1));
        let frame = tcp([1, 2, 3, 4], 1, [5, 6, 7, 8], 2, 2, 3);
        let ns = 1_764_500_000_123_456_789u64;
        w.write_packet(eth0, ns, 1000, &frame, Some(Direction::Outbound))
            .unwrap();
        w.write_packet(lo, ns + 1, frame.len() as u32, &frame[..10], None)
            .unwrap();
        let file = w.into_inner().unwrap();
        let b = blocks(&file);
        assert_eq!(
            b.iter().map(|x| x.0).collect::<Vec<_>>(),
            [SHB, IDB, IDB, EPB, EPB]
        );
        // SHB: magic, version 1.0, unknown length, the writer's name.
        let shb = &b[0].1;
        assert_eq!(u32_at(shb, 0), BYTE_ORDER_MAGIC);
        assert_eq!(&shb[4..8], &[1, 0, 0, 0][..]);
        assert_eq!(&shb[8..16], &[0xff; 8][..]);
        assert!(options(shb, 16)[0].1.starts_with(b"netlab "));
        // IDB: Ethernet, snaplen, name, description, nanoseconds.
        let idb = &b[1].1;
        assert_eq!(u16::from_ne_bytes([idb[0], idb[1]]), LINKTYPE_ETHERNET);
        assert_eq!(u32_at(idb, 4), SNAPLEN);
        assert_eq!(
            options(idb, 8),
            [
                (IF_NAME, b"eth0".to_vec()),
                (IF_DESCRIPTION, b"lab t1, container web".to_vec()),
                (IF_TSRESOL, vec![9]),
                (OPT_END, vec![]),
            ]
        );
        assert_eq!(options(&b[2].1, 8)[1], (IF_TSRESOL, vec![9]));
        // EPB: interface, timestamp halves, lengths, data, flags.
        let epb = &b[3].1;
        assert_eq!(u32_at(epb, 0), 0);
        assert_eq!(
            (u64::from(u32_at(epb, 4)) << 32) | u64::from(u32_at(epb, 8)),
            ns
        );
        assert_eq!(u32_at(epb, 12) as usize, frame.len());
        assert_eq!(u32_at(epb, 16), 1000);
        assert_eq!(&epb[20..20 + frame.len()], &frame[..]);
        let opts = options(epb, 20 + frame.len().div_ceil(4) * 4);
        assert_eq!(opts[0], (EPB_FLAGS, 2u32.to_ne_bytes().to_vec()));
        let epb2 = &b[4].1;
        assert_eq!(u32_at(epb2, 0), 1);
        assert_eq!(u32_at(epb2, 12), 10);
        assert_eq!(epb2.len(), 20 + 12, "10 bytes padded to 12, no options");
    }
}
