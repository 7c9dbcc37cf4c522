//! `-u USER[:GROUP]`: the identity a container's process (or an `exec`) runs as, resolved
//! the way Docker's runtime (runc) does against the container's `/etc/passwd` and
//! `/etc/group`, which in netlab are this machine's files.
//!
//! Names or numbers: a name must be in the file; a number need not be (its home is `/`,
//! its group 0). Without `:GROUP` the user's own group applies, plus every group that
//! lists the user by name; with `:GROUP` only that group. In a rootless lab only the ids
//! its user namespace maps exist (uid 0, the lab's owner), which [`check_mapped`] checks.

use crate::error::{Error, Result, quote};

/// The numeric identity to run as, with the home directory that becomes `HOME` when the
/// container's environment does not set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    pub home: String,
}

/// The largest id runc accepts (it refuses what does not fit a signed 32-bit integer).
const MAX_ID: u32 = i32::MAX as u32;

fn number(text: &str) -> Option<u32> {
    text.parse::<u32>().ok()
}

/// Resolves `spec` (`USER[:GROUP]`, each a name or a number) against the text of an
/// `/etc/passwd` and an `/etc/group`.
pub fn resolve(spec: &str, passwd: &str, group: &str) -> Result<Ids> {
    let err = |reason: String| Error::spec("-u", spec, reason);
    let (user, grp) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user.is_empty() || grp.is_some_and(|g| g.is_empty() || g.contains(':')) {
        return Err(err(
            "write USER or USER:GROUP, each a name or a number, e.g. -u nobody or -u 1000:1000"
                .into(),
        ));
    }
    let uid_arg = number(user);
    // passwd: name:password:uid:gid:gecos:home:shell
    let entry = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 7 || l.starts_with('#') {
            return None;
        }
        let (uid, gid) = (number(f[2])?, number(f[3])?);
        let hit = match uid_arg {
            Some(n) => n == uid,
            None => f[0] == user,
        };
        hit.then(|| (f[0].to_string(), uid, gid, f[5].to_string()))
    });
    let (name, mut ids) = match (entry, uid_arg) {
        (Some((name, uid, gid, home)), _) => (
            Some(name),
            Ids {
                uid,
                gid,
                groups: vec![],
                home,
            },
        ),
        (None, Some(uid)) => (
            None,
            Ids {
                uid,
                gid: 0,
                groups: vec![],
                home: "/".into(),
            },
        ),
        (None, None) => {
            return Err(err(format!(
                "there is no user {} in /etc/passwd (containers share this machine's); give a user it has, or a number",
                quote(user)
            )));
        }
    };
    if ids.uid > MAX_ID {
        return Err(err(format!("user ids go up to {MAX_ID}")));
    }
    // group: name:password:gid:member,member
    let groups: Vec<(String, u32, Vec<String>)> = group
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4).then(|| {
                let members = f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect();
                Some((f[0].to_string(), number(f[2])?, members))
            })?
        })
        .collect();
    match grp {
        Some(g) => {
            let gid_arg = number(g);
            let found = groups.iter().find(|(n, gid, _)| match gid_arg {
                Some(x) => x == *gid,
                None => n == g,
            });
            ids.gid = match (found, gid_arg) {
                (Some((_, gid, _)), _) => *gid,
                (None, Some(gid)) => gid,
                (None, None) => {
                    return Err(err(format!(
                        "there is no group {} in /etc/group (containers share this machine's); give a group it has, or a number",
                        quote(g)
                    )));
                }
            };
            if ids.gid > MAX_ID {
                return Err(err(format!("group ids go up to {MAX_ID}")));
            }
        }
        None => {
            if let Some(name) = &name {
                ids.groups = groups
                    .iter()
                    .filter(|(_, _, members)| members.contains(name))
                    .map(|(_, gid, _)| *gid)
                    .collect();
            }
        }
    }
    Ok(ids)
}

/// The id ranges of a `/proc/PID/uid_map` or `gid_map`: `(first id inside, count)`.
fn ranges(map: &str) -> Vec<(u64, u64)> {
    map.lines()
        .filter_map(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            (f.len() == 3).then(|| (f[0], f[2]))
        })
        .collect()
}

