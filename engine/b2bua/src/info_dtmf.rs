//! DTMF carried in SIP INFO bodies: `application/dtmf-relay` (`Signal=5\r\nDuration=160`) and
//! `application/dtmf` (the digit alone). Both are de-facto formats (Cisco, Asterisk, FreeSWITCH, SIPp);
//! signals may be the key itself or its RFC 4733 event number.

use media::Digit;

/// Why an INFO body gave no digit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfoDtmfError {
    /// The content type is not one we read DTMF from (answer 415).
    #[error("unsupported INFO content type")]
    UnsupportedType,
    /// The body has no usable `Signal` (answer 400).
    #[error("INFO body carries no valid DTMF signal")]
    BadSignal,
}

/// The largest INFO body we look at; DTMF bodies are a few dozen bytes.
pub const MAX_INFO_BODY: usize = 1024;

/// Reads the digit from an INFO request's content type and body.
pub fn parse_info_dtmf(content_type: Option<&str>, body: &[u8]) -> Result<Digit, InfoDtmfError> {
    let ct = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .ok_or(InfoDtmfError::UnsupportedType)?;
    if body.len() > MAX_INFO_BODY {
        return Err(InfoDtmfError::BadSignal);
    }
    let text = std::str::from_utf8(body).map_err(|_| InfoDtmfError::BadSignal)?;
    match ct.as_str() {
        "application/dtmf-relay" => {
            let signal = text
                .lines()
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("signal"))
                .map(|(_, v)| v.trim())
                .ok_or(InfoDtmfError::BadSignal)?;
            signal_to_digit(signal)
        }
        "application/dtmf" => signal_to_digit(text.trim()),
        _ => Err(InfoDtmfError::UnsupportedType),
    }
}

fn signal_to_digit(s: &str) -> Result<Digit, InfoDtmfError> {
    let mut chars = s.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if let Some(d) = Digit::from_char(c.to_ascii_uppercase()) {
            return Ok(d);
        }
    }
    s.parse::<u8>()
        .ok()
        .and_then(Digit::from_event_code)
        .ok_or(InfoDtmfError::BadSignal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_relay_bodies_give_their_digit() {
        let d = parse_info_dtmf(Some("application/dtmf-relay"), b"Signal=5\r\nDuration=160\r\n");
        assert_eq!(d, Ok(Digit::D5));
        let d = parse_info_dtmf(
            Some("Application/DTMF-Relay; charset=x"),
            b"signal= #\nDuration= 250\n",
        );
        assert_eq!(d, Ok(Digit::Pound));
        assert_eq!(
            parse_info_dtmf(Some("application/dtmf-relay"), b"Signal=11\r\n"),
            Ok(Digit::Pound)
        );
        assert_eq!(
            parse_info_dtmf(Some("application/dtmf-relay"), b"Signal=10\r\n"),
            Ok(Digit::Star)
        );
    }

    #[test]
    fn plain_dtmf_bodies_give_their_digit() {
        assert_eq!(parse_info_dtmf(Some("application/dtmf"), b"7"), Ok(Digit::D7));
        assert_eq!(parse_info_dtmf(Some("application/dtmf"), b"a\r\n"), Ok(Digit::A));
    }

    #[test]
    fn bad_bodies_and_types_are_refused() {
        assert_eq!(
            parse_info_dtmf(Some("application/dtmf-relay"), b"Duration=1"),
            Err(InfoDtmfError::BadSignal)
        );
        assert_eq!(
            parse_info_dtmf(Some("application/dtmf-relay"), b"Signal=99"),
            Err(InfoDtmfError::BadSignal)
        );
        assert_eq!(
            parse_info_dtmf(Some("application/dtmf-relay"), b"Signal=\xff"),
            Err(InfoDtmfError::BadSignal)
        );
        assert_eq!(
            parse_info_dtmf(Some("text/plain"), b"5"),
            Err(InfoDtmfError::UnsupportedType)
        );
        assert_eq!(parse_info_dtmf(None, b"5"), Err(InfoDtmfError::UnsupportedType));
        let big = vec![b'x'; MAX_INFO_BODY + 1];
        assert_eq!(
            parse_info_dtmf(Some("application/dtmf"), &big),
            Err(InfoDtmfError::BadSignal)
        );
        let mut at_limit = b"Signal=4\r\n".to_vec();
        at_limit.resize(MAX_INFO_BODY, b' ');
        assert_eq!(
            parse_info_dtmf(Some("application/dtmf-relay"), &at_limit),
            Ok(Digit::D4)
        );
    }
}
