//! `netlab inspect`.

use crate::client::{Lab, outer_pid};
use crate::error::Error;
use crate::inspect::{docker_maps, docker_omitted, to_docker_json, to_pretty_json};
use crate::model::template::{Options, Template};

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Print this Go template for each container instead of the JSON, as Docker does:
    /// '{{ .NetworkSettings.IPAddress }}', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
    /// '{{json .Config.Env}}', '{{index .NetworkSettings.Ports "8080/tcp"}}', '{{if .State.Running}}…{{end}}'.
    #[arg(short = 'f', long = "format")]
    format: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

/// Docker 20.10's behaviour, measured: the containers found are printed first, then one
/// line on stderr per name not found (`Error: No such object: NAME`) or per template that
/// failed on a container, and the exit code is 1; a template that does not parse exits 64
/// before anything is looked up.
pub fn inspect(lab: &str, a: InspectArgs) -> anyhow::Result<u8> {
    let template = match a.format.as_deref().map(Template::parse).transpose() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("template parsing error: {e}");
            return Ok(64);
        }
    };
    let lab = Lab::open(lab)?;
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for n in &a.names {
        match lab.inspect(n) {
            Ok(c) => docs.push(to_docker_json(&c, outer_pid(lab.supervisor_pid(), c.pid))),
            Err(Error::UnknownContainer { .. }) => {
                errors.push(format!("Error: No such object: {n}"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    match &template {
        None => println!("{}", to_pretty_json(&docs)),
        Some(t) => {
            let mut out = String::new();
            for d in &docs {
                let options = Options {
                    missing_key_error: true,
                    maps: docker_maps(d),
                    omitted: docker_omitted(d),
                    header: false,
                };
                match t.execute(d, &options) {
                    Ok(s) => {
                        out.push_str(&s);
                        out.push('\n');
                    }
                    Err(e) => errors.push(format!("template parsing error: {e}")),
                }
            }
            // Docker writes an empty line when no container printed anything.
            if out.is_empty() {
                out.push('\n');
            }
            print!("{out}");
        }
    }
    for e in &errors {
        eprintln!("{e}");
    }
    Ok(if errors.is_empty() { 0 } else { 1 })
}
