//! A serde `Deserializer` over the located YAML tree.
//!
//! Every error leaves with the position of the innermost key or value that raised it: an unknown
//! field at its key, a wrong type or a bad duration at its value, a missing field at the mapping
//! that lacks it. Scalars follow the YAML 1.2 core schema, with one leniency: a plain scalar is
//! accepted where a string is expected (`1:` as a menu key, `5` as a set value).

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};

use super::yaml::{Entry, Value, Yaml, is_null_text};
use crate::diagnostic::Mark;

/// A serde error and, once known, where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeError {
    pub(crate) mark: Option<Mark>,
    pub(crate) message: String,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            mark: None,
            message: msg.to_string(),
        }
    }
}

/// Gives an error without a position the position `mark`.
fn at(mark: Mark) -> impl FnOnce(DeError) -> DeError {
    move |mut e| {
        e.mark.get_or_insert(mark);
        e
    }
}

/// Deserializes `T` from `node`, ignoring the mapping keys in `skip` (the `type` tag of a node).
pub(crate) fn from_yaml<T: DeserializeOwned>(node: &Yaml, skip: &[&str]) -> Result<T, DeError> {
    T::deserialize(YamlDe { node, skip })
}

struct YamlDe<'a> {
    node: &'a Yaml,
    skip: &'a [&'a str],
}

impl<'a> YamlDe<'a> {
    fn child(node: &'a Yaml) -> Self {
        Self { node, skip: &[] }
    }

    fn unexpected(&self) -> Unexpected<'a> {
        match &self.node.value {
            Value::Scalar { text, plain: true } if is_null_text(text) => Unexpected::Unit,
            Value::Scalar { text, .. } => Unexpected::Str(text),
            Value::Seq(_) => Unexpected::Seq,
            Value::Map(_) => Unexpected::Map,
        }
    }

    fn plain(&self) -> Option<&'a str> {
        match &self.node.value {
            Value::Scalar { text, plain: true } => Some(text),
            _ => None,
        }
    }

    fn integer<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mark = self.node.mark;
        let result = match self.plain() {
            Some(text) => match (text.parse::<u64>(), text.parse::<i64>()) {
                (Ok(n), _) => visitor.visit_u64(n),
                (_, Ok(n)) => visitor.visit_i64(n),
                _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
            },
            None => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        result.map_err(at(mark))
    }

    fn float<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mark = self.node.mark;
        let result = match self.plain().and_then(parse_float) {
            Some(f) => visitor.visit_f64(f),
            None => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        result.map_err(at(mark))
    }
}

fn parse_float(text: &str) -> Option<f64> {
    let numeric = text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if numeric { text.parse().ok() } else { None }
}

