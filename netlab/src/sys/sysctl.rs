//! Sysctls of the calling thread's network namespace (`sysctl -w`).

use crate::error::{Error, Result};

/// `sysctl -w key=value`; for `net.*` keys the namespace is the caller's.
pub fn set(key: &str, value: &str) -> Result<()> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    std::fs::write(&path, value)
        .map_err(|e| Error::kernel_io("sysctl -w", format!("{key}={value}"), &e))
}

/// The same with the key given as path segments, for keys that contain an interface name
/// (which may itself contain dots): `["net", "ipv4", "conf", "br.1", "route_localnet"]`.
pub fn set_path(segments: &[&str], value: &str) -> Result<()> {
    let path = format!("/proc/sys/{}", segments.join("/"));
    std::fs::write(&path, value)
        .map_err(|e| Error::kernel_io("sysctl -w", format!("{}={value}", segments.join(".")), &e))
}

/// `sysctl -w net.ipv6.conf.default.disable_ipv6=1` in the calling thread's network
/// namespace: interfaces created there from now on get no IPv6 (Docker does the same for
/// a container's `eth0` on a network without IPv6). Nothing to do on a kernel without IPv6.
pub fn ipv6_off_for_new_interfaces() -> Result<()> {
    const KEY: &str = "/proc/sys/net/ipv6/conf/default/disable_ipv6";
    match std::fs::write(KEY, "1") {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::kernel_io(
            "sysctl -w",
            "net.ipv6.conf.default.disable_ipv6=1",
            &e,
        )),
        _ => Ok(()),
    }
}
