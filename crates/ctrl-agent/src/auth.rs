//! HTTP Basic authentication as kea-ctrl-agent 2.2 configures it (`authentication`, Kea ARM
//! "Basic HTTP Authentication", `src/lib/http/basic_auth_config.cc`).
//!
//! Each `clients` entry gives a user (`user` or the content of `user-file`) and a password
//! (`password` or the content of `password-file`); a lone `password-file` holds
//! `user:password`. File contents are taken whole, a trailing newline included, as Kea 2.2 does
//! (checked: with `fileuser\n` in the file, Kea accepts `fileuser\n:...` and refuses
//! `fileuser:...`), so that a file works the same with both agents. Relative file names are taken from `directory`. When the list is empty,
//! nothing is required. A request without credentials, with another scheme than `Basic`
//! (matched case-insensitively) or with credentials no client has, gets 401 with
//! `WWW-Authenticate: Basic realm="<realm>"`.

use std::path::{Path, PathBuf};

use nestor_config::agent::Authentication;

/// Why the credentials could not be set up from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A user or password file could not be read.
    #[error("cannot read {what} file {path}: {source}")]
    File {
        /// `user` or `password`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A lone password file does not hold `user:password`.
    #[error("password file {path} does not contain a ':' separating the user from the password")]
    NoSeparator {
        /// The file.
        path: PathBuf,
    },
    /// A user read from a file is empty or contains ':'.
    #[error("user '{user}' read from {path} is empty or contains ':'")]
    BadUser {
        /// What was read.
        user: String,
        /// The file.
        path: PathBuf,
    },
}

/// The outcome of checking a request's `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// No authentication configured.
    NotRequired,
    /// Credentials of this user.
    Authorized(String),
    /// No or wrong credentials: answer 401; the reason is for the log (Kea's message texts).
    Denied(&'static str),
}

/// The accepted `user:password` pairs and the realm.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    realm: String,
    /// Decoded `user:password` credentials.
    credentials: Vec<String>,
}

impl std::fmt::Debug for BasicAuth {
    /// Passwords stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("realm", &self.realm)
            .field("clients", &self.credentials.len())
            .finish()
    }
}

impl BasicAuth {
    /// Builds the credential list, reading the user and password files.
    pub fn from_config(auth: &Authentication) -> Result<Self, AuthError> {
        let directory = Path::new(&auth.directory);
        let path = |name: &str| {
            let p = Path::new(name);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                directory.join(p)
            }
        };
        let mut credentials = Vec::with_capacity(auth.clients.len());
        for client in &auth.clients {
            let user = match (&client.user, &client.user_file) {
                (Some(user), _) => Some(user.clone()),
                (None, Some(file)) => {
                    let file = path(file);
                    let user = file_content(&file, "user")?;
                    if user.is_empty() || user.contains(':') {
                        return Err(AuthError::BadUser { user, path: file });
                    }
                    Some(user)
                }
                (None, None) => None,
            };
            let password = match (&client.password, &client.password_file) {
                (Some(password), _) => password.clone(),
                (None, Some(file)) => file_content(&path(file), "password")?,
                (None, None) => String::new(),
            };
            match user {
                Some(user) => credentials.push(format!("{user}:{password}")),
                // A lone password file: `user:password` in one line.
                None => {
                    if !password.contains(':') {
                        let file = client
                            .password_file
                            .as_deref()
                            .map(path)
                            .unwrap_or_default();
                        return Err(AuthError::NoSeparator { path: file });
                    }
                    credentials.push(password);
                }
            }
        }
        Ok(Self {
            realm: auth.realm.clone(),
            credentials,
        })
    }

    /// The realm sent in challenges.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Checks an `Authorization` header value.
    pub fn check(&self, authorization: Option<&str>) -> AuthOutcome {
        if self.credentials.is_empty() {
            return AuthOutcome::NotRequired;
        }
        let Some(value) = authorization else {
            return AuthOutcome::Denied("no basic HTTP authentication");
        };
        let mut parts = value.trim().splitn(2, ' ');
        let scheme = parts.next().unwrap_or_default();
        if !scheme.eq_ignore_ascii_case("basic") {
            return AuthOutcome::Denied("not basic authentication");
        }
        let encoded = parts.next().unwrap_or_default().trim();
        let Ok(decoded) = data_encoding::BASE64.decode(encoded.as_bytes()) else {
            return AuthOutcome::Denied("bad base64 in credentials");
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            return AuthOutcome::Denied("credentials are not UTF-8");
        };
        // Compare every entry without stopping early, so the time taken does not tell which
        // prefix matched.
        let mut found = None;
        for credential in &self.credentials {
            if constant_time_eq(credential.as_bytes(), decoded.as_bytes()) {
                found = Some(credential);
            }
        }
        match found {
            Some(credential) => {
                let user = credential.split(':').next().unwrap_or_default().to_owned();
                AuthOutcome::Authorized(user)
            }
            None => AuthOutcome::Denied("unknown user or wrong password"),
        }
    }
}

