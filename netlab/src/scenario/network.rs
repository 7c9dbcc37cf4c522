//! A scenario's `[[network]]` tables and its containers' `networks = [...]`: read in
//! `network create`'s and `run --network`'s words, built by the same functions the CLI
//! uses ([`NetworkSpec::from_options`], [`parse_ip`], ...), so that a file's errors are
//! the CLI's, anchored at the value they come from. What only the whole file knows is
//! checked here too: a container's networks are declared, a network's name is unique, the
//! networks overlap neither each other nor the lab's subnets, fixed addresses are unique.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use super::file::Ctx;
use crate::error::{Error, Result};
use crate::model::net::Subnet;
use crate::model::network::{
    self, Attachment, DEFAULT_NETWORK, Driver, NONE_NETWORK, NetworkSpec, parse_ip, parse_ip6,
};
use crate::model::{ContainerSpec, LabSpec};

/// A `[[network]]`, in `netlab network create`'s words.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawNetwork {
    name: Spanned<String>,
    driver: Option<Spanned<String>>,
    #[serde(default)]
    subnet: Strings,
    #[serde(default)]
    ip_range: Strings,
    #[serde(default)]
    gateway: Strings,
    #[serde(default)]
    internal: bool,
    ipv6: Option<Spanned<bool>>,
    parent: Option<Spanned<String>>,
    #[serde(default)]
    labels: BTreeMap<String, Spanned<String>>,
}

/// A string or a list of strings (`subnet = "10.78.0.0/24"`, `subnet = ["10.78.0.0/24",
/// "fd00:78::/64"]`), each with its place in the file.
#[derive(Debug, Default)]
pub(super) struct Strings(Vec<(Range<usize>, String)>);

enum OneOrMany {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a string or a list of strings, e.g. \"10.78.0.0/24\" or [\"10.78.0.0/24\", \"fd00:78::/64\"]",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<OneOrMany, A::Error> {
                let mut items = vec![];
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    items.push(item);
                }
                Ok(OneOrMany::Many(items))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let whole = Spanned::<OneOrMany>::deserialize(d)?;
        let span = whole.span();
        Ok(Strings(match whole.into_inner() {
            OneOrMany::One(s) => vec![(span, s)],
            OneOrMany::Many(items) => items
                .into_iter()
                .map(|i| (i.span(), i.into_inner()))
                .collect(),
        }))
    }
}

impl Strings {
    fn texts(&self) -> Vec<String> {
        self.0.iter().map(|(_, s)| s.clone()).collect()
    }

    /// The place of the item written as `value`, or of the first one.
    fn span_of(&self, value: &str) -> Option<Range<usize>> {
        self.0
            .iter()
            .find(|(_, s)| s == value)
            .or(self.0.first())
            .map(|(span, _)| span.clone())
    }
}

/// An entry of a container's `networks`: a network's name, or a table with the name and
/// what `run --network-alias --ip --ip6` would add.
#[derive(Debug)]
pub(super) enum RawAttachment {
    Name(String),
    Table(RawAttachmentTable),
}

