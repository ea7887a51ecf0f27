//! Authentication, roles and tenancy.
//!
//! Every call carries a bearer JWT naming the tenant, the subject and the
//! subject's roles. [`AuthLayer`] verifies it before any handler runs and puts
//! a typed [`Caller`] into the request's extensions; a request without a valid
//! token is answered `UNAUTHENTICATED` and never reaches a service. Health and
//! reflection stay open so probes and `grpcurl list` work without a token.
//!
//! Tenancy is enforced by types: a [`Tenant`] can only be obtained from a
//! verified [`Caller`] (or, explicitly and greppably, from a trusted change
//! feed with [`Tenant::trusted`]); every store method takes one, so no query
//! can be written without a tenant.
//!
//! Keys: HS256 with a shared secret is the embedded default (the secret is
//! generated into the data directory on first start, so `earshot token` and
//! the server agree); RS256 with a PEM public key or a JWKS document
//! (selected by the token's `kid`) is for deployments whose identity provider
//! signs the tokens. A JWKS file is re-read while the server runs
//! ([`TokenVerifier::watch_jwks_file`]), so keys rotate without a restart.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, RwLock},
    task::{Context, Poll},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
    jwk::JwkSet,
};
use serde::{Deserialize, Serialize};
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use crate::error::{Error, Result};

/// What a caller may be. A token may carry several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Manages the tenant: settings, people, everything.
    Admin,
    /// Runs the quality program: scorecards, plans, calibration, disputes.
    QaManager,
    /// Scores interactions assigned to them.
    Evaluator,
    /// Leads teams; sees their teams' results (the teams are in the token).
    Supervisor,
    /// Handles interactions; sees their own released evaluations.
    Agent,
    /// A machine caller such as an ACD or CRM: ingests interactions and facts.
    Integration,
    /// Another Earshot service acting for the system (reading change feeds
    /// across tenants). Never granted to people.
    Service,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::QaManager,
        Role::Evaluator,
        Role::Supervisor,
        Role::Agent,
        Role::Integration,
        Role::Service,
    ];

    /// The role's name in tokens and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::QaManager => "qa_manager",
            Role::Evaluator => "evaluator",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
            Role::Integration => "integration",
            Role::Service => "service",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tenant a call belongs to.
///
/// Only [`Caller::tenant`] (a verified token) and [`Tenant::trusted`] make
/// one; there is deliberately no `From<String>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tenant(Arc<str>);

impl Tenant {
    /// A tenant named by a trusted source that is not a request: a change
    /// feed read with system credentials, a service's own background sweep
    /// over tenants already in its tables, or an operator command. Never call
    /// this with a value from a request field.
    pub fn trusted(id: impl AsRef<str>) -> Tenant {
        Tenant(Arc::from(id.as_ref()))
    }

    /// The tenant id, for binding into queries.
    pub fn id(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The claims of an Earshot token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Issuer; must match `auth.issuer`.
    pub iss: String,
    /// Audience; must match `auth.audience`.
    pub aud: String,
    /// The subject: a user id (an agent's or evaluator's id) or an
    /// integration's id.
    pub sub: String,
    /// The tenant the subject belongs to.
    pub tenant: String,
    /// Role names (see [`Role`]).
    pub roles: Vec<String>,
    /// For supervisors: the teams they may see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
}

/// A verified caller: who is calling, for which tenant, in which roles.
///
/// Handlers take this from the request ([`caller`]) and pass its
/// [`Tenant`] to the store.
#[derive(Clone)]
pub struct Caller {
    tenant: Tenant,
    subject: Arc<str>,
    roles: Arc<[Role]>,
    teams: Arc<[String]>,
    /// The bearer token as presented, so calls to other services can act as
    /// the same caller.
    token: Arc<str>,
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the token.
        f.debug_struct("Caller")
            .field("tenant", &self.tenant)
            .field("subject", &self.subject)
            .field("roles", &self.roles)
            .field("teams", &self.teams)
            .finish()
    }
}

