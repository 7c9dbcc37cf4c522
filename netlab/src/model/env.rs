//! A container's environment: what it was given plus Docker's defaults, nothing from the
//! caller (a container must not depend on who started it).

use crate::error::{Error, Result};

/// Docker's default PATH inside a container.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Parses `-e K=V`. `-e K` alone (take it from the caller) is refused: netlab containers
/// get nothing implicitly from the caller's environment.
pub fn parse_env_arg(text: &str) -> Result<(String, String)> {
    let (k, v) = text.split_once('=').ok_or_else(|| {
        Error::spec(
            "-e",
            text,
            "write KEY=VALUE (netlab does not copy variables from your shell)",
        )
    })?;
    validate_key(k, text)?;
    Ok((k.to_string(), v.to_string()))
}

fn validate_key(k: &str, whole: &str) -> Result<()> {
    if k.is_empty() || k.contains(char::is_whitespace) || k.contains('\0') {
        return Err(Error::spec(
            "environment variable",
            whole,
            "the name must be non-empty and contain no whitespace",
        ));
    }
    Ok(())
}

/// Parses an `--env-file`: `K=V` per line, `#` comments and blank lines ignored, like Docker.
pub fn parse_env_file(text: &str, file: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once('=').ok_or_else(|| {
            Error::spec(
                "--env-file",
                format!("{file}:{}", i + 1),
                format!("line {line:?} is not KEY=VALUE"),
            )
        })?;
        validate_key(k, &format!("{file}:{}", i + 1))?;
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// Builds the final environment: Docker's defaults first (`HOSTNAME` is the container's
/// hostname), then the given variables in order (a later one wins, keeping its first
/// position). Like Docker, `-e HOSTNAME=x` sets the variable; the kernel's hostname stays
/// the container's own.
pub fn compose(given: &[(String, String)], hostname: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), DEFAULT_PATH.into()),
        ("HOSTNAME".into(), hostname.into()),
        ("HOME".into(), "/root".into()),
    ];
    for (k, v) in given {
        match env.iter_mut().find(|(ek, _)| ek == k) {
            Some(e) => e.1 = v.clone(),
            None => env.push((k.clone(), v.clone())),
        }
    }
    env
}

pub fn lookup<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_args() {
        assert_eq!(parse_env_arg("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert_eq!(parse_env_arg("A=").unwrap(), ("A".into(), "".into()));
        assert!(parse_env_arg("A").is_err());
        assert!(parse_env_arg("=x").is_err());
    }

    #[test]
    fn env_file() {
        let f = "# comment\n\nA=1\n  B=two words\n";
        assert_eq!(
            parse_env_file(f, "f").unwrap(),
            vec![("A".into(), "1".into()), ("B".into(), "two words".into())]
        );
        assert!(
            matches!(parse_env_file("A=1\nbad\n", "f"), Err(Error::InvalidSpec { value, .. }) if value == "f:2")
        );
    }

    #[test]
    fn composes_defaults_without_caller_env() {
        let kv = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        type Vars<'a> = &'a [(&'a str, &'a str)];
        // (given, expected) for a container whose hostname is "web".
        let cases: &[(Vars, Vars)] = &[
            (
                &[],
                &[
                    ("PATH", DEFAULT_PATH),
                    ("HOSTNAME", "web"),
                    ("HOME", "/root"),
                ],
            ),
            (
                &[("PATH", "/x"), ("K", "v"), ("K", "w")],
                &[
                    ("PATH", "/x"),
                    ("HOSTNAME", "web"),
                    ("HOME", "/root"),
                    ("K", "w"),
                ],
            ),
            // -e HOSTNAME=x sets the variable, as Docker's -e does.
            (
                &[("HOSTNAME", "x")],
                &[("PATH", DEFAULT_PATH), ("HOSTNAME", "x"), ("HOME", "/root")],
            ),
        ];
        for (given, want) in cases {
            assert_eq!(compose(&kv(given), "web"), kv(want), "{given:?}");
        }
    }
}
