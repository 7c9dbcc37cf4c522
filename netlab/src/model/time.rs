//! Docker's ways of writing time: `inspect`'s RFC 3339 dates, `ps`'s `CreatedAt` (Go's
//! `time.Time.String`) and its human durations (`Up 5 seconds`, `2 minutes ago`).
//! netlab keeps times in whole seconds since the epoch and writes them in UTC.

/// `(year, month, day, hour, minute, second)` in UTC.
fn civil(secs: u64) -> (i64, i64, i64, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `inspect`'s dates: `2026-11-18T11:06:40Z`; Go's zero time when there is none.
pub fn rfc3339(secs: Option<u64>) -> String {
    let Some(secs) = secs else {
        return "0001-01-01T00:00:00Z".into();
    };
    let (y, m, d, hh, mm, ss) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// `ps`'s `{{.CreatedAt}}`: Go's `time.Time.String()`, `2026-11-30 11:19:07 +0000 UTC`
/// (Docker writes the machine's zone; netlab always UTC).
pub fn go_time(secs: u64) -> String {
    let (y, m, d, hh, mm, ss) = civil(secs);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} +0000 UTC")
}

/// Docker's `units.HumanDuration`: `Less than a second`, `1 second`, `5 seconds`, `About
/// a minute`, `3 minutes`, `About an hour`, `5 hours`, `3 days`, `2 weeks`, `4 months`,
/// `2 years`.
pub fn human_duration(secs: u64) -> String {
    let minutes = secs / 60;
    // Go rounds hours: int(d.Hours() + 0.5).
    let hours = (secs + 1800) / 3600;
    match secs {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{secs} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", secs / 3600 / 24 / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(Some(1_795_000_000)), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(None), "0001-01-01T00:00:00Z");
        assert_eq!(go_time(1_795_000_000), "2026-11-18 11:06:40 +0000 UTC");
    }

    #[test]
    fn durations_as_docker_writes_them() {
        for (secs, want) in [
            (0, "Less than a second"),
            (1, "1 second"),
            (59, "59 seconds"),
            (60, "About a minute"),
            (119, "About a minute"),
            (120, "2 minutes"),
            (3599, "59 minutes"),
            (3600, "About an hour"),
            (5399, "About an hour"),
            (5400, "2 hours"),
            (47 * 3600, "47 hours"),
            (48 * 3600, "2 days"),
            (14 * 86_400, "2 weeks"),
            (60 * 86_400, "2 months"),
            (730 * 86_400, "2 years"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }
}