impl Caller {
    /// The caller's tenant.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// The caller's subject (user or integration id).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The caller's roles.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// The teams a supervisor may see.
    pub fn teams(&self) -> &[String] {
        &self.teams
    }

    /// The bearer token, for propagating the caller to another service.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// True when the caller has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// True when the caller has any of `roles`.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }

    /// `PERMISSION_DENIED` unless the caller has one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<()> {
        if self.has_any(roles) {
            Ok(())
        } else {
            let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
            Err(Error::PermissionDenied(format!(
                "this call needs one of the roles: {}",
                names.join(", ")
            )))
        }
    }

    /// True for another Earshot service acting for the system.
    pub fn is_system(&self) -> bool {
        self.has(Role::Service)
    }

    fn from_claims(claims: Claims, token: &str) -> Result<Caller> {
        if claims.tenant.trim().is_empty() {
            return Err(Error::Unauthenticated("token names no tenant".into()));
        }
        if claims.sub.trim().is_empty() {
            return Err(Error::Unauthenticated("token names no subject".into()));
        }
        let mut roles = Vec::with_capacity(claims.roles.len());
        for name in &claims.roles {
            match Role::parse(name) {
                Some(r) => roles.push(r),
                None => {
                    return Err(Error::Unauthenticated(format!(
                        "token has an unknown role {name:?}"
                    )));
                }
            }
        }
        if roles.is_empty() {
            return Err(Error::Unauthenticated("token grants no role".into()));
        }
        roles.sort();
        roles.dedup();
        Ok(Caller {
            tenant: Tenant(Arc::from(claims.tenant)),
            subject: Arc::from(claims.sub),
            roles: roles.into(),
            teams: claims.teams.into(),
            token: Arc::from(token),
        })
    }
}

/// The caller of a request that passed [`AuthLayer`].
///
/// `UNAUTHENTICATED` when there is none, which only happens if a service was
/// mounted without the layer.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("missing bearer token"))
}

/// Where the verification keys come from.
#[derive(Clone)]
pub enum VerificationKeys {
    /// A shared HS256 secret.
    Hs256(Vec<u8>),
    /// An RS256 public key in PEM.
    Rs256Pem(Vec<u8>),
    /// A JWKS document (JSON); the token's `kid` picks the key.
    Jwks(String),
}

impl fmt::Debug for VerificationKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerificationKeys::Hs256(_) => f.write_str("Hs256(<secret>)"),
            VerificationKeys::Rs256Pem(_) => f.write_str("Rs256Pem(..)"),
            VerificationKeys::Jwks(_) => f.write_str("Jwks(..)"),
        }
    }
}

enum Keys {
    Single(Algorithm, DecodingKey),
    ByKid(HashMap<String, (Algorithm, DecodingKey)>),
}

/// The keys of a JWKS document, by `kid`.
fn jwks_keys(json: &str) -> Result<Keys> {
    let set: JwkSet =
        serde_json::from_str(json).map_err(|e| Error::invalid("auth.jwks_file", e.to_string()))?;
    let mut by_kid = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            return Err(Error::invalid("auth.jwks_file", "every key needs a kid"));
        };
        let alg = match jwk.common.key_algorithm {
            Some(jsonwebtoken::jwk::KeyAlgorithm::RS256) | None => Algorithm::RS256,
            Some(other) => {
                return Err(Error::invalid(
                    "auth.jwks_file",
                    format!("key {kid}: algorithm {other:?} is not supported"),
                ));
            }
        };
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|e| Error::invalid("auth.jwks_file", format!("key {kid}: {e}")))?;
        if by_kid.insert(kid.clone(), (alg, key)).is_some() {
            return Err(Error::invalid(
                "auth.jwks_file",
                format!("key id {kid:?} appears twice"),
            ));
        }
    }
    if by_kid.is_empty() {
        return Err(Error::invalid("auth.jwks_file", "the key set is empty"));
    }
    Ok(Keys::ByKid(by_kid))
}

