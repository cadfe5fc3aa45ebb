//! Durations in the configuration file: `"500ms"`, `"90s"`, `"25m"`, `"2h"`, `"1d"`, and
//! combinations such as `"1h30m"`; a bare number is seconds. They print back in the largest
//! unit that is exact (`"150m"`, `"65s"`), so `print_config` output reads like a config file.

use std::time::Duration;

/// The longest duration accepted anywhere in the configuration (a year is surely a mistake).
const MAX: Duration = Duration::from_secs(366 * 24 * 3600);

/// Parses a duration: one or more `<number><unit>` parts (`ms`, `s`, `m`/`min`, `h`, `d`),
/// or a plain number of seconds. Decimals are allowed (`"1.5h"`).
///
/// The message of an error says what is accepted.
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let hint = "use e.g. \"500ms\", \"90s\", \"10m\", \"2h\" or \"1h30m\"";
    if s.is_empty() {
        return Err(format!("empty duration ({hint})"));
    }
    let mut total = 0.0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        if num.is_empty() {
            return Err(format!("{s:?} is not a duration ({hint})"));
        }
        let n: f64 = num
            .parse()
            .map_err(|_| format!("{s:?} is not a duration ({hint})"))?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let factor = match unit.trim() {
            "ms" => 0.001,
            // A bare number is seconds, but only on its own ("90"), not inside "1h30".
            "" if total == 0.0 && next.is_empty() => 1.0,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            other => {
                return Err(format!(
                    "unknown unit {other:?} in duration {s:?} ({hint}; units: ms, s, m, h, d)"
                ));
            }
        };
        total += n * factor;
        rest = next;
    }
    if !total.is_finite() || total > MAX.as_secs_f64() {
        return Err(format!("duration {s:?} is too long (at most 366d)"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Formats a duration in the largest unit that is exact: `"150m"`, `"65s"`, `"250ms"`.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) || ms == 0 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60)] {
        if s.is_multiple_of(size) {
            return format!("{}{unit}", s / size);
        }
    }
    format!("{s}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        for (text, secs) in [
            ("90", 90.0),
            ("90s", 90.0),
            ("500ms", 0.5),
            ("10m", 600.0),
            ("10min", 600.0),
            ("2h", 7200.0),
            ("1d", 86400.0),
            ("1h30m", 5400.0),
            ("1.5h", 5400.0),
            (" 65s ", 65.0),
        ] {
            assert_eq!(parse(text), Ok(Duration::from_secs_f64(secs)), "{text}");
        }
    }

    #[test]
    fn refuses_garbage_with_a_hint() {
        for text in [
            "", "s", "3 weeks", "1y", "-5s", "1h30", "inf", "400d", "1..2s",
        ] {
            let err = parse(text).unwrap_err();
            assert!(
                err.contains("duration") || err.contains("unit"),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn formats_in_the_largest_exact_unit_and_round_trips() {
        for (secs, text) in [
            (65, "65s"),
            (9000, "150m"),
            (7200, "2h"),
            (86400, "1d"),
            (0, "0ms"),
        ] {
            let d = Duration::from_secs(secs);
            assert_eq!(format(d), text);
            assert_eq!(parse(text), Ok(d));
        }
        assert_eq!(format(Duration::from_millis(1500)), "1500ms");
    }
}
