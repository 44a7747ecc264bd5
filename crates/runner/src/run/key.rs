//! Cache keys: the first 12 hex digits of the sha256 of a resolved configuration's canonical
//! (key-sorted) JSON, so an edit of the YAML reruns exactly the cells whose resolved
//! configuration changed, whatever the order of keys.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The canonical JSON text of `v` (object keys sorted at every level).
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let body: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

/// The 12-hex-digit key of a resolved configuration.
pub fn key_of(v: &Value) -> String {
    let digest = Sha256::digest(canonical(v).as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_ignore_object_key_order_and_change_with_any_value() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
        let b = json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
        assert_eq!(canonical(&a), r#"{"a":{"x":"s","y":[1,2]},"b":1}"#);
        assert_eq!(key_of(&a), key_of(&b));
        assert_eq!(key_of(&a).len(), 12);
        assert_ne!(
            key_of(&a),
            key_of(&json!({"b": 2, "a": {"y": [1, 2], "x": "s"}}))
        );
        assert_ne!(
            key_of(&a),
            key_of(&json!({"b": 1, "a": {"y": [2, 1], "x": "s"}}))
        );
    }
}
