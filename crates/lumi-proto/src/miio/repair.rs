//! Best-effort repair of the malformed JSON that some firmware sends.
//!
//! Only used after a strict parse failed. One pass over the text, aware of strings and of the
//! object / array nesting, fixing the quirks listed in the reference (`miio.md` §2.5):
//!
//! - in objects, repeated commas collapse (`{"id": 1,,"otu_stat":0}`), a leading or trailing
//!   comma is dropped, and a member without a value is dropped (`"result":,`);
//! - in arrays, an empty element becomes `null` (`[,]` → `[null,null]`, `[,,]` →
//!   `[null,null,null]`, `[1,,2]` → `[1,null,2]`);
//! - numbers lose their leading zeros (`"value":00` → `0`, `06` → `6`);
//! - bare words other than `true`/`false`/`null` become strings (`[net]` → `["net"]`);
//! - control characters are dropped outside strings and escaped inside them;
//! - a missing `,` between two values or `:` after a key is inserted;
//! - anything after the complete top-level object or array is cut off.
//!
//! Unterminated strings or containers are not repaired: a truncated document stays an error
//! rather than turning into a plausible but incomplete one.

use std::fmt::Write as _;

#[derive(Clone, Copy, PartialEq, Eq)]
enum ArrState {
    Start,
    AfterComma,
    AfterValue,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ObjState {
    /// After `{` or `,`: a key (or `}`) comes next.
    ExpectKey,
    /// After a key: `:` comes next.
    AfterKey,
    /// After `:`: a value comes next.
    AfterColon,
    /// After a value: `,` or `}` comes next.
    AfterValue,
}

enum Frame {
    Array(ArrState),
    Object {
        state: ObjState,
        /// A `,` was seen and not yet written (written when the next key starts).
        pending_comma: bool,
        /// Output length before the current member (to drop it if it has no value).
        member_start: usize,
        /// `pending_comma` as it was before the current member.
        had_pending: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Key,
    Value,
}

struct Repairer {
    out: String,
    stack: Vec<Frame>,
    done: bool,
}

impl Repairer {
    /// Prepares the output for an item (key or value) and says which it is.
    fn begin_item(&mut self) -> Role {
        match self.stack.last_mut() {
            None => Role::Value,
            Some(Frame::Array(state)) => {
                if *state == ArrState::AfterValue {
                    self.out.push(',');
                }
                Role::Value
            }
            Some(Frame::Object {
                state,
                pending_comma,
                member_start,
                had_pending,
            }) => match *state {
                ObjState::ExpectKey | ObjState::AfterValue => {
                    let pending = *pending_comma || *state == ObjState::AfterValue;
                    *had_pending = pending;
                    *member_start = self.out.len();
                    if pending {
                        self.out.push(',');
                    }
                    *pending_comma = false;
                    Role::Key
                }
                ObjState::AfterKey => {
                    self.out.push(':');
                    *state = ObjState::AfterColon;
                    Role::Value
                }
                ObjState::AfterColon => Role::Value,
            },
        }
    }

    fn end_item(&mut self, role: Role) {
        match self.stack.last_mut() {
            None => self.done = true,
            Some(Frame::Array(state)) => *state = ArrState::AfterValue,
            Some(Frame::Object { state, .. }) => {
                *state = match role {
                    Role::Key => ObjState::AfterKey,
                    Role::Value => ObjState::AfterValue,
                }
            }
        }
    }

    fn comma(&mut self) {
        match self.stack.last_mut() {
            None => self.out.push(','),
            Some(Frame::Array(state)) => {
                match *state {
                    ArrState::Start | ArrState::AfterComma => self.out.push_str("null,"),
                    ArrState::AfterValue => self.out.push(','),
                }
                *state = ArrState::AfterComma;
            }
            Some(Frame::Object {
                state,
                pending_comma,
                member_start,
                had_pending,
            }) => match *state {
                ObjState::ExpectKey => {}
                ObjState::AfterValue => {
                    *pending_comma = true;
                    *state = ObjState::ExpectKey;
                }
                ObjState::AfterKey | ObjState::AfterColon => {
                    self.out.truncate(*member_start);
                    *pending_comma = *had_pending;
                    *state = ObjState::ExpectKey;
                }
            },
        }
    }

