//! Codec benchmarks: header, key schedule, seal / open by payload size,
//! inflate, the storage record, and the raw primitives they are built from,
//! in one run so the ratio of our path to the primitives is visible.
//!
//! `seal_payload` and `open_cookie` chain the pipeline steps the engine runs
//! (`pack`, `seal_packed`; `decode_payload`, `unseal`), so these numbers are
//! those of production code.
//!
//! Run: `cargo bench -p session-benches --bench codec`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use session_codec::{
    BindValues, CookieKind, DeflateLevel, Flags, Header, Ikm, Key, KeyDerivation, Keyring,
    MAX_PLAINTEXT_SIZE, SessionId, deflate, deflate_with_level, encode_stored_record, inflate,
    open_cookie, parse_stored_record, seal_payload,
};

const NOW: u64 = 1_700_000_000;

fn ring() -> Keyring {
    Keyring::new(Key::new(Ikm::from_secret(b"benchmark secret")))
}

fn json(len: usize) -> Vec<u8> {
    // Varied text, like a real JSON session (compresses, but not to nothing).
    let mut s = String::from(r#"[[{"data":""#);
    let mut i = 0u32;
    while s.len() < len - 20 {
        i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        s.push(char::from(b'a' + u8::try_from((i >> 16) % 26).unwrap()));
        if i.is_multiple_of(7) {
            s.push(' ');
        }
    }
    s.push_str(r#""},"default"]]"#);
    s.into_bytes()
}

fn cookie(ring: &Keyring, payload: &[u8], threshold: usize) -> String {
    let header = Header::new(Flags::NONE, SessionId::from_bytes([0x40; 32]), NOW, 0);
    let sealed = seal_payload(
        ring,
        header,
        CookieKind::Session,
        payload.to_vec(),
        threshold,
        &BindValues::default(),
    )
    .unwrap();
    let mut value = String::new();
    sealed.header.encode_base64_into(&mut value).unwrap();
    value.push_str(&sealed.payload);
    value
}

fn header(c: &mut Criterion) {
    let ring = ring();
    let value = cookie(&ring, &json(100), 1024);
    let (header, raw) = Header::decode_base64(&value).unwrap();
    let mut g = c.benchmark_group("header");
    g.bench_function("decode", |b| b.iter(|| Header::decode(black_box(&raw))));
    g.bench_function("decode_base64", |b| {
        b.iter(|| Header::decode_base64(black_box(&value)))
    });
    g.bench_function("encode", |b| b.iter(|| black_box(&header).encode()));
    g.finish();
}

fn keys(c: &mut Criterion) {
    let key = Key::new(Ikm::from_secret(b"benchmark secret"));
    let sid = SessionId::from_bytes([0x40; 32]);
    let mut g = c.benchmark_group("key_schedule");
    g.bench_function("mac_key (hkdf-expand 32, cached extract)", |b| {
        b.iter(|| key.mac_key(black_box(&sid), KeyDerivation::Hkdf))
    });
    g.bench_function("cipher_key (hkdf-expand 44, cached extract)", |b| {
        b.iter(|| key.cipher_key(black_box(&sid), CookieKind::Session, KeyDerivation::Hkdf))
    });
    g.bench_function("key_new (hkdf-extract, once per key)", |b| {
        b.iter(|| Key::new(Ikm::from_bytes(black_box([7; 32]))))
    });
    g.finish();
}

fn seal_open(c: &mut Criterion) {
    let ring = ring();
    let mut g = c.benchmark_group("cookie");
    for size in [100usize, 2048] {
        let plain = json(size);
        // The 2 KB case is sealed with compression off and on.
        for threshold in [0usize, 1024] {
            if size == 100 && threshold != 0 {
                continue;
            }
            let label = if threshold == 0 { "plain" } else { "deflate" };
            let value = cookie(&ring, &plain, threshold);
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_with_input(
                BenchmarkId::new(format!("seal/{label}"), size),
                &plain,
                |b, p| {
                    // The engine hands over the JSON it just encoded: the copy
                    // made here for each run is not part of the measurement.
                    b.iter_batched(
                        || p.clone(),
                        |json| {
                            let header =
                                Header::new(Flags::NONE, SessionId::from_bytes([1; 32]), NOW, 0);
                            seal_payload(
                                &ring,
                                header,
                                CookieKind::Session,
                                json,
                                threshold,
                                &BindValues::default(),
                            )
                        },
                        BatchSize::SmallInput,
                    )
                },
            );
            g.bench_with_input(
                BenchmarkId::new(format!("open/{label}"), size),
                &value,
                |b, v| {
                    b.iter(|| {
                        open_cookie(
                            &ring,
                            CookieKind::Session,
                            7,
                            v,
                            |_| None,
                            &BindValues::default(),
                        )
                    })
                },
            );
        }
    }
    let packed = deflate(&json(2048)).unwrap();
    g.bench_function("inflate/2048", |b| {
        b.iter(|| inflate(black_box(&packed), MAX_PLAINTEXT_SIZE))
    });
    g.finish();
}

/// The zlib stream reuse of session-codec, before and after in the same run: a fresh stream
/// per call (what `deflate` / `inflate` did until the streams became per-thread and reset)
/// against the codec's functions on the same 2 KB JSON.
fn deflate_state(c: &mut Criterion) {
    use flate2::{Compression, Decompress, FlushDecompress};
    let mut g = c.benchmark_group("deflate_state");
    let plain = json(2048);
    g.bench_function("deflate/2048 fresh stream per call (before)", |b| {
        b.iter(|| {
            let input = black_box(&plain);
            let out = Vec::with_capacity(input.len() / 2 + 16);
            let mut enc = flate2::write::DeflateEncoder::new(out, Compression::new(6));
            std::io::Write::write_all(&mut enc, input).unwrap();
            enc.finish().unwrap()
        })
    });
    g.bench_function("deflate/2048 reused stream (session_codec::deflate)", |b| {
        b.iter(|| deflate(black_box(&plain)))
    });
    let packed = deflate(&plain).unwrap();
    g.bench_function("inflate/2048 fresh stream per call (before)", |b| {
        b.iter(|| {
            let mut inflater = Decompress::new(false);
            let mut out = Vec::with_capacity(4096);
            inflater
                .decompress_vec(black_box(&packed), &mut out, FlushDecompress::Finish)
                .unwrap();
            out
        })
    });
    g.bench_function("inflate/2048 reused stream (session_codec::inflate)", |b| {
        b.iter(|| inflate(black_box(&packed), MAX_PLAINTEXT_SIZE))
    });
    g.finish();
}

/// The 2 KB of words of `cargo xtask bench-http`'s `/save2k`, as the session's JSON.
fn words_json() -> Vec<u8> {
    const WORDS: [&str; 32] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
        "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "session",
        "cookie", "cipher", "header", "payload", "storage",
    ];
    let mut state: u32 = 1;
    let mut value = String::new();
    while value.len() < 2048 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        if !value.is_empty() {
            value.push(' ');
        }
        value.push_str(WORDS[(state % 32) as usize]);
    }
    value.truncate(2048);
    format!(r#"[[{{"big":"{value}"}},"default"]]"#).into_bytes()
}

/// The one-cookie tier (`DeflateLevel::Fast`): zlib level 1 on a reused stream (what it
/// was) against the fixed-code encoder (what it is), on words and on random letters (which
/// the encoder hands to zlib level 1), with the reference's level 6 beside them.
fn deflate_fast(c: &mut Criterion) {
    use flate2::{Compress, Compression, FlushCompress};
    let mut g = c.benchmark_group("deflate_fast");
    for (name, plain) in [("words", words_json()), ("letters", json(2048))] {
        let mut level1 = Compress::new(Compression::new(1), false);
        g.bench_function(
            format!("{name}/2048 zlib level 1, reused stream (before)"),
            |b| {
                b.iter(|| {
                    let mut out = Vec::with_capacity(plain.len());
                    level1
                        .compress_vec(black_box(&plain), &mut out, FlushCompress::Finish)
                        .unwrap();
                    level1.reset();
                    out
                })
            },
        );
        g.bench_function(format!("{name}/2048 DeflateLevel::Fast"), |b| {
            b.iter(|| deflate_with_level(black_box(&plain), DeflateLevel::Fast))
        });
        g.bench_function(format!("{name}/2048 DeflateLevel::Reference"), |b| {
            b.iter(|| deflate_with_level(black_box(&plain), DeflateLevel::Reference))
        });
    }
    g.finish();
}

fn record(c: &mut Criterion) {
    let ring = ring();
    let header = Header::new(Flags::STORAGE, SessionId::from_bytes([0x40; 32]), NOW, 0);
    let sealed = seal_payload(
        &ring,
        header,
        CookieKind::Session,
        json(2048),
        0,
        &BindValues::default(),
    )
    .unwrap();
    let info = br#"{"default":{"ip":"127.0.0.1"}}"#;
    let stored = encode_stored_record(&sealed.payload, Some(info));
    let mut g = c.benchmark_group("record");
    g.bench_function("encode/2048+info", |b| {
        b.iter(|| encode_stored_record(black_box(&sealed.payload), Some(info)))
    });
    g.bench_function("parse/2048+info", |b| {
        b.iter_batched(
            || stored.clone(),
            parse_stored_record,
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

#[path = "common/primitives.rs"]
mod primitives;
use primitives::primitives;

criterion_group!(
    benches,
    header,
    keys,
    seal_open,
    deflate_state,
    deflate_fast,
    record,
    primitives
);
criterion_main!(benches);
