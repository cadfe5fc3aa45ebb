//! A strict scanner for *flat* JSON envelopes: one object whose values are all strings,
//! numbers, `true`, `false` or `null` — the shape of every v1 report, heartbeat and reply
//! (their `data` is a string). It finds the same value slices serde_json's `RawValue` does,
//! without building anything, and gives up (`None`) on everything else: nested values,
//! `\u` escapes in strings, escaped keys, a duplicate known field, anything malformed. The
//! general path then decides, with its precise errors. The two must agree exactly; the
//! tests and the `lan_decode` fuzz target check that they do.

use serde_json::Value;

use super::Props;
use super::decode::Envelope;

/// Calls `field(key, value)` for each member of a flat JSON object, in order; `value` is the
/// text of a string, number, `true`, `false` or `null`. `None` (give up) when the text is not
/// such an object, a key has escapes, or `field` says so by returning false.
fn scan_flat<'t>(text: &'t str, field: impl FnMut(&'t str, &'t str) -> bool) -> Option<()> {
    scan_flat_in::<false>(text, field)
}

/// [`scan_flat`] over plain JSON (`ESCAPED = false`), or over the *content* of a JSON string
/// literal that holds a flat object (`ESCAPED = true`: the v1 `data` string, where every quote
/// is written `\"`). In escaped mode a string is `\"…\"` with no other backslash inside, and
/// the value text handed to `field` keeps its `\"` quotes.
fn scan_flat_in<'t, const ESCAPED: bool>(
    text: &'t str,
    mut field: impl FnMut(&'t str, &'t str) -> bool,
) -> Option<()> {
    let q = if ESCAPED { 2 } else { 1 };
    let is_quote = |b: &[u8], i: usize| {
        if ESCAPED {
            b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'"')
        } else {
            b.get(i) == Some(&b'"')
        }
    };
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if !is_quote(b, i) {
                return None;
            }
            let (kend, escaped) = if ESCAPED {
                escaped_string(b, i)?
            } else {
                string(b, i)?
            };
            if escaped {
                return None;
            }
            let key = &text[i + q..kend - q];
            i = ws(b, kend);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = ws(b, i + 1);
            let end = match *b.get(i)? {
                b'"' if !ESCAPED => string(b, i)?.0,
                b'\\' if ESCAPED => escaped_string(b, i)?.0,
                b'-' | b'0'..=b'9' => number(b, i)?,
                b't' => literal(b, i, b"true")?,
                b'f' => literal(b, i, b"false")?,
                b'n' => literal(b, i, b"null")?,
                _ => return None,
            };
            if !field(key, &text[i..end]) {
                return None;
            }
            i = ws(b, end);
            match b.get(i) {
                Some(b',') => i = ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (ws(b, i) == b.len()).then_some(())
}

/// The envelope of a flat JSON object, or `None` to use the general parser.
pub(super) fn scan_envelope(text: &str) -> Option<Envelope<'_>> {
    let mut env = Envelope::default();
    scan_flat(text, |key, value| {
        let slot = match key {
            "cmd" => &mut env.cmd,
            "sid" => &mut env.sid,
            "model" => &mut env.model,
            "short_id" => &mut env.short_id,
            "token" => &mut env.token,
            "data" => &mut env.data,
            "params" => &mut env.params,
            "key" => &mut env.key,
            "dev_list" => &mut env.dev_list,
            "ip" => &mut env.ip,
            "port" => &mut env.port,
            "proto_version" => &mut env.proto_version,
            _ => return true,
        };
        // serde_json refuses duplicate fields, and reads a known field's `null` as absent
        // (yet still a duplicate): leave both to it.
        if slot.is_some() || value == "null" {
            return false;
        }
        *slot = Some(value);
        true
    })?;
    Some(env)
}

/// The properties of a flat JSON object (the inner `data` of v1), or `None` to use the
/// general parser. Values are what serde_json makes of them: strings without escapes and
/// integers are built directly, everything else goes through serde_json.
pub(super) fn scan_props(text: &str) -> Option<Props> {
    let mut props = Props::new();
    scan_flat(text, |key, value| match scalar(value) {
        Some(v) => {
            props.push_key(key, v);
            true
        }
        None => false,
    })?;
    Some(props)
}

/// The `Value` of a scalar's JSON text, exactly as serde_json would build it.
fn scalar(text: &str) -> Option<Value> {
    let b = text.as_bytes();
    Some(match b.first()? {
        b'"' => match text[1..text.len() - 1].contains('\\') {
            false => Value::String(text[1..text.len() - 1].to_owned()),
            true => serde_json::from_str(text).ok()?,
        },
        b't' => Value::Bool(true),
        b'f' => Value::Bool(false),
        b'n' => Value::Null,
        _ => {
            if text.len() <= 18 && text.bytes().all(|c| c.is_ascii_digit()) {
                // Plain non-negative integers well inside u64 (JSON forbids leading zeros, so
                // the grammar check already ran): serde_json makes them u64. Negative numbers
                // (`-0`!) and everything else go through serde_json.
                Value::from(text.parse::<u64>().ok()?)
            } else {
                serde_json::from_str(text).ok()?
            }
        }
    })
}