/// Verifies bearer tokens.
///
/// Clones share their keys, so a key set replaced on one (JWKS rotation,
/// [`TokenVerifier::replace_jwks`]) is what every clone verifies with.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: Arc<RwLock<Arc<Keys>>>,
    issuer: String,
    audience: String,
    leeway: Duration,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// A verifier for tokens from `issuer` for `audience`.
    pub fn new(
        keys: &VerificationKeys,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        leeway: Duration,
    ) -> Result<TokenVerifier> {
        let keys = match keys {
            VerificationKeys::Hs256(secret) => {
                if secret.len() < 32 {
                    return Err(Error::invalid(
                        "auth.hs256_secret",
                        "must be at least 32 bytes",
                    ));
                }
                Keys::Single(Algorithm::HS256, DecodingKey::from_secret(secret))
            }
            VerificationKeys::Rs256Pem(pem) => Keys::Single(
                Algorithm::RS256,
                DecodingKey::from_rsa_pem(pem)
                    .map_err(|e| Error::invalid("auth.rs256_public_key_file", e.to_string()))?,
            ),
            VerificationKeys::Jwks(json) => jwks_keys(json)?,
        };
        Ok(TokenVerifier {
            keys: Arc::new(RwLock::new(Arc::new(keys))),
            issuer: issuer.into(),
            audience: audience.into(),
            leeway,
        })
    }

    /// Replaces the key set with the JWKS document `json`, returning its
    /// key ids. An invalid document changes nothing. Only a verifier made
    /// from a JWKS document can take one.
    pub fn replace_jwks(&self, json: &str) -> Result<Vec<String>> {
        if matches!(&*self.current_keys(), Keys::Single(..)) {
            return Err(Error::invalid(
                "auth.jwks_file",
                "this verifier does not use a key set",
            ));
        }
        let keys = jwks_keys(json)?;
        let mut kids: Vec<String> = match &keys {
            Keys::ByKid(map) => map.keys().cloned().collect(),
            Keys::Single(..) => Vec::new(),
        };
        kids.sort();
        let mut slot = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Arc::new(keys);
        Ok(kids)
    }

    /// Re-reads the JWKS file at `path` every `interval` until `shutdown`,
    /// replacing the key set when the file's content changed and is valid.
    /// An unreadable or invalid file is logged and the keys in use are kept,
    /// so a botched rotation never locks every caller out.
    ///
    /// Polling rather than SIGHUP: a Kubernetes Secret or ConfigMap mounted
    /// as a file is updated in place with no signal to the process, every
    /// replica picks the change up on its own, and it works the same on
    /// every platform. Comparing content rather than mtime also catches two
    /// writes within one mtime tick.
    pub fn watch_jwks_file(
        &self,
        path: std::path::PathBuf,
        interval: Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> impl Future<Output = ()> + Send + 'static {
        let verifier = self.clone();
        // Read now, next to where the verifier was built from the same
        // file, so a change made after start is never taken for the old.
        let mut last = std::fs::read(&path).ok();
        async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(interval) => {}
                }
                let read = {
                    let path = path.clone();
                    tokio::task::spawn_blocking(move || std::fs::read(path)).await
                };
                let bytes = match read.map_err(std::io::Error::other).and_then(|r| r) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "cannot read the JWKS file; keeping the current keys");
                        continue;
                    }
                };
                if last.as_deref() == Some(bytes.as_slice()) {
                    continue;
                }
                let result = std::str::from_utf8(&bytes)
                    .map_err(|_| Error::invalid("auth.jwks_file", "is not UTF-8"))
                    .and_then(|json| verifier.replace_jwks(json));
                match result {
                    Ok(kids) => {
                        tracing::info!(path = %path.display(), kids = ?kids, "reloaded the JWKS key set");
                    }
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "the new JWKS file is invalid; keeping the current keys");
                    }
                }
                last = Some(bytes);
            }
        }
    }

    fn current_keys(&self) -> Arc<Keys> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Verifies `token` and returns its caller.
    pub fn verify(&self, token: &str) -> Result<Caller> {
        let keys = self.current_keys();
        let (alg, key) = match &*keys {
            Keys::Single(alg, key) => (*alg, key),
            Keys::ByKid(map) => {
                let header = decode_header(token)
                    .map_err(|e| Error::Unauthenticated(format!("malformed token: {e}")))?;
                let kid = header
                    .kid
                    .ok_or_else(|| Error::Unauthenticated("token has no kid".into()))?;
                let (alg, key) = map
                    .get(&kid)
                    .ok_or_else(|| Error::Unauthenticated(format!("unknown key id {kid:?}")))?;
                (*alg, key)
            }
        };
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.leeway = self.leeway.as_secs();
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = decode::<Claims>(token, key, &validation)
            .map_err(|e| Error::Unauthenticated(format!("invalid token: {e}")))?;
        Caller::from_claims(data.claims, token)
    }
}

