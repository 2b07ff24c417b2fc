//! A YAML tree that remembers where every key and value starts.
//!
//! serde-saphyr's `Spanned<T>` loses its location inside `#[serde(tag = "type")]` enums (serde
//! buffers the variant's content first), so the loader builds this tree from the events of
//! serde-saphyr's own parser (`serde_saphyr::granit_parser`) and deserializes from it
//! (`super::de`). Every value, key and error then has an exact line and column.
//!
//! Aliases are expanded by copy (counted against [`MAX_VALUES`]) and keep the location of the
//! anchored definition. Tags are ignored. Comments are skipped.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span, StrInput};

use crate::diagnostic::{Mark, Problem};
use crate::limits::{MAX_DEPTH, MAX_STRING_LEN, MAX_VALUES};

/// A YAML value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Yaml {
    pub(crate) mark: Mark,
    pub(crate) value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `plain` is false for quoted and block scalars: those are always strings.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Yaml>),
    /// Entries in file order; duplicate keys are reported and dropped.
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) key_mark: Mark,
    pub(crate) value: Yaml,
}

impl Yaml {
    /// The value under `key`, if this is a mapping that has it.
    pub(crate) fn get(&self, key: &str) -> Option<&Self> {
        self.entry(key).map(|e| &e.value)
    }

    /// The entry under `key`, if this is a mapping that has it.
    pub(crate) fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The `index`th element, if this is a sequence that long.
    pub(crate) fn index(&self, index: usize) -> Option<&Self> {
        match &self.value {
            Value::Seq(items) => items.get(index),
            _ => None,
        }
    }

    /// True for a plain `~`, `null` or empty scalar.
    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if is_null_text(text))
    }

    fn count(&self) -> usize {
        1 + match &self.value {
            Value::Scalar { .. } => 0,
            Value::Seq(items) => items.iter().map(Self::count).sum(),
            Value::Map(entries) => entries.iter().map(|e| 1 + e.value.count()).sum(),
        }
    }
}

