//! `netlab run`.

use std::path::PathBuf;

use anyhow::Context;

use std::io::IsTerminal;
use std::os::fd::{AsFd, AsRawFd};

use super::LabSession;
use crate::model::hosts::ExtraHost;
use crate::model::network::{Attachment, DEFAULT_NETWORK, parse_ip, parse_ip6};
use crate::model::restart::RestartPolicy;
use crate::model::{CommandSpec, ContainerSpec, env, port};

#[derive(Debug, clap::Args)]
// `-h` is the hostname, as in `docker run`; help is `--help`.
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run in the background and print the container's ID.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Remove the container when its process ends (also with -d).
    #[arg(long = "rm")]
    auto_remove: bool,
    /// Keep the command's input open: in the foreground it reads this command's input;
    /// with -d it waits for input that never comes, as under Docker.
    #[arg(short = 'i', long = "interactive")]
    interactive: bool,
    /// Give the command a terminal of its own (TERM=xterm unless set): in the foreground
    /// this one's (with -i, the keyboard too); with -d one whose output `netlab logs`
    /// shows.
    #[arg(short = 't', long)]
    tty: bool,
    /// Start the command again when it ends: no, on-failure[:MAX-RETRIES], always or
    /// unless-stopped (never after `netlab stop`); waits 100 ms, doubling up to a minute.
    #[arg(long, value_name = "POLICY", default_value = "no")]
    restart: String,
    /// The container's name (Docker's rules: letters, digits, `_`, `.`, `-`).
    #[arg(long)]
    name: Option<String>,
    /// The container's hostname (default: its name).
    #[arg(short = 'h', long = "hostname")]
    hostname: Option<String>,
    /// Add a line to the container's /etc/hosts: NAME:IP, or NAME:host-gateway for the
    /// lab host's bridge address; repeatable.
    #[arg(long = "add-host", value_name = "NAME:IP")]
    add_host: Vec<String>,
    /// Set an environment variable (KEY=VALUE); repeatable.
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Read variables from a file of KEY=VALUE lines.
    #[arg(long = "env-file", value_name = "FILE")]
    env_file: Vec<PathBuf>,
    /// Expose a port or range to links: PORT[/tcp|/udp] or START-END[/proto].
    #[arg(long = "expose", value_name = "PORT")]
    expose: Vec<String>,
    /// Link to another container: NAME:ALIAS or NAME (Docker's legacy links: ALIAS_PORT_*
    /// variables and an /etc/hosts entry).
    #[arg(long = "link", value_name = "NAME[:ALIAS]")]
    link: Vec<String>,
    /// Connect to a network: `bridge` (the default), `none`, or one made with `netlab
    /// network create` (its containers find each other by name through its DNS).
    #[arg(long = "network", alias = "net", value_name = "NETWORK")]
    network: Option<String>,
    /// Another name on the network, answered by its DNS (user-defined networks only).
    #[arg(long = "network-alias", alias = "net-alias", value_name = "ALIAS")]
    network_alias: Vec<String>,
    /// A fixed IPv4 address on the network (user-defined networks only).
    #[arg(long = "ip", value_name = "IPv4")]
    ip: Option<String>,
    /// A fixed IPv6 address on the network (IPv6 networks only).
    #[arg(long = "ip6", value_name = "IPv6")]
    ip6: Option<String>,
    /// Publish a container port on the lab host: [ip:][hostPort:]containerPort[/proto],
    /// ranges allowed (8000-8002:8000-8002).
    #[arg(short = 'p', long = "publish", value_name = "SPEC")]
    publish: Vec<String>,
    /// Publish every exposed port on a free host port.
    #[arg(short = 'P', long = "publish-all")]
    publish_all: bool,
    /// Run as this user: USER[:GROUP], names or numbers from this machine's /etc/passwd
    /// and /etc/group (containers share them); root by default.
    #[arg(short = 'u', long = "user", value_name = "USER[:GROUP]")]
    user: Option<String>,
    /// Working directory of the command.
    #[arg(short = 'w', long = "workdir")]
    workdir: Option<String>,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Docker's options about images, which netlab has not: refused with the reason.
    #[command(flatten)]
    images: ImageOptions,
    /// The command: one string runs through `/bin/sh -c` (so $VARS expand inside the
    /// container, like the article's CMD line); several words run exactly as given.
    /// Options end at the command's first word, as `docker run`'s end at the image: what
    /// follows belongs to the command. A command that starts with `-` goes after `--`.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    command: Vec<String>,
}

