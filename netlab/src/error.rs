//! The one error type of the netlab library.
//!
//! Errors cross the control socket between a client and its lab supervisor, so they are
//! plain data (serde) that keep the kind, the object and the kernel's errno. Every message
//! says what went wrong and how to fix it; callers match on the variant, never on text.

use serde::{Deserialize, Serialize};

/// Everything that can go wrong in netlab.
///
/// Match on the variant to react to a kind of failure (e.g. [`Error::LabNotFound`] when a
/// lab may have ended); the `Display` text is for people: it says what went wrong and how
/// to fix it. New variants may come, so a `match` needs a `_` arm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Error {
    /// A name of a lab, container or interface breaks the naming rules.
    #[error("invalid {what} name {}: {reason}", quote(name))]
    InvalidName {
        /// What kind of name: `lab`, `container`, `interface`.
        what: String,
        /// The name as given.
        name: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A spec (CIDR, port, env line, option) cannot be parsed or is inconsistent.
    #[error("invalid {what} {}: {reason}", quote(value))]
    InvalidSpec {
        /// Which setting, named like the CLI option (`-p`, `--bip`, `pipework address`).
        what: String,
        /// The value as given.
        value: String,
        /// Why it is refused, and what to write instead.
        reason: String,
    },
    /// A bridge has all the ports a Linux bridge can take.
    #[error(
        "bridge {} has {ports} ports, the most a Linux bridge takes (the kernel numbers ports in 10 bits and keeps 0 for itself; Docker's networks have the same limit); put further containers in another lab, or remove some with `netlab rm`",
        quote(bridge)
    )]
    BridgeFull {
        /// The bridge.
        bridge: String,
        /// The ports it has.
        ports: usize,
    },
    /// A container with this name exists already in the lab.
    #[error(
        "a container named {} already exists in lab {}; remove it with `netlab rm -f {}` or pick another name",
        quote(name),
        quote(lab),
        clip(name)
    )]
    DuplicateName {
        /// The lab.
        lab: String,
        /// The name that is taken.
        name: String,
    },
    /// No container of that name.
    #[error(
        "no container named {} in lab {}; `netlab ps -a` lists the containers",
        quote(name),
        quote(lab)
    )]
    UnknownContainer {
        /// The lab.
        lab: String,
        /// The name asked for.
        name: String,
    },
    /// The container is in the wrong state for the request.
    #[error("container {} {problem}; {fix}", quote(name))]
    BadState {
        /// The container.
        name: String,
        /// Its state, in words (`is not running`).
        problem: String,
        /// What to do about it.
        fix: String,
    },
    /// The lab's address range has no address left.
    #[error(
        "no free address left in {range} of lab {lab:?}; remove a container or create the lab with a wider --ip-range"
    )]
    AddressExhausted {
        /// The lab.
        lab: String,
        /// The range addresses come from.
        range: String,
    },
    /// An address is taken already.
    #[error("address {addr} is already used by {owner}; pick another or omit it")]
    AddressInUse {
        /// The address.
        addr: String,
        /// Who has it (`container web`, `the bridge`).
        owner: String,
    },
    /// A host port is published already in this lab.
    #[error(
        "host port {port} is already published by {owner}; pick another host port, e.g. -p OTHER:{container_port}, or omit the host port to get a free one"
    )]
    PortInUse {
        /// The host port (with its address and protocol when they matter).
        port: String,
        /// The container that publishes it.
        owner: String,
        /// The container port of the refused binding.
        container_port: u16,
    },
    /// A scenario file is wrong at a place in it.
    #[error("{file}:{line}:{column}: {message}")]
    Scenario {
        /// The file.
        file: String,
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// A container did not become ready.
    #[error(
        "container {} is not ready: {problem}; see `netlab logs {}`",
        quote(container),
        clip(container)
    )]
    NotReady {
        /// The container.
        container: String,
        /// What its readiness check saw last.
        problem: String,
    },
    /// The command to run does not exist in the container's PATH.
    #[error(
        "command {} not found in the container's PATH ({}); give an absolute path or set PATH with -e PATH=...",
        quote(command),
        clip(path)
    )]
    CommandNotFound {
        /// The program.
        command: String,
        /// The container's `PATH`.
        path: String,
    },
    /// The command exists but cannot be executed: not an executable file, a directory,
    /// or refused by the kernel (Docker's exit code 126).
    #[error(
        "command {} cannot be executed: {problem}; give an executable file",
        quote(command)
    )]
    CommandNotExecutable {
        /// The program.
        command: String,
        /// Why (`it is a directory`, `Permission denied`).
        problem: String,
    },
    /// The container's process is not running, so nothing can run in it (`exec`).
    #[error(
        "container {} is not running; start it with `netlab start {}`",
        quote(name),
        clip(name)
    )]
    NotRunning {
        /// The container.
        name: String,
    },
    /// The lab does not exist (its supervisor is not running).
    #[error(
        "lab {} does not exist; create it with `netlab --lab {} lab create` or run a container",
        quote(lab),
        clip(lab)
    )]
    LabNotFound {
        /// The lab's name.
        lab: String,
    },
    /// The lab exists already.
    #[error(
        "lab {} exists already; use it, or end it first with `netlab --lab {} down`",
        quote(lab),
        clip(lab)
    )]
    LabExists {
        /// The lab's name.
        lab: String,
    },
    /// Another user holds a control socket with the lab's name: a lab must be its owner's.
    /// Nothing was sent to it.
    #[error(
        "lab {lab:?}: the control socket {socket} is held by uid {uid} (pid {pid}), not by you (uid {me}), so netlab refused it and sent it nothing; another local user may be posing as your lab: look at that process (`ps -o user,pid,args -p {pid}`), and create the lab again if it does not exist (`netlab --lab {lab} lab create`)"
    )]
    Impostor {
        /// The lab's name.
        lab: String,
        /// The abstract socket's name.
        socket: String,
        /// The uid of the process that holds it.
        uid: u32,
        /// That process.
        pid: i32,
        /// This process's uid.
        me: u32,
    },
    /// A link impairment (delay, loss, ...) has a value outside its range.
    #[error("link impairment {field} = {value} is out of range: allowed is {allowed}")]
    Impairment {
        /// The field, named like netem's option (`loss`, `burst`, `rate`).
        field: String,
        /// The value as given.
        value: String,
        /// What is allowed instead.
        allowed: String,
    },
    /// A kernel operation failed.
    #[error("{op} {} failed: {message} (errno {errno}){hint}", clip(object), hint = hint(*errno))]
    Kernel {
        /// What was done, named like the command (`ip link add`, `setns`).
        op: String,
        /// What it was done to.
        object: String,
        /// The kernel's errno (0 when none came back).
        errno: i32,
        /// The errno's text, or the error when there is no errno.
        message: String,
    },
    /// The environment cannot host a lab at all (no namespaces, no binary, ...).
    #[error("{problem}; {fix}")]
    Unsupported {
        /// What is missing.
        problem: String,
        /// How to provide it.
        fix: String,
    },
    /// The supervisor of the lab went away or answered nonsense.
    #[error("lab {}: {}", quote(lab), clip_message(problem))]
    Supervisor {
        /// The lab.
        lab: String,
        /// What happened.
        problem: String,
    },
    /// `netlab trace --observe` saw no flow of its 5-tuple in time.
    #[error(
        "no {proto} flow from {} to {} within {waited_ms} ms; start the client once the trace is armed (the vantage has `table inet netlab_trace`), or wait longer with --for",
        clip(from),
        quote(dest)
    )]
    NoFlow {
        /// `tcp` or `udp`.
        proto: String,
        /// Where the flow was awaited from (`container web`).
        from: String,
        /// `DEST:PORT`.
        dest: String,
        /// How long it waited, in milliseconds.
        waited_ms: u64,
    },
    /// Plain I/O outside the kernel's networking (files, pipes).
    #[error("{}: {}", clip(op), clip_message(message))]
    Io {
        /// What was done (`read scenario FILE`).
        op: String,
        /// The error.
        message: String,
    },
}

