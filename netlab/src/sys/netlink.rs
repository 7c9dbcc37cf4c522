//! One rtnetlink handle per namespace, opened from inside it.

use crate::error::{Error, Result};

/// Opens a route-netlink connection in the network namespace of the calling thread and
/// drives it on `rt`. The socket stays in that namespace whatever thread uses it later.
pub fn open(rt: &tokio::runtime::Handle) -> Result<rtnetlink::Handle> {
    let _enter = rt.enter();
    let (conn, handle, _) =
        rtnetlink::new_connection().map_err(|e| Error::kernel_io("socket", "NETLINK_ROUTE", &e))?;
    rt.spawn(conn);
    Ok(handle)
}