    /// Closes the innermost container if `close` matches it; false if it does not.
    fn close(&mut self, close: char) -> bool {
        match (self.stack.last(), close) {
            (Some(Frame::Array(state)), ']') => {
                if *state == ArrState::AfterComma {
                    self.out.push_str("null");
                }
            }
            (
                Some(Frame::Object {
                    state,
                    member_start,
                    ..
                }),
                '}',
            ) => {
                if matches!(state, ObjState::AfterKey | ObjState::AfterColon) {
                    self.out.truncate(*member_start);
                }
            }
            _ => return false,
        }
        self.stack.pop();
        self.out.push(close);
        self.end_item(Role::Value);
        true
    }
}

fn push_quoted_word(out: &mut String, word: &str) {
    out.push('"');
    out.push_str(word);
    out.push('"');
}

/// Removes leading zeros from the integer part of a number token (`-05.0` → `-5.0`).
fn normalize_number(num: &str) -> String {
    let (sign, rest) = match num.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", num),
    };
    let int_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (int, tail) = rest.split_at(int_end);
    let trimmed = int.trim_start_matches('0');
    let int = if trimmed.is_empty() && !int.is_empty() {
        "0"
    } else {
        trimmed
    };
    format!("{sign}{int}{tail}")
}

/// Repairs `text`; `None` when it cannot be repaired (not starting with `{` or `[`,
/// unterminated string or container, mismatched brackets, a container in key position).
pub(crate) fn repair(text: &str) -> Option<String> {
    let mut r = Repairer {
        out: String::with_capacity(text.len() + 16),
        stack: Vec::new(),
        done: false,
    };
    // Only documents that start as an object or array are worth repairing: an envelope is
    // an object, and a scalar followed by junk is not a quirk we know.
    if !text.trim_start().starts_with(['{', '[']) {
        return None;
    }
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if r.done {
            break;
        }
        match c {
            ' ' | '\t' | '\n' | '\r' => r.out.push(c),
            '"' => {
                let role = r.begin_item();
                r.out.push('"');
                let mut escaped = false;
                let mut closed = false;
                for (_, s) in chars.by_ref() {
                    if escaped {
                        r.out.push(s);
                        escaped = false;
                    } else if s == '\\' {
                        r.out.push(s);
                        escaped = true;
                    } else if s == '"' {
                        r.out.push(s);
                        closed = true;
                        break;
                    } else if u32::from(s) < 0x20 {
                        let _ = write!(r.out, "\\u{:04x}", u32::from(s));
                    } else {
                        r.out.push(s);
                    }
                }
                if !closed {
                    return None;
                }
                r.end_item(role);
            }
            '{' | '[' => {
                if r.begin_item() == Role::Key {
                    return None;
                }
                r.out.push(c);
                r.stack.push(if c == '{' {
                    Frame::Object {
                        state: ObjState::ExpectKey,
                        pending_comma: false,
                        member_start: r.out.len(),
                        had_pending: false,
                    }
                } else {
                    Frame::Array(ArrState::Start)
                });
            }
            '}' | ']' => {
                if !r.close(c) {
                    return None;
                }
            }
            ',' => r.comma(),
            ':' => match r.stack.last_mut() {
                Some(Frame::Object { state, .. }) if *state == ObjState::AfterKey => {
                    r.out.push(':');
                    *state = ObjState::AfterColon;
                }
                // A stray colon: skip it.
                _ => {}
            },
            '-' | '0'..='9' => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, n)) = chars.peek() {
                    if n.is_ascii_digit() || matches!(n, '.' | 'e' | 'E' | '+' | '-') {
                        end = j + n.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let num = normalize_number(&text[i..end]);
                let role = r.begin_item();
                if role == Role::Key {
                    push_quoted_word(&mut r.out, &num);
                } else {
                    r.out.push_str(&num);
                }
                r.end_item(role);
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, n)) = chars.peek() {
                    if n.is_alphanumeric() || matches!(n, '_' | '.' | '-') {
                        end = j + n.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let word = &text[i..end];
                let role = r.begin_item();
                if role == Role::Value && matches!(word, "true" | "false" | "null") {
                    r.out.push_str(word);
                } else {
                    push_quoted_word(&mut r.out, word);
                }
                r.end_item(role);
            }
            c if c.is_control() => {}
            // Anything else cannot be placed: give up.
            _ => return None,
        }
    }
    if r.stack.is_empty() && r.done {
        Some(r.out)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::repair;

    fn fix(s: &str) -> String {
        repair(s).unwrap_or_else(|| panic!("no repair for {s:?}"))
    }

    #[test]
    fn known_quirks() {
        assert_eq!(
            fix(r#"{"id": 123456,,"otu_stat":0}"#),
            r#"{"id": 123456,"otu_stat":0}"#
        );
        assert_eq!(fix(r#"{"value":00}"#), r#"{"value":0}"#);
        assert_eq!(fix(r#"{"value":06}"#), r#"{"value":6}"#);
        assert_eq!(fix(r#"{"v":-05.50}"#), r#"{"v":-5.50}"#);
        assert_eq!(fix(r#"{"id":1,"result":,"x":2}"#), r#"{"id":1,"x":2}"#);
        assert_eq!(fix(r#"{"result":,"id":1}"#), r#"{"id":1}"#);
        assert_eq!(fix(r#"{"id":1,"result":}"#), r#"{"id":1}"#);
        assert_eq!(
            fix(r#"{"result":[,],"id":1}"#),
            r#"{"result":[null,null],"id":1}"#
        );
        assert_eq!(fix(r#"[,,]"#), r#"[null,null,null]"#);
        assert_eq!(fix(r#"[1,,2]"#), r#"[1,null,2]"#);
        assert_eq!(fix(r#"[]"#), r#"[]"#);
        assert_eq!(
            fix(r#"{"result":[net],"id":1}"#),
            r#"{"result":["net"],"id":1}"#
        );
        assert_eq!(fix("{\"a\":\"x\ny\"}"), r#"{"a":"x\u000ay"}"#);
        assert_eq!(fix("{\"a\":1}\u{1}garbage"), r#"{"a":1}"#);
        assert_eq!(fix(r#"{,"a":1,}"#), r#"{"a":1}"#);
        assert_eq!(fix(r#"{"a":1 "b":2}"#), r#"{"a":1 ,"b":2}"#);
        assert_eq!(fix(r#"{"a" 1}"#), r#"{"a" :1}"#);
        assert_eq!(fix(r#"{"s":"a\"b,,c"}"#), r#"{"s":"a\"b,,c"}"#);
    }

    #[test]
    fn hopeless_stays_broken() {
        for s in [
            r#"{"a":"#,
            r#"{"a":"x"#,
            r#"[1,2"#,
            r#"{"a":1]"#,
            "",
            "   ",
            r#"{[1]:2}"#,
            "123456789@ABCDEFGHI",
            "nul",
        ] {
            assert_eq!(repair(s), None, "{s:?}");
        }
    }
}
