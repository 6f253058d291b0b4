//! The derived keys of recently seen sessions, per [`Key`](crate::Key).
//!
//! A browser sends the same cookie on every request until the session is saved again, and
//! every open of it derives the same keys: the header MAC key (HKDF-expand, two SHA-256
//! blocks), its HMAC pad states (two more) and the AES key and IV (HKDF-expand to 44 bytes,
//! five blocks). This table keeps them for the sessions a key has recently opened, so a
//! repeated open runs only the header MAC's own three blocks.
//!
//! - Direct-mapped: 1 024 slots chosen by the first two bytes of the session id (random:
//!   drawn by a CSPRNG, ours or the reference's); a new session evicts the slot's previous
//!   one. The table is allocated on a key's first use (≈ 160 KiB).
//! - Filled only with keys that opened a cookie: the MAC state once a header's MAC matched
//!   ([`Keyring::verify_mac`]), then the cipher key beside it. A forged cookie keeps and
//!   evicts nothing; a caller holding valid cookies can only evict, never insert a wrong key
//!   (the keys of a session id are a pure function of the secret and the id). Saves, which
//!   always seal under a new id, neither look up nor keep.
//! - The stored session id is compared in constant time; a busy or poisoned slot is treated
//!   as a miss (no waiting, no panic).
//! - Beside them, the last header (all 82 bytes) whose MAC matched under the entry's key,
//!   when its flags bind to nothing: the MAC is a pure function of the key and those bytes,
//!   so the same bytes again need no HMAC (three more SHA-256 blocks). They are compared
//!   in constant time; a header with bind flags is always verified (its MAC also covers
//!   the request's address, scheme or user agent).
//! - Everything secret is zeroized when a slot is overwritten and when the last clone of the
//!   key is dropped (`HmacSha256` and `CipherKey` zeroize themselves on drop).
//!
//! [`Keyring::verify_mac`]: crate::Keyring::verify_mac

use std::sync::{Mutex, OnceLock};

use crate::ct::constant_time_eq;
use crate::header::{HEADER_SIZE, SessionId};
use crate::hmac_sha256::HmacSha256;
use crate::keys::{CipherKey, KeyDerivation};

/// Slots per key (a power of two).
const SLOTS: usize = 1024;

struct Entry {
    sid: [u8; 32],
    derivation: KeyDerivation,
    /// The header MAC key's pad states.
    mac: HmacSha256,
    /// The AES key and IV of the session cookie (HKDF, or one PBKDF2 round under FIPS).
    cipher: Option<CipherKey>,
    /// The last header whose MAC matched, when it binds to nothing.
    verified: Option<[u8; HEADER_SIZE]>,
}

impl Entry {
    fn holds(&self, sid: &SessionId, derivation: KeyDerivation) -> bool {
        // A session id is not a secret (it travels in the cookie), but whether a slot holds
        // another session's id must not leak byte by byte.
        constant_time_eq(&self.sid, sid.as_bytes()) && self.derivation == derivation
    }
}

/// What [`DerivedCache::lookup`] found for a session id.
pub(crate) enum Lookup {
    /// The header given is the one whose MAC matched last: no HMAC needed.
    Verified,
    /// The header MAC key's pad states.
    Mac(HmacSha256),
    /// Nothing kept for this id (or its slot is busy).
    Miss,
}

#[derive(Default)]
pub(crate) struct DerivedCache {
    slots: OnceLock<Box<[Mutex<Option<Entry>>]>>,
}

impl DerivedCache {
    fn slot(&self, sid: &SessionId) -> &Mutex<Option<Entry>> {
        let slots = self
            .slots
            .get_or_init(|| (0..SLOTS).map(|_| Mutex::new(None)).collect());
        let b = sid.as_bytes();
        &slots[usize::from(u16::from_le_bytes([b[0], b[1]])) % SLOTS]
    }

    /// Runs `f` on the entry of `sid`, if its slot holds it and is free.
    fn with_entry<R>(
        &self,
        sid: &SessionId,
        derivation: KeyDerivation,
        f: impl FnOnce(&mut Entry) -> R,
    ) -> Option<R> {
        let mut slot = self.slot(sid).try_lock().ok()?;
        slot.as_mut().filter(|e| e.holds(sid, derivation)).map(f)
    }

    /// What the slot keeps for `sid`, in one visit: [`Lookup::Verified`] when `header`
    /// (given when its flags bind to nothing) is, byte for byte, the last header kept by
    /// [`keep_mac`](Self::keep_mac) or [`keep_verified`](Self::keep_verified) (compared in
    /// constant time), else the MAC state when one is kept.
    pub(crate) fn lookup(
        &self,
        sid: &SessionId,
        derivation: KeyDerivation,
        header: Option<&[u8; HEADER_SIZE]>,
    ) -> Lookup {
        self.with_entry(sid, derivation, |e| {
            let verified = header.is_some_and(|header| {
                e.verified
                    .as_ref()
                    .is_some_and(|kept| constant_time_eq(kept, header))
            });
            if verified {
                Lookup::Verified
            } else {
                Lookup::Mac(e.mac.clone())
            }
        })
        .unwrap_or(Lookup::Miss)
    }