impl<'de> Deserializer<'de> for YamlDe<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mark = self.node.mark;
        let result = match &self.node.value {
            Value::Scalar { text, plain: true } => {
                if is_null_text(text) {
                    visitor.visit_unit()
                } else if let Some(b) = parse_bool(text) {
                    visitor.visit_bool(b)
                } else if let Ok(n) = text.parse::<u64>() {
                    visitor.visit_u64(n)
                } else if let Ok(n) = text.parse::<i64>() {
                    visitor.visit_i64(n)
                } else if let Some(f) = parse_float(text) {
                    visitor.visit_f64(f)
                } else {
                    visitor.visit_borrowed_str(text)
                }
            }
            Value::Scalar { text, plain: false } => visitor.visit_borrowed_str(text),
            Value::Seq(items) => visit_seq(items, visitor),
            Value::Map(entries) => visitor.visit_map(MapDe::new(entries, self.skip)),
        };
        result.map_err(at(mark))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mark = self.node.mark;
        let result = match self.plain().and_then(parse_bool) {
            Some(b) => visitor.visit_bool(b),
            None => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        result.map_err(at(mark))
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.integer(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.integer(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.integer(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.integer(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.integer(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.integer(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.integer(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.integer(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.float(visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.float(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mark = self.node.mark;
        let result = match &self.node.value {
            Value::Scalar { text, plain } if !(*plain && is_null_text(text)) => {
                visitor.visit_borrowed_str(text)
            }
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        result.map_err(at(mark))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mark = self.node.mark;
        if self.node.is_null() {
            visitor.visit_none().map_err(at(mark))
        } else {
            visitor.visit_some(self).map_err(at(mark))
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mark = self.node.mark;
        let result = if self.node.is_null() {
            visitor.visit_unit()
        } else {
            Err(de::Error::invalid_type(self.unexpected(), &visitor))
        };
        result.map_err(at(mark))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let mark = self.node.mark;
        visitor.visit_newtype_struct(self).map_err(at(mark))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mark = self.node.mark;
        let result = match &self.node.value {
            Value::Seq(items) => visit_seq(items, visitor),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        result.map_err(at(mark))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mark = self.node.mark;
        let result = match &self.node.value {
            Value::Map(entries) => visitor.visit_map(MapDe::new(entries, self.skip)),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        result.map_err(at(mark))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let mark = self.node.mark;
        let result = match &self.node.value {
            Value::Scalar { text, .. } => visitor.visit_enum(UnitVariant { name: text, mark }),
            Value::Map(entries) => match entries.as_slice() {
                [entry] => visitor.visit_enum(MapVariant { entry }),
                _ => Err(de::Error::invalid_length(
                    entries.len(),
                    &"a mapping with exactly one key",
                )),
            },
            Value::Seq(_) => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        result.map_err(at(mark))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn visit_seq<'de, V: Visitor<'de>>(items: &'de [Yaml], visitor: V) -> Result<V::Value, DeError> {
    let mut seq = SeqDe {
        items: items.iter(),
        taken: 0,
    };
    let value = visitor.visit_seq(&mut seq)?;
    let left = seq.items.len();
    if left > 0 {
        return Err(de::Error::invalid_length(seq.taken + left, &"fewer elements"));
    }
    Ok(value)
}

struct SeqDe<'a> {
    items: std::slice::Iter<'a, Yaml>,
    taken: usize,
}

impl<'de> SeqAccess<'de> for SeqDe<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(item) => {
                self.taken += 1;
                seed.deserialize(YamlDe::child(item))
                    .map(Some)
                    .map_err(at(item.mark))
            }
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, Entry>,
    skip: &'a [&'a str],
    value: Option<&'a Yaml>,
}

impl<'a> MapDe<'a> {
    fn new(entries: &'a [Entry], skip: &'a [&'a str]) -> Self {
        Self {
            entries: entries.iter(),
            skip,
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for MapDe<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        for entry in self.entries.by_ref() {
            if self.skip.contains(&entry.key.as_str()) {
                continue;
            }
            self.value = Some(&entry.value);
            let key = de::value::BorrowedStrDeserializer::<DeError>::new(entry.key.as_str());
            return seed.deserialize(key).map(Some).map_err(at(entry.key_mark));
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some(value) = self.value.take() else {
            return Err(de::Error::custom("map value requested before its key"));
        };
        seed.deserialize(YamlDe::child(value)).map_err(at(value.mark))
    }
}

/// A scalar naming a unit variant.
struct UnitVariant<'a> {
    name: &'a str,
    mark: Mark,
}

impl<'de> EnumAccess<'de> for UnitVariant<'de> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), DeError> {
        let name = de::value::BorrowedStrDeserializer::<DeError>::new(self.name);
        let value = seed.deserialize(name).map_err(at(self.mark))?;
        Ok((value, self))
    }
}

impl<'de> VariantAccess<'de> for UnitVariant<'de> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, DeError> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"a variant with a value",
        ))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, DeError> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"a tuple variant",
        ))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, DeError> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"a struct variant",
        ))
    }
}

/// A one-key mapping naming a variant with data: `{static: demo}`, `{wait: 3s}`.
struct MapVariant<'a> {
    entry: &'a Entry,
}

impl<'de> EnumAccess<'de> for MapVariant<'de> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), DeError> {
        let name = de::value::BorrowedStrDeserializer::<DeError>::new(self.entry.key.as_str());
        let value = seed.deserialize(name).map_err(at(self.entry.key_mark))?;
        Ok((value, self))
    }
}

impl<'de> VariantAccess<'de> for MapVariant<'de> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        let value = &self.entry.value;
        if value.is_null() {
            Ok(())
        } else {
            Err(DeError {
                mark: Some(value.mark),
                message: format!("`{}` takes no value", self.entry.key),
            })
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        let value = &self.entry.value;
        seed.deserialize(YamlDe::child(value)).map_err(at(value.mark))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        YamlDe::child(&self.entry.value).deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        YamlDe::child(&self.entry.value).deserialize_map(visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;
    use crate::load::yaml;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        name: String,
        count: u32,
        #[serde(default)]
        tags: Vec<String>,
        maybe: Option<bool>,
        inner: Option<BTreeMap<String, Inner>>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        next: String,
    }

    fn de(src: &str) -> Result<Doc, DeError> {
        let mut problems = Vec::new();
        let root = yaml::parse(src, &mut problems).unwrap();
        assert!(problems.is_empty());
        from_yaml(&root, &[])
    }

    #[test]
    fn reads_a_document_with_plain_scalars_as_strings() {
        let doc = de("name: 42\ncount: 3\ntags: [a, 'b']\nmaybe: ~\ninner: {x: {next: y}}\n").unwrap();
        assert_eq!(doc.name, "42");
        assert_eq!(doc.count, 3);
        assert_eq!(doc.tags, vec!["a", "b"]);
        assert_eq!(doc.maybe, None);
        assert_eq!(doc.inner.unwrap()["x"].next, "y");
    }

    #[test]
    fn unknown_field_points_at_its_key() {
        let e = de("name: a\ncount: 1\ninner:\n  x:\n    next: y\n    nxt: z\n").unwrap_err();
        assert_eq!(e.mark, Some(Mark { line: 6, col: 5 }));
        assert!(e.message.starts_with("unknown field `nxt`"), "{}", e.message);
    }

    #[test]
    fn wrong_type_points_at_the_value() {
        let e = de("name: a\ncount: many\n").unwrap_err();
        assert_eq!(e.mark, Some(Mark { line: 2, col: 8 }));
        assert_eq!(e.message, "invalid type: string \"many\", expected u32");
        let e = de("name: a\ncount: '3'\n").unwrap_err();
        assert_eq!(e.mark, Some(Mark { line: 2, col: 8 }));
        let e = de("name: a\ncount: -1\n").unwrap_err();
        assert_eq!(e.message, "invalid value: integer `-1`, expected u32");
        let e = de("name: a\ncount: 1\ntags: [a, [b]]\n").unwrap_err();
        assert_eq!(e.mark, Some(Mark { line: 3, col: 11 }));
    }

    #[test]
    fn missing_field_points_at_the_mapping() {
        let e = de("name: a\ncount: 1\ninner:\n  x: {}\n").unwrap_err();
        assert_eq!(e.mark, Some(Mark { line: 4, col: 6 }));
        assert_eq!(e.message, "missing field `next`");
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Choice {
        Plain,
        Named(String),
        Pair { a: u32 },
    }

    fn choice(src: &str) -> Result<Vec<Choice>, DeError> {
        let mut problems = Vec::new();
        let root = yaml::parse(src, &mut problems).unwrap();
        from_yaml(&root, &[])
    }

    #[test]
    fn enums_read_a_scalar_or_a_one_key_mapping() {
        assert_eq!(
            choice("[plain, {named: x}, {pair: {a: 1}}, {plain: ~}]").unwrap(),
            [
                Choice::Plain,
                Choice::Named("x".into()),
                Choice::Pair { a: 1 },
                Choice::Plain
            ]
        );
        let e = choice("- {nmed: x}\n").unwrap_err();
        assert_eq!(e.mark, Some(Mark { line: 1, col: 4 }));
        assert!(e.message.starts_with("unknown variant `nmed`"), "{}", e.message);
        let e = choice("- {named: x, plain: ~}\n").unwrap_err();
        assert_eq!(e.mark, Some(Mark { line: 1, col: 3 }));
        assert_eq!(
            e.message,
            "invalid length 2, expected a mapping with exactly one key"
        );
        let e = choice("- {plain: 1}\n").unwrap_err();
        assert_eq!(e.mark, Some(Mark { line: 1, col: 11 }));
        assert_eq!(e.message, "`plain` takes no value");
        let e = choice("- {pair: {b: 1}}\n").unwrap_err();
        assert_eq!(e.mark, Some(Mark { line: 1, col: 10 }));
        assert_eq!(e.message, "missing field `a`");
    }

    #[test]
    fn skipped_keys_are_invisible() {
        let mut problems = Vec::new();
        let root = yaml::parse("type: x\nnext: y\n", &mut problems).unwrap();
        let inner: Inner = from_yaml(&root, &["type"]).unwrap();
        assert_eq!(inner.next, "y");
        assert!(from_yaml::<Inner>(&root, &[]).is_err());
    }
}
