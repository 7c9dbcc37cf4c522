//! The lab's embedded DNS server: what Docker gives every container on a user-defined
//! network at 127.0.0.11:53, the names and aliases of the containers that share a network
//! with it.
//!
//! One [`DnsServer`] serves a whole lab from one thread. Each container gets a UDP socket
//! and a TCP listener bound to 127.0.0.11:53 *inside its own network namespace*
//! ([`DnsServer::attach`]): a socket belongs to the namespace of the thread that created
//! it, so a short-lived thread enters the container's namespace, binds, and hands the
//! sockets to the serving thread, which then serves them from wherever it runs. No
//! interface, route or NAT rule is needed in the container, and the socket a query
//! arrives on says who asked, which decides the names it sees (the networks it is on).
//!
//! - `zone`: the names per network and one querier's view of them (pure);
//! - `answer`: a query's bytes and a view in, the answer's bytes out (pure, hickory);
//! - `serve`: the epoll loop over every socket, TCP framing, forwarding, the bounds;
//! - `testns`: throwaway namespaces for the tests and the benchmark.
//!
//! # Names that are not the lab's
//!
//! [`Upstream::Refuse`] answers them REFUSED at once: a lab has no way out to the
//! internet, and REFUSED makes a resolver give up (or try its next server) at once instead
//! of retrying into a timeout. Docker, which forwards to the host's resolvers, answers
//! SERVFAIL when it has none. [`Upstream::Forward`] relays them over UDP to the first
//! server, from a socket in the namespace of the thread that called [`DnsServer::start`]
//! (the lab host's), and gives SERVFAIL when it does not answer within 2 s.
//!
//! # Differences from Docker's resolver (moby `libnetwork/resolver.go`)
//!
//! - Docker binds random ports and DNATs 127.0.0.11:53 to them with iptables, so a
//!   container may still run its own server on port 53 of every address; here the socket
//!   is bound to 127.0.0.11:53 itself (no nft rule per container), so a container process
//!   that binds `0.0.0.0:53` gets EADDRINUSE over TCP (and over UDP unless both set
//!   SO_REUSEADDR).
//! - A name on several of the querier's networks gives the addresses of all of them
//!   (Docker: those of the first network), in order (Docker shuffles them).
//! - A lab name asked with any type but A, AAAA, ANY and PTR gets NODATA (Docker: only
//!   MX; other types are forwarded).
//! - Forwarding tries one server, over UDP only (Docker: up to three, each over the
//!   client's transport), and allows 2 s instead of 4; a truncated upstream answer is
//!   relayed truncated, so a client retrying over TCP gets it truncated again.
//! - No SRV for services, no `ndots` special case, no per-client upstreams: netlab has no
//!   swarm services and one upstream list per lab.

mod answer;
mod serve;
pub mod testns;
#[cfg(test)]
mod tests;
mod zone;

pub use zone::Member;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, UdpSocket};
use std::os::fd::OwnedFd;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use nix::sys::eventfd::{EfdFlags, EventFd};

use crate::error::{Error, Result};
use crate::sys::nsfd::in_netns;
use serve::{Command, Limits, Loop, Shared};

/// Where every container finds the server, as in Docker.
pub const DNS_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 11), 53));

/// What happens to a name that is not the lab's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// REFUSED at once: the lab has no internet.
    Refuse,
    /// Relayed to the first of these servers (IPv4 or IPv6, usually port 53).
    Forward(Vec<SocketAddr>),
}

/// A lab's DNS server: one serving thread over the sockets of every attached container.
/// Dropping it stops the thread and closes every socket.
pub struct DnsServer {
    shared: Arc<Mutex<Shared>>,
    commands: Sender<Command>,
    waker: Arc<EventFd>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for DnsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("DnsServer")
            .field("queriers", &shared.views.len())
            .finish_non_exhaustive()
    }
}

impl DnsServer {
    /// Starts the serving thread. With [`Upstream::Forward`], the socket that talks to
    /// the upstream is created here, in the calling thread's network namespace.
    pub fn start(upstream: Upstream) -> Result<DnsServer> {
        DnsServer::start_with(upstream, Limits::default())
    }

    pub(crate) fn start_with(upstream: Upstream, limits: Limits) -> Result<DnsServer> {
        let upstream = match upstream {
            Upstream::Refuse => None,
            Upstream::Forward(servers) => {
                let Some(&server) = servers.first() else {
                    return Err(Error::spec(
                        "DNS upstream",
                        "no server",
                        "give at least one server, or Upstream::Refuse for a lab without one",
                    ));
                };
                let any: SocketAddr = match server {
                    SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
                    SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
                };
                let socket = UdpSocket::bind(any)
                    .and_then(|s| s.set_nonblocking(true).map(|()| s))
                    .map_err(|e| Error::kernel_io("bind", "the DNS upstream socket", &e))?;
                Some(serve::Upstream { socket, server })
            }
        };
        let waker = Arc::new(
            EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
                .map_err(|e| Error::kernel("eventfd", "the DNS server", e))?,
        );
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (commands, receiver) = mpsc::channel();
        let serving = Loop::new(waker.clone(), receiver, shared.clone(), upstream, limits)?;
        let thread = std::thread::Builder::new()
            .name("netlab-dns".into())
            .spawn(move || serving.run())
            .map_err(|e| Error::io("start the DNS server's thread", &e))?;
        Ok(DnsServer {
            shared,
            commands,
            waker,
            thread: Some(thread),
        })
    }

