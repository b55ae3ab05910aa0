//! XML Encryption of an `EncryptedAssertion`: RSA-OAEP key transport, then AES-CBC or AES-GCM
//! content decryption, done here with OpenSSL rather than in samael (whose CBC path leaves the
//! XML-Enc padding on the plaintext, and which slices ciphertexts without length checks).
//!
//! Accepted: key transport `rsa-oaep-mgf1p` only (RSA PKCS#1 v1.5 invites Bleichenbacher), with
//! the OAEP digest its `DigestMethod` names (SHA-1 when it names none, or SHA-256) and MGF1 with
//! SHA-1, as XML Encryption fixes for this algorithm; content `aes{128,192,256}-cbc` and
//! `aes{128,192,256}-gcm`. Every length is checked before OpenSSL sees the bytes, so crafted
//! input yields [`DecryptError`], never a panic.
//!
//! CBC is unauthenticated: this module only turns bytes into text. The caller must still require a
//! signature over the response (covering the ciphertext) or over the decrypted assertion.

use openssl::md::{Md, MdRef};
use openssl::pkey_ctx::PkeyCtx;
use openssl::symm::{Cipher, Crypter, Mode};

use super::SpKey;

pub const KEY_TRANSPORT_OAEP: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
/// OAEP digests (`DigestMethod` of the key transport).
pub const DIGEST_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
pub const DIGEST_SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
const AES192_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes192-cbc";
const AES256_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
const AES128_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
const AES192_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes192-gcm";
const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";

/// AES block size: the CBC IV length and padding unit.
const BLOCK: usize = 16;
/// XML-Enc 1.1 §5.2.4: 96-bit IV and 128-bit tag.
const GCM_IV: usize = 12;
const GCM_TAG: usize = 16;
/// Largest ciphertext accepted (an assertion is a few KiB; the request body cap is the outer bound).
pub const MAX_CIPHERTEXT: usize = 1 << 20;

/// Why decryption failed. Deliberately coarse: the reason is logged, never shown to the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("key transport algorithm not accepted")]
    KeyTransport,
    #[error("content encryption algorithm not accepted")]
    Algorithm,
    #[error("cipher value is not valid base64")]
    Base64,
    #[error("ciphertext length is not acceptable")]
    Length,
    #[error("content key could not be recovered")]
    Key,
    #[error("ciphertext does not decrypt")]
    Cipher,
    #[error("padding is not valid")]
    Padding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cbc,
    Gcm,
}

fn content_cipher(method: &str) -> Option<(Kind, Cipher)> {
    Some(match method {
        AES128_CBC => (Kind::Cbc, Cipher::aes_128_cbc()),
        AES192_CBC => (Kind::Cbc, Cipher::aes_192_cbc()),
        AES256_CBC => (Kind::Cbc, Cipher::aes_256_cbc()),
        AES128_GCM => (Kind::Gcm, Cipher::aes_128_gcm()),
        AES192_GCM => (Kind::Gcm, Cipher::aes_192_gcm()),
        AES256_GCM => (Kind::Gcm, Cipher::aes_256_gcm()),
        _ => return None,
    })
}

/// Decodes a `CipherValue` (base64, whitespace tolerated), refusing anything over
/// [`MAX_CIPHERTEXT`] before decoding.
pub fn decode_cipher_value(text: &str) -> Result<Vec<u8>, DecryptError> {
    use base64::Engine;
    // base64 is 4/3 of the raw size; the slack covers line breaks.
    if text.len() > MAX_CIPHERTEXT / 3 * 4 * 2 {
        return Err(DecryptError::Length);
    }
    let cleaned: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let raw = base64::engine::general_purpose::STANDARD.decode(cleaned).map_err(|_| DecryptError::Base64)?;
    if raw.len() > MAX_CIPHERTEXT {
        return Err(DecryptError::Length);
    }
    Ok(raw)
}

/// Recovers the content key with RSA-OAEP: `digest` is the key transport's `DigestMethod`
/// (`None`: SHA-1), MGF1 uses SHA-1.
pub fn unwrap_key(
    method: &str,
    digest: Option<&str>,
    wrapped: &[u8],
    key: &SpKey,
) -> Result<Vec<u8>, DecryptError> {
    if method != KEY_TRANSPORT_OAEP {
        return Err(DecryptError::KeyTransport);
    }
    let oaep_md: &MdRef = match digest {
        None | Some(DIGEST_SHA1) => Md::sha1(),
        Some(DIGEST_SHA256) => Md::sha256(),
        Some(_) => return Err(DecryptError::KeyTransport),
    };
    if key.id() != openssl::pkey::Id::RSA {
        return Err(DecryptError::Key);
    }
    let size = key.size();
    if wrapped.len() != size {
        return Err(DecryptError::Length);
    }
    let mut ctx = PkeyCtx::new(key).map_err(|_| DecryptError::Key)?;
    ctx.decrypt_init().map_err(|_| DecryptError::Key)?;
    ctx.set_rsa_padding(openssl::rsa::Padding::PKCS1_OAEP).map_err(|_| DecryptError::Key)?;
    ctx.set_rsa_oaep_md(oaep_md).map_err(|_| DecryptError::Key)?;
    ctx.set_rsa_mgf1_md(Md::sha1()).map_err(|_| DecryptError::Key)?;
    let mut out = vec![0u8; size];
    let n = ctx.decrypt(wrapped, Some(&mut out)).map_err(|_| DecryptError::Key)?;
    out.truncate(n);
    Ok(out)
}

