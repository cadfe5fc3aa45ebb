//! `config`: `Config::from_toml` on any text. Nothing may panic, and no secret may show: for
//! every secret the input gives (`password`, `miio_token` or `token` at the start of a line,
//! of an inline table's entry or after a dot, then `=` and a value; when the text is TOML, only
//! values that TOML gives those keys), neither the error nor — for a valid file — `Debug` and
//! `print_config` may contain it. A secret counts as shown only when the output changes with
//! it: the same input with the secret's letters and digits rotated must show the rotated text
//! instead, so a secret that happens to spell a word of a message (or of the rest of the file)
//! is not a leak.

use lumi_bridge::Config;

/// Secrets shorter than this are not looked for (too likely to occur by chance).
const MIN_SECRET: usize = 6;

/// What the user gets to see for a text.
fn shown(text: &str) -> String {
    match Config::from_toml(text) {
        Ok(c) => {
            let printed = c.print_config();
            format!("{c:?}\n{printed}")
        }
        Err(e) => format!("{e}\n{e:?}"),
    }
}

/// The secret keys.
const SECRET_KEYS: [&str; 3] = ["password", "miio_token", "token"];

/// The values TOML gives the secret keys, at any depth (`None` when the text is not TOML).
fn secret_values(text: &str) -> Option<Vec<String>> {
    fn walk(v: &toml::Value, secret: bool, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    walk(v, SECRET_KEYS.contains(&k.as_str()), out);
                }
            }
            toml::Value::Array(a) => a.iter().for_each(|v| walk(v, secret, out)),
            toml::Value::String(s) if secret => out.push(s.clone()),
            other if secret => out.push(other.to_string()),
            _ => {}
        }
    }
    let table: toml::Table = toml::from_str(text).ok()?;
    let mut out = Vec::new();
    walk(&toml::Value::Table(table), false, &mut out);
    Some(out)
}

/// The byte ranges of the values of secret keys: after `password`, `miio_token` or `token`
/// where a key starts (the start of a line, `{`, `,` or `.` before it, spaces aside), spaces,
/// `=` and spaces, a quoted string's contents or a bare value up to a space, `#`, `,`, `}` or
/// `]`.
fn secret_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    for key in SECRET_KEYS {
        for (at, _) in text.match_indices(key) {
            let before = b[..at]
                .iter()
                .rev()
                .find(|&&c| c != b' ' && c != b'\t')
                .copied();
            if !matches!(before, None | Some(b'\n' | b'{' | b',' | b'.')) {
                continue;
            }
            let mut i = at + key.len();
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            if i >= b.len() || b[i] != b'=' {
                continue;
            }
            i += 1;
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            let (start, end) = match b.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let start = i + 1;
                    let end = b[start..]
                        .iter()
                        .position(|&c| c == q || c == b'\n')
                        .map_or(b.len(), |n| start + n);
                    (start, end)
                }
                Some(_) => {
                    let end = b[i..]
                        .iter()
                        .position(|&c| c.is_ascii_whitespace() || b"#,}]".contains(&c))
                        .map_or(b.len(), |n| i + n);
                    (i, end)
                }
                None => continue,
            };
            out.push(start..end);
        }
    }
    out
}

/// Letters and digits moved one place within their class (0-9, a-f, g-z, A-F, G-Z), so hex
/// stays hex and lengths stay the same.
fn rotate(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '9' => '0',
            'f' => 'a',
            'z' => 'g',
            'F' => 'A',
            'Z' => 'G',
            '0'..='8' | 'a'..='e' | 'g'..='y' | 'A'..='E' | 'G'..='Y' => char::from(c as u8 + 1),
            other => other,
        })
        .collect()
}

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let out = shown(text);
    let known = secret_values(text);
    for span in secret_spans(text) {
        let Some(secret) = text.get(span.clone()) else {
            continue;
        };
        if secret.chars().count() < MIN_SECRET || !out.contains(secret) {
            continue;
        }
        if known
            .as_ref()
            .is_some_and(|k| !k.iter().any(|v| v == secret))
        {
            continue;
        }
        let rotated = rotate(secret);
        if rotated == secret {
            continue;
        }
        let mut other = text.to_owned();
        other.replace_range(span, &rotated);
        let out2 = shown(&other);
        assert!(
            !out2.contains(&rotated) || out2.contains(secret),
            "the secret {secret:?} shows in:\n{out}"
        );
    }
}