/// What to put in a new token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The tenant.
    pub tenant: String,
    /// The subject (user or integration id).
    pub subject: String,
    /// The roles granted.
    pub roles: Vec<Role>,
    /// For supervisors: the teams they may see.
    pub teams: Vec<String>,
    /// How long the token is valid.
    pub ttl: Duration,
}

/// Mints HS256 tokens with the embedded secret: `earshot token`, the test
/// harness, and the system identity services use to read each other's
/// change feeds.
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// The subject of the system identity.
pub const SYSTEM_SUBJECT: &str = "earshot-system";
/// The tenant claim of the system identity; no real tenant may use it.
pub const SYSTEM_TENANT: &str = "_system";

impl TokenIssuer {
    /// An issuer signing with `secret`.
    pub fn hs256(secret: &[u8], issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        TokenIssuer {
            key: EncodingKey::from_secret(secret),
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    /// A signed token for `req`.
    pub fn mint(&self, req: &TokenRequest) -> Result<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(Error::internal)?
            .as_secs();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: req.subject.clone(),
            tenant: req.tenant.clone(),
            roles: req.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            teams: req.teams.clone(),
            exp: now.saturating_add(req.ttl.as_secs()),
            iat: now,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.key).map_err(Error::internal)
    }

    /// A token for the system identity (role `service`), used by one service
    /// to read another's change feed across tenants.
    pub fn system_token(&self, ttl: Duration) -> Result<String> {
        self.mint(&TokenRequest {
            tenant: SYSTEM_TENANT.into(),
            subject: SYSTEM_SUBJECT.into(),
            roles: vec![Role::Service],
            teams: Vec::new(),
            ttl,
        })
    }
}

/// The verification keys `config` names, and an issuer when the embedded
/// HS256 default is in use (so the process can mint its system token).
///
/// With no key configured, the secret lives in `data_dir/jwt-secret`,
/// generated on first use with owner-only permissions; `earshot token` reads
/// the same file.
pub fn keys_from_config(
    config: &crate::config::Config,
) -> Result<(VerificationKeys, Option<TokenIssuer>)> {
    let a = &config.auth;
    let read = |path: &std::path::Path, field: &str| {
        std::fs::read(path)
            .map_err(|e| Error::invalid(field, format!("cannot read {}: {e}", path.display())))
    };
    let hs = |secret: Vec<u8>| {
        let secret = trim_ascii(secret);
        let issuer = TokenIssuer::hs256(&secret, a.issuer.clone(), a.audience.clone());
        (VerificationKeys::Hs256(secret), Some(issuer))
    };
    if let Some(s) = &a.hs256_secret {
        return Ok(hs(s.as_bytes().to_vec()));
    }
    if let Some(p) = &a.hs256_secret_file {
        return Ok(hs(read(p, "auth.hs256_secret_file")?));
    }
    if let Some(p) = &a.rs256_public_key_file {
        return Ok((
            VerificationKeys::Rs256Pem(read(p, "auth.rs256_public_key_file")?),
            None,
        ));
    }
    if let Some(p) = &a.jwks_file {
        let json = String::from_utf8(read(p, "auth.jwks_file")?)
            .map_err(|_| Error::invalid("auth.jwks_file", "is not UTF-8"))?;
        return Ok((VerificationKeys::Jwks(json), None));
    }
    Ok(hs(embedded_secret(&config.data_dir)?))
}

