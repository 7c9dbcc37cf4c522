//! `docker inspect`'s shape for a container, and how `netlab inspect` prints it.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::model::restart::RestartPolicy;
use crate::model::template::go_json;
use crate::model::time::rfc3339;
use crate::model::{ContainerState, ContainerStatus, Proto};

/// A Go map of Docker's types as JSON: keys sorted, as Go's encoder writes them.
fn go_map(mut entries: Vec<(String, Value)>) -> Value {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(entries.into_iter().collect())
}

/// One container as `docker inspect` shows it (Docker 20.10's keys, those that mean
/// something in netlab). `pid` is the PID as the caller sees it.
///
/// What netlab does not have is stated as Docker states its absence (`RestartPolicy`
/// `no`, `OOMKilled` false, `State.Error` empty), never made up. Two differences:
/// `HostConfig.PortBindings` has the host ports the lab chose where Docker keeps `""`
/// (netlab records bindings as decided), and the default bridge's `Links` and `Aliases`
/// are `null` as in Docker (legacy links live in `HostConfig.Links`).
pub fn to_docker_json(container: &ContainerState, pid: Option<i32>) -> Value {
    let exposed = go_map(
        container
            .expose
            .iter()
            .map(|p| (p.to_string(), json!({})))
            .collect(),
    );
    // Grouped first: looking each exposed port up in every binding would be quadratic,
    // and a container may publish all 65,535 ports.
    let mut by_port: HashMap<(u16, Proto), Vec<Value>> = HashMap::new();
    let mut requested: HashMap<(u16, Proto), Vec<Value>> = HashMap::new();
    let ipv6 = container.networks.first().is_some_and(|e| e.ip6.is_some());
    for b in &container.ports {
        let host_port = b.host_port.map(|p| p.to_string()).unwrap_or_default();
        for ip in b.listen_texts(ipv6) {
            by_port
                .entry((b.container_port, b.proto))
                .or_default()
                .push(json!({"HostIp": ip, "HostPort": host_port}));
        }
        // Docker keeps the address as asked: "" for every address.
        let asked_ip = b.host_ip.map(|i| i.to_string()).unwrap_or_default();
        requested
            .entry((b.container_port, b.proto))
            .or_default()
            .push(json!({"HostIp": asked_ip, "HostPort": host_port}));
    }
    // A stopped container holds no address and forwards nothing: Docker shows an empty
    // `Ports` map and empty address fields then.
    let ports = go_map(
        container
            .expose
            .iter()
            .filter(|_| container.connected)
            .map(|p| {
                let bound = by_port.remove(&(p.port, p.proto)).map(Value::Array);
                (p.to_string(), bound.unwrap_or(Value::Null))
            })
            .collect(),
    );
    // The top-level address fields are the default bridge's, as in Docker: empty for a
    // container whose first network is another.
    let on_bridge = container
        .networks
        .first()
        .is_some_and(|e| e.network == crate::model::network::DEFAULT_NETWORK);
    let (ip, gateway, prefix, mac) = if container.connected && on_bridge {
        (
            container.ip.to_string(),
            container.gateway.to_string(),
            container.prefix,
            container.mac.clone(),
        )
    } else {
        Default::default()
    };
    let port_bindings = go_map(
        requested
            .into_iter()
            .map(|((port, proto), v)| (format!("{port}/{}", proto.as_str()), Value::Array(v)))
            .collect(),
    );
    // Keys avoid the substring "IPAddress": see `to_pretty_json`.
    let pipework: Vec<Value> = container
        .pipework
        .iter()
        .map(|p| {
            json!({"Interface": p.ifname, "Bridge": p.bridge, "Address": p.addr.to_string(), "Gateway": p.gateway.map(|g| g.to_string()), "MacAddress": p.mac, "HostInterface": p.host_ifname})
        })
        .collect();
    let links: Vec<String> = container
        .links
        .iter()
        .map(|l| format!("/{}:/{}/{}", l.name, container.name, l.alias))
        .collect();
    let status = crate::model::ps::state_word(container.status);
    json!({
        "Id": container.id,
        "Created": rfc3339(Some(container.created)),
        "Path": container.command.argv().first().cloned().unwrap_or_default(),
        "Args": container.command.argv().into_iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": status,
            "Running": container.status == ContainerStatus::Running,
            "Restarting": container.restarting,
            "OOMKilled": false,
            "Pid": pid.unwrap_or(0),
            "ExitCode": container.exit_code.unwrap_or(0),
            "Error": "",
            "StartedAt": rfc3339(container.started),
            "FinishedAt": rfc3339(container.finished),
        },
        "Name": format!("/{}", container.name),
        "RestartCount": container.restart_count,
        "HostConfig": {
            "NetworkMode": container.network_mode,
            "PortBindings": port_bindings,
            "RestartPolicy": restart_policy(container.restart_policy),
            "AutoRemove": container.auto_remove,
            "Links": links,
            "PublishAllPorts": false,
        },
        "Config": {
            "Hostname": container.hostname,
            "Env": container.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            "Cmd": container.command.argv(),
            "ExposedPorts": exposed,
        },
        "NetworkSettings": {
            "Bridge": "",
            "Gateway": gateway,
            "IPAddress": ip,
            "IPPrefixLen": prefix,
            "MacAddress": mac,
            "Ports": ports,
            "HostVeth": container.host_veth,
            "Pipework": pipework,
            // netlab's own: the faults acting on its network now (`netlab faults`).
            "Faults": container.faults,
            // The lab's bridge is Docker's default network, which Docker calls "bridge".
            "Networks": networks(container),
        },
    })
}