    /// Opens a UDP socket and a TCP listener bound to 127.0.0.11:53 inside network
    /// namespace `net` (`lo` must be up there) and serves them as queries from `who`,
    /// which sees the names of `networks`, in that order. Attaching a `who` again (a
    /// restarted container) closes its old sockets first.
    pub fn attach(&self, who: &str, net: &OwnedFd, networks: Vec<String>) -> Result<()> {
        self.close_sockets(who);
        let (udp, tcp) = in_netns(net, || Self::bind(who))?;
        self.set_networks(who, networks);
        let (done, result) = mpsc::sync_channel(1);
        self.send(Command::Attach {
            who: who.to_string(),
            udp,
            tcp,
            done,
        });
        match result.recv() {
            Ok(Ok(())) => {
                tracing::info!("dns: {who} attached at {DNS_ADDR} (udp, tcp)");
                Ok(())
            }
            Ok(Err(e)) => {
                self.forget(who);
                Err(e)
            }
            Err(_) => {
                self.forget(who);
                Err(Error::Io {
                    op: format!("attach {who} to the DNS server"),
                    message: "the server's thread has ended".into(),
                })
            }
        }
    }

    /// Sets the networks `who` is on (after a connect or disconnect); the next query
    /// sees them.
    pub fn set_networks(&self, who: &str, networks: Vec<String>) {
        tracing::debug!("dns: {who} is on {networks:?}");
        self.lock().views.insert(who.to_string(), networks);
    }

    /// Closes `who`'s sockets and forgets its networks (its container was removed). When
    /// this returns, its sockets are closed: a query gets "connection refused".
    pub fn detach(&self, who: &str) {
        self.close_sockets(who);
        if self.forget(who) {
            tracing::info!("dns: {who} detached");
        }
    }

    /// Replaces the names of `network`: lowercase name -> its addresses, v4 and/or v6
    /// (any case and a trailing dot are accepted too). The next query sees them.
    pub fn set_names(&self, network: &str, names: BTreeMap<String, Vec<IpAddr>>) {
        tracing::debug!("dns: network {network} has {} names", names.len());
        self.lock().zone.set_names(network, names);
    }

    /// Sets container `member`'s names on `network` (`None`: it left, or holds no address
    /// now); the next query sees them. Costs the same however large the network is.
    pub fn set_member(&self, network: &str, member: &str, entry: Option<Member>) {
        self.lock().zone.set_member(network, member, entry);
    }

    /// Binds the UDP socket and TCP listener of 127.0.0.11:53 in the calling thread's
    /// network namespace (`lo` up there), for [`DnsServer::attach_bound`]: a container's
    /// own thread binds them while it is built, outside the lab's lock.
    pub fn bind(who: &str) -> Result<(UdpSocket, TcpListener)> {
        let bind_error = |proto: &str, e: &std::io::Error| {
            let lo = if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) {
                "; is lo up there?"
            } else {
                ""
            };
            Error::kernel_io(
                "bind",
                format!("{DNS_ADDR}/{proto} in the network namespace of {who}{lo}"),
                e,
            )
        };
        let udp = UdpSocket::bind(DNS_ADDR).map_err(|e| bind_error("udp", &e))?;
        let tcp = TcpListener::bind(DNS_ADDR).map_err(|e| bind_error("tcp", &e))?;
        for r in [udp.set_nonblocking(true), tcp.set_nonblocking(true)] {
            r.map_err(|e| Error::kernel_io("fcntl O_NONBLOCK", "a DNS socket", &e))?;
        }
        Ok((udp, tcp))
    }

    /// Serves sockets [`DnsServer::bind`] made as queries from `who` (a new querier),
    /// without waiting for the serving thread: the sockets are bound already, so a query
    /// that comes first waits in them; a failure to watch them is logged by the server.
    pub fn attach_bound(&self, who: &str, udp: UdpSocket, tcp: TcpListener, networks: Vec<String>) {
        self.set_networks(who, networks);
        let (done, _ignored) = mpsc::sync_channel(1);
        self.send(Command::Attach {
            who: who.to_string(),
            udp,
            tcp,
            done,
        });
    }

    /// Replaces the names PTR questions get on `network`: address -> the one name to
    /// answer, which the server gives as `NAME.NETWORK.` like Docker. Docker answers the
    /// container's name, while [`DnsServer::set_names`] also has its aliases and short ID
    /// for the same address, so only the caller knows which is the name. A network never
    /// given this list answers every name of the address, one PTR record each.
    pub fn set_reverse(&self, network: &str, names: BTreeMap<IpAddr, String>) {
        tracing::debug!("dns: network {network} has {} PTR names", names.len());
        self.lock().zone.set_reverse(network, names);
    }

    /// Forgets the names (and PTR names) of `network`. Containers that still list it find
    /// nothing there.
    pub fn remove_network(&self, network: &str) {
        tracing::debug!("dns: network {network} removed");
        self.lock().zone.remove_network(network);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets `who`'s view; true if it had one.
    fn forget(&self, who: &str) -> bool {
        self.lock().views.remove(who).is_some()
    }

    /// Has the serving thread close `who`'s sockets, and waits until it has.
    fn close_sockets(&self, who: &str) {
        let (done, closed) = mpsc::sync_channel(1);
        self.send(Command::Detach {
            who: who.to_string(),
            done,
        });
        // An error means the thread has ended, and every socket with it.
        let _ = closed.recv();
    }

    fn send(&self, command: Command) {
        if self.commands.send(command).is_ok() {
            // A failed write (the counter is full) still leaves the loop woken.
            let _ = self.waker.write(1);
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.send(Command::Stop);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("dns: the server's thread panicked");
        }
    }
}
