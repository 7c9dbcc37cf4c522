//! The lab's names as the embedded DNS server sees them: one table of names per network,
//! and the [`View`] of one querier, which is the networks it is on, in order.
//!
//! Pure data and lookups, no sockets and no locks, so the rules below are unit-tested
//! without a namespace:
//!
//! - names are case-insensitive and a trailing dot is ignored, in the tables and in
//!   questions alike (stored lowercase without the dot);
//! - a querier sees only the networks it is on: a container on `front` cannot resolve a
//!   container that is only on `back`, as in Docker;
//! - a name found on several of the querier's networks gives the addresses of all of them,
//!   in the querier's network order, without duplicates. Docker stops at the first
//!   network that knows the name; the union is what a multi-homed container can reach;
//! - like Docker, `NAME.NETWORK` names `NAME` on network `NETWORK` only (when the querier
//!   is on it), tried when the whole name is no name of the querier's networks; the
//!   shortest network name that fits is tried first, as Docker does;
//! - a name that exists with no address of the asked family is still a lab name (the
//!   caller answers NODATA and does not forward it);
//! - PTR: an address gives `NAME.NETWORK` from the first of the querier's networks that
//!   has it. Which NAME is the caller's to say ([`Zone::set_reverse`]: Docker answers the
//!   container's name, never an alias or the short ID); a network without that list gives
//!   every name that has the address.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

/// The names of every network of a lab.
#[derive(Debug, Default)]
pub(crate) struct Zone {
    networks: HashMap<String, Table>,
    /// Network -> address -> the one name a PTR question gets, when the caller said.
    reverse: HashMap<String, HashMap<IpAddr, String>>,
    /// Networks given member by member ([`Zone::set_member`]): their entries, and which
    /// ones changed since their tables were built.
    members: HashMap<String, BTreeMap<String, Member>>,
    dirty: HashSet<String>,
}

/// One container's names on one network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    /// Its names (name, short ID, hostname, aliases), any case.
    pub names: Vec<String>,
    /// Its addresses there, v4 and/or v6.
    pub addrs: Vec<IpAddr>,
    /// The name a PTR question for its addresses gets (Docker: the container's name).
    pub ptr: Option<String>,
}

/// The names of one network, and the same the other way round for PTR questions.
#[derive(Debug, Default)]
struct Table {
    names: HashMap<String, Vec<IpAddr>>,
    /// Address -> every name that has it, sorted.
    by_addr: HashMap<IpAddr, Vec<String>>,
}

/// A name as tables keep it: lowercase ASCII, without a trailing dot.
pub(crate) fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

impl Zone {
    /// Replaces every name of `network` (a network unknown so far is added).
    pub(crate) fn set_names(&mut self, network: &str, names: BTreeMap<String, Vec<IpAddr>>) {
        let mut table = Table::default();
        for (name, addrs) in names {
            let name = normalize(&name);
            let entry: &mut Vec<IpAddr> = table.names.entry(name.clone()).or_default();
            for addr in addrs {
                push_unique(entry, addr);
                let owners = table.by_addr.entry(addr).or_default();
                if !owners.contains(&name) {
                    owners.push(name.clone());
                }
            }
        }
        for owners in table.by_addr.values_mut() {
            owners.sort();
        }
        self.networks.insert(network.to_string(), table);
    }

    /// Replaces the names PTR questions get on `network`: address -> name (any case,
    /// trailing dot or not).
    pub(crate) fn set_reverse(&mut self, network: &str, names: BTreeMap<IpAddr, String>) {
        let names = names.into_iter().map(|(a, n)| (a, normalize(&n))).collect();
        self.reverse.insert(network.to_string(), names);
    }

    /// Forgets `network`, its names and its PTR names. Queriers that still list it simply
    /// find nothing there.
    pub(crate) fn remove_network(&mut self, network: &str) {
        self.networks.remove(network);
        self.reverse.remove(network);
        self.members.remove(network);
        self.dirty.remove(network);
    }

