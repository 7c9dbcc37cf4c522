//! Packet capture, the pure part: what a captured frame says ([`frame`]), the filter
//! language that selects frames ([`filter`]), the one-line summary printed per packet
//! (like tcpdump's default output), and the pcapng file format ([`pcapng`]).
//!
//! No syscalls here: the packet socket is in `crate::sys::capture`, the loop that reads it
//! in `crate::capture`.

pub mod filter;
pub mod frame;
pub mod pcapng;

pub use filter::Filter;
pub use frame::{Frame, Icmp, Protocol, TcpFlags};
