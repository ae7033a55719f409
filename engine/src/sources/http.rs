//! The `http` source: a method and path on a listener shared by many routes.
//! The listener itself lives in `runtime::listeners`; this module holds the
//! route's view: what it accepts and how a request becomes an exchange.

use crate::config::ByteSize;
use crate::exchange::Exchange;
use crate::value::{Map, Value};
use axum::http::{HeaderMap, Method};
use schemars::JsonSchema;
use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSourceConfig {
    /// HTTP method, e.g. `POST`.
    #[serde(default = "default_method")]
    pub method: String,
    /// Request path, e.g. `/api/patients`; a segment `{name}` takes any
    /// value there (`/api/patients/{patientId}`), which the steps read as
    /// `headers.params.patientId`. A path without `{` is matched exactly,
    /// and wins over a pattern that also matches.
    pub path: String,
    /// `address:port` of the listener, or the name of one of the settings'
    /// `listeners`; the settings' `http_addr` (127.0.0.1:8080 by default)
    /// when not given. Routes naming the same address share one listener.
    #[serde(default)]
    pub listen: Option<super::Listen>,
    /// Largest accepted body; larger requests get 413.
    #[serde(default = "default_max_body")]
    pub max_body: ByteSize,
    /// Accepted `Content-Type`s (media type only, parameters such as the
    /// charset ignored). Empty accepts any. Others get 415.
    #[serde(default)]
    pub content_types: Vec<String>,
}

fn default_method() -> String {
    "POST".into()
}

fn default_max_body() -> ByteSize {
    ByteSize(1024 * 1024)
}

impl HttpSourceConfig {
    pub fn method(&self) -> Result<Method, String> {
        Method::from_bytes(self.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("`{}` is not an HTTP method; expected e.g. GET, POST, PUT", self.method))
    }

    pub fn check_path(&self) -> Result<(), String> {
        if !self.path.starts_with('/') || self.path.contains(char::is_whitespace) {
            return Err(format!("path `{}` must start with `/` and hold no spaces", self.path));
        }
        let mut names = Vec::new();
        for segment in self.path.split('/') {
            if !segment.contains(['{', '}']) {
                continue;
            }
            let name = segment
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .filter(|name| is_param_name(name))
                .ok_or_else(|| {
                    format!(
                        "path `{}`: segment `{segment}` is not a parameter; expected a whole segment \
                         `{{name}}` with a name of letters, digits and `_`",
                        self.path
                    )
                })?;
            if names.contains(&name) {
                return Err(format!("path `{}` names the parameter `{name}` twice", self.path));
            }
            names.push(name);
        }
        Ok(())
    }

    /// Whether the path has `{name}` segments.
    pub fn is_pattern(&self) -> bool {
        self.path.contains('{')
    }

    /// Is this content type one the route takes?
    pub fn accepts(&self, content_type: Option<&str>) -> bool {
        if self.content_types.is_empty() {
            return true;
        }
        let Some(media) = content_type.map(media_type) else {
            return false;
        };
        self.content_types.iter().any(|accepted| media_type(accepted) == media)
    }
}

fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The values of a path's `{name}` segments, percent-decoded, as the
/// exchange's `headers.params`.
pub fn path_params<'a>(params: impl Iterator<Item = (&'a str, &'a str)>) -> Map<String, Value> {
    params
        .map(|(name, raw)| {
            let value = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
            (name.to_string(), Value::String(value.into_owned()))
        })
        .collect()
}

/// `application/json; charset=utf-8` -> `application/json`.
pub fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// The exchange's `headers` scope for a request: lower-cased headers plus
/// `method`, `path`, `query` (decoded pairs) and `remote`; the listener
/// adds `params` for a route whose path has `{name}` segments.
pub fn request_headers(
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match map.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                map.insert(name.as_str().to_string(), Value::String(value));
            }
        }
    }
    map.insert("method".into(), Value::String(method.to_string()));
    map.insert("path".into(), Value::String(uri.path().to_string()));
    let query: Map<String, Value> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    map.insert("query".into(), Value::Object(query));
    if let Some(remote) = remote {
        map.insert("remote".into(), Value::String(remote.to_string()));
    }
    map
}

/// A new exchange for a request that reached the route.
pub fn exchange(route: &str, body: bytes::Bytes, headers: Map<String, Value>) -> Exchange {
    let content_type = headers.get("content-type").and_then(Value::as_str).map(str::to_string);
    Exchange::new(route, body, content_type, headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_compare_by_media_type() {
        let config: HttpSourceConfig =
            serde_json::from_value(serde_json::json!({"path": "/x", "content_types": ["application/json"]})).unwrap();
        assert!(config.accepts(Some("Application/JSON; charset=utf-8")));
        assert!(!config.accepts(Some("text/xml")));
        assert!(!config.accepts(None));
    }

    fn path(path: &str) -> Result<(), String> {
        serde_json::from_value::<HttpSourceConfig>(serde_json::json!({ "path": path }))
            .unwrap()
            .check_path()
    }

    #[test]
    fn paths_with_parameters_are_checked() {
        assert!(path("/api/patients").is_ok());
        assert!(path("/api/patients/{patientId}/reports/{report_no}").is_ok());
        for bad in [
            "/api/{}",
            "/api/p{id}",
            "/api/{id",
            "/api/{1id}",
            "/api/{*rest}",
            "/api/{a-b}",
        ] {
            let error = path(bad).unwrap_err();
            assert!(
                error.contains("is not a parameter; expected a whole segment `{name}`"),
                "{bad}: {error}"
            );
        }
        assert!(path("/a/{id}/b/{id}")
            .unwrap_err()
            .contains("names the parameter `id` twice"));
    }

    #[test]
    fn path_parameters_are_percent_decoded() {
        let params = path_params([("name", "%E5%BC%A0%E4%B8%89"), ("no", "a+b%2Fc")].into_iter());
        assert_eq!(params["name"], "张三");
        assert_eq!(params["no"], "a+b/c", "`+` is a plus sign in a path");
    }

    #[test]
    fn headers_scope_holds_query_and_request_line() {
        let uri: axum::http::Uri = "/a?name=%E5%BC%A0%E4%B8%89&x=1+2".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("X-Caller", "his".parse().unwrap());
        let map = request_headers(&Method::POST, &uri, &headers, None);
        assert_eq!(map["x-caller"], "his");
        assert_eq!(map["query"]["name"], "张三");
        assert_eq!(map["query"]["x"], "1 2");
        assert_eq!(map["path"], "/a");
    }
}