fn describe(ranges: &[(u64, u64)]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|&(first, count)| match count {
            1 => format!("{first}"),
            _ => format!("{first}-{}", first + count - 1),
        })
        .collect();
    parts.join(", ")
}

/// Refuses ids that the lab's user namespace does not map (`uid_map`, `gid_map` are the
/// supervisor's `/proc/self/*_map`): in a rootless lab only uid and gid 0 exist.
pub fn check_mapped(spec: &str, ids: &Ids, uid_map: &str, gid_map: &str) -> Result<()> {
    let (uids, gids) = (ranges(uid_map), ranges(gid_map));
    let inside = |r: &[(u64, u64)], id: u32| {
        r.iter()
            .any(|&(first, count)| (first..first + count).contains(&u64::from(id)))
    };
    let refuse = |what: &str, id: u32, r: &[(u64, u64)]| {
        Error::spec(
            "-u",
            spec,
            format!(
                "{what} {id} does not exist in this lab: it runs rootless, in a user namespace that maps only {what} {} (its owner); use -u 0, or run the lab as root",
                describe(r)
            ),
        )
    };
    if !inside(&uids, ids.uid) {
        return Err(refuse("uid", ids.uid, &uids));
    }
    for gid in std::iter::once(ids.gid).chain(ids.groups.iter().copied()) {
        if !inside(&gids, gid) {
            return Err(refuse("gid", gid, &gids));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
        alice:x:1000:1000:Alice:/home/alice:/bin/sh\n";
    const GROUP: &str = "root:x:0:\n\
        daemon:x:1:\n\
        audio:x:29:alice\n\
        video:x:44:bob,alice\n\
        alice:x:1000:\n\
        nogroup:x:65534:\n";

    fn ids(uid: u32, gid: u32, groups: &[u32], home: &str) -> Ids {
        Ids {
            uid,
            gid,
            groups: groups.to_vec(),
            home: home.into(),
        }
    }

    #[test]
    fn names_and_numbers_like_runc() {
        let cases = [
            ("root", ids(0, 0, &[], "/root")),
            ("0", ids(0, 0, &[], "/root")),
            ("nobody", ids(65534, 65534, &[], "/nonexistent")),
            ("alice", ids(1000, 1000, &[29, 44], "/home/alice")),
            ("1000", ids(1000, 1000, &[29, 44], "/home/alice")),
            // An explicit group replaces the user's and the supplementary ones.
            ("alice:audio", ids(1000, 29, &[], "/home/alice")),
            ("alice:44", ids(1000, 44, &[], "/home/alice")),
            // Numbers need no entry.
            ("4242", ids(4242, 0, &[], "/")),
            ("4242:4343", ids(4242, 4343, &[], "/")),
            ("nobody:0", ids(65534, 0, &[], "/nonexistent")),
        ];
        for (spec, want) in cases {
            assert_eq!(resolve(spec, PASSWD, GROUP).unwrap(), want, "{spec}");
        }
        for bad in [
            "ghost",
            "alice:ghosts",
            "",
            ":0",
            "alice:",
            "a:b:c",
            "4294967295",
        ] {
            assert!(resolve(bad, PASSWD, GROUP).is_err(), "{bad}");
        }
        let e = resolve("ghost", PASSWD, GROUP).unwrap_err().to_string();
        assert!(e.contains("no user \"ghost\" in /etc/passwd"), "{e}");
    }

    #[test]
    fn a_rootless_lab_has_only_its_mapped_ids() {
        let root_map = "         0          0 4294967295\n";
        let rootless = "         0       1000          1\n";
        let alice = ids(1000, 1000, &[29], "/home/alice");
        check_mapped("alice", &alice, root_map, root_map).unwrap();
        check_mapped("0", &ids(0, 0, &[], "/root"), rootless, rootless).unwrap();
        let e = check_mapped("alice", &alice, rootless, rootless)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("uid 1000 does not exist in this lab") && e.contains("maps only uid 0"),
            "{e}"
        );
        let e = check_mapped("0:29", &ids(0, 29, &[], "/"), rootless, rootless)
            .unwrap_err()
            .to_string();
        assert!(e.contains("gid 29"), "{e}");
    }
}