/// `NetworkSettings.Networks`: one entry per endpoint, in Docker's shape (addresses empty
/// while the container is stopped; on user-defined networks the aliases with the short ID
/// first, as Docker 20.10 lists them).
fn networks(container: &ContainerState) -> Value {
    let mut map = Map::new();
    // `--network none`: Docker's endpoint there has nothing but the network's ID.
    if let Some(id) = &container.none_network_id {
        map.insert(
            crate::model::network::NONE_NETWORK.into(),
            json!({
                "IPAMConfig": null,
                "Links": null,
                "Aliases": null,
                "NetworkID": id,
                "Gateway": "",
                "IPAddress": "",
                "IPPrefixLen": 0,
                "IPv6Gateway": "",
                "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0,
                "MacAddress": "",
            }),
        );
    }
    for e in &container.networks {
        let live = container.connected;
        let text = |v: Option<String>| {
            if live {
                v.unwrap_or_default()
            } else {
                String::new()
            }
        };
        let user = e.network != crate::model::network::DEFAULT_NETWORK;
        let aliases: Value = if user {
            // Docker 20.10's order: the given aliases, then the short ID, then the
            // `--hostname` if one was given (Docker's default hostname is the short ID,
            // netlab's the name: neither is added).
            let mut a = e.aliases.clone();
            for name in [
                container.id.get(..12).unwrap_or(&container.id),
                container.hostname.as_str(),
            ] {
                if name != container.name && !a.iter().any(|x| x == name) {
                    a.push(name.to_string());
                }
            }
            json!(a)
        } else {
            Value::Null
        };
        // Docker's EndpointIPAMConfig leaves an address out when none was asked for.
        let ipam = if e.static_ip.is_some() || e.static_ip6.is_some() {
            let mut m = Map::new();
            if let Some(ip) = e.static_ip {
                m.insert("IPv4Address".into(), json!(ip.to_string()));
            }
            if let Some(ip) = e.static_ip6 {
                m.insert("IPv6Address".into(), json!(ip.to_string()));
            }
            Value::Object(m)
        } else {
            Value::Null
        };
        map.insert(
            e.network.clone(),
            json!({
                "IPAMConfig": ipam,
                "Links": null,
                "Aliases": aliases,
                "NetworkID": e.network_id,
                "Gateway": text(e.gateway.map(|g| g.to_string())),
                "IPAddress": text(Some(e.ip.to_string())),
                "IPPrefixLen": if live { e.prefix } else { 0 },
                "IPv6Gateway": text(e.gateway6.map(|g| g.to_string())),
                "GlobalIPv6Address": text(e.ip6.map(|g| g.to_string())),
                "GlobalIPv6PrefixLen": if live && e.ip6.is_some() { e.prefix6 } else { 0 },
                "MacAddress": text(Some(e.mac.clone())),
                "Interface": e.ifname,
            }),
        );
    }
    Value::Object(map)
}

