//! Credentials in a URL never show in an error (Display or Debug), whatever characters the
//! password holds unescaped; the configuration's `Debug` hides the password.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use session_testsupport::secrets::{PASSWORDS, assert_hidden};

/// The URL forms with credentials, `{pw}` standing for the raw password.
const FORMS: &[&str] = &[
    "dshm://user:{pw}@cache.internal:4321",
    "dshm://user:{pw}@cache.internal?prefix=s",
    "dshm://:{pw}@cache.internal",
];

#[test]
fn no_error_or_debug_shows_the_password() {
    for form in FORMS {
        for pw in PASSWORDS {
            let url = form.replace("{pw}", pw);
            match session_dshm::DshmConfig::from_url(&url) {
                Ok(config) => assert_hidden(
                    &format!("Debug of the config of {form}"),
                    &format!("{config:?}"),
                ),
                Err(e) => {
                    assert_hidden(&format!("error of {form}"), &format!("{e}"));
                    assert_hidden(&format!("Debug of the error of {form}"), &format!("{e:?}"));
                }
            }
            if let Err(e) = session_dshm::DshmStorage::from_url(&url) {
                assert_hidden(&format!("store error of {form}"), &format!("{e}"));
                assert_hidden(
                    &format!("Debug of the store error of {form}"),
                    &format!("{e:?}"),
                );
            }
        }
    }
}
