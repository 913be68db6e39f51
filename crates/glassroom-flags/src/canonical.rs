//! Canonical JSON: the same value always gives the same bytes.
//!
//! Object keys are sorted by their UTF-8 bytes (whatever order the map kept), there is no
//! whitespace outside strings, numbers are written as serde_json writes them (the bundle
//! holds integers only), and strings escape only `"`, `\` and control characters
//! (`\b \f \n \r \t`, others as `\u00XX` with lowercase hex), leaving other text as UTF-8.

use serde_json::Value;

/// The canonical bytes of `value`.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write(item, out);
            }
            out.push(b'}');
        }
    }
}

fn write_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if u32::from(c) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes());
            }
            c => {
                let mut buffer = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_and_nothing_is_padded() {
        let value = json!({"b": [1, {"z": true, "a": null}], "a": "x", "A": -3});
        assert_eq!(
            String::from_utf8_lossy(&to_vec(&value)),
            r#"{"A":-3,"a":"x","b":[1,{"a":null,"z":true}]}"#
        );
    }

    #[test]
    fn strings_escape_only_what_json_requires() {
        let value = json!("q\"b\\n\nt\tc\u{1}é€😀/");
        assert_eq!(
            String::from_utf8_lossy(&to_vec(&value)),
            "\"q\\\"b\\\\n\\nt\\tc\\u0001é€😀/\""
        );
    }

    #[test]
    fn canonical_text_reads_back_as_the_same_value() {
        let value = json!({"k": ["\u{7f}", "line\r\n", 9_007_199_254_740_993_i64]});
        let bytes = to_vec(&value);
        let back: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(back, value);
    }
}
