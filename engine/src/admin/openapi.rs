//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the admin API,
//! kept by hand in `openapi.json` beside this file. A test reads every
//! route the admin modules declare and fails on any the document lacks.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

const DOCUMENT: &str = include_str!("openapi.json");

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/api/openapi.json", get(document))
}

async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::path::Path;

    const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

    /// `(path, method)` of every `.route("path", get(..).post(..))` in the source text.
    fn declared_routes(source: &str) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for (start, _) in source.match_indices(".route(") {
            // A router's `.route("path", ...)`, not some other `route(..)` call.
            let call = source[start + ".route(".len()..].trim_start();
            let Some(literal) = call.strip_prefix('"') else {
                continue;
            };
            let Some(close) = literal.find('"') else { continue };
            let path = &literal[..close];
            // The call's arguments, up to its closing parenthesis.
            let mut depth = 1;
            let end = call
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(call.len(), |(i, _)| i);
            let arguments = &call[(close + 2).min(end)..end];
            for method in METHODS {
                let called = arguments.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !arguments.as_bytes()[i - 1].is_ascii_alphanumeric() && arguments.as_bytes()[i - 1] != b'_'
                });
                if called {
                    found.push((path.to_string(), method.to_string()));
                }
            }
        }
        found
    }

    fn admin_sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                admin_sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }

    #[test]
    fn every_route_the_admin_listener_serves_is_documented() {
        let document: Value = serde_json::from_str(DOCUMENT).unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        let mut sources = Vec::new();
        admin_sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/admin"), &mut sources);
        let mut declared = Vec::new();
        for (file, text) in &sources {
            // This file's own test text names no route.
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            declared.extend(declared_routes(text).into_iter().map(|route| (file.clone(), route)));
        }
        assert!(declared.len() >= 17, "the scan finds the routes: {declared:?}");
        let missing: Vec<_> = declared
            .iter()
            .filter(|(_, (path, method))| document["paths"][path][method].is_null())
            .collect();
        assert!(missing.is_empty(), "routes missing from openapi.json: {missing:?}");
    }

    #[test]
    fn the_route_scan_reads_chained_methods_and_split_lines() {
        let source = r#"Router::new()
            .route("/a", get(last).post(reload::post))
            .route(
                "/b/{id}",
                post(handler),
            )
            .route("/c", get(get_thing))"#;
        let routes = declared_routes(source);
        let pairs: Vec<(&str, &str)> = routes.iter().map(|(p, m)| (p.as_str(), m.as_str())).collect();
        assert_eq!(
            pairs,
            [("/a", "get"), ("/a", "post"), ("/b/{id}", "post"), ("/c", "get")]
        );
    }

    #[test]
    fn every_reference_resolves() {
        let document: Value = serde_json::from_str(DOCUMENT).unwrap();
        let mut references = Vec::new();
        collect_refs(&document, &mut references);
        for reference in references {
            let pointer = reference.trim_start_matches('#');
            assert!(document.pointer(pointer).is_some(), "{reference} resolves to nothing");
        }
    }

    fn collect_refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    out.push(reference.clone());
                }
                map.values().for_each(|v| collect_refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}
