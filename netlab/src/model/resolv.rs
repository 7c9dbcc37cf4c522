//! A container's `/etc/resolv.conf` on Docker's default bridge: the host's file with every
//! nameserver on the loopback dropped (a host resolver at 127.0.0.53 is unreachable from
//! a container's own namespace) and IPv6 nameservers dropped (the default bridge has no
//! IPv6); `search` and `options` kept. With no nameserver left, Docker falls back to
//! Google's public resolvers, and so does netlab, to stay the same file; a lab has no
//! route to them unless it was given a real uplink (`--uplink-dev`).

/// Docker's fallback when the host's file leaves no usable nameserver.
const FALLBACK: [&str; 2] = ["8.8.8.8", "8.8.4.4"];

/// The container's file from the host's `/etc/resolv.conf` text.
pub fn for_default_bridge(host: &str) -> String {
    let mut out = String::new();
    let mut servers = 0;
    for line in host.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") {
            let Some(addr) = words.next() else { continue };
            match addr.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(v4)) if !v4.is_loopback() => servers += 1,
                _ => continue,
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    if servers == 0 {
        for s in FALLBACK {
            out.push_str(&format!("nameserver {s}\n"));
        }
    }
    out
}

/// The container's file on a user-defined network, as Docker writes it: the host's
/// `search` and `options` lines, the embedded DNS server as the only nameserver, and
/// `ndots:0` so that single names go to it as they are.
pub fn for_user_network(host: &str) -> String {
    let mut out = String::new();
    let mut options: Vec<String> = vec![];
    for line in host.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => continue,
            Some("options") => {
                options.extend(words.filter(|w| !w.starts_with("ndots:")).map(String::from));
                continue;
            }
            _ => {}
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("nameserver 127.0.0.11\n");
    options.push("ndots:0".into());
    out.push_str(&format!("options {}\n", options.join(" ")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_networks_ask_the_embedded_dns() {
        assert_eq!(
            for_user_network("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n"),
            "search lan\nnameserver 127.0.0.11\noptions edns0 trust-ad ndots:0\n"
        );
        assert_eq!(
            for_user_network(""),
            "nameserver 127.0.0.11\noptions ndots:0\n"
        );
    }

    #[test]
    fn loopback_and_ipv6_nameservers_go_search_and_options_stay() {
        let cases = [
            ("nameserver 10.255.255.53\n", "nameserver 10.255.255.53\n"),
            (
                "# generated\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n",
                "# generated\noptions edns0 trust-ad\nsearch lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n",
            ),
            (
                "nameserver ::1\nnameserver 2001:db8::1\nnameserver 192.0.2.1\n",
                "nameserver 192.0.2.1\n",
            ),
            ("", "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"),
        ];
        for (host, want) in cases {
            assert_eq!(for_default_bridge(host), want, "{host:?}");
        }
    }
}