fn trim_ascii(mut v: Vec<u8>) -> Vec<u8> {
    while v.last().is_some_and(|b| b.is_ascii_whitespace()) {
        v.pop();
    }
    v
}

/// The embedded default's HS256 secret in `data_dir/jwt-secret`, created
/// when missing.
pub fn embedded_secret(data_dir: &std::path::Path) -> Result<Vec<u8>> {
    crate::privacy::generated_secret(data_dir, "jwt-secret")
}

/// Paths served without a token: health (for probes and load balancers)
/// and reflection (the schema is public).
fn is_open_path(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
        || path.starts_with("/grpc.reflection.v1.ServerReflection/")
        || path.starts_with("/grpc.reflection.v1alpha.ServerReflection/")
}

/// A tower layer that authenticates every call (see the module docs).
#[derive(Clone, Debug)]
pub struct AuthLayer {
    verifier: TokenVerifier,
}

impl AuthLayer {
    /// A layer verifying with `verifier`.
    pub fn new(verifier: TokenVerifier) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service [`AuthLayer`] produces.
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    verifier: TokenVerifier,
}

impl<S> AuthService<S> {
    fn authenticate(&self, req: &http::Request<Body>) -> Result<Caller> {
        let header = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| Error::Unauthenticated("missing bearer token".into()))?;
        let value = header
            .to_str()
            .map_err(|_| Error::Unauthenticated("malformed authorization header".into()))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| Error::Unauthenticated("authorization is not a bearer token".into()))?
            .trim();
        self.verifier.verify(token)
    }
}

