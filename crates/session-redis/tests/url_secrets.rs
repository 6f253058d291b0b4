//! Credentials in a URL never show in an error (Display or Debug), whatever characters the
//! password holds unescaped; the configuration's `Debug` hides the password.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use session_testsupport::secrets::{PASSWORDS, assert_hidden};

/// The URL forms with credentials, `{pw}` standing for the raw password.
const FORMS: &[&str] = &[
    "redis://user:{pw}@cache.internal:6379/0?prefix=s",
    "redis://:{pw}@cache.internal",
    "redis://user:{pw}@cache.internal:6379/0?prefix=s&database=x",
    "rediss://user:{pw}@cache.internal:6380?bogus=1",
    "redis+sentinel://user:{pw}@s1:26379,s2:26379/mymaster/1",
    "redis+cluster://user:{pw}@n1:7000,n2:7001",
    "redis://cache.internal?password={pw}&database=x",
    "redis+sentinel://s1?sentinel_password={pw}&role=boss",
    "redis://user:{pw}@",
];

#[test]
fn no_error_or_debug_shows_the_password() {
    for form in FORMS {
        for pw in PASSWORDS {
            let url = form.replace("{pw}", pw);
            match session_redis::RedisConfig::from_url(&url) {
                Ok(config) => assert_hidden(
                    &format!("Debug of the config of {form}"),
                    &format!("{config:?}"),
                ),
                Err(e) => {
                    assert_hidden(&format!("error of {form}"), &format!("{e}"));
                    assert_hidden(&format!("Debug of the error of {form}"), &format!("{e:?}"));
                }
            }
            if let Err(e) = session_redis::RedisStorage::from_url(&url) {
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
    let c = session_redis::RedisConfig::from_url("redis://user:Pa55/w0rd@cache.internal:6379/2")
        .unwrap();
    assert_eq!(c.password.as_deref(), Some("Pa55/w0rd"));
    assert_eq!(
        (c.host.as_deref(), c.port, c.database),
        (Some("cache.internal"), Some(6379), Some(2))
    );
    let c =
        session_redis::RedisConfig::from_url("redis://user:Pa55?w0rd@cache.internal/3?prefix=p")
            .unwrap();
    assert_eq!(c.password.as_deref(), Some("Pa55?w0rd"));
    assert_eq!(
        (c.host.as_deref(), c.database, c.prefix.as_deref()),
        (Some("cache.internal"), Some(3), Some("p"))
    );
    assert_hidden("Debug", &format!("{c:?}"));
}
