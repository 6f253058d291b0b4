//! Credentials in a URL never show in an error (Display or Debug), whatever characters the
//! password holds unescaped; the configuration's `Debug` hides the password.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use session_testsupport::secrets::{PASSWORDS, assert_hidden};

/// The URL forms with credentials, `{pw}` standing for the raw password.
const FORMS: &[&str] = &[
    "postgres://app:{pw}@db.internal:5432/app?table=s",
    "postgresql://app:{pw}@db.internal:x/app",
    "postgres://app:{pw}@db.internal/app?bogus=1",
    "postgres://db.internal/app?password={pw}&port=x",
    "postgres://app:{pw}@",
];

#[test]
fn no_error_or_debug_shows_the_password() {
    for form in FORMS {
        for pw in PASSWORDS {
            let url = form.replace("{pw}", pw);
            match session_pg::PostgresConfig::from_url(&url) {
                Ok(config) => assert_hidden(
                    &format!("Debug of the config of {form}"),
                    &format!("{config:?}"),
                ),
                Err(e) => {
                    assert_hidden(&format!("error of {form}"), &format!("{e}"));
                    assert_hidden(&format!("Debug of the error of {form}"), &format!("{e:?}"));
                }
            }
            if let Err(e) = session_pg::PostgresStorage::from_url(&url) {
                assert_hidden(&format!("store error of {form}"), &format!("{e}"));
                assert_hidden(
                    &format!("Debug of the store error of {form}"),
                    &format!("{e:?}"),
                );
            }
        }
    }
}

#[test]
fn a_password_with_an_unescaped_slash_or_question_mark_parses() {
    let c = session_pg::PostgresConfig::from_url("postgres://app:Pa55/w0rd@db.internal:5433/app")
        .unwrap();
    assert_eq!(c.password.as_deref(), Some("Pa55/w0rd"));
    assert_eq!(
        (c.host.as_deref(), c.port, c.database.as_deref()),
        (Some("db.internal"), Some(5433), Some("app"))
    );
    let c =
        session_pg::PostgresConfig::from_url("postgres://app:Pa55?w0rd@db.internal/app").unwrap();
    assert_eq!(c.password.as_deref(), Some("Pa55?w0rd"));
    assert_hidden("Debug", &format!("{c:?}"));
}
