//! Cutting a TCP super-frame (GSO) into the segments it would be on a wire, in software,
//! as the kernel's `skb_segment` does: each segment gets the headers with its own IP
//! length (and IPv4 identifier), TCP sequence number and flags, and complete checksums.
//!
//! The relay does this for frames whose rule loses, duplicates, reorders or corrupts:
//! those decisions are about packets on a link, and a 64 KiB super-frame stands for ~45
//! of them (dropping it whole would turn "1% loss" into bursts of 45, and a corrupted one
//! could not carry a failing checksum at all, see `vnet`). Frames that are only delayed or
//! rate-limited stay whole, which is cheaper.

use super::vnet::{VnetHdr, fold, sum16};

const GSO_TCPV4: u8 = 1;
const GSO_TCPV6: u8 = 4;
const GSO_ECN: u8 = 0x80;

/// Where the layer-3 header starts: after the Ethernet header and any VLAN tags.
fn l3_offset(f: &[u8]) -> Option<usize> {
    let mut at = 12;
    loop {
        let t = u16::from_be_bytes([*f.get(at)?, *f.get(at + 1)?]);
        if matches!(t, 0x8100 | 0x88a8) {
            at += 4;
        } else {
            return Some(at + 2);
        }
    }
}

/// The segments of TCP super-frame `frame` (Ethernet header first) whose offload header
/// is `hdr` and whose TCP header starts at `l4`, each a complete frame with correct
/// checksums, to be sent without offload. `None` when the frame is not a TCP super-frame
/// this function understands (it is then sent whole).
pub fn tcp_segments(hdr: &VnetHdr, frame: &[u8], l4: usize) -> Option<Vec<Vec<u8>>> {
    let kind = hdr.gso_type & !GSO_ECN;
    if !matches!(kind, GSO_TCPV4 | GSO_TCPV6) || hdr.gso_size == 0 {
        return None;
    }
    let l3 = l3_offset(frame)?;
    let v6 = kind == GSO_TCPV6;
    let tcp_hlen = usize::from(*frame.get(l4 + 12)? >> 4) * 4;
    let payload = l4 + tcp_hlen;
    if tcp_hlen < 20 || payload > frame.len() || l4 < l3 + if v6 { 40 } else { 20 } {
        return None;
    }
    let data = &frame[payload..];
    let mss = usize::from(hdr.gso_size);
    let count = data.len().div_ceil(mss).max(1);
    let seq0 = u32::from_be_bytes(frame[l4 + 4..l4 + 8].try_into().ok()?);
    let id0 = u16::from_be_bytes([frame[l3 + 4], frame[l3 + 5]]);
    let mut out = Vec::with_capacity(count);
    for k in 0..count {
        let chunk = &data[(k * mss).min(data.len())..((k + 1) * mss).min(data.len())];
        let mut s = Vec::with_capacity(payload + chunk.len());
        s.extend_from_slice(&frame[..payload]);
        s.extend_from_slice(chunk);
        let tcp_len = tcp_hlen + chunk.len();
        if v6 {
            let plen = (l4 - l3 - 40 + tcp_len) as u16;
            s[l3 + 4..l3 + 6].copy_from_slice(&plen.to_be_bytes());
        } else {
            let ihl = l4 - l3;
            let total = (ihl + tcp_len) as u16;
            s[l3 + 2..l3 + 4].copy_from_slice(&total.to_be_bytes());
            s[l3 + 4..l3 + 6].copy_from_slice(&id0.wrapping_add(k as u16).to_be_bytes());
            s[l3 + 10..l3 + 12].copy_from_slice(&[0, 0]);
            let c = !fold(sum16(&s[l3..l4], 0));
            s[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
        }
        let seq = seq0.wrapping_add((k * mss) as u32);
        s[l4 + 4..l4 + 8].copy_from_slice(&seq.to_be_bytes());
        // CWR on the first segment only; FIN and PSH on the last only (as skb_segment).
        if k > 0 {
            s[l4 + 13] &= !0x80;
        }
        if k + 1 < count {
            s[l4 + 13] &= !0x09;
        }
        s[l4 + 16..l4 + 18].copy_from_slice(&[0, 0]);
        let pseudo = if v6 {
            sum16(&s[l3 + 8..l3 + 40], 6 + tcp_len as u64)
        } else {
            sum16(&s[l3 + 12..l3 + 20], 6 + tcp_len as u64)
        };
        let c = !fold(sum16(&s[l4..], pseudo));
        s[l4 + 16..l4 + 18].copy_from_slice(&c.to_be_bytes());
        out.push(s);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TCP/IPv4 super-frame 10.9.0.1:40000 -> 10.9.0.2:5001, seq 1000, flags PSH|ACK|FIN
    /// (and CWR), with `len` bytes of data, as a sender's stack hands it down.
    fn super_frame(len: usize) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = (20 + 20 + len) as u16;
        f.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0x12,
            0x34,
            0x40,
            0,
        ]);
        f.extend_from_slice(&[64, 6, 0, 0, 10, 9, 0, 1, 10, 9, 0, 2]);
        f.extend_from_slice(&[0x9c, 0x40, 0x13, 0x89, 0, 0, 0x03, 0xe8, 0, 0, 0, 1]);
        f.extend_from_slice(&[0x50, 0x80 | 0x19, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend((0..len).map(|i| (i % 251) as u8));
        f
    }

    fn tcp4_valid(s: &[u8]) -> bool {
        let ip_ok = fold(sum16(&s[14..34], 0)) == 0xffff;
        let tcp_len = s.len() - 34;
        let pseudo = sum16(&s[26..34], 6 + tcp_len as u64);
        ip_ok && fold(sum16(&s[34..], pseudo)) == 0xffff
    }

    #[test]
    fn segments_like_the_wire() {
        let hdr = VnetHdr {
            flags: 1,
            gso_type: GSO_TCPV4,
            hdr_len: 54,
            gso_size: 1000,
            csum_start: 34,
            csum_offset: 16,
        };
        // (data bytes, segments, last segment's data)
        for (len, count, last) in [(2500, 3, 500), (3000, 3, 1000), (1000, 1, 1000)] {
            let f = super_frame(len);
            let segs = tcp_segments(&hdr, &f, 34).unwrap();
            assert_eq!(segs.len(), count, "{len}");
            let mut data = Vec::new();
            for (k, s) in segs.iter().enumerate() {
                assert!(tcp4_valid(s), "{len}: segment {k} checksums");
                let seq = u32::from_be_bytes(s[38..42].try_into().unwrap());
                assert_eq!(seq, 1000 + 1000 * k as u32);
                let total = u16::from_be_bytes([s[16], s[17]]) as usize;
                assert_eq!(total + 14, s.len());
                assert_eq!(u16::from_be_bytes([s[18], s[19]]), 0x1234 + k as u16);
                let flags = s[47];
                assert_eq!(flags & 0x80 != 0, k == 0, "CWR first only");
                assert_eq!(flags & 0x09 != 0, k + 1 == count, "FIN, PSH last only");
                assert_eq!(flags & 0x10, 0x10, "ACK on all");
                data.extend_from_slice(&s[54..]);
            }
            assert_eq!(segs.last().unwrap().len() - 54, last);
            assert_eq!(data, f[54..]);
        }
        let plain = VnetHdr::default();
        assert_eq!(tcp_segments(&plain, &super_frame(100), 34), None);
    }
}