    /// Sets (or with `None` removes) one member's entry on `network`: a change costs the
    /// same however many containers the network has, so bringing up N containers is not
    /// quadratic. The network's tables are built again from its members at the next
    /// [`Zone::refresh`], i.e. by the next query, not at every change.
    pub(crate) fn set_member(&mut self, network: &str, member: &str, entry: Option<Member>) {
        let members = self.members.entry(network.to_string()).or_default();
        let changed = match entry {
            Some(e) => members.insert(member.to_string(), e.clone()) != Some(e),
            None => members.remove(member).is_some(),
        };
        if changed {
            self.dirty.insert(network.to_string());
        }
    }

    /// Builds the tables of the networks whose members changed.
    pub(crate) fn refresh(&mut self) {
        for network in std::mem::take(&mut self.dirty) {
            let Some(members) = self.members.get(&network) else {
                continue;
            };
            let mut names: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
            let mut reverse: BTreeMap<IpAddr, String> = BTreeMap::new();
            for m in members.values() {
                for n in &m.names {
                    let list = names.entry(normalize(n)).or_default();
                    for a in &m.addrs {
                        push_unique(list, *a);
                    }
                }
                if let Some(ptr) = &m.ptr {
                    for a in &m.addrs {
                        reverse.entry(*a).or_insert_with(|| ptr.clone());
                    }
                }
            }
            self.set_names(&network, names);
            self.set_reverse(&network, reverse);
        }
    }

    /// The zone as a querier on `networks` sees it.
    pub(crate) fn view<'a>(&'a self, networks: &'a [String]) -> View<'a> {
        View {
            zone: self,
            networks,
        }
    }
}

/// The zone seen from one querier.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    zone: &'a Zone,
    networks: &'a [String],
}

impl View<'_> {
    /// The addresses of `name` (any case, trailing dot or not), v4 and v6 mixed in the
    /// querier's network order; `None` when it is no name of the querier's networks,
    /// `Some` (perhaps empty) when it is.
    pub(crate) fn lookup(&self, name: &str) -> Option<Vec<IpAddr>> {
        let name = normalize(name);
        let mut found: Option<Vec<IpAddr>> = None;
        for table in self.tables().map(|(_, t)| t) {
            if let Some(addrs) = table.names.get(&name) {
                let all = found.get_or_insert_with(Vec::new);
                for addr in addrs {
                    push_unique(all, *addr);
                }
            }
        }
        if found.is_some() {
            return found;
        }
        // NAME.NETWORK: split at each dot from the right, so the shortest network name is
        // tried first (Docker's order: a.b.c in d, then a.b in c.d, then a in b.c.d).
        let mut rest = name.as_str();
        while let Some(dot) = rest.rfind('.') {
            let (host, network) = (&name[..dot], &name[dot + 1..]);
            if let Some((_, table)) = self.tables().find(|(n, _)| n.eq_ignore_ascii_case(network))
                && let Some(addrs) = table.names.get(host)
            {
                return Some(addrs.clone());
            }
            rest = &name[..dot];
        }
        None
    }

    /// The names of `addr` for a PTR answer, as `NAME.NETWORK` (Docker's form), from the
    /// first of the querier's networks that has it: its PTR name if the caller gave the
    /// network a list, else every name with that address; `None` when no network has it.
    pub(crate) fn reverse(&self, addr: IpAddr) -> Option<Vec<String>> {
        self.tables().find_map(|(network, table)| {
            let names = match self.zone.reverse.get(network) {
                Some(list) => vec![list.get(&addr)?.clone()],
                None => table.by_addr.get(&addr)?.clone(),
            };
            Some(
                names
                    .into_iter()
                    .map(|name| format!("{name}.{network}"))
                    .collect(),
            )
        })
    }

    /// The tables of the querier's networks that exist, in its order.
    fn tables(&self) -> impl Iterator<Item = (&str, &Table)> {
        self.networks
            .iter()
            .filter_map(|n| self.zone.networks.get(n).map(|t| (n.as_str(), t)))
    }
}

