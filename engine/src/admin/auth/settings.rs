//! The `admin` section of `medbus.yaml`: who may use the admin API, and
//! how long a login lasts. Read again at every reload.
//!
//! ```yaml
//! admin:
//!   session_ttl: 8h
//!   users:
//!     - { name: alice, role: operator, password: '$argon2id$v=19$...' }   # medbus passwd
//!   tokens:
//!     - { name: ci, role: operator, token_hash: 3a7b...e0 }               # medbus token
//! ```

use super::roles::Role;
use super::{password, token};
use crate::config::{Diagnostic, DurationText};
use schemars::JsonSchema;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// Every environment variable that overrides a key of the section, with the key.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[("MEDBUS_ADMIN_SESSION_TTL", "session_ttl")];

/// A login lasts at most this long.
const MAX_SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The section as the settings file writes it.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// People who log in (`POST /api/login`, the console). None and no
    /// tokens: the admin API is open, and only allowed on a loopback
    /// `admin_addr`.
    pub users: Vec<UserSettings>,
    /// API tokens for programs (`Authorization: Bearer <token>`).
    pub tokens: Vec<TokenSettings>,
    /// How long a login lasts, from the login on. Env: MEDBUS_ADMIN_SESSION_TTL.
    pub session_ttl: DurationText,
}

impl Default for AdminSettings {
    fn default() -> Self {
        AdminSettings {
            users: Vec::new(),
            tokens: Vec::new(),
            session_ttl: DurationText::secs(8 * 3600),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSettings {
    pub name: String,
    /// An argon2id PHC string, as `medbus passwd` prints it (quote it: it
    /// holds `$` and `,`).
    pub password: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// Names the program in logs.
    pub name: String,
    /// The token's SHA-256 in hex, as `medbus token` prints it.
    pub token_hash: String,
    pub role: Role,
}

/// The section resolved: who may log in, with which role.
#[derive(Clone, PartialEq)]
pub struct AdminAccess {
    users: Vec<User>,
    tokens: Vec<ApiToken>,
    pub session_ttl: Duration,
}

#[derive(Clone, PartialEq)]
pub struct User {
    pub name: String,
    pub role: Role,
    password: String,
}

#[derive(Clone, PartialEq)]
pub struct ApiToken {
    pub name: String,
    pub role: Role,
    digest: [u8; 32],
}

/// Names and roles only: hashes stay out of logs.
impl std::fmt::Debug for AdminAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let named = |name: &str, role: Role| format!("{name} ({role})");
        f.debug_struct("AdminAccess")
            .field(
                "users",
                &self.users.iter().map(|u| named(&u.name, u.role)).collect::<Vec<_>>(),
            )
            .field(
                "tokens",
                &self.tokens.iter().map(|t| named(&t.name, t.role)).collect::<Vec<_>>(),
            )
            .field("session_ttl", &self.session_ttl)
            .finish()
    }
}

impl Default for AdminAccess {
    fn default() -> Self {
        AdminAccess {
            users: Vec::new(),
            tokens: Vec::new(),
            session_ttl: AdminSettings::default().session_ttl.0,
        }
    }
}

impl AdminAccess {
    /// Checks the whole section; every problem goes to `errors`. An admin
    /// listener on a non-loopback address needs someone to log in.
    pub fn resolve(
        file: &Path,
        section: &AdminSettings,
        admin_addr: SocketAddr,
        errors: &mut Vec<Diagnostic>,
    ) -> AdminAccess {
        let mut problem = |message: String| errors.push(Diagnostic::in_file(file, message));
        let mut names = BTreeSet::new();
        let mut users = Vec::new();
        for (i, user) in section.users.iter().enumerate() {
            let at = format!("admin.users[{i}]");
            if let Err(why) = check_name(&user.name) {
                problem(format!("{at}: {why}"));
            } else if !names.insert(user.name.as_str()) {
                problem(format!(
                    "{at}: the name `{}` is taken twice; expected each user and token to have its own",
                    user.name
                ));
            }
            match password::check_phc(&user.password) {
                Ok(()) => users.push(User {
                    name: user.name.clone(),
                    role: user.role,
                    password: user.password.clone(),
                }),
                Err(why) => problem(format!(
                    "{at} (`{}`): the password is {why}; expected the argon2id hash `medbus passwd` prints",
                    user.name
                )),
            }
        }
        let mut tokens: Vec<ApiToken> = Vec::new();
        for (i, configured) in section.tokens.iter().enumerate() {
            let at = format!("admin.tokens[{i}]");
            if let Err(why) = check_name(&configured.name) {
                problem(format!("{at}: {why}"));
            } else if !names.insert(configured.name.as_str()) {
                problem(format!(
                    "{at}: the name `{}` is taken twice; expected each user and token to have its own",
                    configured.name
                ));
            }
            match token::parse_hash_hex(&configured.token_hash) {
                Ok(digest) if tokens.iter().any(|t| t.digest == digest) => problem(format!(
                    "{at} (`{}`): the same token_hash as another token; expected a token of its own (medbus token)",
                    configured.name
                )),
                Ok(digest) => tokens.push(ApiToken {
                    name: configured.name.clone(),
                    role: configured.role,
                    digest,
                }),
                Err(why) => problem(format!("{at} (`{}`): token_hash is {why}", configured.name)),
            }
        }
        if section.session_ttl.0.is_zero() || section.session_ttl.0 > MAX_SESSION_TTL {
            problem("admin.session_ttl must be longer than zero and at most 30 days; expected e.g. `8h`".into());
        }
        if section.users.is_empty() && section.tokens.is_empty() && !admin_addr.ip().is_loopback() {
            problem(format!(
                "admin_addr {admin_addr} is reachable from other machines, and `admin` has no users and no tokens: \
                 anyone could reprocess messages and reload routes; expected `admin.users` (medbus passwd) \
                 or `admin.tokens` (medbus token), or a loopback admin_addr such as 127.0.0.1:8081"
            ));
        }
        AdminAccess {
            users,
            tokens,
            session_ttl: section.session_ttl.0,
        }
    }