/// `docker run` options that choose or check an image. netlab runs this machine's
/// programs, so they mean nothing here; they are accepted by the parser only to be
/// refused with that reason instead of a bare "unknown flag".
#[derive(Debug, clap::Args)]
struct ImageOptions {
    #[arg(long, hide = true, value_name = "POLICY")]
    pull: Option<String>,
    #[arg(long, hide = true, value_name = "PLATFORM")]
    platform: Option<String>,
    #[arg(long, hide = true, value_name = "COMMAND")]
    entrypoint: Option<String>,
    #[arg(
        long = "disable-content-trust",
        hide = true,
        num_args = 0..=1,
        default_missing_value = "true",
        value_name = "BOOL"
    )]
    disable_content_trust: Option<String>,
}

impl ImageOptions {
    /// Refuses the first image option given, saying why it has no meaning in netlab.
    fn refuse(&self) -> anyhow::Result<()> {
        let no_images = "netlab has no images: a container runs a program of this machine, \
                         named by the command after the options";
        if self.pull.is_some() {
            anyhow::bail!("--pull: {no_images}, so there is nothing to pull; leave --pull out");
        }
        if self.platform.is_some() {
            anyhow::bail!(
                "--platform: {no_images}, so it runs on this machine's platform; leave --platform out"
            );
        }
        if self.entrypoint.is_some() {
            anyhow::bail!(
                "--entrypoint: {no_images}, so there is no entrypoint to replace; put the program first in the command"
            );
        }
        if self.disable_content_trust.is_some() {
            anyhow::bail!(
                "--disable-content-trust: {no_images}, so there is no signed image to check; leave the option out"
            );
        }
        Ok(())
    }
}

/// Parses everything `netlab run` was given into a spec; no lab is touched if this fails.
pub fn spec(args: &RunArgs) -> anyhow::Result<ContainerSpec> {
    args.images.refuse()?;
    let command = CommandSpec::from_args(args.command.clone())?;
    let name = match &args.name {
        Some(n) => n.clone(),
        None => format!(
            "c{:08x}",
            std::process::id()
                ^ (std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0))
        ),
    };
    let mut spec = ContainerSpec::new(&name, command);
    spec.hostname = args.hostname.clone();
    spec.workdir = args.workdir.clone();
    spec.user = args.user.clone();
    for f in &args.env_file {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read --env-file {}", f.display()))?;
        spec.env
            .extend(env::parse_env_file(&text, &f.display().to_string())?);
    }
    for e in &args.env {
        spec.env.push(env::parse_env_arg(e)?);
    }
    let mut seen = std::collections::HashSet::new();
    for x in &args.expose {
        for p in port::parse_expose(x)? {
            if seen.insert(p) {
                spec.expose.push(p);
            }
        }
    }
    for h in &args.add_host {
        spec.extra_hosts.push(ExtraHost::parse(h)?);
    }
    for l in &args.link {
        spec.links.push(crate::model::links::LinkSpec::parse(l)?);
    }
    for p in &args.publish {
        spec.publish
            .extend(crate::model::publish::parse_publish(p)?);
    }
    spec.publish_all = args.publish_all;
    if args.network.is_some()
        || !args.network_alias.is_empty()
        || args.ip.is_some()
        || args.ip6.is_some()
    {
        let mut a = Attachment::new(args.network.as_deref().unwrap_or(DEFAULT_NETWORK));
        a.aliases = args.network_alias.clone();
        a.ip = args.ip.as_deref().map(parse_ip).transpose()?;
        a.ip6 = args.ip6.as_deref().map(parse_ip6).transpose()?;
        spec.networks.push(a);
    }
    spec.auto_remove = args.auto_remove;
    spec.interactive = args.interactive;
    spec.tty = args.tty;
    spec.restart = RestartPolicy::parse(&args.restart)?;
    spec.validate()?;
    Ok(spec)
}

pub fn run(lab: &str, a: RunArgs) -> anyhow::Result<u8> {
    let spec = spec(&a)?;
    let stdin = std::io::stdin();
    if !a.detach && a.tty && a.interactive && !stdin.is_terminal() {
        return Err(super::not_a_tty("run"));
    }
    let session = LabSession::open_or_create(lab)?;
    if a.detach {
        let state = session.lab.run(&spec)?;
        session.commit()?;
        println!("{}", state.id);
        return Ok(0);
    }
    // A foreground run lasts as long as its command: the lab is let go first, so that it
    // stays if this command is interrupted (as the container does under Docker), and
    // ended again if it was made for a run that fails to start.
    let created = session.created;
    let lab = session.commit()?;
    let input = a.interactive.then(|| stdin.as_fd());
    let ran = match a.tty {
        true => lab.run_terminal(&spec, input, &mut std::io::stdout()),
        false => lab.run_attached(
            &spec,
            input.as_ref().map(|i| i as &dyn AsRawFd),
            &std::io::stdout(),
            &std::io::stderr(),
        ),
    };
    let code = match ran {
        Ok(code) => code,
        Err(e) => {
            if created {
                let _ = lab.down();
            }
            return Err(e.into());
        }
    };
    Ok(u8::try_from(code).unwrap_or(255))
}