/// Decrypts `data` (IV first, then ciphertext, then for GCM the tag) with `content_key`.
pub fn decrypt_content(method: &str, content_key: &[u8], data: &[u8]) -> Result<Vec<u8>, DecryptError> {
    let (kind, cipher) = content_cipher(method).ok_or(DecryptError::Algorithm)?;
    if content_key.len() != cipher.key_len() {
        return Err(DecryptError::Key);
    }
    if data.len() > MAX_CIPHERTEXT {
        return Err(DecryptError::Length);
    }
    match kind {
        Kind::Cbc => cbc(cipher, content_key, data),
        Kind::Gcm => gcm(cipher, content_key, data),
    }
}

fn cbc(cipher: Cipher, key: &[u8], data: &[u8]) -> Result<Vec<u8>, DecryptError> {
    // At least one block of ciphertext after the IV, and whole blocks only.
    if data.len() < 2 * BLOCK || data.len() % BLOCK != 0 {
        return Err(DecryptError::Length);
    }
    let (iv, body) = data.split_at(BLOCK);
    let mut crypter = Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).map_err(|_| DecryptError::Cipher)?;
    // XML-Enc padding is not PKCS#7 (only the last byte is defined), so OpenSSL must not check it.
    crypter.pad(false);
    let mut out = vec![0u8; body.len() + BLOCK];
    let n = crypter.update(body, &mut out).map_err(|_| DecryptError::Cipher)?;
    let rest = out.get_mut(n..).ok_or(DecryptError::Cipher)?;
    let m = crypter.finalize(rest).map_err(|_| DecryptError::Cipher)?;
    out.truncate(n + m);
    strip_xmlenc_padding(out)
}

/// XML-Enc §5.2: the last byte gives the padding length (1..=block size); the other padding bytes
/// are arbitrary.
fn strip_xmlenc_padding(mut plain: Vec<u8>) -> Result<Vec<u8>, DecryptError> {
    let pad = usize::from(*plain.last().ok_or(DecryptError::Padding)?);
    if pad == 0 || pad > BLOCK || pad > plain.len() {
        return Err(DecryptError::Padding);
    }
    plain.truncate(plain.len() - pad);
    Ok(plain)
}

