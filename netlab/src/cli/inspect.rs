//! `netlab inspect`.

use crate::client::{Lab, outer_pid};
use crate::inspect::{render_template, to_docker_json};

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Print only this template for each container, e.g. '{{ .NetworkSettings.IPAddress }}'.
    #[arg(short = 'f', long = "format")]
    format: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn inspect(lab: &str, a: InspectArgs) -> anyhow::Result<u8> {
    let lab = Lab::open(lab)?;
    let mut docs = Vec::new();
    for n in &a.names {
        let c = lab.inspect(n)?;
        docs.push(to_docker_json(&c, outer_pid(lab.supervisor_pid(), c.pid)));
    }
    match &a.format {
        Some(f) => {
            for d in &docs {
                println!("{}", render_template(f, d)?);
            }
        }
        None => println!("{}", serde_json::to_string_pretty(&docs)?),
    }
    Ok(0)
}
