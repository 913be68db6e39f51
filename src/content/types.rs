//! Value types of the content kinds: flag values and types, and (re-exported from
//! [`crate::values`], where every stage finds them) dates, instants, durations, sizes.

pub use crate::values::{ByteSize, Date, Duration, Moment};

// Flag values are defined in the glassroom-flags crate, which applications use to read
// the bundle; content parses them with the same serde implementations.
pub use glassroom_flags::{FlagType, FlagValue};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_are_bare_in_text_and_tagged_in_binary() -> Result<(), Box<dyn std::error::Error>>
    {
        let values = vec![
            FlagValue::Bool(true),
            FlagValue::Integer(-3),
            FlagValue::String("7".into()),
        ];
        assert_eq!(serde_json::to_string(&values)?, r#"[true,-3,"7"]"#);
        let back: Vec<FlagValue> = serde_json::from_str(r#"[true,-3,"7"]"#)?;
        assert_eq!(back, values);
        let back: Vec<FlagValue> = postcard::from_bytes(&postcard::to_stdvec(&values)?)?;
        assert_eq!(back, values);
        let from_yaml: Vec<FlagValue> =
            crate::yaml::from_str("[true, -3, \"7\", blue]").map_err(|e| e.message)?;
        assert_eq!(from_yaml[..3], values[..]);
        assert_eq!(from_yaml[3], FlagValue::String("blue".into()));
        for refused in ["1.5", "18446744073709551615", "[1]"] {
            let err = crate::yaml::from_str::<FlagValue>(refused)
                .err()
                .map(|e| e.message);
            assert!(
                err.as_deref()
                    .is_some_and(|m| m.contains("a boolean, an integer or a string")),
                "{refused}: {err:?}"
            );
        }
        Ok(())
    }
}
