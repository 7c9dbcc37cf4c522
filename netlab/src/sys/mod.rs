//! The only place with `unsafe`, `setns`, `unshare`, `fork` and `mount`.
//!
//! Everything above this module talks in lab terms (namespaces, processes, fds); here the
//! kernel's rules are kept: which call needs a single-threaded process, which thread a
//! socket belongs to, which fd must survive `exec`.
#![allow(unsafe_code)]

pub mod ctl;
pub mod fdpass;
pub mod launch;
pub mod netlink;
pub mod nsfd;
pub mod reaper;
pub mod spawn;
pub mod sysctl;