/// How many characters of one input an error message shows.
pub const QUOTE_MAX: usize = 80;

/// User input as an error message shows it: quoted and escaped like `{:?}`, and cut after
/// [`QUOTE_MAX`] characters with the input's whole size, so that a 10 MB `command` makes
/// a one-line message (`"aaaa…"… (10485760 bytes)`). Every message that echoes an input
/// goes through this or [`clip`].
pub fn quote(input: &str) -> String {
    match input.char_indices().nth(QUOTE_MAX) {
        None => format!("{input:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &input[..cut], input.len()),
    }
}

/// The same bound for text shown without quotes (a PATH, an operation with a file name).
pub fn clip(text: &str) -> String {
    clip_at(text, QUOTE_MAX)
}

/// Longest explanation shown in full: netlab's own sentences (which quote inputs with
/// [`quote`] already) are longer than an input, but a message still stays bounded.
const MESSAGE_MAX: usize = 1000;

/// [`clip`] for a whole explanation, such as a failure and what its rollback found.
pub fn clip_message(text: &str) -> String {
    clip_at(text, MESSAGE_MAX)
}

fn clip_at(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}… ({} bytes)", &s[..cut], s.len()),
    }
}

fn hint(errno: i32) -> &'static str {
    match errno {
        libc::EPERM | libc::EACCES => {
            "; run as root, or as a user allowed to create user namespaces"
        }
        libc::EEXIST => "; the object exists already",
        _ => "",
    }
}

