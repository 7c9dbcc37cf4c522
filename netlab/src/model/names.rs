//! Naming rules for labs and containers, and the interface names derived from them.

use crate::error::{Error, Result};

/// The longest container name (and link alias).
pub const CONTAINER_NAME_MAX: usize = 64;
/// The longest lab name: it is part of the lab's control socket name, `@netlab/UID/LAB`.
pub const LAB_NAME_MAX: usize = 32;

/// Docker's rule for container names, `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, in words, for
/// messages about names that follow it (a link's alias too).
pub fn container_name_rule() -> String {
    format!(
        "a letter or digit, then letters, digits, `_`, `.` or `-`, at most {CONTAINER_NAME_MAX} bytes"
    )
}

/// Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate_container_name(name: &str) -> Result<()> {
    validate("container", name, CONTAINER_NAME_MAX)
}

/// Lab names follow the container rule, shorter; they also name the lab's control socket.
pub fn validate_lab_name(name: &str) -> Result<()> {
    validate("lab", name, LAB_NAME_MAX)
}

/// Linux interface names: 1..=15 bytes, no `/`, whitespace or `:`, not `.`/`..`.
pub fn validate_ifname(name: &str) -> Result<()> {
    let bad = |reason: &str| Error::InvalidName {
        what: "interface".into(),
        name: name.into(),
        reason: reason.into(),
    };
    if name.is_empty() || name.len() > 15 {
        return Err(bad("an interface name has 1 to 15 bytes"));
    }
    if name == "." || name == ".." {
        return Err(bad("`.` and `..` are not interface names"));
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err(bad("use letters, digits, `-`, `_` or `.`"));
    }
    Ok(())
}

fn validate(what: &str, name: &str, max: usize) -> Result<()> {
    let bad = |reason: String| Error::InvalidName {
        what: what.into(),
        name: name.into(),
        reason,
    };
    // The length first: an over-long name is told the limit, whatever else is wrong.
    if name.len() > max {
        return Err(bad(format!(
            "it has {} bytes, at most {max} are allowed",
            name.len()
        )));
    }
    let mut chars = name.chars();
    match chars.next() {
        None => return Err(bad("the name is empty".into())),
        Some(c) if !c.is_ascii_alphanumeric() => {
            return Err(bad("it must start with a letter or digit".into()));
        }
        _ => {}
    }
    if let Some(c) = chars.find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        return Err(bad(format!(
            "{c:?} is not allowed; use letters, digits, `_`, `.` and `-`"
        )));
    }
    Ok(())
}

/// The host-side name of a container's veth: `veth` + 10 hex digits of a hash of the
/// container's name, so it fits in 15 bytes and the same container always gets the same
/// name (the lab host is private to the lab, so names only need to be unique within it).
pub fn host_veth_name(container: &str, salt: u32) -> String {
    format!("veth{:010x}", fnv1a(container, salt) & 0xff_ffff_ffff)
}

/// The host-side name of a pipework interface `ifname` of `container` when none is given:
/// `vpw` + 10 hex digits, salted apart from the container veths.
pub fn pipework_host_ifname(container: &str, ifname: &str, salt: u32) -> String {
    format!(
        "vpw{:010x}",
        fnv1a(&format!("{container}/{ifname}"), 1000 + salt) & 0xff_ffff_ffff
    )
}

/// The two ends of the veth that splices netlab's link emulator into the cable of
/// `container`'s `ifname` (`""` for the lab host's own interface): the emulator's end and
/// the end that takes the cable's place on its bridge.
pub fn emulator_ifnames(container: &str, ifname: &str) -> (String, String) {
    let h = fnv1a(&format!("{container}/{ifname}"), 2000) & 0xff_ffff_ffff;
    (format!("emu{h:010x}a"), format!("emu{h:010x}b"))
}

fn fnv1a(s: &str, salt: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt.to_le_bytes().iter().chain(s.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names() {
        for ok in ["mongodb", "webserver1", "a", "web_server.1-x", "0abc"] {
            assert!(validate_container_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-web",
            "_x",
            "web server",
            "web/1",
            "wé",
            &"a".repeat(65),
        ] {
            assert!(
                matches!(validate_container_name(bad), Err(Error::InvalidName { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn lab_names_say_the_real_limit() {
        validate_lab_name(&"l".repeat(LAB_NAME_MAX)).unwrap();
        let long = "l".repeat(200);
        let e = validate_lab_name(&long).unwrap_err().to_string();
        assert!(
            e.contains("it has 200 bytes, at most 32 are allowed"),
            "{e}"
        );
        assert!(e.len() < 300, "{e}");
    }

    #[test]
    fn interface_names() {
        for ok in ["eth0", "docker0", "veth0123456789a", "br-1.2"] {
            assert!(validate_ifname(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "eth 0", "x:1", ".", "..", "sixteen-bytes-xx"] {
            assert!(validate_ifname(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn veth_names_fit_and_are_stable() {
        let a = host_veth_name("webserver1", 0);
        assert_eq!(a.len(), 14);
        assert_eq!(a, host_veth_name("webserver1", 0));
        assert_ne!(a, host_veth_name("webserver2", 0));
        assert_ne!(a, host_veth_name("webserver1", 1));
        assert!(validate_ifname(&a).is_ok());
    }
}
