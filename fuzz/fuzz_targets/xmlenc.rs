//! Fuzz target: XML-Enc (`login_gate::verify::xmlenc`) must never panic on any cipher value, key
//! or ciphertext, and must round-trip what OpenSSL encrypts the way XML Encryption specifies
//! (IV first; CBC with XML-Enc padding; GCM with the tag last; RSA-OAEP key transport).
#![cfg_attr(feature = "libfuzzer", no_main)]

use std::sync::OnceLock;

use openssl::pkey::{PKey, Private};
use openssl::rsa::{Padding, Rsa};
use openssl::symm::{encrypt_aead, Cipher, Crypter, Mode};
use scim_sidecar::login_gate::verify::xmlenc::{
    decode_cipher_value, decrypt_content, unwrap_key, DIGEST_SHA1, DIGEST_SHA256, KEY_TRANSPORT_OAEP,
};

const METHODS: &[(&str, usize, bool)] = &[
    ("http://www.w3.org/2001/04/xmlenc#aes128-cbc", 16, false),
    ("http://www.w3.org/2001/04/xmlenc#aes192-cbc", 24, false),
    ("http://www.w3.org/2001/04/xmlenc#aes256-cbc", 32, false),
    ("http://www.w3.org/2009/xmlenc11#aes128-gcm", 16, true),
    ("http://www.w3.org/2009/xmlenc11#aes192-gcm", 24, true),
    ("http://www.w3.org/2009/xmlenc11#aes256-gcm", 32, true),
];

fn sp_key() -> &'static PKey<Private> {
    static KEY: OnceLock<PKey<Private>> = OnceLock::new();
    KEY.get_or_init(|| {
        let rsa = Rsa::generate(1024).unwrap_or_else(|e| panic!("rsa key: {e}"));
        PKey::from_rsa(rsa).unwrap_or_else(|e| panic!("pkey: {e}"))
    })
}

fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else { return };
    let (method, key_len, gcm) = METHODS[usize::from(sel) % METHODS.len()];
    // Arbitrary text as a CipherValue.
    if let Ok(text) = std::str::from_utf8(rest) {
        let _ = decode_cipher_value(text);
    }
    // Arbitrary bytes as key and ciphertext, for every method and for unknown ones.
    let key: Vec<u8> = rest.iter().copied().cycle().take(key_len).collect();
    let _ = decrypt_content(method, &key, rest);
    let _ = decrypt_content(method, rest.get(..key_len).unwrap_or(rest), rest);
    let _ = decrypt_content(&String::from_utf8_lossy(rest), &key, rest);
    // Round trip: what a conforming IdP encrypts decrypts to the plaintext.
    if key.len() == key_len {
        let iv_len = if gcm { 12 } else { 16 };
        let iv: Vec<u8> = rest.iter().rev().copied().cycle().take(iv_len).collect();
        let plain = rest;
        let wire = if gcm {
            let cipher = match key_len {
                16 => Cipher::aes_128_gcm(),
                24 => Cipher::aes_192_gcm(),
                _ => Cipher::aes_256_gcm(),
            };
            let mut tag = [0u8; 16];
            let ct = encrypt_aead(cipher, &key, Some(&iv), &[], plain, &mut tag).unwrap_or_default();
            [iv.as_slice(), &ct, &tag].concat()
        } else {
            let cipher = match key_len {
                16 => Cipher::aes_128_cbc(),
                24 => Cipher::aes_192_cbc(),
                _ => Cipher::aes_256_cbc(),
            };
            // XML-Enc padding: arbitrary bytes, the last one the pad length (1..=16).
            let pad = 16 - plain.len() % 16;
            let mut padded = plain.to_vec();
            padded.extend(std::iter::repeat_n(0xA5, pad - 1));
            padded.push(pad as u8);
            let mut c = Crypter::new(cipher, Mode::Encrypt, &key, Some(&iv))
                .unwrap_or_else(|e| panic!("crypter: {e}"));
            c.pad(false);
            let mut ct = vec![0u8; padded.len() + 16];
            let n = c.update(&padded, &mut ct).unwrap_or_else(|e| panic!("update: {e}"));
            let m = c.finalize(&mut ct[n..]).unwrap_or_else(|e| panic!("finalize: {e}"));
            ct.truncate(n + m);
            [iv.as_slice(), &ct].concat()
        };
        let got = decrypt_content(method, &key, &wire).unwrap_or_else(|e| panic!("{method}: {e}"));
        assert_eq!(got, plain, "{method}");
        // Any flipped tag byte must fail GCM.
        if gcm {
            let mut bad = wire.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(decrypt_content(method, &key, &bad).is_err());
        }
    }
    // Key transport: arbitrary wrapped keys fail cleanly; OAEP-wrapped ones come back. RSA is
    // slow, so only for a fraction of the inputs.
    if sel % 8 == 0 {
        let key = sp_key();
        let size = key.size();
        let wrapped: Vec<u8> = rest.iter().copied().cycle().take(size).collect();
        for digest in [None, Some(DIGEST_SHA1), Some(DIGEST_SHA256), Some("x")] {
            let _ = unwrap_key(KEY_TRANSPORT_OAEP, digest, &wrapped, key);
            let _ = unwrap_key(KEY_TRANSPORT_OAEP, digest, rest, key);
        }
        let _ = unwrap_key(&String::from_utf8_lossy(rest), None, &wrapped, key);
        let content_key = &rest[..rest.len().min(32)];
        let rsa = key.rsa().unwrap_or_else(|e| panic!("rsa: {e}"));
        let mut out = vec![0u8; size];
        let n =
            rsa.public_encrypt(content_key, &mut out, Padding::PKCS1_OAEP).unwrap_or_else(|e| panic!("{e}"));
        out.truncate(n);
        assert_eq!(unwrap_key(KEY_TRANSPORT_OAEP, None, &out, key).ok().as_deref(), Some(content_key));
        assert_eq!(
            unwrap_key(KEY_TRANSPORT_OAEP, Some(DIGEST_SHA1), &out, key).ok().as_deref(),
            Some(content_key)
        );
        assert!(unwrap_key(KEY_TRANSPORT_OAEP, Some(DIGEST_SHA256), &out, key).is_err());
    }
}

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));

#[cfg(not(feature = "libfuzzer"))]
#[path = "replay.rs"]
mod replay;

#[cfg(not(feature = "libfuzzer"))]
fn main() {
    replay::replay(run);
}
