//! The cost of one offline guess of the secret, given one captured cookie, and the cost of
//! the Argon2id derivation at the defaults (`secret_kdf = "argon2id"`).
//!
//! - `guess/sha256+mac`: the Lua IKM (SHA-256 of the guess), HKDF to the header's MAC key,
//!   HMAC over the header: what any cookie (session or remember) lets an attacker test;
//! - `guess/remember-pbkdf2/<level>`: the remember cookie's PBKDF2 key of the guess, for
//!   comparison (an attacker does not need it: the header MAC is the cheaper test);
//! - `guess/argon2id-default+mac`: the Argon2id IKM at 64 MiB, t = 3, p = 1, then the MAC —
//!   also the derivation time a process pays once per secret at start-up.
//!
//! Run: `cargo bench -p session-benches --bench secret_kdf`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use session_codec::{
    Argon2idParams, BindValues, CookieKind, Header, Ikm, Key, Keyring, RememberSafety,
    derive_cipher_key,
};
use session_core::{Config, Request, Session, block_on};

/// A captured session cookie's decoded header (82 bytes) and its session id.
fn captured() -> (Header, [u8; session_codec::HEADER_SIZE]) {
    let config = Config::from_text(r#"{"secret": "RaJKp8UQW1"}"#)
        .unwrap()
        .build()
        .unwrap();
    let mut session = Session::new(&config, Request::new());
    session.set_subject(Some("john")).unwrap();
    block_on(session.save()).unwrap();
    let cookie = session.set_cookies()[0]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let value = cookie.split_once('=').unwrap().1;
    let (header, raw) = Header::decode_base64(value).unwrap();
    (header, raw)
}

fn guesses(c: &mut Criterion) {
    let (header, raw) = captured();
    let bind = BindValues::default();
    let mut g = c.benchmark_group("guess");
    g.bench_function("sha256+mac", |b| {
        b.iter(|| {
            let ring = Keyring::new(Key::new(Ikm::from_secret(black_box(b"guess-0001"))));
            ring.verify_mac(&raw, &bind).is_ok()
        })
    });
    for level in [RememberSafety::Medium, RememberSafety::High] {
        g.bench_function(format!("remember-pbkdf2/{level:?}"), |b| {
            b.iter(|| {
                let ring = Keyring::new(Key::new(Ikm::from_secret(black_box(b"guess-0001"))));
                derive_cipher_key(&ring, 0, &header.sid, CookieKind::Remember(level)).unwrap()
            })
        });
    }
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("argon2id-default+mac", |b| {
        b.iter(|| {
            let ikm = Ikm::from_secret_argon2id(black_box(b"guess-0001"), &Argon2idParams::DEFAULT)
                .unwrap();
            Keyring::new(Key::new(ikm)).verify_mac(&raw, &bind).is_ok()
        })
    });
    g.finish();
}

criterion_group!(benches, guesses);
criterion_main!(benches);
