//! Links, addresses and routes: netlink requests built like the `ip` commands they equal.
//!
//! Every request is sent by [`crate::sys::rtnl::Rtnl`], the crate's one netlink path; which
//! namespace a request acts in is decided by where that socket was opened.

pub mod addr;
pub mod link;
pub mod neigh;
pub mod route;
