//! Links, addresses and routes, each function named after the `ip` command it equals.
//!
//! Every function takes the rtnetlink handle of the namespace it acts in; which namespace
//! that is is decided by whoever opened the handle (see `sys::netlink`).

pub mod addr;
pub mod link;
pub mod route;
