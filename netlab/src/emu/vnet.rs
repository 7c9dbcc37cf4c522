//! The offload header (`struct virtio_net_hdr`) in front of every frame the relay's
//! AF_PACKET sockets read and write, and what the relay does with it.
//!
//! # Why the header (the GSO decision)
//!
//! On a veth the kernel defers work: a TCP sender hands down one *super-frame* of up to
//! 64 KiB (GSO/TSO) and leaves the checksum of TCP and UDP to "the device"
//! (`CHECKSUM_PARTIAL`). An AF_PACKET socket sees that super-frame; sent back as a plain
//! frame it is refused (EMSGSIZE, longer than the MTU) and its checksum would be wrong.
//! There were two ways out:
//!
//! - turn the offloads off on the relayed ends (and on the container's `eth0`, where TSO
//!   happens), so every frame is at most the MTU and its checksum complete: every 1500
//!   bytes then cost the relay a read and a write;
//! - `PACKET_VNET_HDR`: the socket prefixes each frame with this header, which tells how
//!   the frame is to be segmented and checksummed; the relay passes it on unchanged and the
//!   kernel segments (or not: a veth on the far side carries the super-frame intact).
//!
//! netlab takes the second: one read and one write per 64 KiB instead of per 1.5 KiB, and
//! the container's interfaces keep the offloads they have without the relay. Measured on
//! this 2-core machine (kernel 6.18, release build, `benches/link_emulator.rs`, two
//! runs): bulk TCP through the relay 12.2–12.7 Gbit/s (direct veth 15.7–19.6), while the
//! relay's rate for MTU-sized frames, all that TCP could use with the offloads off, is
//! 120,000–188,000 frames/s, i.e. 1.4–2.3 Gbit/s: the header is worth a factor of five or
//! more. (Where a rule needs per-packet decisions, `segment` cuts super-frames in
//! software and TCP through the relay measured ~2 Gbit/s.)
//!
//! The cost is in corruption: the receiver trusts a `CHECKSUM_PARTIAL` frame without
//! checking it, so flipping a bit of such a frame would hand the damage to the application.
//! The relay therefore completes the checksum in software before it flips the bit (the
//! frame then goes out without offload and the receiver checks, and drops, it). A TCP
//! super-frame is first cut into wire-sized segments with complete checksums (`segment`);
//! a super-frame of another kind (UDP GSO, rare) cannot be made to fail a checksum, so it
//! is dropped whole and counted as corrupted.

/// `sizeof(struct virtio_net_hdr)`.
pub const LEN: usize = 10;

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum from `csum_start` on is still to be done.
pub const F_NEEDS_CSUM: u8 = 1;

/// `VIRTIO_NET_HDR_GSO_NONE`.
pub const GSO_NONE: u8 = 0;

/// `VIRTIO_NET_HDR_GSO_ECN`: a flag on top of the GSO type.
const GSO_ECN: u8 = 0x80;

/// A frame's offload header. The fields are in the machine's byte order (packet sockets
/// use the legacy virtio layout, which is the host's order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VnetHdr {
    /// `F_NEEDS_CSUM`, `DATA_VALID`.
    pub flags: u8,
    /// `GSO_NONE`, TCPv4 (1), UDP (3), TCPv6 (4), UDP_L4 (5), possibly with the ECN flag.
    pub gso_type: u8,
    /// Length of the headers copied into every segment.
    pub hdr_len: u16,
    /// Payload bytes per segment.
    pub gso_size: u16,
    /// Where the checksum starts, from the Ethernet header.
    pub csum_start: u16,
    /// Where to store it, from `csum_start`.
    pub csum_offset: u16,
}

impl VnetHdr {
    /// Reads the header from the first [`LEN`] bytes.
    pub fn read(b: &[u8]) -> Option<VnetHdr> {
        let b = b.get(..LEN)?;
        let u = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        Some(VnetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u(2),
            gso_size: u(4),
            csum_start: u(6),
            csum_offset: u(8),
        })
    }

    /// Writes the header into the first [`LEN`] bytes.
    pub fn write(&self, b: &mut [u8]) {
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
    }

    /// Whether the frame is a GSO super-frame, to be cut into segments on the way.
    pub fn is_gso(&self) -> bool {
        self.gso_type & !GSO_ECN != GSO_NONE
    }

    /// The bytes this frame takes on a wire: the frame itself, plus the headers repeated
    /// in every further segment of a super-frame (`headers`: the frame's header bytes,
    /// Ethernet to the layer-4 payload).
    pub fn wire_bytes(&self, frame_len: usize, headers: usize) -> usize {
        if !self.is_gso() || self.gso_size == 0 || frame_len <= headers {
            return frame_len;
        }
        let segments = (frame_len - headers).div_ceil(usize::from(self.gso_size));
        frame_len + (segments - 1) * headers
    }
}

