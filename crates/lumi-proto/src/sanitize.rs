//! Making strings that came from the network safe to show.
//!
//! A gateway (or anyone spoofing one) chooses the bytes of models, sids, error strings and
//! property values. Printed raw, control characters could rewrite a terminal or forge log
//! lines. [`for_terminal`] escapes them; printable text, including non-ASCII, is kept.

use std::borrow::Cow;
use std::fmt::Write;

/// Escapes control characters (C0, DEL, C1), bidirectional overrides and other invisible
/// formatting characters as `\u{…}`, so network text can be printed or logged safely.
/// Returns the input unchanged (borrowed) when nothing needs escaping.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`for_terminal`] but also cuts the text to at most `max` characters, marking the cut.
pub fn truncated(s: &str, max: usize) -> String {
    let clean = for_terminal(s);
    if clean.chars().count() <= max {
        return clean.into_owned();
    }
    let mut out: String = clean.chars().take(max).collect();
    out.push('…');
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'     // zero-width, LRM/RLM
            | '\u{202a}'..='\u{202e}'   // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}'   // bidi isolates
            | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_keeps_text() {
        assert!(matches!(for_terminal("plug 客厅"), Cow::Borrowed(_)));
        assert_eq!(for_terminal("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(for_terminal("x\ny\u{202e}"), "x\\u{a}y\\u{202e}");
        assert_eq!(for_terminal("\u{9b}"), "\\u{9b}");
        assert_eq!(truncated("abcdef", 3), "abc…");
        assert_eq!(truncated("ab", 3), "ab");
    }
}
