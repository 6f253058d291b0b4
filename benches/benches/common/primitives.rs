//! The crypto primitives one cookie open and save run, measured with the generic crates
//! (`hkdf`, `hmac`, `aes-gcm`): the yardstick of the codec and engine benchmarks, included
//! in both so each run reports its ratio to primitives measured in the same run.

use std::hint::black_box;

use aes_gcm::aead::{AeadInOut, Nonce, Tag};
use aes_gcm::{Aes256Gcm, KeyInit};
use criterion::Criterion;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub(crate) fn primitives(c: &mut Criterion) {
    let mut g = c.benchmark_group("primitive");
    let prk = [0x3au8; 32];
    let hkdf = Hkdf::<Sha256>::from_prk(&prk).unwrap();
    let info = [0x41u8; 47];
    g.bench_function("hkdf_expand/32", |b| {
        b.iter(|| {
            let mut okm = [0u8; 32];
            hkdf.expand(black_box(&info[..47]), &mut okm).unwrap();
            okm
        })
    });
    g.bench_function("hkdf_expand/44", |b| {
        b.iter(|| {
            let mut okm = [0u8; 44];
            hkdf.expand(black_box(&info[..43]), &mut okm).unwrap();
            okm
        })
    });
    let header = [1u8; 66];
    g.bench_function("hmac_sha256/66 (keyed per call)", |b| {
        b.iter(|| {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(black_box(&prk)).unwrap();
            mac.update(black_box(&header));
            mac.finalize().into_bytes()
        })
    });
    let key = [9u8; 32];
    let nonce = Nonce::<Aes256Gcm>::from([3u8; 12]);
    let aad = [1u8; 47];
    let mut buf = [0u8; 100];
    let tag: Tag<Aes256Gcm> = Aes256Gcm::new(&key.into())
        .encrypt_inout_detached(&nonce, &aad, buf.as_mut_slice().into())
        .unwrap();
    let ciphertext = buf;
    g.bench_function("aes_256_gcm_seal/100 (keyed per call)", |b| {
        b.iter(|| {
            let mut buf = [0u8; 100];
            Aes256Gcm::new(black_box(&key).into())
                .encrypt_inout_detached(&nonce, &aad, buf.as_mut_slice().into())
                .unwrap()
        })
    });
    g.bench_function("aes_256_gcm_open/100 (keyed per call)", |b| {
        b.iter(|| {
            let mut buf = ciphertext;
            Aes256Gcm::new(black_box(&key).into())
                .decrypt_inout_detached(&nonce, &aad, buf.as_mut_slice().into(), &tag)
                .unwrap();
            buf
        })
    });
    // The four an open runs, one after the other in one iteration as an open runs them: the
    // MAC key (HKDF-expand 32), the header MAC keyed with it, the cipher key (HKDF-expand
    // 44), the AES-GCM open keyed with that. The separate cases above let the processor
    // overlap consecutive, independent iterations of one short primitive; this one shows
    // what the four cost in sequence. The ratios in docs/benchmarks.md stay to the sum of
    // the separate cases.
    let tag_chain = {
        let mut okm = [0u8; 44];
        hkdf.expand(&info[..43], &mut okm).unwrap();
        let mut buf = [0u8; 100];
        let tag: Tag<Aes256Gcm> = Aes256Gcm::new(okm[..32].try_into().unwrap())
            .encrypt_inout_detached(
                &Nonce::<Aes256Gcm>::from(<[u8; 12]>::try_from(&okm[32..]).unwrap()),
                &aad,
                buf.as_mut_slice().into(),
            )
            .unwrap();
        (buf, tag)
    };
    g.bench_function(
        "open_chain/100 (hkdf 32, hmac 66, hkdf 44, aes-gcm open)",
        |b| {
            b.iter(|| {
                let mut mac_key = [0u8; 32];
                hkdf.expand(black_box(&info[..47]), &mut mac_key).unwrap();
                let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&mac_key).unwrap();
                mac.update(black_box(&header));
                let mac = mac.finalize().into_bytes();
                black_box(&mac);
                let mut okm = [0u8; 44];
                hkdf.expand(black_box(&info[..43]), &mut okm).unwrap();
                let mut buf = tag_chain.0;
                Aes256Gcm::new(okm[..32].try_into().unwrap())
                    .decrypt_inout_detached(
                        &Nonce::<Aes256Gcm>::from(<[u8; 12]>::try_from(&okm[32..]).unwrap()),
                        &aad,
                        buf.as_mut_slice().into(),
                        &tag_chain.1,
                    )
                    .unwrap();
                buf
            })
        },
    );
    g.finish();
}