fn gcm(cipher: Cipher, key: &[u8], data: &[u8]) -> Result<Vec<u8>, DecryptError> {
    if data.len() < GCM_IV + GCM_TAG {
        return Err(DecryptError::Length);
    }
    let (iv, rest) = data.split_at(GCM_IV);
    let (body, tag) = rest.split_at(rest.len() - GCM_TAG);
    openssl::symm::decrypt_aead(cipher, key, Some(iv), &[], body, tag).map_err(|_| DecryptError::Cipher)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cbc_encrypt(cipher: Cipher, key: &[u8], iv: &[u8; 16], padded: &[u8]) -> Vec<u8> {
        let mut c = Crypter::new(cipher, Mode::Encrypt, key, Some(iv)).unwrap();
        c.pad(false);
        let mut out = vec![0u8; padded.len() + 16];
        let n = c.update(padded, &mut out).unwrap();
        let m = c.finalize(&mut out[n..]).unwrap();
        out.truncate(n + m);
        let mut data = iv.to_vec();
        data.extend(out);
        data
    }

    #[test]
    fn cbc_padding_bytes_other_than_the_last_are_arbitrary() {
        let key = [7u8; 32];
        let mut padded = b"<saml:Assertion/>".to_vec(); // 17 bytes
        padded.extend([0xAB; 14]);
        padded.push(15);
        let data = cbc_encrypt(Cipher::aes_256_cbc(), &key, &[1; 16], &padded);
        assert_eq!(decrypt_content(AES256_CBC, &key, &data).unwrap(), b"<saml:Assertion/>");
    }

    #[test]
    fn cbc_full_block_of_padding_is_accepted() {
        let key = [3u8; 16];
        let mut padded = b"0123456789abcdef".to_vec();
        padded.extend([0u8; 15]);
        padded.push(16);
        let data = cbc_encrypt(Cipher::aes_128_cbc(), &key, &[9; 16], &padded);
        assert_eq!(decrypt_content(AES128_CBC, &key, &data).unwrap(), b"0123456789abcdef");
    }

    #[test]
    fn cbc_bad_padding_length_is_refused() {
        let key = [3u8; 24];
        for last in [0u8, 17, 255] {
            let mut padded = vec![b'x'; 31];
            padded.push(last);
            let data = cbc_encrypt(Cipher::aes_192_cbc(), &key, &[0; 16], &padded);
            assert_eq!(decrypt_content(AES192_CBC, &key, &data), Err(DecryptError::Padding), "{last}");
        }
    }

    #[test]
    fn short_or_ragged_ciphertexts_are_refused_without_panicking() {
        for len in [0usize, 1, 15, 16, 17, 31, 33, 47] {
            let data = vec![0u8; len];
            assert_eq!(decrypt_content(AES128_CBC, &[0; 16], &data), Err(DecryptError::Length), "{len}");
        }
        for len in [0usize, 12, 27] {
            let data = vec![0u8; len];
            assert_eq!(decrypt_content(AES128_GCM, &[0; 16], &data), Err(DecryptError::Length), "{len}");
        }
        assert_eq!(decrypt_content(AES128_GCM, &[0; 16], &[0; 28]), Err(DecryptError::Cipher));
    }

    #[test]
    fn key_length_must_match_the_algorithm() {
        assert_eq!(decrypt_content(AES256_CBC, &[0; 16], &[0; 32]), Err(DecryptError::Key));
        assert_eq!(decrypt_content(AES128_GCM, &[0; 32], &[0; 40]), Err(DecryptError::Key));
        assert_eq!(decrypt_content(AES128_GCM, &[], &[0; 40]), Err(DecryptError::Key));
    }

    #[test]
    fn unknown_algorithms_are_refused() {
        let des = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc";
        assert_eq!(decrypt_content(des, &[0; 24], &[0; 32]), Err(DecryptError::Algorithm));
        let key = SpKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let rsa15 = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";
        assert_eq!(unwrap_key(rsa15, None, &[0; 256], &key), Err(DecryptError::KeyTransport));
    }

    #[test]
    fn oaep_round_trip_and_wrong_sizes() {
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        let mut wrapped = vec![0u8; 256];
        let n = rsa.public_encrypt(&[5; 32], &mut wrapped, openssl::rsa::Padding::PKCS1_OAEP).unwrap();
        wrapped.truncate(n);
        let key = SpKey::from_rsa(rsa).unwrap();
        assert_eq!(unwrap_key(KEY_TRANSPORT_OAEP, None, &wrapped, &key).unwrap(), vec![5; 32]);
        assert_eq!(unwrap_key(KEY_TRANSPORT_OAEP, None, &wrapped[1..], &key), Err(DecryptError::Length));
        wrapped[10] ^= 1;
        assert_eq!(unwrap_key(KEY_TRANSPORT_OAEP, None, &wrapped, &key), Err(DecryptError::Key));
    }

    /// OAEP with `pad_md` as its digest and MGF1-SHA-1, as XML Encryption's `rsa-oaep-mgf1p`.
    fn oaep_encrypt(key: &SpKey, pad_md: &MdRef, plain: &[u8]) -> Vec<u8> {
        let mut ctx = PkeyCtx::new(key).unwrap();
        ctx.encrypt_init().unwrap();
        ctx.set_rsa_padding(openssl::rsa::Padding::PKCS1_OAEP).unwrap();
        ctx.set_rsa_oaep_md(pad_md).unwrap();
        ctx.set_rsa_mgf1_md(Md::sha1()).unwrap();
        let mut out = Vec::new();
        ctx.encrypt_to_vec(plain, &mut out).unwrap();
        out
    }

    #[test]
    fn oaep_digest_method_is_honoured() {
        let key = SpKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let sha1 = oaep_encrypt(&key, Md::sha1(), &[7; 16]);
        let sha256 = oaep_encrypt(&key, Md::sha256(), &[9; 32]);
        assert_eq!(unwrap_key(KEY_TRANSPORT_OAEP, Some(DIGEST_SHA1), &sha1, &key).unwrap(), vec![7; 16]);
        assert_eq!(unwrap_key(KEY_TRANSPORT_OAEP, Some(DIGEST_SHA256), &sha256, &key).unwrap(), vec![9; 32]);
        // A key wrapped with one digest does not unwrap under the other.
        assert_eq!(unwrap_key(KEY_TRANSPORT_OAEP, None, &sha256, &key), Err(DecryptError::Key));
        assert_eq!(unwrap_key(KEY_TRANSPORT_OAEP, Some(DIGEST_SHA256), &sha1, &key), Err(DecryptError::Key));
        // Any other digest is refused by name, before any decryption.
        let md5 = "http://www.w3.org/2001/04/xmldsig-more#md5";
        assert_eq!(unwrap_key(KEY_TRANSPORT_OAEP, Some(md5), &sha1, &key), Err(DecryptError::KeyTransport));
    }

    #[test]
    fn cipher_value_decoding_tolerates_line_breaks_and_caps_size() {
        assert_eq!(decode_cipher_value("AAEC\nAwQF\r\n").unwrap(), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(decode_cipher_value("not base64!"), Err(DecryptError::Base64));
        let huge = "A".repeat(MAX_CIPHERTEXT * 3);
        assert_eq!(decode_cipher_value(&huge), Err(DecryptError::Length));
    }
}