/// The objects of a document that are Go maps in Docker's types, where a missing key
/// prints `<no value>` in `-f` templates instead of failing (as with Docker).
pub fn docker_maps(doc: &Value) -> Vec<&Map<String, Value>> {
    [
        &["Config", "ExposedPorts"][..],
        &["HostConfig", "PortBindings"],
        &["NetworkSettings", "Ports"],
        &["NetworkSettings", "Networks"],
    ]
    .iter()
    .filter_map(|path| path.iter().try_fold(doc, |v, k| v.get(k))?.as_object())
    .collect()
}

/// The objects of a document that Docker's JSON writes without their empty fields
/// (`omitempty`), with those fields: in `-f` templates they print as empty strings, as
/// with Docker, which runs the template over its typed structures.
pub fn docker_omitted(doc: &Value) -> Vec<(&Map<String, Value>, &'static [&'static str])> {
    const IPAM_CONFIG: &[&str] = &["IPv4Address", "IPv6Address"];
    doc.pointer("/NetworkSettings/Networks")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|nets| nets.values())
        .filter_map(|n| n.get("IPAMConfig")?.as_object())
        .map(|c| (c, IPAM_CONFIG))
        .collect()
}

/// `docker inspect`'s output: the documents as a JSON array indented by four spaces,
/// strings as Docker's encoder writes them (no HTML escaping).
///
/// One exception keeps the article's `inspect NAME | grep IPAddress | awk '{print $2}'`
/// printing one address: each network of `NetworkSettings.Networks` is written on one
/// line without spaces, so its line is a single `awk` field and adds nothing (Docker
/// 20.10 prints `IPAddress` twice, and the pipeline prints `null172.17.0.3172.17.0.3`).
pub fn to_pretty_json(docs: &[Value]) -> String {
    let mut out = String::new();
    write_pretty(&mut out, &Value::Array(docs.to_vec()), 0, &mut Vec::new());
    out
}

fn write_pretty<'a>(out: &mut String, v: &'a Value, depth: usize, path: &mut Vec<&'a str>) {
    let indent = |out: &mut String, depth: usize| out.extend(std::iter::repeat_n("    ", depth));
    match v {
        Value::Array(a) if !a.is_empty() => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('\n');
                indent(out, depth + 1);
                // Each element of the outer array is a document: paths start again.
                let mut inner = if depth == 0 { Vec::new() } else { path.clone() };
                write_pretty(out, e, depth + 1, &mut inner);
            }
            out.push('\n');
            indent(out, depth);
            out.push(']');
        }
        Value::Object(m) if !m.is_empty() => {
            let one_line = path.as_slice() == ["NetworkSettings", "Networks"];
            out.push('{');
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('\n');
                indent(out, depth + 1);
                out.push_str(&go_json(&Value::String(k.clone())));
                if one_line {
                    out.push(':');
                    out.push_str(&go_json(e));
                } else {
                    out.push_str(": ");
                    path.push(k);
                    write_pretty(out, e, depth + 1, path);
                    path.pop();
                }
            }
            out.push('\n');
            indent(out, depth);
            out.push('}');
        }
        other => out.push_str(&go_json(other)),
    }
}