    /// The MAC state kept for `sid` (tests).
    #[cfg(test)]
    pub(crate) fn mac(&self, sid: &SessionId, derivation: KeyDerivation) -> Option<HmacSha256> {
        match self.lookup(sid, derivation, None) {
            Lookup::Mac(mac) => Some(mac),
            _ => None,
        }
    }

    /// Keeps the MAC state of `sid`, whose header MAC the caller has just verified or made,
    /// and beside it `verified`, the header whose MAC just matched when it binds to nothing
    /// (one visit to the slot where [`keep_verified`](Self::keep_verified) would be a second).
    pub(crate) fn keep_mac(
        &self,
        sid: &SessionId,
        derivation: KeyDerivation,
        mac: &HmacSha256,
        verified: Option<&[u8; HEADER_SIZE]>,
    ) {
        let Ok(mut slot) = self.slot(sid).try_lock() else {
            return;
        };
        match slot.as_mut() {
            Some(entry) if entry.holds(sid, derivation) => {
                if let Some(header) = verified {
                    entry.verified = Some(*header);
                }
            }
            // Another session's entry is overwritten in place (its secrets zeroize as they
            // are replaced): no new entry built and moved into the slot.
            Some(entry) => {
                entry.sid = *sid.as_bytes();
                entry.derivation = derivation;
                entry.mac = mac.clone();
                entry.cipher = None;
                entry.verified = verified.copied();
            }
            None => {
                *slot = Some(Entry {
                    sid: *sid.as_bytes(),
                    derivation,
                    mac: mac.clone(),
                    cipher: None,
                    verified: verified.copied(),
                });
            }
        }
    }

    /// Whether `header` is the last verified header kept for `sid` (tests).
    #[cfg(test)]
    pub(crate) fn verified(
        &self,
        sid: &SessionId,
        derivation: KeyDerivation,
        header: &[u8; HEADER_SIZE],
    ) -> bool {
        matches!(self.lookup(sid, derivation, Some(header)), Lookup::Verified)
    }

    /// Keeps `header`, whose MAC the caller has just verified under `sid`'s key and whose
    /// flags bind to nothing, beside `sid`'s entry (if it has one).
    pub(crate) fn keep_verified(
        &self,
        sid: &SessionId,
        derivation: KeyDerivation,
        header: &[u8; HEADER_SIZE],
    ) {
        self.with_entry(sid, derivation, |e| e.verified = Some(*header));
    }

    /// The cipher key of `sid`: kept, or made by `derive` and kept beside the entry's MAC
    /// state; `None` when there is no entry for `sid` (the caller derives it).
    pub(crate) fn cipher(
        &self,
        sid: &SessionId,
        derivation: KeyDerivation,
        derive: impl FnOnce() -> CipherKey,
    ) -> Option<CipherKey> {
        self.with_entry(sid, derivation, |e| {
            e.cipher.get_or_insert_with(derive).duplicate()
        })
    }

