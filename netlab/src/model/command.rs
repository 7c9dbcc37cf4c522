//! A container's command: Docker's shell form (one string through `/bin/sh -c`, so `$VARS`
//! expand from the container's environment, as the article's `CMD` does) or exec form.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a container runs, in Docker's two forms.
///
/// ```
/// use netlab::CommandSpec;
/// // Shell form: `$HOSTNAME` expands in the container, as in a Dockerfile's `CMD` line.
/// let shell = CommandSpec::Shell("echo hello from $HOSTNAME".into());
/// // Exec form: the words run as given.
/// let exec = CommandSpec::Exec(vec!["sleep".into(), "1000".into()]);
/// assert_eq!(shell.argv(), ["/bin/sh", "-c", "echo hello from $HOSTNAME"]);
/// assert_eq!(exec.argv(), ["sleep", "1000"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandSpec {
    /// Run through `/bin/sh -c STRING`.
    Shell(String),
    /// Run exactly these words.
    Exec(Vec<String>),
}

/// Shell words that are not programs on PATH; a shell-form command starting with one of
/// them is not checked for a binary.
const SHELL_WORDS: &[&str] = &[
    "exec", "cd", "echo", "set", "export", "true", "false", "test", "[", "while", "for", "if",
    "trap", "wait", "read", "printf", "eval", "ulimit", "umask", "until", "case", "{", "(",
    "command", "type", "kill", ".", "source", "unset", "shift", "exit",
];

impl CommandSpec {
    /// One argument means shell form; several mean exec form, like `docker run IMAGE CMD...`
    /// with the article's `CMD` line as the single-string case.
    pub fn from_args(args: Vec<String>) -> Result<Self> {
        match args.len() {
            0 => Err(Error::spec(
                "command",
                "",
                "give the command to run after the options, e.g. `netlab run -d --name web -- sleep 1000`",
            )),
            1 => Ok(CommandSpec::Shell(
                args.into_iter().next().unwrap_or_default(),
            )),
            _ => Ok(CommandSpec::Exec(args)),
        }
    }

    /// The argv to execute.
    pub fn argv(&self) -> Vec<String> {
        match self {
            CommandSpec::Shell(s) => vec!["/bin/sh".into(), "-c".into(), s.clone()],
            CommandSpec::Exec(v) => v.clone(),
        }
    }

    /// The program that must exist for the command to start, when it can be known without
    /// running a shell: exec form's first word, or a shell string's plain first word.
    pub(crate) fn program(&self) -> Option<String> {
        match self {
            CommandSpec::Exec(v) => v.first().cloned(),
            CommandSpec::Shell(s) => {
                let first = s.split_whitespace().next()?;
                let plain = first
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '+'));
                (plain && !SHELL_WORDS.contains(&first)).then(|| first.to_string())
            }
        }
    }
}

/// Finds `program` the way `execvp` would with the container's `PATH`: a program named
/// with a `/` that exists but is no executable file is [`Error::CommandNotExecutable`]
/// (Docker's exit code 126), one that is nowhere [`Error::CommandNotFound`] (127).
pub fn resolve_program(program: &str, path_var: &str) -> Result<PathBuf> {
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    let not_found = || Error::CommandNotFound {
        command: program.into(),
        path: path_var.into(),
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return match p.metadata() {
            _ if executable(&p) => Ok(p),
            Ok(m) => Err(Error::CommandNotExecutable {
                command: program.into(),
                problem: if m.is_dir() {
                    "it is a directory".into()
                } else {
                    "it has no execute permission".into()
                },
            }),
            Err(_) => Err(not_found()),
        };
    }
    path_var
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| executable(p))
        .ok_or_else(not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let s = CommandSpec::from_args(vec![
            "birthday-service 8080 $MONGO_PORT_27017_TCP_ADDR".into(),
        ])
        .unwrap();
        assert_eq!(s.argv()[..2], ["/bin/sh", "-c"]);
        assert_eq!(s.program().as_deref(), Some("birthday-service"));
        let e = CommandSpec::from_args(vec!["sleep".into(), "10".into()]).unwrap();
        assert_eq!(e.argv(), ["sleep", "10"]);
        assert_eq!(e.program().as_deref(), Some("sleep"));
        assert!(CommandSpec::from_args(vec![]).is_err());
    }

    #[test]
    fn shell_words_and_expansions_are_not_checked() {
        for s in ["exec sleep 1", "$CMD --x", "FOO=1 sleep 1", "echo hi"] {
            assert_eq!(CommandSpec::Shell(s.into()).program(), None, "{s}");
        }
    }

    #[test]
    fn resolves_like_execvp() {
        assert!(resolve_program("sh", "/nonexistent:/bin:/usr/bin").is_ok());
        assert!(resolve_program("/bin/sh", "").is_ok());
        assert!(matches!(
            resolve_program("no-such-binary-xyz", "/bin:/usr/bin"),
            Err(Error::CommandNotFound { .. })
        ));
        assert!(resolve_program("sh", "").is_err());
        assert!(matches!(
            resolve_program("/etc", "/bin"),
            Err(Error::CommandNotExecutable { .. })
        ));
        let plain = tempfile::NamedTempFile::new().unwrap();
        assert!(matches!(
            resolve_program(&plain.path().display().to_string(), "/bin"),
            Err(Error::CommandNotExecutable { .. })
        ));
        assert!(matches!(
            resolve_program("/no/such/file", "/bin"),
            Err(Error::CommandNotFound { .. })
        ));
    }
}
