//! `docker inspect`'s shape for a container, and the `-f '{{ .A.B }}'` templates.

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::model::time::rfc3339;
use crate::model::{ContainerState, ContainerStatus};

/// One container as `docker inspect` shows it. `pid` is the PID as the caller sees it.
/// Only one key contains `IPAddress`, so the article's `grep IPAddress` finds one line.
pub fn to_docker_json(container: &ContainerState, pid: Option<i32>) -> Value {
    let exposed: Map<String, Value> = container
        .expose
        .iter()
        .map(|p| (p.to_string(), json!({})))
        .collect();
    // Grouped first: looking each exposed port up in every binding would be quadratic,
    // and a container may publish all 65,535 ports.
    let mut by_port: std::collections::HashMap<(u16, crate::model::Proto), Vec<Value>> =
        std::collections::HashMap::new();
    for b in &container.ports {
        by_port.entry((b.container_port, b.proto)).or_default().push(
            json!({"HostIp": b.host_ip_text(), "HostPort": b.host_port.map(|p| p.to_string()).unwrap_or_default()}),
        );
    }
    let ports: Map<String, Value> = container
        .expose
        .iter()
        .map(|p| {
            let bound = by_port.remove(&(p.port, p.proto)).map(Value::Array);
            (p.to_string(), bound.unwrap_or(Value::Null))
        })
        .collect();
    // Keys avoid the substring "IPAddress" so that `grep IPAddress` still finds one line.
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
    let status = match container.status {
        ContainerStatus::Created => "created",
        ContainerStatus::Running => "running",
        ContainerStatus::Exited => "exited",
    };
    json!({
        "Id": container.id,
        "Created": rfc3339(Some(container.created)),
        "Path": container.command.argv().first().cloned().unwrap_or_default(),
        "Args": container.command.argv().into_iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": status,
            "Running": container.status == ContainerStatus::Running,
            "Pid": pid.unwrap_or(0),
            "ExitCode": container.exit_code.unwrap_or(0),
            "StartedAt": rfc3339(container.started),
            "FinishedAt": rfc3339(container.finished),
        },
        "Name": format!("/{}", container.name),
        "Config": {
            "Hostname": container.hostname,
            "Env": container.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            "Cmd": container.command.argv(),
            "ExposedPorts": exposed,
        },
        "NetworkSettings": {
            "Bridge": "",
            "Gateway": container.gateway.to_string(),
            "IPAddress": container.ip.to_string(),
            "IPPrefixLen": container.prefix,
            "MacAddress": container.mac,
            "Ports": ports,
            "HostVeth": container.host_veth,
            "Pipework": pipework,
        },
        "HostConfig": {
            "Links": links,
            "PublishAllPorts": false,
        },
    })
}

/// Renders a Go-template-like format: `{{ .NetworkSettings.IPAddress }}` (field paths),
/// `{{json .Config.Env}}`; strings print bare, other values as compact JSON.
pub fn render_template(template: &str, value: &Value) -> Result<String> {
    let bad = |reason: String| Error::spec("--format", template, reason);
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| bad("a `{{` has no closing `}}`".into()))?;
        let expr = after[..end].trim();
        let (as_json, path) = match expr.strip_prefix("json ") {
            Some(p) => (true, p.trim()),
            None => (false, expr),
        };
        let path = path.strip_prefix('.').ok_or_else(|| {
            bad(format!(
                "{expr:?} is not a field path; write it like .NetworkSettings.IPAddress"
            ))
        })?;
        let mut v = value;
        if !path.is_empty() {
            for key in path.split('.') {
                v = v
                    .get(key)
                    .ok_or_else(|| bad(format!("there is no field {key:?} in .{path}")))?;
            }
        }
        match v {
            Value::String(s) if !as_json => out.push_str(s),
            other => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let v = json!({"NetworkSettings": {"IPAddress": "172.17.0.2", "IPPrefixLen": 16}, "Config": {"Env": ["A=1"]}});
        assert_eq!(
            render_template("{{ .NetworkSettings.IPAddress }}", &v).unwrap(),
            "172.17.0.2"
        );
        assert_eq!(
            render_template("{{.NetworkSettings.IPPrefixLen}}", &v).unwrap(),
            "16"
        );
        assert_eq!(
            render_template(
                "ip={{ .NetworkSettings.IPAddress }}/{{ .NetworkSettings.IPPrefixLen }}",
                &v
            )
            .unwrap(),
            "ip=172.17.0.2/16"
        );
        assert_eq!(
            render_template("{{json .Config.Env}}", &v).unwrap(),
            r#"["A=1"]"#
        );
        assert_eq!(
            render_template("{{json .NetworkSettings.IPAddress}}", &v).unwrap(),
            r#""172.17.0.2""#
        );
        assert!(render_template("{{ .Nope }}", &v).is_err());
        assert!(render_template("{{ NetworkSettings }}", &v).is_err());
        assert!(render_template("{{ .Config", &v).is_err());
    }
}