/// Docker's `HostConfig.RestartPolicy`: the policy's name and its retry limit.
fn restart_policy(p: RestartPolicy) -> Value {
    let (name, max) = match p {
        RestartPolicy::No => ("no", 0),
        RestartPolicy::OnFailure { max_retries } => ("on-failure", max_retries),
        RestartPolicy::Always => ("always", 0),
        RestartPolicy::UnlessStopped => ("unless-stopped", 0),
    };
    json!({"Name": name, "MaximumRetryCount": max})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::template::{Options, Template};
    use crate::model::{CommandSpec, ExposedPort, PortBinding};

    fn web() -> ContainerState {
        ContainerState {
            id: "f".repeat(64),
            name: "webserver1".into(),
            hostname: "webserver1".into(),
            env: vec![("A".into(), "<&>".into())],
            command: CommandSpec::Shell("sleep 1000".into()),
            expose: vec![
                ExposedPort {
                    port: 8080,
                    proto: Proto::Tcp,
                },
                ExposedPort {
                    port: 27017,
                    proto: Proto::Tcp,
                },
            ],
            status: ContainerStatus::Running,
            pid: 7,
            exit_code: None,
            restart_count: 0,
            restarting: false,
            restart_policy: Default::default(),
            auto_remove: false,
            network_mode: "default".into(),
            none_network_id: None,
            ip: "172.17.0.3".parse().unwrap(),
            connected: true,
            faults: vec![],
            networks: vec![crate::model::container::EndpointState {
                network: "bridge".into(),
                network_id: "b".repeat(64),
                ifname: "eth0".into(),
                ip: "172.17.0.3".parse().unwrap(),
                prefix: 16,
                gateway: Some("172.17.0.1".parse().unwrap()),
                ip6: None,
                prefix6: 0,
                gateway6: None,
                mac: "02:42:ac:11:00:03".into(),
                host_veth: "veth1".into(),
                aliases: vec![],
                static_ip: None,
                static_ip6: None,
            }],
            prefix: 16,
            gateway: "172.17.0.1".parse().unwrap(),
            mac: "02:42:ac:11:00:03".into(),
            host_veth: "veth1".into(),
            created: 1_795_000_000,
            started: Some(1_795_000_000),
            finished: None,
            links: vec![crate::LinkSpec::parse("mongodb:mongo").unwrap()],
            ports: vec![PortBinding {
                host_ip: None,
                host_port: Some(8080),
                container_port: 8080,
                proto: Proto::Tcp,
            }],
            pipework: vec![],
        }
    }

    #[test]
    fn docker_keys() {
        let d = to_docker_json(&web(), Some(4242));
        assert_eq!(d["State"]["Pid"], 4242);
        assert_eq!(d["State"]["OOMKilled"], false);
        assert_eq!(d["State"]["Error"], "");
        assert_eq!(d["HostConfig"]["NetworkMode"], "default");
        assert_eq!(
            d["HostConfig"]["RestartPolicy"],
            json!({"Name": "no", "MaximumRetryCount": 0})
        );
        assert_eq!(
            d["HostConfig"]["Links"],
            json!(["/mongodb:/webserver1/mongo"])
        );
        assert_eq!(
            d["HostConfig"]["PortBindings"],
            json!({"8080/tcp": [{"HostIp": "", "HostPort": "8080"}]})
        );
        assert_eq!(
            d["NetworkSettings"]["Ports"],
            json!({"27017/tcp": null, "8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]})
        );
        let keys: Vec<&String> = d["Config"]["ExposedPorts"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(keys, ["27017/tcp", "8080/tcp"], "sorted like a Go map");
        let bridge = &d["NetworkSettings"]["Networks"]["bridge"];
        assert_eq!(bridge["IPAddress"], "172.17.0.3");
        assert_eq!(bridge["IPPrefixLen"], 16);
        assert_eq!(bridge["Gateway"], "172.17.0.1");
        assert_eq!(bridge["MacAddress"], "02:42:ac:11:00:03");
        assert_eq!(bridge["Links"], Value::Null);
    }

    /// A stopped container holds no address and forwards nothing (Docker 20.10's document
    /// for an exited container); what was asked for stays in `HostConfig`.
    #[test]
    fn a_stopped_container_shows_no_address_and_no_ports() {
        let mut c = web();
        c.connected = false;
        let d = to_docker_json(&c, None);
        let net = &d["NetworkSettings"];
        for key in ["IPAddress", "Gateway", "MacAddress"] {
            assert_eq!(net[key], "", "{key}");
            assert_eq!(net["Networks"]["bridge"][key], "", "{key}");
        }
        assert_eq!(net["IPPrefixLen"], 0);
        assert_eq!(net["Ports"], json!({}));
        assert_eq!(
            d["HostConfig"]["PortBindings"],
            to_docker_json(&web(), None)["HostConfig"]["PortBindings"]
        );
    }

    /// On a user-defined network: the aliases given, the short ID, and a `--hostname`
    /// (Docker 20.10's order); the default hostname (the name) is not among them.
    #[test]
    fn aliases_on_a_user_network() {
        let mut c = web();
        c.networks[0].network = "net1".into();
        c.networks[0].aliases = vec!["www".into()];
        let aliases = |c: &ContainerState| {
            to_docker_json(c, None)["NetworkSettings"]["Networks"]["net1"]["Aliases"].clone()
        };
        assert_eq!(aliases(&c), json!(["www", "ffffffffffff"]));
        c.hostname = "wh".into();
        assert_eq!(aliases(&c), json!(["www", "ffffffffffff", "wh"]));
        c.hostname = "www".into();
        assert_eq!(aliases(&c), json!(["www", "ffffffffffff"]), "no name twice");
    }

    /// Docker's `IPAMConfig` has only the addresses asked for; `-f` reads the other as
    /// empty, as over Docker's typed structure.
    #[test]
    fn ipam_config_leaves_out_what_was_not_asked_for() {
        let mut c = web();
        c.networks[0].static_ip = Some("172.17.0.9".parse().unwrap());
        let d = to_docker_json(&c, Some(1));
        let options = Options {
            missing_key_error: true,
            maps: docker_maps(&d),
            omitted: docker_omitted(&d),
            header: false,
        };
        let t = "{{range .NetworkSettings.Networks}}{{json .IPAMConfig}} [{{.IPAMConfig.IPv6Address}}]{{end}}";
        assert_eq!(
            Template::parse(t).unwrap().execute(&d, &options).unwrap(),
            r#"{"IPv4Address":"172.17.0.9"} []"#
        );
    }

    #[test]
    fn templates_over_the_document() {
        let d = to_docker_json(&web(), Some(1));
        let options = Options {
            missing_key_error: true,
            maps: docker_maps(&d),
            omitted: docker_omitted(&d),
            header: false,
        };
        let run = |t: &str| Template::parse(t).unwrap().execute(&d, &options);
        assert_eq!(
            run("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}").unwrap(),
            "172.17.0.3"
        );
        assert_eq!(
            run("{{json .HostConfig.RestartPolicy}}").unwrap(),
            r#"{"Name":"no","MaximumRetryCount":0}"#
        );
        assert_eq!(
            run("{{(index (index .NetworkSettings.Ports \"8080/tcp\") 0).HostPort}}").unwrap(),
            "8080"
        );
        assert_eq!(
            run("{{.NetworkSettings.Networks.nope}}").unwrap(),
            "<no value>"
        );
        assert_eq!(run("{{.Config.ExposedPorts.nope}}").unwrap(), "<no value>");
        assert!(
            run("{{.State.Nope}}")
                .unwrap_err()
                .to_string()
                .contains("map has no entry for key \"Nope\"")
        );
    }

    /// The article's `inspect | grep IPAddress | awk '{print $2}' | tr -d '",\n'`.
    fn article_pipeline(text: &str) -> String {
        text.lines()
            .filter(|l| l.contains("IPAddress"))
            .map(|l| l.split_whitespace().nth(1).unwrap_or(""))
            .collect::<String>()
            .chars()
            .filter(|c| !matches!(c, '"' | ',' | '\n'))
            .collect()
    }

    #[test]
    fn pretty_output_is_docker_shaped_json_and_keeps_the_article_pipeline() {
        let docs = vec![to_docker_json(&web(), Some(1))];
        let text = to_pretty_json(&docs);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, Value::Array(docs));
        assert!(
            text.starts_with("[\n    {\n        \"Id\": \"ffff"),
            "{text}"
        );
        assert!(text.contains("\"A=<&>\""), "no HTML escaping: {text}");
        assert!(
            text.contains(
                "\n                \"bridge\":{\"IPAMConfig\":null,\"Links\":null,\"Aliases\":null,"
            ) && text.contains("\"Gateway\":\"172.17.0.1\",\"IPAddress\":\"172.17.0.3\","),
            "{text}"
        );
        assert_eq!(article_pipeline(&text), "172.17.0.3");
        assert_eq!(to_pretty_json(&[]), "[]");
    }
}
