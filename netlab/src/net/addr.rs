//! `ip addr`.

use std::net::IpAddr;

use rtnetlink::Handle;

use crate::error::{Error, Result};
use crate::model::Ipv4Net;

/// `ip addr add ADDR/PREFIX dev INDEX`.
pub async fn add(h: &Handle, index: u32, net: Ipv4Net, what: &str) -> Result<()> {
    h.address()
        .add(index, IpAddr::V4(net.addr), net.prefix)
        .execute()
        .await
        .map_err(|e| Error::netlink("ip addr add", format!("{net} dev {what}"), e))
}
