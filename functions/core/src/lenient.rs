//! Tolerant reading of fields from events we do not control.
//!
//! Real CloudTrail events differ from the documentation: fields go missing, console calls carry an
//! empty `sessionIssuer`, and a malformed event may carry a number where a string belongs. A
//! [`Field`] records which of those happened instead of failing the whole event, so the parser can
//! say exactly which field was unusable.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Serialize, Serializer};

/// The JSON type of a value, for messages such as "is a number, expected a string".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl JsonKind {
    pub fn of(value: &serde_json::Value) -> Option<JsonKind> {
        use serde_json::Value;
        match value {
            Value::Null => None,
            Value::Bool(_) => Some(JsonKind::Bool),
            Value::Number(_) => Some(JsonKind::Number),
            Value::String(_) => Some(JsonKind::String),
            Value::Array(_) => Some(JsonKind::Array),
            Value::Object(_) => Some(JsonKind::Object),
        }
    }
}

impl fmt::Display for JsonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonKind::Bool => "a boolean",
            JsonKind::Number => "a number",
            JsonKind::String => "a string",
            JsonKind::Array => "an array",
            JsonKind::Object => "an object",
        })
    }
}

/// A field of an untrusted document: absent (or null), present with the expected type, or
/// present with another type.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Field<T> {
    #[default]
    Missing,
    Present(T),
    Mistyped(JsonKind),
}

impl<T> Field<T> {
    pub fn present(&self) -> Option<&T> {
        match self {
            Field::Present(value) => Some(value),
            _ => None,
        }
    }

    /// Why this field cannot be used, for a reason text; `None` when it is present.
    pub fn problem(&self, expected: JsonKind) -> Option<String> {
        match self {
            Field::Present(_) => None,
            Field::Missing => Some("is missing".to_owned()),
            Field::Mistyped(kind) => Some(format!("is {kind}, expected {expected}")),
        }
    }
}

impl Field<String> {
    pub fn as_str(&self) -> Option<&str> {
        self.present().map(String::as_str)
    }

    /// The string when it is present and not empty.
    pub fn non_empty(&self) -> Option<&str> {
        self.as_str().filter(|s| !s.is_empty())
    }
}

/// How a type is read from each JSON kind; any kind it does not accept becomes
/// [`Field::Mistyped`].
pub trait Lenient: Sized {
    fn from_str(_value: &str) -> Option<Self> {
        None
    }
    fn from_bool(_value: bool) -> Option<Self> {
        None
    }
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

impl Lenient for String {
    fn from_str(value: &str) -> Option<Self> {
        Some(value.to_owned())
    }
}

impl Lenient for bool {
    fn from_bool(value: bool) -> Option<Self> {
        Some(value)
    }
}

/// Implements [`Lenient`] for a struct whose fields are all lenient themselves, so reading it
/// from an object never fails on a type.
#[macro_export]
macro_rules! lenient_struct {
    ($ty:ty) => {
        impl $crate::lenient::Lenient for $ty {
            fn from_map<'de, A: serde::de::MapAccess<'de>>(
                map: A,
            ) -> Result<Option<Self>, A::Error> {
                <$ty as serde::Deserialize>::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )
                .map(Some)
            }
        }
    };
}

impl<'de, T: Lenient> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor(PhantomData))
    }
}

struct FieldVisitor<T>(PhantomData<T>);

impl<T> FieldVisitor<T> {
    fn accept(value: Option<T>, kind: JsonKind) -> Field<T> {
        value.map_or(Field::Mistyped(kind), Field::Present)
    }
}

impl<'de, T: Lenient> Visitor<'de> for FieldVisitor<T> {
    type Value = Field<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Self::accept(T::from_bool(v), JsonKind::Bool))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Field::Mistyped(JsonKind::Number))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Field::Mistyped(JsonKind::Number))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Field::Mistyped(JsonKind::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Self::accept(T::from_str(v), JsonKind::String))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Missing)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Missing)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Mistyped(JsonKind::Array))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(Self::accept(T::from_map(map)?, JsonKind::Object))
    }
}

// `aws_lambda_events`' envelope requires its detail type to be serialisable.
impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Present(value) => value.serialize(serializer),
            Field::Missing | Field::Mistyped(_) => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Default, Debug)]
    #[serde(default)]
    struct Doc {
        name: Field<String>,
        flag: Field<bool>,
    }

    fn doc(json: &str) -> Doc {
        match serde_json::from_str(json) {
            Ok(doc) => doc,
            Err(e) => panic!("{json}: {e}"),
        }
    }

    #[test]
    fn records_present_missing_and_mistyped() {
        let d = doc(r#"{"name": "x", "flag": true}"#);
        assert_eq!(d.name, Field::Present("x".to_owned()));
        assert_eq!(d.flag, Field::Present(true));
        let d = doc(r#"{"name": null}"#);
        assert_eq!(d.name, Field::Missing);
        assert_eq!(d.flag, Field::Missing);
        let d = doc(r#"{"name": 5, "flag": "yes"}"#);
        assert_eq!(d.name, Field::Mistyped(JsonKind::Number));
        assert_eq!(d.flag, Field::Mistyped(JsonKind::String));
        let d = doc(r#"{"name": {"a": [1, {"b": 2}]}, "flag": [1, 2]}"#);
        assert_eq!(d.name, Field::Mistyped(JsonKind::Object));
        assert_eq!(d.flag, Field::Mistyped(JsonKind::Array));
        assert_eq!(
            d.name.problem(JsonKind::String).as_deref(),
            Some("is an object, expected a string")
        );
    }
}
