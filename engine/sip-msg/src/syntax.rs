//! Character classes and small lexing helpers shared by the parsers (RFC 3261 section 25.1).

use crate::error::ParseError;

/// `token` characters: alphanum and `-.!%*_+`'~`.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// A non-empty RFC 3261 token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// `unreserved` = alphanum / mark.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')')
}

/// Characters allowed unescaped in a SIP URI user part.
pub(crate) fn is_user_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/')
}

/// Characters allowed unescaped in a SIP URI password.
pub(crate) fn is_password_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',')
}

/// Characters allowed unescaped in a URI parameter name or value.
pub(crate) fn is_param_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

/// Characters allowed unescaped in a URI header name or value.
pub(crate) fn is_hnv_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}

/// SP or HT.
pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s`, checking that every unescaped byte satisfies `allowed`.
/// The result must be UTF-8. Escapes need exactly two hex digits.
pub(crate) fn percent_decode(s: &str, allowed: fn(u8) -> bool) -> Result<String, ParseError> {
    let bytes = s.as_bytes();
    if !bytes.contains(&b'%') {
        return if bytes.iter().all(|&b| allowed(b)) {
            Ok(s.to_owned())
        } else {
            Err(ParseError::BadUri)
        };
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes
                .get(i + 1)
                .copied()
                .and_then(hex_val)
                .ok_or(ParseError::BadUri)?;
            let lo = bytes
                .get(i + 2)
                .copied()
                .and_then(hex_val)
                .ok_or(ParseError::BadUri)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else if allowed(b) {
            out.push(b);
            i += 1;
        } else {
            return Err(ParseError::BadUri);
        }
    }
    String::from_utf8(out).map_err(|_| ParseError::BadUri)
}

/// Writes `s` percent-escaping every byte that `allowed` rejects (uppercase hex).
pub(crate) fn percent_encode(
    out: &mut dyn std::fmt::Write,
    s: &str,
    allowed: fn(u8) -> bool,
) -> std::fmt::Result {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if !allowed(b) {
            out.write_str(s.get(start..i).unwrap_or_default())?;
            let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            let lo = HEX.get(usize::from(b & 0xF)).copied().unwrap_or(b'0');
            out.write_char('%')?;
            out.write_char(char::from(hi))?;
            out.write_char(char::from(lo))?;
            start = i + 1;
        }
    }
    out.write_str(s.get(start..).unwrap_or_default())
}

/// Given `s` starting with `"`, returns the byte length of the quoted string including both quotes.
pub(crate) fn quoted_len(s: &str) -> Result<usize, ParseError> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(ParseError::UnterminatedQuote)
}

/// Removes the quotes and quoted-pair escapes from a complete quoted string (`"a\"b"` → `a"b`).
pub(crate) fn unquote(q: &str) -> String {
    let inner = q.get(1..q.len().saturating_sub(1)).unwrap_or_default();
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes `s` as a quoted string, escaping `"` and `\`.
pub(crate) fn write_quoted(out: &mut dyn std::fmt::Write, s: &str) -> std::fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.write_char('\\')?;
        }
        // CR and LF can never be carried inside a header; print them as spaces.
        out.write_char(if c == '\r' || c == '\n' { ' ' } else { c })?;
    }
    out.write_char('"')
}

/// Splits `s` at top-level occurrences of `sep`, skipping separators inside quoted strings and `<...>`.
/// Fails on an unterminated quote or unbalanced angle brackets; at most `max` pieces.
pub(crate) fn split_top_level(
    s: &str,
    sep: u8,
    max: usize,
    too_many: ParseError,
) -> Result<Vec<&str>, ParseError> {
    let bytes = s.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut in_angle = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                let rest = s.get(i..).ok_or(ParseError::UnterminatedQuote)?;
                i += quoted_len(rest)?;
                continue;
            }
            b'<' if in_angle => return Err(ParseError::UnbalancedAngle),
            b'<' => in_angle = true,
            b'>' if !in_angle => return Err(ParseError::UnbalancedAngle),
            b'>' => in_angle = false,
            _ if b == sep && !in_angle => {
                if parts.len() >= max {
                    return Err(too_many);
                }
                parts.push(s.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if in_angle {
        return Err(ParseError::UnbalancedAngle);
    }
    if parts.len() >= max {
        return Err(too_many);
    }
    parts.push(s.get(start..).unwrap_or_default());
    Ok(parts)
}

/// Trims SP/HT (and, defensively, CR/LF) from both ends.
pub(crate) fn trim_lws(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_round_trips_without_double_escaping() {
        let d = percent_decode("%61lice%20b", is_user_char).unwrap();
        assert_eq!(d, "alice b");
        let mut s = String::new();
        percent_encode(&mut s, &d, is_user_char).unwrap();
        assert_eq!(s, "alice%20b");
        let mut s = String::new();
        percent_encode(&mut s, "100%", is_user_char).unwrap();
        assert_eq!(s, "100%25");
    }

    #[test]
    fn bad_escapes_are_rejected() {
        assert!(percent_decode("%6", is_user_char).is_err());
        assert!(percent_decode("%zz", is_user_char).is_err());
        assert!(percent_decode("%FF", is_user_char).is_err());
        assert!(percent_decode("a b", is_user_char).is_err());
    }

    #[test]
    fn split_respects_quotes_and_angles() {
        let parts = split_top_level(
            r#""a,b" <sip:x;p=1,2>;q=1, <sip:y>"#,
            b',',
            32,
            ParseError::TooManyListItems,
        )
        .unwrap();
        assert_eq!(parts.len(), 2);
        assert!(split_top_level("<sip:x", b',', 32, ParseError::TooManyListItems).is_err());
        assert!(split_top_level("\"abc", b',', 32, ParseError::TooManyListItems).is_err());
        assert_eq!(
            split_top_level("a,b,c", b',', 2, ParseError::TooManyListItems),
            Err(ParseError::TooManyListItems)
        );
    }

    #[test]
    fn quoted_strings_unescape() {
        assert_eq!(unquote(r#""a\"b\\c""#), r#"a"b\c"#);
        let mut s = String::new();
        write_quoted(&mut s, r#"a"b\c"#).unwrap();
        assert_eq!(s, r#""a\"b\\c""#);
    }
}
