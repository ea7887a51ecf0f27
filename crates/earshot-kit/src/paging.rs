//! Opaque page tokens and page sizes for every `List` call.
//!
//! A token is the keyset cursor of the last item returned (never an offset,
//! so pages stay stable while rows are inserted) plus a fingerprint of the
//! request's filters, base64url-encoded. A token replayed with different
//! filters, truncated or forged is `INVALID_ARGUMENT` on `page_token`, not a
//! wrong page. Tenancy does not depend on the token: queries always bind the
//! caller's tenant.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::error::{Error, Result};

const VERSION: u8 = 1;

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    v: u8,
    f: u64,
    c: T,
}

/// The page size to use: 0 means `default`, above `max` is lowered to `max`
/// (AIP-158), negative is an error.
pub fn page_size(requested: i32, default: u32, max: u32) -> Result<u32> {
    match requested {
        0 => Ok(default.min(max)),
        n if n < 0 => Err(Error::invalid("page_size", "must not be negative")),
        n => Ok(u32::try_from(n).unwrap_or(max).min(max)),
    }
}

/// A stable fingerprint of a request's filters (anything serialisable);
/// FNV-1a over its JSON, so every replica computes the same value.
pub fn fingerprint<F: Serialize>(filters: &F) -> u64 {
    let bytes = serde_json::to_vec(filters).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Encodes `cursor` for a request whose filters have `fingerprint`.
pub fn encode<C: Serialize>(cursor: &C, fingerprint: u64) -> String {
    let env = Envelope {
        v: VERSION,
        f: fingerprint,
        c: cursor,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&env).unwrap_or_default())
}

/// Decodes a request's `page_token`: `None` for the first page.
pub fn decode<C: DeserializeOwned>(token: &str, fingerprint: u64) -> Result<Option<C>> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || Error::invalid("page_token", "is not a token this service issued");
    if token.len() > 4096 {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let env: Envelope<C> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if env.v != VERSION {
        return Err(bad());
    }
    if env.f != fingerprint {
        return Err(Error::invalid(
            "page_token",
            "was issued for a request with different filters",
        ));
    }
    Ok(Some(env.c))
}

/// Splits one extra fetched row off `rows` (fetch `size + 1` to learn
/// whether another page exists) and returns the next page token.
pub fn next_token<T, C: Serialize>(
    rows: &mut Vec<T>,
    size: u32,
    fingerprint: u64,
    cursor_of: impl Fn(&T) -> C,
) -> String {
    let size = size as usize;
    if rows.len() > size {
        rows.truncate(size);
        rows.last()
            .map(|last| encode(&cursor_of(last), fingerprint))
            .unwrap_or_default()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes() {
        assert_eq!(page_size(0, 50, 1000).unwrap(), 50);
        assert_eq!(page_size(5, 50, 1000).unwrap(), 5);
        assert_eq!(page_size(5000, 50, 1000).unwrap(), 1000);
        assert!(page_size(-1, 50, 1000).is_err());
    }

    #[test]
    fn round_trip_and_filter_binding() {
        let f = fingerprint(&("team-a", 7));
        let t = encode(&(1234_i64, "id-9".to_string()), f);
        let c: Option<(i64, String)> = decode(&t, f).unwrap();
        assert_eq!(c, Some((1234, "id-9".into())));
        let other = fingerprint(&("team-b", 7));
        assert!(decode::<(i64, String)>(&t, other).is_err());
        assert_eq!(decode::<(i64, String)>("", f).unwrap(), None);
    }

    #[test]
    fn next_token_only_when_more() {
        let mut rows = vec![1, 2, 3];
        assert_eq!(next_token(&mut rows, 3, 0, |r| *r), "");
        let t = next_token(&mut rows, 2, 0, |r| *r);
        assert_eq!(rows, [1, 2]);
        assert_eq!(decode::<i32>(&t, 0).unwrap(), Some(2));
    }

    proptest! {
        #[test]
        fn garbage_never_panics(s in ".{0,200}") {
            let _ = decode::<(i64, String)>(&s, 1);
        }
    }
}