fn push_unique(list: &mut Vec<IpAddr>, addr: IpAddr) {
    if !list.contains(&addr) {
        list.push(addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// front: web 10.0.0.2 + fd00::2, api (alias of web) 10.0.0.2, db 10.0.0.3
    /// back:  db 10.1.0.3, cache 10.1.0.4, web 10.1.0.2 and 10.0.0.2 (shared address)
    /// v6only: six fd00::6
    fn zone() -> Zone {
        let mut z = Zone::default();
        let table = |rows: &[(&str, &[&str])]| -> BTreeMap<String, Vec<IpAddr>> {
            rows.iter()
                .map(|(n, a)| (n.to_string(), a.iter().map(|s| ip(s)).collect()))
                .collect()
        };
        z.set_names(
            "front",
            table(&[
                ("Web", &["10.0.0.2", "fd00::2"]),
                ("api.", &["10.0.0.2"]),
                ("db", &["10.0.0.3"]),
            ]),
        );
        z.set_names(
            "back",
            table(&[
                ("db", &["10.1.0.3"]),
                ("cache", &["10.1.0.4"]),
                ("web", &["10.1.0.2", "10.0.0.2"]),
            ]),
        );
        z.set_names("v6only", table(&[("six", &["fd00::6"]), ("empty", &[])]));
        z
    }

    /// (querier's networks, question, expected answer)
    type Case<'a> = (&'a [&'a str], &'a str, Option<&'a [&'a str]>);

    fn nets(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lookups_by_view() {
        let z = zone();
        let cases: &[Case] = &[
            // case and trailing dot ignored, both in the table and in the question
            (&["front"], "web", Some(&["10.0.0.2", "fd00::2"])),
            (&["front"], "WEB.", Some(&["10.0.0.2", "fd00::2"])),
            (&["front"], "Api", Some(&["10.0.0.2"])),
            // only the querier's networks
            (&["front"], "cache", None),
            (&["back"], "cache", Some(&["10.1.0.4"])),
            (&[], "web", None),
            (&["nosuch"], "web", None),
            // union in network order, no duplicates
            (&["front", "back"], "db", Some(&["10.0.0.3", "10.1.0.3"])),
            (&["back", "front"], "db", Some(&["10.1.0.3", "10.0.0.3"])),
            (
                &["front", "back"],
                "web",
                Some(&["10.0.0.2", "fd00::2", "10.1.0.2"]),
            ),
            // NAME.NETWORK, only on a network of the querier's
            (&["front", "back"], "db.back", Some(&["10.1.0.3"])),
            (&["front", "back"], "DB.Front.", Some(&["10.0.0.3"])),
            (&["front"], "db.back", None),
            (&["front"], "db.nosuch", None),
            (&["front"], "web.front.front", None),
            // known with an empty list: a lab name all the same
            (&["v6only"], "empty", Some(&[])),
            (&["v6only"], "six", Some(&["fd00::6"])),
            (&["front"], "", None),
            (&["front"], ".", None),
        ];
        for (networks, name, want) in cases {
            let networks = nets(networks);
            let got = z.view(&networks).lookup(name);
            let want = want.map(|w| w.iter().map(|s| ip(s)).collect::<Vec<_>>());
            assert_eq!(got, want, "{name:?} from {networks:?}");
        }
    }

    #[test]
    fn reverse_by_view() {
        let z = zone();
        let cases: &[Case] = &[
            (&["front"], "10.0.0.2", Some(&["api.front", "web.front"])),
            (&["back", "front"], "10.0.0.2", Some(&["web.back"])),
            (&["front", "back"], "10.1.0.4", Some(&["cache.back"])),
            (&["front"], "10.1.0.4", None),
            (&["front"], "fd00::2", Some(&["web.front"])),
            (&["front"], "192.0.2.1", None),
        ];
        for (networks, addr, want) in cases {
            let networks = nets(networks);
            let got = z.view(&networks).reverse(ip(addr));
            let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, want, "{addr} from {networks:?}");
        }
    }

    /// With a PTR list, a network answers its one name per address (Docker's container
    /// name, not the aliases); a network without one still answers every name.
    #[test]
    fn reverse_with_explicit_ptr_names() {
        let mut z = zone();
        z.set_reverse(
            "front",
            BTreeMap::from([
                (ip("10.0.0.2"), "Web".to_string()),
                (ip("fd00::2"), "web.".into()),
            ]),
        );
        let cases: &[Case] = &[
            (&["front"], "10.0.0.2", Some(&["web.front"])),
            (&["front"], "fd00::2", Some(&["web.front"])),
            // db has names on front but no PTR name: front does not answer for it
            (&["front"], "10.0.0.3", None),
            (&["front", "back"], "10.0.0.2", Some(&["web.front"])),
            (&["back", "front"], "10.0.0.2", Some(&["web.back"])),
        ];
        for (networks, addr, want) in cases {
            let networks = nets(networks);
            let got = z.view(&networks).reverse(ip(addr));
            let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, want, "{addr} from {networks:?}");
        }
        z.remove_network("front");
        z.set_names(
            "front",
            BTreeMap::from([("web".to_string(), vec![ip("10.0.0.2")])]),
        );
        assert_eq!(
            z.view(&nets(&["front"])).reverse(ip("10.0.0.2")),
            Some(vec!["web.front".to_string()]),
            "the PTR list went with the network"
        );
    }

    #[test]
    fn members_are_set_one_by_one_and_tables_built_at_refresh() {
        let mut z = Zone::default();
        let nets = ["appnet".to_string()];
        let m = |names: &[&str], a: &str| Member {
            names: names.iter().map(|n| n.to_string()).collect(),
            addrs: vec![ip(a)],
            ptr: Some(names[0].to_string()),
        };
        z.set_member("appnet", "db", Some(m(&["db", "Database"], "10.0.0.2")));
        z.set_member("appnet", "web", Some(m(&["web", "www"], "10.0.0.3")));
        // Not built before a refresh; built once after.
        assert_eq!(z.view(&nets).lookup("db"), None);
        z.refresh();
        assert_eq!(
            z.view(&nets).lookup("DATABASE."),
            Some(vec![ip("10.0.0.2")])
        );
        assert_eq!(
            z.view(&nets).reverse(ip("10.0.0.3")),
            Some(vec!["web.appnet".to_string()])
        );
        // The same entry again changes nothing; a removed member is gone after refresh.
        z.set_member("appnet", "web", Some(m(&["web", "www"], "10.0.0.3")));
        assert!(z.dirty.is_empty());
        z.set_member("appnet", "db", None);
        z.refresh();
        assert_eq!(z.view(&nets).lookup("db"), None);
        assert_eq!(z.view(&nets).lookup("www"), Some(vec![ip("10.0.0.3")]));
        // Two members with one alias: both addresses.
        z.set_member("appnet", "db2", Some(m(&["db2", "www"], "10.0.0.4")));
        z.refresh();
        let mut both = z.view(&nets).lookup("www").unwrap();
        both.sort();
        assert_eq!(both, vec![ip("10.0.0.3"), ip("10.0.0.4")]);
        z.remove_network("appnet");
        z.refresh();
        assert_eq!(z.view(&nets).lookup("www"), None);
    }

    #[test]
    fn set_names_replaces_and_remove_network_forgets() {
        let mut z = zone();
        let networks = nets(&["front"]);
        z.set_names(
            "front",
            BTreeMap::from([("db".to_string(), vec![ip("10.0.0.9")])]),
        );
        assert_eq!(z.view(&networks).lookup("web"), None);
        assert_eq!(z.view(&networks).lookup("db"), Some(vec![ip("10.0.0.9")]));
        assert_eq!(z.view(&networks).reverse(ip("10.0.0.2")), None);
        z.remove_network("front");
        assert_eq!(z.view(&networks).lookup("db"), None);
    }
}
