//! The SDP printer: CRLF line ends, lines in the order RFC 8866 §5 requires.
//!
//! Free-text fields are public `String`s; a CR or LF inside one is printed as a space so
//! that no value can inject a line.

use std::fmt::{self, Display, Formatter, Write};

use crate::model::{
    Address, Attribute, Connection, Line, MediaDescription, Origin, SessionDescription, direction_name,
};

impl Display for SessionDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("v=0\r\n")?;
        write!(f, "o={}\r\n", self.origin)?;
        // `s=` must not be empty; RFC 8866 §5.3 suggests a single space for "no name".
        let name = if self.session_name.is_empty() {
            " "
        } else {
            &self.session_name
        };
        write!(f, "s={}\r\n", Clean(name))?;
        lines(f, &self.other_lines, |k| matches!(k, 'i' | 'u' | 'e' | 'p'))?;
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        lines(f, &self.other_lines, |k| k == 'b')?;
        if self.timing.is_empty() {
            f.write_str("t=0 0\r\n")?;
        }
        for t in &self.timing {
            write!(f, "t={} {}\r\n", t.start, t.stop)?;
        }
        lines(f, &self.other_lines, |k| matches!(k, 'r' | 'z' | 'k'))?;
        lines(f, &self.other_lines, |k| !"iuepbrzk".contains(k))?;
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

impl Display for MediaDescription {
    /// The `m=` section, each line ending in CRLF.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", Clean(self.kind.as_str()), self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", Clean(&self.proto))?;
        for fmt in &self.formats {
            write!(f, " {}", Clean(fmt))?;
        }
        f.write_str("\r\n")?;
        lines(f, &self.other_lines, |k| k == 'i')?;
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        lines(f, &self.other_lines, |k| matches!(k, 'b' | 'k'))?;
        lines(f, &self.other_lines, |k| !"ibk".contains(k))?;
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        Ok(())
    }
}

impl Display for Origin {
    /// The value of `o=`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} IN {} {}",
            Clean(&self.username),
            self.session_id,
            self.session_version,
            self.addr_type.as_str(),
            self.address
        )
    }
}

impl Display for Connection {
    /// The value of `c=`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "IN {} {}", self.addr_type.as_str(), self.address)?;
        if let Some(m) = &self.multicast {
            write!(f, "/{}", Clean(m))?;
        }
        Ok(())
    }
}

impl Display for Address {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Host(h) => write!(f, "{}", Clean(h)),
        }
    }
}

impl Display for Attribute {
    /// The value of `a=`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rtpmap(m) => {
                write!(
                    f,
                    "rtpmap:{} {}/{}",
                    m.payload_type,
                    Clean(&m.encoding),
                    m.clock_rate
                )?;
                if let Some(c) = m.channels {
                    write!(f, "/{c}")?;
                }
                Ok(())
            }
            Self::Fmtp(p) if p.params.is_empty() => write!(f, "fmtp:{}", Clean(&p.format)),
            Self::Fmtp(p) => write!(f, "fmtp:{} {}", Clean(&p.format), Clean(&p.params)),
            Self::Ptime(ms) => write!(f, "ptime:{ms}"),
            Self::MaxPtime(ms) => write!(f, "maxptime:{ms}"),
            Self::Direction(d) => f.write_str(direction_name(*d)),
            Self::Other { name, value: None } => write!(f, "{}", Clean(name)),
            Self::Other { name, value: Some(v) } => write!(f, "{}:{}", Clean(name), Clean(v)),
        }
    }
}

fn lines(f: &mut Formatter<'_>, lines: &[Line], select: impl Fn(char) -> bool) -> fmt::Result {
    for l in lines.iter().filter(|l| select(l.kind)) {
        write!(f, "{}={}\r\n", l.kind, Clean(&l.value))?;
    }
    Ok(())
}

/// Writes a value with CR and LF replaced by spaces.
struct Clean<'a>(&'a str);

impl Display for Clean<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for part in self.0.split(['\r', '\n']).enumerate() {
            if part.0 > 0 {
                f.write_char(' ')?;
            }
            f.write_str(part.1)?;
        }
        Ok(())
    }
}