/// The Internet checksum's one's-complement sum of `data`, added to `sum`.
pub fn sum16(data: &[u8], mut sum: u64) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

pub fn fold(mut sum: u64) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Does in software what the device would have done for a `F_NEEDS_CSUM` frame: the
/// one's-complement sum from `csum_start` to the end (the field holds the pseudo-header's
/// sum already), stored at `csum_start + csum_offset`; then clears the flag. As the
/// kernel's `skb_checksum_help`, a result of 0 is stored as 0xffff. `false` when the
/// header points outside the frame.
pub fn complete_checksum(hdr: &mut VnetHdr, frame: &mut [u8]) -> bool {
    if hdr.flags & F_NEEDS_CSUM == 0 {
        return true;
    }
    let start = usize::from(hdr.csum_start);
    let at = start + usize::from(hdr.csum_offset);
    if at + 2 > frame.len() {
        return false;
    }
    let sum = !fold(sum16(&frame[start..], 0));
    let sum = if sum == 0 { 0xffff } else { sum };
    frame[at..at + 2].copy_from_slice(&sum.to_be_bytes());
    hdr.flags &= !F_NEEDS_CSUM;
    true
}

/// Flips bit `bit` (counted from the first byte's top bit) of `range` of `frame`.
pub fn flip_bit(frame: &mut [u8], range: std::ops::Range<usize>, bit: u64) {
    let bits = (range.len() as u64) * 8;
    if bits == 0 {
        return;
    }
    let bit = bit % bits;
    frame[range.start + (bit / 8) as usize] ^= 0x80 >> (bit % 8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emu::flow::tests::udp_frame;

    /// The checksum of a UDP datagram, checked the receiver's way: the sum over the
    /// pseudo-header and the datagram is 0xffff.
    fn udp_valid(f: &[u8]) -> bool {
        let ip = &f[14..34];
        let udp = &f[34..];
        let mut s = sum16(&ip[12..20], 0);
        s += 17 + udp.len() as u64;
        fold(sum16(udp, s)) == 0xffff
    }

    #[test]
    fn completes_a_partial_checksum_and_a_flip_breaks_it() {
        let mut f = udp_frame();
        // What the sender leaves for the device: the pseudo-header's sum in the field.
        let ps = fold(sum16(&f[26..34], 17 + 10));
        f[40..42].copy_from_slice(&ps.to_be_bytes());
        let mut h = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 34,
            csum_offset: 6,
            ..VnetHdr::default()
        };
        assert!(!udp_valid(&f));
        assert!(complete_checksum(&mut h, &mut f));
        assert_eq!(h.flags & F_NEEDS_CSUM, 0);
        assert!(udp_valid(&f));
        for bit in 0..16 {
            let mut g = f.clone();
            flip_bit(&mut g, 42..44, bit);
            assert!(!udp_valid(&g), "bit {bit}");
        }
        let mut bad = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 40,
            csum_offset: 6,
            ..VnetHdr::default()
        };
        assert!(!complete_checksum(&mut bad, &mut f));
    }

    #[test]
    fn header_bytes_and_wire_length() {
        let h = VnetHdr {
            flags: 1,
            gso_type: 1,
            hdr_len: 66,
            gso_size: 1448,
            csum_start: 34,
            csum_offset: 16,
        };
        let mut b = [0u8; LEN];
        h.write(&mut b);
        assert_eq!(VnetHdr::read(&b), Some(h));
        assert!(h.is_gso());
        // 10 segments of 1448 bytes behind 66 bytes of headers.
        assert_eq!(h.wire_bytes(66 + 14480, 66), 66 + 14480 + 9 * 66);
        assert_eq!(VnetHdr::default().wire_bytes(1514, 66), 1514);
    }
}