impl Error {
    /// A failed kernel call: `op` is what we did (`ip link add`), `object` what it was on.
    pub(crate) fn kernel(
        op: impl Into<String>,
        object: impl Into<String>,
        errno: nix::Error,
    ) -> Self {
        Error::Kernel {
            op: op.into(),
            object: object.into(),
            errno: errno as i32,
            message: errno.desc().to_string(),
        }
    }

    /// A failed `std::io` call on a kernel object.
    pub(crate) fn kernel_io(
        op: impl Into<String>,
        object: impl Into<String>,
        err: &std::io::Error,
    ) -> Self {
        Error::Kernel {
            op: op.into(),
            object: object.into(),
            errno: err.raw_os_error().unwrap_or(0),
            message: err.to_string(),
        }
    }

    /// A failed I/O call outside the kernel's networking.
    pub(crate) fn io(op: impl Into<String>, err: &std::io::Error) -> Self {
        Error::Io {
            op: op.into(),
            message: err.to_string(),
        }
    }

    /// A refused setting: `what` names it like the CLI option, `reason` says how to fix it.
    pub(crate) fn spec(
        what: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidSpec {
            what: what.into(),
            value: value.into(),
            reason: reason.into(),
        }
    }

    /// The errno of a kernel error, for callers that treat "already gone" as success.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// netlab's `Result`: [`Error`] unless another error type is given.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_bounded_and_says_the_size() {
        assert_eq!(quote("web"), "\"web\"");
        assert_eq!(quote("a\nb"), "\"a\\nb\"");
        let exact = "x".repeat(QUOTE_MAX);
        assert_eq!(quote(&exact), format!("{exact:?}"));
        let big = "é".repeat(5 << 20);
        let q = quote(&big);
        assert!(q.len() < 400, "{q}");
        assert!(q.ends_with(&format!("… ({} bytes)", big.len())), "{q}");
        assert!(clip(&big).starts_with(&"é".repeat(QUOTE_MAX)));
        assert_eq!(clip("short"), "short");
    }

    #[test]
    fn every_message_that_echoes_input_is_bounded() {
        let big = "a".repeat(10 << 20);
        let errors = [
            Error::spec("-p", big.clone(), "why"),
            Error::InvalidName {
                what: "container".into(),
                name: big.clone(),
                reason: "why".into(),
            },
            Error::UnknownContainer {
                lab: big.clone(),
                name: big.clone(),
            },
            Error::BadState {
                name: big.clone(),
                problem: "is".into(),
                fix: "do".into(),
            },
            Error::CommandNotFound {
                command: big.clone(),
                path: big.clone(),
            },
            Error::CommandNotExecutable {
                command: big.clone(),
                problem: "it is a directory".into(),
            },
            Error::NotRunning { name: big.clone() },
            Error::NotReady {
                container: big.clone(),
                problem: "p".into(),
            },
            Error::Kernel {
                op: "start".into(),
                object: big.clone(),
                errno: 2,
                message: "m".into(),
            },
            Error::Supervisor {
                lab: big.clone(),
                problem: big.clone(),
            },
            Error::Io {
                op: big.clone(),
                message: big.clone(),
            },
            Error::NoFlow {
                proto: "tcp".into(),
                from: big.clone(),
                dest: big.clone(),
                waited_ms: 1,
            },
            Error::LabNotFound { lab: big.clone() },
            Error::LabExists { lab: big.clone() },
            Error::DuplicateName {
                lab: big.clone(),
                name: big.clone(),
            },
        ];
        for e in errors {
            let m = e.to_string();
            // Inputs are quoted within 80 characters; whole explanations within 1,000.
            assert!(m.len() < 2500, "{} bytes: {}", m.len(), &m[..200]);
        }
    }
}
