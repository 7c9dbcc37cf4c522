//! `Capture`: a packet socket opened inside a target's network namespace and handed to
//! the client, which reads it; the supervisor is not in the data path.

use std::os::fd::OwnedFd;

use super::{Answer, Shared};
use crate::error::Error;
use crate::proto::{Response, Target};
use crate::sys::{capture::CaptureSocket, capture::interfaces, nsfd};

/// `any`: every interface of the namespace, as with tcpdump.
pub const ANY: &str = "any";

pub(super) fn open(s: &Shared, target: &Target, iface: Option<String>) -> Answer {
    let (net, default, place) = {
        let lab = s.lab();
        // A copy of the namespace's fd, so the socket is made without the lab lock.
        let net = lab
            .net_fd(target)?
            .try_clone()
            .map_err(|e| Error::kernel_io("dup", "network namespace fd", &e))?;
        let (default, place) = match target {
            // The lab host's main interface is the bridge, docker0 by default.
            Target::Host => (lab.spec.bridge.clone(), "the lab host".to_string()),
            Target::Container(n) => ("eth0".to_string(), format!("container {n}")),
            Target::Node(n) => ("eth0".to_string(), format!("LAN machine {n}")),
        };
        (net, default, place)
    };
    let iface = iface.unwrap_or(default);
    let (fd, ifs): (OwnedFd, Vec<(u32, String)>) = nsfd::in_netns(&net, || {
        let ifs = interfaces()?;
        if iface != ANY && !ifs.iter().any(|(_, n)| *n == iface) {
            let names: Vec<&str> = ifs.iter().map(|(_, n)| n.as_str()).collect();
            return Err(Error::spec(
                "capture -i",
                &iface,
                format!(
                    "{place} has no interface of that name; it has {}, or give `any` for all of them",
                    names.join(", ")
                ),
            ));
        }
        let fd = CaptureSocket::open((iface != ANY).then_some(iface.as_str()))?;
        Ok((fd, ifs))
    })?;
    tracing::info!(%place, %iface, "capture socket opened");
    Ok((
        Response::Capture {
            iface,
            interfaces: ifs,
        },
        vec![fd],
    ))
}
