//! Cross-site request forgery: a page on another site can make the
//! browser send a form, with the session cookie, to the admin listener;
//! it cannot add a header of its own without the browser asking first
//! (CORS), which medbus never allows. So a request that acts and is
//! authenticated by the cookie must carry `X-Medbus-Csrf` (any value, e.g.
//! `1`). Requests with a bearer token need none: a browser never adds one
//! by itself. `SameSite=Strict` on the cookie already keeps it off other
//! sites' requests in current browsers; this check does not rely on it.

use super::roles::is_safe;
use axum::http::{HeaderMap, Method};

pub const HEADER: &str = "x-medbus-csrf";

/// Whether a request authenticated by the session cookie may go on.
pub fn allows(method: &Method, headers: &HeaderMap) -> bool {
    is_safe(method) || headers.get(HEADER).is_some_and(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acting_with_the_cookie_needs_the_header() {
        let none = HeaderMap::new();
        let mut marked = HeaderMap::new();
        marked.insert(HEADER, "1".parse().unwrap());
        let mut empty = HeaderMap::new();
        empty.insert(HEADER, "".parse().unwrap());
        assert!(allows(&Method::GET, &none));
        assert!(allows(&Method::HEAD, &none));
        assert!(!allows(&Method::POST, &none));
        assert!(!allows(&Method::DELETE, &empty));
        assert!(allows(&Method::POST, &marked));
        assert!(allows(&Method::PUT, &marked));
    }
}
