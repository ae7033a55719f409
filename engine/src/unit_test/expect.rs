//! Comparing what happened with what a test expected, and saying how they differ.

use serde_json::Value;

/// Equal values, or scalars equal as text (YAML's `1` matches the string
/// `"1"`: XML-derived values are all strings).
pub fn values_match(expected: &Value, actual: &Value) -> bool {
    same_shape(expected, actual, &|e, a| e == a || scalar_text(e) == scalar_text(a))
}

/// Equal JSON documents, types included: the string `"6.5"` does not
/// match the number `6.5`, since the receiver of a JSON payload tells them
/// apart. Numbers are equal by value (`1` matches `1.0`).
pub fn json_matches(expected: &Value, actual: &Value) -> bool {
    same_shape(expected, actual, &|e, a| match (e, a) {
        (Value::Number(e), Value::Number(a)) => e == a || e.as_f64().is_some_and(|e| a.as_f64() == Some(e)),
        (e, a) => e == a,
    })
}

/// Objects with the same keys and arrays of the same length, all the way
/// down, whose scalars `scalars_match`.
fn same_shape(expected: &Value, actual: &Value, scalars_match: &dyn Fn(&Value, &Value) -> bool) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|av| same_shape(v, av, scalars_match)))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(e, a)| same_shape(e, a, scalars_match))
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        (e, a) => scalars_match(e, a),
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A unified diff of two texts, or both values when they are one line each.
pub fn text_diff(what: &str, expected: &str, actual: &str) -> String {
    if !expected.contains('\n') && !actual.contains('\n') {
        return format!("{what}:\n  expected: {expected}\n  actual:   {actual}");
    }
    let diff = similar::TextDiff::from_lines(expected, actual);
    let body = diff
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string();
    format!("{what} differs:\n{body}")
}

pub fn value_diff(what: &str, expected: &Value, actual: &Value) -> String {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    text_diff(what, &pretty(expected), &pretty(actual))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_match_as_text_but_shapes_must_agree() {
        assert!(values_match(&json!(1), &json!("1")));
        assert!(values_match(&json!({"a": [1, "x"]}), &json!({"a": ["1", "x"]})));
        assert!(!values_match(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!values_match(&json!([1]), &json!("[1]")));
    }

    #[test]
    fn json_documents_match_with_their_types() {
        assert!(json_matches(
            &json!({"a": [6.5, "x"], "n": null}),
            &json!({"a": [6.5, "x"], "n": null})
        ));
        assert!(json_matches(&json!({"v": 1}), &json!({"v": 1.0})), "numbers by value");
        assert!(!json_matches(&json!({"v": 6.5}), &json!({"v": "6.5"})));
        assert!(!json_matches(&json!({"v": "1"}), &json!({"v": 1})));
        assert!(!json_matches(&json!({"v": true}), &json!({"v": "true"})));
        assert!(!json_matches(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!json_matches(&json!([1, 2]), &json!([2, 1])));
    }

    #[test]
    fn diffs_show_both_sides() {
        let d = text_diff("reply body", "a\nb\n", "a\nc\n");
        assert!(d.contains("-b") && d.contains("+c"), "{d}");
    }
}
