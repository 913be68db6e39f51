//! The value of a flag and its type.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// The value of a feature flag: a boolean, an integer or a string.
/// (Floats are not allowed: their text form is not canonical.)
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlagValue {
    Bool(bool),
    Integer(i64),
    String(String),
}

/// [`FlagValue`] in a binary format, which cannot tell a value's type by looking at it.
#[derive(Serialize, Deserialize)]
enum TaggedFlagValue {
    Bool(bool),
    Integer(i64),
    String(String),
}

/// In text formats a flag value is the bare value (`true`, `3`, `"blue"`).
impl Serialize for FlagValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match (serializer.is_human_readable(), self) {
            (true, FlagValue::Bool(b)) => serializer.serialize_bool(*b),
            (true, FlagValue::Integer(i)) => serializer.serialize_i64(*i),
            (true, FlagValue::String(s)) => serializer.serialize_str(s),
            (false, FlagValue::Bool(b)) => TaggedFlagValue::Bool(*b).serialize(serializer),
            (false, FlagValue::Integer(i)) => TaggedFlagValue::Integer(*i).serialize(serializer),
            (false, FlagValue::String(s)) => {
                TaggedFlagValue::String(s.clone()).serialize(serializer)
            }
        }
    }
}

impl<'de> Deserialize<'de> for FlagValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if !deserializer.is_human_readable() {
            return Ok(match TaggedFlagValue::deserialize(deserializer)? {
                TaggedFlagValue::Bool(b) => FlagValue::Bool(b),
                TaggedFlagValue::Integer(i) => FlagValue::Integer(i),
                TaggedFlagValue::String(s) => FlagValue::String(s),
            });
        }
        deserializer.deserialize_any(FlagValueVisitor)
    }
}

struct FlagValueVisitor;

impl<'de> de::Visitor<'de> for FlagValueVisitor {
    type Value = FlagValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean, an integer or a string")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<FlagValue, E> {
        Ok(FlagValue::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<FlagValue, E> {
        Ok(FlagValue::Integer(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<FlagValue, E> {
        i64::try_from(u)
            .map(FlagValue::Integer)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(u), &self))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<FlagValue, E> {
        Ok(FlagValue::String(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<FlagValue, E> {
        Ok(FlagValue::String(s))
    }
}

/// The type of a feature's values, taken from its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagType {
    Boolean,
    Integer,
    String,
}

impl FlagValue {
    pub fn flag_type(&self) -> FlagType {
        match self {
            FlagValue::Bool(_) => FlagType::Boolean,
            FlagValue::Integer(_) => FlagType::Integer,
            FlagValue::String(_) => FlagType::String,
        }
    }
}

impl fmt::Display for FlagType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FlagType::Boolean => "boolean",
            FlagType::Integer => "integer",
            FlagType::String => "string",
        })
    }
}

impl fmt::Display for FlagValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagValue::Bool(b) => b.fmt(f),
            FlagValue::Integer(i) => i.fmt(f),
            FlagValue::String(s) => write!(f, "{s:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_bare_json_and_floats_are_refused() -> Result<(), serde_json::Error> {
        let values = vec![
            FlagValue::Bool(true),
            FlagValue::Integer(-3),
            FlagValue::String("7".into()),
        ];
        assert_eq!(serde_json::to_string(&values)?, r#"[true,-3,"7"]"#);
        assert_eq!(
            serde_json::from_str::<Vec<FlagValue>>(r#"[true,-3,"7"]"#)?,
            values
        );
        for refused in ["1.5", "18446744073709551615", "[1]", "null"] {
            assert!(
                serde_json::from_str::<FlagValue>(refused).is_err(),
                "{refused}"
            );
        }
        assert_eq!(FlagValue::Integer(3).flag_type().to_string(), "integer");
        Ok(())
    }
}