    /// Whether `sid` has an entry (tests).
    #[cfg(test)]
    pub(crate) fn holds(&self, sid: &SessionId, derivation: KeyDerivation) -> (bool, bool) {
        self.with_entry(sid, derivation, |e| (true, e.cipher.is_some()))
            .unwrap_or((false, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(first: u8, second: u8, fill: u8) -> SessionId {
        let mut b = [fill; 32];
        b[0] = first;
        b[1] = second;
        SessionId::from_bytes(b)
    }

    #[test]
    fn an_entry_is_found_only_for_its_sid_and_derivation() {
        let cache = DerivedCache::default();
        let a = sid(1, 2, 3);
        let mac = HmacSha256::new(&[7; 32]);
        assert!(cache.mac(&a, KeyDerivation::Hkdf).is_none());
        cache.keep_mac(&a, KeyDerivation::Hkdf, &mac, None);
        assert_eq!(
            cache.mac(&a, KeyDerivation::Hkdf).map(|m| m.mac(&[b"x"])),
            Some(mac.mac(&[b"x"]))
        );
        assert!(cache.mac(&a, KeyDerivation::Fips).is_none());
        // Same slot (same first two bytes), another session: a miss, then an eviction.
        let b = sid(1, 2, 4);
        assert!(cache.mac(&b, KeyDerivation::Hkdf).is_none());
        cache.keep_mac(&b, KeyDerivation::Hkdf, &HmacSha256::new(&[8; 32]), None);
        assert!(cache.mac(&a, KeyDerivation::Hkdf).is_none());
        assert!(cache.mac(&b, KeyDerivation::Hkdf).is_some());
    }

    #[test]
    fn a_verified_header_is_kept_with_the_mac_or_beside_it() {
        let cache = DerivedCache::default();
        let (a, b) = (sid(4, 4, 1), sid(5, 5, 1));
        let (header, other) = ([3u8; HEADER_SIZE], [4u8; HEADER_SIZE]);
        // A new entry, its header kept in the same visit.
        cache.keep_mac(
            &a,
            KeyDerivation::Hkdf,
            &HmacSha256::new(&[1; 32]),
            Some(&header),
        );
        assert!(cache.verified(&a, KeyDerivation::Hkdf, &header));
        assert!(!cache.verified(&a, KeyDerivation::Hkdf, &other));
        // An existing entry: its MAC state stays, the newer header replaces the older.
        let mac = HmacSha256::new(&[2; 32]);
        cache.keep_mac(&b, KeyDerivation::Hkdf, &mac, None);
        assert!(!cache.verified(&b, KeyDerivation::Hkdf, &header));
        cache.keep_mac(
            &b,
            KeyDerivation::Hkdf,
            &HmacSha256::new(&[9; 32]),
            Some(&header),
        );
        assert!(cache.verified(&b, KeyDerivation::Hkdf, &header));
        assert_eq!(
            cache.mac(&b, KeyDerivation::Hkdf).map(|m| m.mac(&[b"x"])),
            Some(mac.mac(&[b"x"]))
        );
        // Another derivation is another entry.
        assert!(!cache.verified(&a, KeyDerivation::Fips, &header));
    }

    #[test]
    fn a_cipher_key_is_kept_only_beside_its_mac() {
        let cache = DerivedCache::default();
        let a = sid(9, 9, 9);
        let ck = || CipherKey::from_bytes([5; 44]);
        assert!(cache.cipher(&a, KeyDerivation::Hkdf, ck).is_none());
        assert_eq!(cache.holds(&a, KeyDerivation::Hkdf), (false, false));
        cache.keep_mac(&a, KeyDerivation::Hkdf, &HmacSha256::new(&[1; 32]), None);
        assert_eq!(cache.holds(&a, KeyDerivation::Hkdf), (true, false));
        let made = cache.cipher(&a, KeyDerivation::Hkdf, ck).unwrap();
        assert_eq!(made.aes_key(), &[5; 32]);
        assert_eq!(cache.holds(&a, KeyDerivation::Hkdf), (true, true));
        let got = cache
            .cipher(&a, KeyDerivation::Hkdf, || unreachable!("kept"))
            .unwrap();
        assert_eq!(got.aes_key(), &[5; 32]);
        assert_eq!(got.iv(), &[5; 12]);
        // Keeping the MAC again does not drop the cipher key.
        cache.keep_mac(&a, KeyDerivation::Hkdf, &HmacSha256::new(&[1; 32]), None);
        assert_eq!(cache.holds(&a, KeyDerivation::Hkdf), (true, true));
        // Another session in the same slot overwrites the entry in place: nothing of the
        // first session's survives (its cipher key, its verified header, its MAC state).
        let header = [3u8; HEADER_SIZE];
        cache.keep_mac(
            &a,
            KeyDerivation::Hkdf,
            &HmacSha256::new(&[1; 32]),
            Some(&header),
        );
        let b = sid(9, 9, 8);
        let mac_b = HmacSha256::new(&[2; 32]);
        cache.keep_mac(&b, KeyDerivation::Hkdf, &mac_b, None);
        assert_eq!(cache.holds(&a, KeyDerivation::Hkdf), (false, false));
        assert_eq!(cache.holds(&b, KeyDerivation::Hkdf), (true, false));
        assert!(!cache.verified(&b, KeyDerivation::Hkdf, &header));
        assert_eq!(
            cache.mac(&b, KeyDerivation::Hkdf).map(|m| m.mac(&[b"x"])),
            Some(mac_b.mac(&[b"x"]))
        );
        let fresh = cache
            .cipher(&b, KeyDerivation::Hkdf, || CipherKey::from_bytes([6; 44]))
            .unwrap();
        assert_eq!(fresh.aes_key(), &[6; 32]);
    }

    #[test]
    fn same_bytes_sees_a_difference_at_every_position() {
        let a: [u8; HEADER_SIZE] = core::array::from_fn(|i| u8::try_from(i).unwrap_or(0));
        assert!(constant_time_eq(&a, &a));
        for at in 0..HEADER_SIZE {
            for bit in 0..8 {
                let mut b = a;
                b[at] ^= 1 << bit;
                assert!(!constant_time_eq(&a, &b), "byte {at} bit {bit}");
            }
        }
    }

    #[test]
    fn a_busy_slot_is_a_miss() {
        let cache = DerivedCache::default();
        let a = sid(4, 4, 4);
        cache.keep_mac(&a, KeyDerivation::Hkdf, &HmacSha256::new(&[1; 32]), None);
        let guard = cache.slot(&a).lock().unwrap();
        assert!(cache.mac(&a, KeyDerivation::Hkdf).is_none());
        cache.keep_mac(&a, KeyDerivation::Hkdf, &HmacSha256::new(&[2; 32]), None); // no deadlock
        drop(guard);
        assert!(cache.mac(&a, KeyDerivation::Hkdf).is_some());
    }
}