/// The properties of the flat object written inside a v1 `data` string literal (`raw` is the
/// whole literal, quotes included), read in place without unescaping it first; `None` to use
/// the general path (any escape other than `\"`, nested values, …).
pub(super) fn scan_props_escaped(raw: &str) -> Option<Props> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    let mut props = Props::new();
    scan_flat_in::<true>(inner, |key, value| {
        let v = match value.strip_prefix("\\\"") {
            // `\"…\"`: the content has no backslash (escaped_string checked).
            Some(rest) => Value::String(rest.strip_suffix("\\\"").unwrap_or(rest).to_owned()),
            None => match scalar(value) {
                Some(v) => v,
                None => return false,
            },
        };
        props.push_key(key, v);
        true
    })?;
    Some(props)
}

/// A string written `\"…\"` inside a string literal, starting at `b[i] == '\\'`: the index
/// after its closing `\"`. `None` for any other backslash (an escape within the escaped
/// text), a control character, or no end.
fn escaped_string(b: &[u8], i: usize) -> Option<(usize, bool)> {
    if b.get(i + 1) != Some(&b'"') {
        return None;
    }
    let mut j = i + 2;
    loop {
        match *b.get(j)? {
            b'\\' => {
                return (b.get(j + 1) == Some(&b'"')).then_some((j + 2, false));
            }
            b'"' | 0..=0x1f => return None,
            _ => j += 1,
        }
    }
}

/// Skips JSON white space.
fn ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// A string starting at `b[i] == '"'`: the index after its closing quote and whether it has
/// escapes. `None` for control characters, bad escapes, `\u` escapes (left to serde_json,
/// which knows the surrogate rules) or no closing quote. The text is UTF-8 already.
fn string(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        match *b.get(j)? {
            b'"' => return Some((j + 1, escaped)),
            b'\\' => {
                if !matches!(
                    b.get(j + 1)?,
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't'
                ) {
                    return None;
                }
                escaped = true;
                j += 2;
            }
            0..=0x1f => return None,
            _ => j += 1,
        }
    }
}

/// A number by JSON's grammar `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`: its end.
fn number(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |b: &[u8], mut i: usize| {
        let start = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        (i > start).then_some(i)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    i = match b.get(i)? {
        b'0' => i + 1,
        b'1'..=b'9' => digits(b, i)?,
        _ => return None,
    };
    if b.get(i) == Some(&b'.') {
        i = digits(b, i + 1)?;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(b, i)?;
    }
    Some(i)
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

/// True when the scanner and serde_json agree on `text`: where the scanner answers, serde_json
/// finds the same fields. For the fuzz target and the tests.
#[doc(hidden)]
pub fn agrees_with_serde(text: &str) -> bool {
    let envelope = match scan_envelope(text) {
        None => true,
        Some(fast) => super::decode::envelope_serde(text).is_ok_and(|slow| slow == fast),
    };
    let props = match scan_props(text) {
        None => true,
        Some(fast) => super::decode::props_serde(text).is_ok_and(|slow| slow == fast),
    };
    // The in-place reading of a string-encoded `data` must equal unescape-then-parse.
    let data = match super::decode::envelope_serde(text)
        .ok()
        .and_then(|e| e.data)
    {
        Some(raw) if raw.starts_with('"') => match scan_props_escaped(raw) {
            None => true,
            Some(fast) => serde_json::from_str::<String>(raw)
                .ok()
                .and_then(|inner| super::decode::props_serde(&inner).ok())
                .is_some_and(|slow| slow == fast),
        },
        _ => true,
    };
    envelope && props && data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_envelopes_scan_like_serde() {
        let cases = [
            r#"{"cmd":"report","model":"magnet","sid":"158d0001c1cdfb","short_id":56258,"data":"{\"status\":\"open\"}"}"#,
            r#" { "cmd" : "heartbeat" , "short_id" : "0" , "x" : [1] } "#,
            r#"{"cmd":"read","sid":"1","n":-1.5e+3,"t":true,"f":false,"z":null}"#,
            r#"{}"#,
        ];
        for c in cases {
            assert!(agrees_with_serde(c), "{c}");
        }
        let env = scan_envelope(cases[0]).unwrap();
        assert_eq!(env.short_id, Some("56258"));
        assert_eq!(env.data, Some(r#""{\"status\":\"open\"}""#));
        // Nested values are left to serde_json.
        assert!(scan_envelope(cases[1]).is_none());
    }

    #[test]
    fn gives_up_rather_than_differ() {
        for bad in [
            r#"{"cmd":"a","cmd":"b"}"#,
            r#"{"cmd":"\u0041"}"#,
            "{\"cmd\":\"a\u{1}\"}",
            r#"{"cmd":01}"#,
            r#"{"cmd":1.}"#,
            r#"{"cmd":-}"#,
            r#"{"cmd":"a"} x"#,
            r#"{"cmd":"a",}"#,
            r#"{"c\"md":"a"}"#,
            r#"{"cmd":tru}"#,
            r#"{"cmd":null}"#,
            r#"["cmd"]"#,
            "",
            r#"{"cmd":"a"#,
        ] {
            assert!(scan_envelope(bad).is_none(), "{bad}");
            assert!(agrees_with_serde(bad));
        }
    }
}