impl RawAttachment {
    pub(super) fn name(&self) -> &str {
        match self {
            RawAttachment::Name(n) => n,
            RawAttachment::Table(t) => t.name.get_ref(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAttachmentTable {
    name: Spanned<String>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    ip: Option<Spanned<String>>,
    ip6: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for RawAttachment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawAttachment;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a network's name, e.g. \"appnet\", or a table, e.g. { name = \"appnet\", aliases = [\"db\"], ip = \"10.78.0.10\" }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<RawAttachment, E> {
                Ok(RawAttachment::Name(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<RawAttachment, A::Error> {
                RawAttachmentTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawAttachment::Table)
            }
        }
        d.deserialize_any(V)
    }
}

/// The file's `[[network]]` tables as the lab creates them, in file order, each checked
/// on its own (as `network create` does) and against the lab and the networks above it.
pub(super) fn networks_of(
    cx: &Ctx<'_>,
    raw: &[Spanned<RawNetwork>],
    lab: &LabSpec,
) -> Result<Vec<NetworkSpec>> {
    let mut out: Vec<NetworkSpec> = Vec::new();
    for n in raw {
        let r = n.get_ref();
        let name = r.name.get_ref();
        if out.iter().any(|o| &o.name == name) {
            return Err(cx.err(
                r.name.span(),
                format!("a network named {name:?} is defined twice; give each a unique name"),
            ));
        }
        let options: Vec<String> = r
            .parent
            .iter()
            .map(|p| format!("parent={}", p.get_ref()))
            .collect();
        let labels: Vec<String> = r
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.get_ref()))
            .collect();
        let spec = NetworkSpec::from_options(
            name,
            r.driver.as_ref().map_or("bridge", |d| d.get_ref().as_str()),
            &r.subnet.texts(),
            &r.ip_range.texts(),
            &r.gateway.texts(),
            r.internal,
            r.ipv6.as_ref().is_some_and(|b| *b.get_ref()),
            &options,
            &labels,
        )
        .map_err(|e| cx.err(network_error_span(r, &e), e.to_string()))?;
        if spec.driver == Driver::Macvlan {
            check_parent(cx, r, lab)?;
            // As the lab refuses at `network create`, in its words.
            if let (Some(p), Some(other)) = (
                &r.parent,
                out.iter()
                    .find(|o| o.driver == Driver::Macvlan && o.parent == spec.parent),
            ) {
                return Err(cx.err(
                    p.span(),
                    Error::spec(
                        "-o parent",
                        p.get_ref(),
                        format!(
                            "network {} is already using parent interface {}; put the containers on that network, or remove it first",
                            other.name,
                            p.get_ref()
                        ),
                    )
                    .to_string(),
                ));
            }
        }
        // As the lab checks at `network create`: a macvlan network lies on its parent's
        // LAN by design, so only the other subnets count for it.
        let mut used: Vec<(Subnet, String)> = lab_subnets(lab)
            .into_iter()
            .filter(|(_, who)| spec.driver != Driver::Macvlan || !who.starts_with("the lab's LAN"))
            .collect();
        used.extend(out.iter().flat_map(|o| {
            o.subnets
                .iter()
                .map(|s| (s.subnet.canonical(), format!("network {}", o.name)))
        }));
        for s in &spec.subnets {
            if let Some((_, who)) = network::overlap(&s.subnet, &used) {
                return Err(cx.err(
                    r.subnet.span_of(&s.subnet.to_string()).unwrap_or(r.name.span()),
                    Error::spec(
                        "--subnet",
                        s.subnet.to_string(),
                        format!("it overlaps {who}; choose a subnet that overlaps nothing in the lab, or leave subnet out to get a free one"),
                    )
                    .to_string(),
                ));
            }
        }
        out.push(spec);
    }
    Ok(out)
}

/// The lab's own subnets, named as the lab names them in its overlap errors.
fn lab_subnets(lab: &LabSpec) -> Vec<(Subnet, String)> {
    let mut used = vec![(
        Subnet::V4(lab.bip.canonical()),
        format!("the default network bridge ({})", lab.bridge),
    )];
    if let Some(a) = lab.uplink.as_ref().and_then(|u| u.addr) {
        used.push((
            Subnet::V4(a.canonical()),
            "the lab's LAN (its uplink)".into(),
        ));
    }
    for n in &lab.lan_nodes {
        used.push((
            Subnet::V4(n.addr.canonical()),
            format!("the lab's LAN (machine {})", n.name),
        ));
    }
    used
}

/// A macvlan network's parent is an interface of the lab host when the networks are
/// made: its uplink (or its bridge); and not a port of the bridge, because the kernel
/// gives a device to one master only (a bridge port cannot be a macvlan parent: EBUSY).
fn check_parent(cx: &Ctx<'_>, r: &RawNetwork, lab: &LabSpec) -> Result<()> {
    let Some(p) = &r.parent else {
        return Ok(());
    };
    let uplink = lab
        .uplink
        .as_ref()
        .map(|u| u.name.clone())
        .or_else(|| lab.uplink_dev.clone());
    let parent = p.get_ref();
    if uplink.as_deref() == Some(parent.as_str()) && lab.attach_uplink {
        return Err(cx.err(
            p.span(),
            format!(
                "{parent} is a port of {} (attach-uplink = true), and a bridge port cannot be a macvlan parent; remove attach-uplink, or put the containers on {} instead",
                lab.bridge, lab.bridge
            ),
        ));
    }
    if uplink.as_deref() != Some(parent.as_str()) && parent != &lab.bridge {
        let has: Vec<String> = [Some(lab.bridge.clone()), uplink]
            .into_iter()
            .flatten()
            .collect();
        return Err(cx.err(
            p.span(),
            format!(
                "the lab host has no interface {parent:?} (it has: {}); a macvlan network's parent is the lab's uplink: add uplink = \"{parent}=ADDRESS/PREFIX\" to [lab], e.g. uplink = \"eth1=10.2.0.10/16\"",
                has.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Where a [`NetworkSpec::from_options`] error belongs: the value the option it names was
/// written as.
fn network_error_span(r: &RawNetwork, e: &Error) -> Range<usize> {
    let (what, value) = match e {
        Error::InvalidSpec { what, value, .. } => (what.as_str(), value.as_str()),
        _ => ("", ""),
    };
    let span = match what {
        "--driver" if value != "macvlan" => r.driver.as_ref().map(Spanned::span),
        "--driver" => r.parent.as_ref().or(r.driver.as_ref()).map(Spanned::span),
        "--subnet" => r.subnet.span_of(value),
        "--ip-range" => r.ip_range.span_of(value),
        "--gateway" => r.gateway.span_of(value),
        "-o" | "-o parent" => r.parent.as_ref().map(Spanned::span),
        "--ipv6" => r.ipv6.as_ref().map(Spanned::span),
        _ if matches!(e, Error::InvalidName { what, .. } if what == "interface") => {
            r.parent.as_ref().map(Spanned::span)
        }
        _ => None,
    };
    span.unwrap_or_else(|| r.name.span())
}

/// A container's `networks` as [`ContainerSpec::networks`]: each entry's network is
/// `bridge`, `none` or one of `networks`, its aliases and addresses checked as `run`
/// checks them. `fixed` collects the fixed addresses taken so far, by network, to refuse
/// a second container on the same one.
pub(super) fn attachments_of(
    cx: &Ctx<'_>,
    container: &str,
    raw: &[Spanned<RawAttachment>],
    lab: &LabSpec,
    networks: &[NetworkSpec],
    fixed: &mut HashMap<(String, IpAddr), String>,
) -> Result<Vec<Attachment>> {
    let mut out = Vec::new();
    for entry in raw {
        let (name, name_span) = match entry.get_ref() {
            RawAttachment::Name(n) => (n.clone(), entry.span()),
            RawAttachment::Table(t) => (t.name.get_ref().clone(), t.name.span()),
        };
        let declared = networks.iter().find(|n| n.name == name);
        if declared.is_none() && name != DEFAULT_NETWORK && name != NONE_NETWORK {
            let mut known = vec![DEFAULT_NETWORK.to_string(), NONE_NETWORK.to_string()];
            known.extend(networks.iter().map(|n| n.name.clone()));
            return Err(cx.err(
                name_span,
                format!(
                    "network {name:?} is not one this file has; a container's network is one of {} (declare others with a [[network]] table)",
                    known.join(", ")
                ),
            ));
        }
        let mut a = Attachment::new(&name);
        let mut spans: Vec<(&str, Range<usize>)> = vec![];
        if let RawAttachment::Table(t) = entry.get_ref() {
            for alias in &t.aliases {
                let one = Attachment {
                    aliases: vec![alias.get_ref().clone()],
                    ..Attachment::new(&name)
                };
                cx.at(alias.span(), one.validate())?;
                a.aliases.push(alias.get_ref().clone());
                spans.push(("--network-alias", alias.span()));
            }
            if let Some(ip) = &t.ip {
                a.ip = Some(cx.at(ip.span(), parse_ip(ip.get_ref()))?);
                spans.push(("--ip", ip.span()));
            }
            if let Some(ip6) = &t.ip6 {
                a.ip6 = Some(cx.at(ip6.span(), parse_ip6(ip6.get_ref()))?);
                spans.push(("--ip6", ip6.span()));
            }
        }
        // An error names the option; it belongs at the value written for it.
        let at = |e: Error| {
            let what = match &e {
                Error::InvalidSpec { what, .. } => what.as_str(),
                _ => "",
            };
            let span = spans
                .iter()
                .find(|(w, _)| *w == what)
                .or(spans.first())
                .map(|(_, s)| s.clone())
                .unwrap_or_else(|| entry.span());
            cx.err(span, e.to_string())
        };
        match declared {
            None if name == DEFAULT_NETWORK => a.check_default_bridge().map_err(at)?,
            None => {
                if !spans.is_empty() {
                    return Err(cx.err(
                        spans[0].1.clone(),
                        "a container on the none network has only its loopback: no aliases or addresses",
                    ));
                }
            }
            Some(net) => {
                a.check_fixed_addresses(net).map_err(at)?;
                taken_addresses(cx, container, &a, lab, net, &spans, fixed)?;
            }
        }
        out.push(a);
    }
    Ok(out)
}

/// Refuses a fixed address that another container of the file, the network's gateway or
/// (on a macvlan network) the lab host's uplink or a machine of the LAN has, as the lab's
/// IPAM would at `up`.
fn taken_addresses(
    cx: &Ctx<'_>,
    container: &str,
    a: &Attachment,
    lab: &LabSpec,
    net: &NetworkSpec,
    spans: &[(&str, Range<usize>)],
    fixed: &mut HashMap<(String, IpAddr), String>,
) -> Result<()> {
    let gateways = [
        net.v4().and_then(network::gateway_v4).map(IpAddr::V4),
        net.v6().and_then(network::gateway_v6).map(IpAddr::V6),
    ];
    let wanted = [
        (a.ip.map(IpAddr::V4), "--ip"),
        (a.ip6.map(IpAddr::V6), "--ip6"),
    ];
    for (ip, what) in wanted {
        let Some(ip) = ip else { continue };
        let span = spans
            .iter()
            .find(|(w, _)| *w == what)
            .map(|(_, s)| s.clone())
            .unwrap_or(0..0);
        let lan = lab
            .lan_addresses()
            .into_iter()
            .find(|(addr, _)| net.driver == Driver::Macvlan && IpAddr::V4(*addr) == ip);
        let owner = if gateways.contains(&Some(ip)) {
            Some(format!("the gateway of network {}", net.name))
        } else if let Some((_, who)) = lan {
            Some(who)
        } else {
            fixed
                .get(&(net.name.clone(), ip))
                .map(|c| format!("container {c}"))
        };
        if let Some(owner) = owner {
            return Err(cx.err(
                span,
                format!("address {ip} is already used by {owner}; pick another or omit it"),
            ));
        }
        fixed.insert((net.name.clone(), ip), container.to_string());
    }
    Ok(())
}

/// Refuses links from a container on `none` (at the first link, in the lab's words), and
/// Docker's legacy links (a container whose `eth0` is on the default bridge) to a
/// container that is not on the default bridge, as Docker does ("Cannot link to /NAME, as
/// it does not belong to the default network"): the linking container could not reach the
/// address its variables and `/etc/hosts` would give. On a user-defined network a link is
/// a name its DNS answers, to any container.
pub(super) fn check_links(
    cx: &Ctx<'_>,
    spec: &ContainerSpec,
    links: &[Spanned<String>],
    on_default_bridge: &dyn Fn(&str) -> bool,
) -> Result<()> {
    let Some(first) = links.first() else {
        return Ok(());
    };
    cx.at(first.span(), spec.check_links_network())?;
    for (l, raw) in spec.links.iter().zip(links) {
        if spec.legacy_links() && !on_default_bridge(&l.name) {
            return Err(cx.err(
                raw.span(),
                format!(
                    "cannot link to {:?}, as it does not belong to the default network (bridge); add \"bridge\" to its networks, or put both containers on one network of your own and use the name instead of a link",
                    l.name
                ),
            ));
        }
    }
    Ok(())
}
