//! `config`: `Config::from_toml` on any text. Nothing may panic, and no secret may show: for
//! every secret the input gives (`password`, `miio_token` or `token` followed by `=` and a
//! value), neither the error nor — for a valid file — `Debug` and `print_config` may contain
//! it. A secret counts as shown only when the output changes with it: the same input with the
//! secret's letters and digits rotated must show the rotated text instead, so a secret that
//! happens to spell a word of a message (or of the rest of the file) is not a leak.

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

/// The byte ranges of the values of secret keys: after `password`, `miio_token` or `token`
/// (not part of a longer name), spaces, `=` and spaces, a quoted string's contents or a bare
/// value up to a space, `#`, `,`, `}` or `]`.
fn secret_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    let mut out = Vec::new();
    for key in ["password", "miio_token", "token"] {
        for (at, _) in text.match_indices(key) {
            if at > 0 && ident(b[at - 1]) {
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
    for span in secret_spans(text) {
        let Some(secret) = text.get(span.clone()) else {
            continue;
        };
        if secret.chars().count() < MIN_SECRET || !out.contains(secret) {
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
            !(out2.contains(&rotated) && !out2.contains(secret)),
            "the secret {secret:?} shows in:\n{out}"
        );
    }
}