fn file_content(path: &Path, what: &'static str) -> Result<String, AuthError> {
    std::fs::read_to_string(path).map_err(|source| AuthError::File {
        what,
        path: path.to_path_buf(),
        source,
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestor_config::agent::AuthClient;

    fn client(
        user: Option<&str>,
        user_file: Option<&str>,
        password: Option<&str>,
        password_file: Option<&str>,
    ) -> AuthClient {
        AuthClient {
            user: user.map(str::to_owned),
            user_file: user_file.map(str::to_owned),
            password: password.map(str::to_owned),
            password_file: password_file.map(str::to_owned),
        }
    }

    fn header(user_pass: &str) -> String {
        format!(
            "Basic {}",
            data_encoding::BASE64.encode(user_pass.as_bytes())
        )
    }

    #[test]
    fn users_inline_and_from_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("u"), "fileuser").unwrap();
        std::fs::write(dir.path().join("p"), "filepass").unwrap();
        std::fs::write(dir.path().join("up"), "both:secret").unwrap();
        std::fs::write(dir.path().join("nl-u"), "nluser\n").unwrap();
        let auth = BasicAuth::from_config(&Authentication {
            realm: "r".into(),
            directory: dir.path().display().to_string(),
            clients: vec![
                client(Some("admin"), None, Some("1234"), None),
                client(None, Some("u"), None, Some("p")),
                client(None, None, None, Some("up")),
                client(None, Some("nl-u"), Some("pw"), None),
            ],
        })
        .unwrap();
        assert_eq!(
            auth.check(Some(&header("admin:1234"))),
            AuthOutcome::Authorized("admin".into())
        );
        assert_eq!(
            auth.check(Some(&header("fileuser:filepass"))),
            AuthOutcome::Authorized("fileuser".into())
        );
        assert_eq!(
            auth.check(Some(&header("both:secret"))),
            AuthOutcome::Authorized("both".into())
        );
        // The newline is part of the user, as in Kea.
        assert_eq!(
            auth.check(Some(&header("nluser\n:pw"))),
            AuthOutcome::Authorized("nluser\n".into())
        );
        assert!(matches!(
            auth.check(Some(&header("nluser:pw"))),
            AuthOutcome::Denied(_)
        ));
        // Scheme case-insensitive, as Kea.
        let lower = header("admin:1234").replacen("Basic", "bAsIc", 1);
        assert!(matches!(
            auth.check(Some(&lower)),
            AuthOutcome::Authorized(_)
        ));
        for bad in [
            None,
            Some(header("admin:wrong")),
            Some("Bearer abc".to_owned()),
            Some("Basic !!!".to_owned()),
        ] {
            assert!(matches!(auth.check(bad.as_deref()), AuthOutcome::Denied(_)));
        }
        assert!(!format!("{auth:?}").contains("1234"));
    }

    #[test]
    fn empty_clients_require_nothing() {
        let auth = BasicAuth::from_config(&Authentication {
            realm: "r".into(),
            directory: String::new(),
            clients: vec![],
        })
        .unwrap();
        assert_eq!(auth.check(None), AuthOutcome::NotRequired);
    }

    #[test]
    fn file_errors_name_the_file() {
        let err = BasicAuth::from_config(&Authentication {
            realm: "r".into(),
            directory: "/nonexistent-dir".into(),
            clients: vec![client(Some("a"), None, None, Some("pw"))],
        })
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/pw"), "{err}");
    }
}
