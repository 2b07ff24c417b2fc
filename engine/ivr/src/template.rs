//! `${name}` interpolation in string values.

use crate::diagnostic::Problem;

/// Variables every call has: the caller's and callee's numbers and the SIP Call-ID.
pub(crate) const BUILTIN_VARIABLES: [&str; 3] = ["caller", "callee", "call_id"];

/// A parsed string with `${name}` references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(String),
}

/// True for `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Template {
    /// Parses `text`. A `$` not followed by `{` is literal.
    pub(crate) fn parse(text: &str) -> Result<Self, Problem> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or(Problem::UnclosedInterpolation)?;
            let name = &after[..end];
            if !is_variable_name(name) {
                return Err(Problem::InvalidVariable {
                    name: name.to_owned(),
                });
            }
            pieces.push(Piece::Var(name.to_owned()));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Self(pieces))
    }

    /// A template that is only `text` (used in place of one that failed to parse; such a flow
    /// never loads).
    pub(crate) fn literal(text: &str) -> Self {
        Self(vec![Piece::Text(text.to_owned())])
    }

    /// The variables this template reads.
    pub(crate) fn variables(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Piece::Var(v) => Some(v.as_str()),
            Piece::Text(_) => None,
        })
    }

    /// Fills in each variable with `value(name)`; `None` is empty.
    pub(crate) fn render_with(&self, value: &dyn Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(v) => out.push_str(&value(v).unwrap_or_default()),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn renders_variables_and_keeps_lone_dollars() {
        let t = Template::parse("acct ${account} from ${caller} costs $5").unwrap();
        let vars = BTreeMap::from([("account".to_owned(), "123".to_owned())]);
        let value = |name: &str| {
            vars.get(name)
                .cloned()
                .or_else(|| (name == "caller").then(|| "alice".to_owned()))
        };
        assert_eq!(t.render_with(&value), "acct 123 from alice costs $5");
        assert_eq!(t.variables().collect::<Vec<_>>(), ["account", "caller"]);
    }

    #[test]
    fn rejects_unclosed_and_invalid_references() {
        assert_eq!(Template::parse("x ${a"), Err(Problem::UnclosedInterpolation));
        assert_eq!(
            Template::parse("${1a}"),
            Err(Problem::InvalidVariable { name: "1a".into() })
        );
    }
}
