//! Personal-data protection shared by the services: keyed hashing of
//! customer references and the rewriting of stored change-feed events when
//! personal data is erased or purged.
//!
//! A customer reference (a phone number, an e-mail address, a CRM id) is
//! personal data. With hashing on, sampling stores `h1:` and 64 hex digits of
//! HMAC-SHA-256(key, tenant ‖ 0 ‖ reference) instead: equal references still
//! match (repeat contacts, erasure by reference), the tenant in the input
//! keeps two tenants' hashes of one reference apart, and without the key the
//! hash cannot be reversed by trying likely references.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{
    auth::Tenant,
    config::Config,
    error::{Error, Result},
};

/// The prefix of a hashed customer reference.
pub const HASH_PREFIX: &str = "h1:";

/// Hashes customer references with the deployment's key.
#[derive(Clone)]
pub struct CustomerRefHasher {
    // The keyed state, set up once: each hash clones it instead of redoing
    // the key schedule on ingest's per-item path.
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for CustomerRefHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerRefHasher(..)")
    }
}

impl CustomerRefHasher {
    /// A hasher with `key` (at least 32 bytes).
    pub fn new(key: &[u8]) -> Result<CustomerRefHasher> {
        if key.len() < 32 {
            return Err(Error::invalid(
                "privacy.customer_ref_key",
                "must be at least 32 bytes",
            ));
        }
        let mac = Hmac::<Sha256>::new_from_slice(key)
            .map_err(|e| Error::invalid("privacy.customer_ref_key", e.to_string()))?;
        Ok(CustomerRefHasher { mac })
    }

    /// The stored form of `reference` for `tenant`; empty stays empty (no
    /// reference).
    pub fn hash(&self, tenant: &Tenant, reference: &str) -> String {
        if reference.is_empty() {
            return String::new();
        }
        let mut mac = self.mac.clone();
        mac.update(tenant.id().as_bytes());
        mac.update(&[0]);
        mac.update(reference.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(HASH_PREFIX.len() + 64);
        out.push_str(HASH_PREFIX);
        for b in digest {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The most interaction ids one erasure call may name.
pub const MAX_ERASURE_IDS: usize = 10_000;

/// Checks the interaction ids of an erasure call: 1 to
/// [`MAX_ERASURE_IDS`], each 1 to 128 characters.
pub fn check_erasure_ids(field: &str, ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Err(Error::invalid(field, "at least one id is required"));
    }
    if ids.len() > MAX_ERASURE_IDS {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_ERASURE_IDS} ids per call"),
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        if id.is_empty() || id.chars().count() > 128 {
            return Err(Error::invalid(
                format!("{field}[{i}]"),
                "must be 1 to 128 characters",
            ));
        }
    }
    Ok(())
}

/// The configured hasher, or `None` when hashing is off. The key comes from
/// `privacy.customer_ref_key`, `privacy.customer_ref_key_file`, or a key
/// generated into `data_dir/customer-ref-key` on first start.
pub fn customer_ref_hasher(config: &Config) -> Result<Option<CustomerRefHasher>> {
    let p = &config.privacy;
    if !p.hash_customer_refs {
        return Ok(None);
    }
    let key = if let Some(k) = &p.customer_ref_key {
        k.as_bytes().to_vec()
    } else if let Some(path) = &p.customer_ref_key_file {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::invalid(
                "privacy.customer_ref_key_file",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        trim_end(bytes)
    } else {
        generated_secret(&config.data_dir, "customer-ref-key")?
    };
    CustomerRefHasher::new(&key).map(Some)
}

fn trim_end(mut v: Vec<u8>) -> Vec<u8> {
    while v.last().is_some_and(|b| b.is_ascii_whitespace()) {
        v.pop();
    }
    v
}

/// The secret in `data_dir/name`, created (mode 0600, 366 random bits as 96
/// hex characters) when missing. Two processes starting at once agree: the
/// file is created exclusively and the loser reads the winner's.
pub fn generated_secret(data_dir: &Path, name: &str) -> Result<Vec<u8>> {
    use std::io::Write as _;
    let path = data_dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => return Ok(trim_end(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::Unavailable(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    }
    std::fs::create_dir_all(data_dir).map_err(|e| {
        Error::Unavailable(format!(
            "cannot create data directory {}: {e}",
            data_dir.display()
        ))
    })?;
    let secret: String = (0..3)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut f) => {
            f.write_all(secret.as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| Error::Unavailable(format!("cannot write {}: {e}", path.display())))?;
            Ok(secret.into_bytes())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(&path)
            .map(trim_end)
            .map_err(|e| Error::Unavailable(format!("cannot read {}: {e}", path.display()))),
        Err(e) => Err(Error::Unavailable(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hashes_are_keyed_per_tenant_and_stable() {
        let h = CustomerRefHasher::new(&[7u8; 32]).unwrap();
        let a = Tenant::trusted("acme");
        let b = Tenant::trusted("globex");
        let x = h.hash(&a, "+33 6 12 34 56 78");
        assert_eq!(x, h.hash(&a, "+33 6 12 34 56 78"));
        assert!(x.starts_with(HASH_PREFIX) && x.len() == 67, "{x}");
        assert!(!x.contains("12 34"));
        assert_ne!(x, h.hash(&b, "+33 6 12 34 56 78"));
        assert_ne!(x, h.hash(&a, "+33 6 12 34 56 79"));
        let other = CustomerRefHasher::new(&[8u8; 32]).unwrap();
        assert_ne!(x, other.hash(&a, "+33 6 12 34 56 78"));
        assert_eq!(h.hash(&a, ""), "");
    }

    #[test]
    fn matches_a_reference_hmac() {
        // The documented construction: HMAC over tenant, a zero byte and the
        // reference, in lower-case hex after the prefix.
        let key = [0x0bu8; 32];
        let h = CustomerRefHasher::new(&key).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(b"t\0ref");
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(h.hash(&Tenant::trusted("t"), "ref"), format!("h1:{want}"));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(CustomerRefHasher::new(b"short").is_err());
    }

    #[test]
    fn generated_secret_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = generated_secret(dir.path(), "k").unwrap();
        let b = generated_secret(dir.path(), "k").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 96);
    }
}
