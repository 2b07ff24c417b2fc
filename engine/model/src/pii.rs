use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

static REDACT: AtomicBool = AtomicBool::new(cfg!(not(debug_assertions)));

/// Turns redaction of personal data in logs on or off for the whole process.
///
/// Release builds redact by default; the operator can turn it off for debugging (`--log-pii`).
pub fn set_pii_redaction(on: bool) {
    REDACT.store(on, Ordering::Relaxed);
}

/// Personal data (phone numbers, SIP URIs, IP addresses, keyed digits) that must not reach logs in clear.
///
/// `Display` and `Debug` print a redacted form when redaction is on: the last two characters of a phone
/// number survive (`***42`), which is enough to correlate log lines without identifying the caller.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Pii<T>(pub T);

impl<T: fmt::Display> fmt::Display for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if REDACT.load(Ordering::Relaxed) {
            let s = self.0.to_string();
            let tail: String = s
                .chars()
                .rev()
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if s.chars().count() > 4 {
                write!(f, "***{tail}")
            } else {
                f.write_str("***")
            }
        } else {
            self.0.fmt(f)
        }
    }
}

impl<T: fmt::Display> fmt::Debug for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_numbers_keep_only_the_last_two_digits() {
        set_pii_redaction(true);
        assert_eq!(Pii("+4915112345678").to_string(), "***78");
        assert_eq!(Pii("123").to_string(), "***");
        set_pii_redaction(false);
        assert_eq!(Pii("+4915112345678").to_string(), "+4915112345678");
        set_pii_redaction(true);
    }
}
