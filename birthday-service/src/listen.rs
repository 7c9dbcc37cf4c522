//! Listening on every address of the network namespace: IPv6 and IPv4 where the namespace
//! has IPv6, IPv4 alone where it does not (a container's namespace may have IPv6 disabled).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::TcpListener;

/// Binds `[::]:port` and, unless that socket already accepts IPv4 (dual-stack, the Linux
/// default), `0.0.0.0:port` as well. Without IPv6 it binds `0.0.0.0:port` alone. Port 0
/// picks a free port, the same for both sockets.
///
/// Dual-stack is detected by trying: with `net.ipv6.bindv6only=0` the IPv6 wildcard socket
/// owns the IPv4 port too and the second bind fails with `EADDRINUSE`; with
/// `bindv6only=1` the second bind succeeds and both are served.
pub async fn bind_all(port: u16) -> io::Result<Vec<TcpListener>> {
    let v6 = match TcpListener::bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port))).await {
        Ok(listener) => listener,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
        Err(e) => {
            tracing::info!(error = %e, "no IPv6 in this network namespace: listening on IPv4 only");
            let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))).await?;
            return Ok(vec![v4]);
        }
    };
    let port = v6.local_addr()?.port();
    match TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))).await {
        Ok(v4) => {
            tracing::debug!("IPv6 socket is IPv6-only (bindv6only=1): listening on 0.0.0.0 too");
            Ok(vec![v6, v4])
        }
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            tracing::debug!("IPv6 socket is dual-stack: it accepts IPv4 too");
            Ok(vec![v6])
        }
        Err(e) => Err(e),
    }
}