impl<S> Service<http::Request<Body>> for AuthService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Send,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = futures::future::Either<
        S::Future,
        futures::future::Ready<std::result::Result<http::Response<Body>, S::Error>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        if is_open_path(req.uri().path()) {
            return futures::future::Either::Left(self.inner.call(req));
        }
        match self.authenticate(&req) {
            Ok(caller) => {
                tracing::Span::current().record("tenant", caller.tenant().id());
                tracing::Span::current().record("subject", caller.subject());
                let roles: Vec<&str> = caller.roles().iter().map(|r| r.as_str()).collect();
                tracing::Span::current().record("roles", roles.join(",").as_str());
                req.extensions_mut().insert(caller);
                futures::future::Either::Left(self.inner.call(req))
            }
            Err(e) => {
                let status = match e {
                    Error::Unauthenticated(msg) => Status::unauthenticated(msg),
                    other => other.into_status(),
                };
                futures::future::Either::Right(futures::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn verifier() -> TokenVerifier {
        TokenVerifier::new(
            &VerificationKeys::Hs256(SECRET.to_vec()),
            "earshot",
            "earshot",
            Duration::from_secs(5),
        )
        .unwrap()
    }

    fn request(roles: Vec<Role>) -> TokenRequest {
        TokenRequest {
            tenant: "acme".into(),
            subject: "alice".into(),
            roles,
            teams: vec!["blue".into()],
            ttl: Duration::from_secs(60),
        }
    }

    #[test]
    fn minted_tokens_verify() {
        let issuer = TokenIssuer::hs256(SECRET, "earshot", "earshot");
        let token = issuer
            .mint(&request(vec![Role::Supervisor, Role::Evaluator]))
            .unwrap();
        let caller = verifier().verify(&token).unwrap();
        assert_eq!(caller.tenant().id(), "acme");
        assert_eq!(caller.subject(), "alice");
        assert_eq!(caller.roles(), &[Role::Evaluator, Role::Supervisor]);
        assert_eq!(caller.teams(), &["blue".to_string()]);
        assert!(caller.require_any(&[Role::Supervisor]).is_ok());
        assert!(matches!(
            caller.require_any(&[Role::Admin]),
            Err(Error::PermissionDenied(_))
        ));
        assert!(!format!("{caller:?}").contains(&token));
    }

    #[test]
    fn wrong_secret_audience_issuer_and_expiry_are_refused() {
        let good = request(vec![Role::Admin]);
        let other_secret =
            TokenIssuer::hs256(b"another-secret-another-secret-xx", "earshot", "earshot");
        let other_aud = TokenIssuer::hs256(SECRET, "earshot", "someone-else");
        let other_iss = TokenIssuer::hs256(SECRET, "mallory", "earshot");
        for issuer in [other_secret, other_aud, other_iss] {
            let token = issuer.mint(&good).unwrap();
            assert!(matches!(
                verifier().verify(&token),
                Err(Error::Unauthenticated(_))
            ));
        }
        let issuer = TokenIssuer::hs256(SECRET, "earshot", "earshot");
        let mut claims = Claims {
            iss: "earshot".into(),
            aud: "earshot".into(),
            sub: "alice".into(),
            tenant: "acme".into(),
            roles: vec!["admin".into()],
            teams: vec![],
            exp: 1_000,
            iat: 900,
        };
        let expired = encode(&Header::new(Algorithm::HS256), &claims, &issuer.key).unwrap();
        assert!(verifier().verify(&expired).is_err());
        claims.exp = u64::MAX / 2;
        claims.roles = vec!["root".into()];
        let bad_role = encode(&Header::new(Algorithm::HS256), &claims, &issuer.key).unwrap();
        assert!(verifier().verify(&bad_role).is_err());
        assert!(verifier().verify("not.a.token").is_err());
        assert!(verifier().verify("").is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(
            TokenVerifier::new(
                &VerificationKeys::Hs256(b"short".to_vec()),
                "i",
                "a",
                Duration::ZERO
            )
            .is_err()
        );
    }

    #[test]
    fn embedded_secret_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = embedded_secret(dir.path()).unwrap();
        let b = embedded_secret(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 96);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("jwt-secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    fn rsa_key(n: u8) -> EncodingKey {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../tests/fixtures/jwks/key{n}.pem"));
        EncodingKey::from_rsa_pem(&std::fs::read(path).unwrap()).unwrap()
    }

    fn jwks(keys: &[u8]) -> String {
        let keys = keys
            .iter()
            .map(|n| {
                let mut jwk =
                    jsonwebtoken::jwk::Jwk::from_encoding_key(&rsa_key(*n), Algorithm::RS256)
                        .unwrap();
                jwk.common.key_id = Some(format!("k{n}"));
                jwk
            })
            .collect();
        serde_json::to_string(&JwkSet { keys }).unwrap()
    }

    fn rs256(n: u8) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = Claims {
            iss: "earshot".into(),
            aud: "earshot".into(),
            sub: "alice".into(),
            tenant: "acme".into(),
            roles: vec!["admin".into()],
            teams: vec![],
            exp: now + 60,
            iat: now,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(format!("k{n}"));
        encode(&header, &claims, &rsa_key(n)).unwrap()
    }

    #[test]
    fn jwks_key_sets_are_replaced_and_bad_ones_refused() {
        let v = TokenVerifier::new(
            &VerificationKeys::Jwks(jwks(&[1])),
            "earshot",
            "earshot",
            Duration::ZERO,
        )
        .unwrap();
        // A clone shares the keys, as every server's layer does.
        let clone = v.clone();
        assert!(clone.verify(&rs256(1)).is_ok());
        assert!(clone.verify(&rs256(2)).is_err());
        assert_eq!(v.replace_jwks(&jwks(&[1, 2])).unwrap(), ["k1", "k2"]);
        assert!(clone.verify(&rs256(1)).is_ok());
        assert!(clone.verify(&rs256(2)).is_ok());
        // Invalid sets change nothing.
        let duplicate = jwks(&[2, 2]);
        for bad in ["not json", r#"{"keys": []}"#, &duplicate] {
            assert!(v.replace_jwks(bad).is_err(), "{bad}");
            assert!(clone.verify(&rs256(1)).is_ok());
        }
        v.replace_jwks(&jwks(&[2])).unwrap();
        assert!(clone.verify(&rs256(1)).is_err());
        assert!(clone.verify(&rs256(2)).is_ok());
        // A verifier with one key has no key set to replace.
        assert!(verifier().replace_jwks(&jwks(&[1])).is_err());
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("superuser"), None);
    }
}