    /// No users and no tokens: nobody can log in, so the admin API is open
    /// to local callers.
    pub fn is_open(&self) -> bool {
        self.users.is_empty() && self.tokens.is_empty()
    }

    pub fn users(&self) -> &[User] {
        &self.users
    }

    pub fn tokens(&self) -> &[ApiToken] {
        &self.tokens
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The token whose hash `presented` has. Every token is compared, in
    /// constant time, so the timing says nothing about near misses.
    pub fn token(&self, presented: &str) -> Option<&ApiToken> {
        let digest = token::digest(presented);
        let mut found = None;
        for configured in &self.tokens {
            let equal: bool = configured.digest.ct_eq(&digest).into();
            if equal && found.is_none() {
                found = Some(configured);
            }
        }
        found
    }
}

impl User {
    /// The PHC string, for [`password::verify`].
    pub fn password_hash(&self) -> &str {
        &self.password
    }

    /// Changes with the password: a session started before a change ends.
    pub fn password_fingerprint(&self) -> [u8; 32] {
        Sha256::digest(self.password.as_bytes()).into()
    }
}

/// Names go into log lines and the console.
fn check_name(name: &str) -> Result<(), String> {
    let fine = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if fine {
        Ok(())
    } else {
        Err(format!(
            "the name `{name}` is not allowed; expected up to 64 letters, digits, `-`, `_`, `.` and `@`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(yaml: &str, admin_addr: &str) -> Result<AdminAccess, Vec<String>> {
        let section: AdminSettings = serde_saphyr::from_str(yaml).unwrap();
        let mut errors = Vec::new();
        let access = AdminAccess::resolve(
            Path::new("medbus.yaml"),
            &section,
            admin_addr.parse().unwrap(),
            &mut errors,
        );
        if errors.is_empty() {
            Ok(access)
        } else {
            Err(errors.iter().map(|e| e.message.clone()).collect())
        }
    }

    #[test]
    fn users_and_tokens_resolve() {
        let phc = password::hash("pass-of-alice").unwrap();
        let token = token::generate();
        let yaml = format!(
            "session_ttl: 30m\nusers:\n  - {{ name: alice, role: operator, password: '{phc}' }}\n\
             tokens:\n  - {{ name: ci, role: viewer, token_hash: {} }}\n",
            token::hash_hex(&token)
        );
        let access = resolve(&yaml, "0.0.0.0:8081").unwrap();
        assert!(!access.is_open());
        assert_eq!(access.session_ttl, Duration::from_secs(1800));
        let alice = access.user("alice").unwrap();
        assert_eq!(alice.role, Role::Operator);
        assert!(password::verify("pass-of-alice", alice.password_hash()));
        assert_eq!(
            access.token(&token).map(|t| (t.name.as_str(), t.role)),
            Some(("ci", Role::Viewer))
        );
        assert!(access.token(&token::generate()).is_none());
        let shown = format!("{access:?}");
        assert!(
            shown.contains("alice (operator)") && !shown.contains("argon2"),
            "{shown}"
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let yaml = "session_ttl: 0s\nusers:\n  - { name: alice, role: admin, password: plain-text }\n  \
                    - { name: 'a b', role: viewer, password: plain-text }\n\
                    tokens:\n  - { name: alice, role: viewer, token_hash: abc }\n";
        let errors = resolve(yaml, "127.0.0.1:8081").unwrap_err();
        let expected = [
            "admin.users[0] (`alice`): the password is not a PHC string",
            "admin.users[1]: the name `a b` is not allowed",
            "admin.users[1] (`a b`): the password is not a PHC string",
            "admin.tokens[0]: the name `alice` is taken twice",
            "admin.tokens[0] (`alice`): token_hash is not a SHA-256",
            "admin.session_ttl must be longer than zero and at most 30 days",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, start) in errors.iter().zip(expected) {
            assert!(error.starts_with(start), "{error}");
        }
    }

    #[test]
    fn nobody_to_log_in_is_only_allowed_on_a_loopback_address() {
        assert!(resolve("{}", "127.0.0.1:8081").unwrap().is_open());
        let errors = resolve("session_ttl: 31d", "127.0.0.1:8081").unwrap_err();
        assert!(errors[0].contains("at most 30 days"), "{errors:?}");
        assert!(resolve("{}", "[::1]:8081").unwrap().is_open());
        let errors = resolve("{}", "0.0.0.0:8081").unwrap_err();
        assert!(
            errors[0].contains("admin_addr 0.0.0.0:8081 is reachable from other machines"),
            "{errors:?}"
        );
        let token = format!(
            "tokens: [{{ name: ci, role: admin, token_hash: {} }}]",
            token::hash_hex("t")
        );
        assert!(resolve(&token, "10.0.0.5:8081").is_ok());
    }

    #[test]
    fn the_documented_example_resolves() {
        let docs = include_str!("../../../../docs/admin-auth.md");
        let block = docs.split("```yaml\n").nth(1).unwrap().split("```").next().unwrap();
        assert!(block.starts_with("# medbus.yaml"), "{block}");
        let file: crate::settings::SettingsFile = serde_saphyr::from_str(block).unwrap();
        let mut errors = Vec::new();
        let access = AdminAccess::resolve(Path::new("medbus.yaml"), &file.admin, file.admin_addr, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((access.users().len(), access.tokens().len()), (1, 1));
        assert_eq!(access.user("alice").map(|u| u.role), Some(Role::Operator));
    }
}