pub(crate) fn is_null_text(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// A problem at a place.
pub(crate) type Located = (Mark, Problem);

/// Parses `source` into one tree. Problems that leave the tree usable (duplicate keys, long
/// strings) are pushed to `problems` and parsing goes on; a syntax error ends it with `None`.
pub(crate) fn parse(source: &str, problems: &mut Vec<Located>) -> Option<Yaml> {
    let mut builder = Builder {
        parser: Parser::new_from_str(source),
        anchors: HashMap::new(),
        values: 0,
        problems,
    };
    match builder.document() {
        Ok(root) => root,
        Err(fatal) => {
            builder.problems.push(fatal);
            None
        }
    }
}

struct Builder<'a, 'p> {
    parser: Parser<'a, StrInput<'a>>,
    anchors: HashMap<usize, Yaml>,
    values: usize,
    problems: &'p mut Vec<Located>,
}

fn mark_of(span: &Span) -> Mark {
    Mark {
        line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        col: u32::try_from(span.start.col().saturating_add(1)).unwrap_or(u32::MAX),
    }
}

impl<'a> Builder<'a, '_> {
    /// The next event that is part of the data (comments and anchor metadata skipped).
    fn next(&mut self) -> Result<(Event<'a>, Mark), Located> {
        loop {
            match self.parser.next_event() {
                None => return Err((Mark::START, Problem::Syntax("unexpected end of input".into()))),
                Some(Err(e)) => {
                    let m = e.marker();
                    let mark = Mark {
                        line: u32::try_from(m.line()).unwrap_or(u32::MAX),
                        col: u32::try_from(m.col().saturating_add(1)).unwrap_or(u32::MAX),
                    };
                    return Err((mark, Problem::Syntax(e.info())));
                }
                Some(Ok((event, span))) => match event {
                    Event::Comment(..) | Event::Anchor(..) => {}
                    other => return Ok((other, mark_of(&span))),
                },
            }
        }
    }

    fn document(&mut self) -> Result<Option<Yaml>, Located> {
        let mut root = None;
        loop {
            let (event, mark) = self.next()?;
            match event {
                Event::StreamStart => {}
                Event::StreamEnd => break,
                Event::DocumentStart(..) if root.is_some() => {
                    return Err((mark, Problem::MultipleDocuments));
                }
                Event::DocumentStart(..) => {
                    let (event, mark) = self.next()?;
                    root = Some(self.node(event, mark, 0)?);
                }
                Event::DocumentEnd => {}
                _ => return Err((mark, Problem::Syntax("unexpected event".into()))),
            }
        }
        match root {
            Some(root) if !root.is_null() => Ok(Some(root)),
            _ => Err((Mark::START, Problem::Empty)),
        }
    }

    fn count_value(&mut self, mark: Mark, n: usize) -> Result<(), Located> {
        self.values = self.values.saturating_add(n);
        if self.values > MAX_VALUES {
            return Err((mark, Problem::TooManyValues { limit: MAX_VALUES }));
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Yaml) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    fn node(&mut self, event: Event<'a>, mark: Mark, depth: usize) -> Result<Yaml, Located> {
        self.count_value(mark, 1)?;
        match event {
            Event::Scalar(text, style, anchor, _tag) => {
                let len = text.chars().count();
                if len > MAX_STRING_LEN {
                    self.problems.push((
                        mark,
                        Problem::StringTooLong {
                            len,
                            limit: MAX_STRING_LEN,
                        },
                    ));
                }
                let node = Yaml {
                    mark,
                    value: Value::Scalar {
                        text: text.into_owned(),
                        plain: matches!(style, ScalarStyle::Plain),
                    },
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id) else {
                    return Err((mark, Problem::Syntax("unknown anchor".into())));
                };
                let node = node.clone();
                self.count_value(mark, node.count())?;
                Ok(node)
            }
            Event::SequenceStart(_, anchor, _) => {
                if depth >= MAX_DEPTH {
                    return Err((mark, Problem::TooDeep { limit: MAX_DEPTH }));
                }
                let mut items = Vec::new();
                loop {
                    let (event, item_mark) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, item_mark, depth + 1)?);
                }
                let node = Yaml {
                    mark,
                    value: Value::Seq(items),
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::MappingStart(_, anchor, _) => {
                if depth >= MAX_DEPTH {
                    return Err((mark, Problem::TooDeep { limit: MAX_DEPTH }));
                }
                let mut entries: Vec<Entry> = Vec::new();
                loop {
                    let (event, key_mark) = self.next()?;
                    if matches!(event, Event::MappingEnd) {
                        break;
                    }
                    let key = self.node(event, key_mark, depth + 1)?;
                    let (event, value_mark) = self.next()?;
                    let value = self.node(event, value_mark, depth + 1)?;
                    let Value::Scalar { text: key, .. } = key.value else {
                        self.problems.push((key_mark, Problem::ComplexKey));
                        continue;
                    };
                    if entries.iter().any(|e| e.key == key) {
                        self.problems.push((key_mark, Problem::DuplicateKey { key }));
                        continue;
                    }
                    entries.push(Entry { key, key_mark, value });
                }
                let node = Yaml {
                    mark,
                    value: Value::Map(entries),
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            _ => Err((mark, Problem::Syntax("unexpected event".into()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(src: &str) -> (Option<Yaml>, Vec<Located>) {
        let mut problems = Vec::new();
        let root = parse(src, &mut problems);
        (root, problems)
    }

    #[test]
    fn keys_and_values_carry_one_based_positions() {
        let (root, problems) = parse_ok("a:\n  b: 1\n  c: [x, \"y\"]\n");
        assert!(problems.is_empty());
        let root = root.unwrap();
        let a = root.entry("a").unwrap();
        assert_eq!(a.key_mark, Mark { line: 1, col: 1 });
        let b = a.value.entry("b").unwrap();
        assert_eq!(
            (b.key_mark, b.value.mark),
            (Mark { line: 2, col: 3 }, Mark { line: 2, col: 6 })
        );
        let y = a.value.get("c").unwrap().index(1).unwrap();
        assert_eq!(y.mark, Mark { line: 3, col: 10 });
        assert_eq!(
            y.value,
            Value::Scalar {
                text: "y".into(),
                plain: false
            }
        );
    }

    #[test]
    fn duplicate_key_is_reported_at_the_second_key_and_dropped() {
        let (root, problems) = parse_ok("a: 1\nb: 2\na: 3\n");
        assert_eq!(
            problems,
            vec![(
                Mark { line: 3, col: 1 },
                Problem::DuplicateKey { key: "a".into() }
            )]
        );
        let a = root.unwrap().get("a").cloned().unwrap();
        assert_eq!(
            a.value,
            Value::Scalar {
                text: "1".into(),
                plain: true
            }
        );
    }

    #[test]
    fn syntax_error_points_at_the_scanner_position() {
        let (root, problems) = parse_ok("a: [\n");
        assert!(root.is_none());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, Mark { line: 1, col: 4 });
        assert!(matches!(&problems[0].1, Problem::Syntax(m) if m.contains("unclosed bracket")));
    }

    #[test]
    fn aliases_are_expanded_with_the_anchor_location() {
        let (root, problems) = parse_ok("a: &x {k: v}\nb: *x\n");
        assert!(problems.is_empty());
        let root = root.unwrap();
        assert_eq!(root.get("b"), root.get("a"));
    }

    #[test]
    fn alias_bomb_hits_the_value_limit() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let p = i - 1;
            src.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let (root, problems) = parse_ok(&src);
        assert!(root.is_none());
        assert!(matches!(
            problems.last(),
            Some((_, Problem::TooManyValues { .. }))
        ));
    }

    #[test]
    fn nesting_at_the_limit_loads_and_one_more_level_fails() {
        let at_limit = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_ok(&at_limit).1.is_empty());
        let over = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let (root, problems) = parse_ok(&over);
        assert!(root.is_none());
        assert_eq!(
            problems,
            vec![(
                Mark {
                    line: 1,
                    col: MAX_DEPTH as u32 + 1
                },
                Problem::TooDeep { limit: MAX_DEPTH }
            )]
        );
    }

    #[test]
    fn string_at_the_limit_is_fine_and_one_more_character_is_reported() {
        let ok = format!("a: {}\n", "x".repeat(MAX_STRING_LEN));
        assert!(parse_ok(&ok).1.is_empty());
        let long = format!("a: {}\n", "x".repeat(MAX_STRING_LEN + 1));
        assert_eq!(
            parse_ok(&long).1,
            vec![(
                Mark { line: 1, col: 4 },
                Problem::StringTooLong {
                    len: MAX_STRING_LEN + 1,
                    limit: MAX_STRING_LEN
                }
            )]
        );
    }

    #[test]
    fn second_document_and_empty_file_are_rejected() {
        let (_, problems) = parse_ok("a: 1\n---\nb: 2\n");
        assert_eq!(
            problems,
            vec![(Mark { line: 2, col: 1 }, Problem::MultipleDocuments)]
        );
        let (_, problems) = parse_ok("# nothing\n");
        assert_eq!(problems, vec![(Mark::START, Problem::Empty)]);
    }
}
