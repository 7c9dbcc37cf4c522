//! The only place with `unsafe`, `setns`, `unshare`, `fork` and `mount`.
//!
//! Everything above this module talks in lab terms (namespaces, processes, fds); here the
//! kernel's rules are kept: which call needs a single-threaded process, which thread a
//! socket belongs to, which fd must survive `exec`.
#![allow(unsafe_code)]

pub mod capture;
pub mod ctl;
pub mod fdpass;
pub mod launch;
pub mod nsfd;
pub mod packet;
pub mod probe;
pub mod reaper;
pub mod rtnl;
pub mod spawn;
pub mod sysctl;
pub mod terminal;

/// Lets SIGPIPE end the CLI quietly, as it ends `cat`: Rust ignores SIGPIPE, and printing to
/// a closed pipe (`netlab inspect X | head`) would otherwise panic. Sockets to the lab are
/// written with MSG_NOSIGNAL, so a lab that goes away is still an error, not a signal.
pub fn default_sigpipe() {
    // SAFETY: resetting one signal's disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
