//! Test support (feature `testing`): fresh databases on SQLite and
//! PostgreSQL, and tokens.
//!
//! PostgreSQL tests run when `EARSHOT_TEST_DATABASE_URL` names a server
//! (any database on it; CI sets `postgres://postgres@127.0.0.1:5432/postgres`).
//! Each test gets a database of its own, dropped when the test ends. Without
//! the variable the PostgreSQL half of a test says it is skipped — unless
//! `EARSHOT_REQUIRE_POSTGRES=1`, which CI sets so a missing server fails.

use std::{sync::atomic::AtomicU64, time::Duration};

use sqlx::Connection as _;

use crate::{
    auth::{Role, TokenIssuer, TokenRequest, TokenVerifier, VerificationKeys},
    config::DbTarget,
    db::{Db, DbOptions, Migrations},
};

/// The variable naming the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "EARSHOT_TEST_DATABASE_URL";
/// Set to 1 to make a missing PostgreSQL server a failure.
pub const REQUIRE_POSTGRES_ENV: &str = "EARSHOT_REQUIRE_POSTGRES";

/// The secret test tokens are signed with.
pub const TEST_SECRET: &str = "earshot-test-secret-earshot-test-secret";

/// The engines a store test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A fresh SQLite file in a temporary directory.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

impl Engine {
    /// SQLite always; PostgreSQL when a server is configured. Panics (it is
    /// test code) when PostgreSQL is required but not configured.
    #[allow(clippy::panic)]
    pub fn available() -> Vec<Engine> {
        let mut v = vec![Engine::Sqlite];
        if std::env::var_os(POSTGRES_ENV).is_some() {
            v.push(Engine::Postgres);
        } else if std::env::var(REQUIRE_POSTGRES_ENV).as_deref() == Ok("1") {
            panic!("{REQUIRE_POSTGRES_ENV}=1 but {POSTGRES_ENV} is not set");
        } else {
            eprintln!("PostgreSQL tests skipped: {POSTGRES_ENV} is not set");
        }
        v
    }
}

/// A throw-away place for one test's data; removed on drop.
#[derive(Debug)]
pub struct TestStorage {
    /// Directory for SQLite files and the like.
    pub dir: tempfile::TempDir,
    /// The PostgreSQL URL of this test's own database, if any.
    pub postgres_url: Option<String>,
    admin_url: Option<String>,
    database: Option<String>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestStorage {
    /// Fresh storage on `engine`.
    pub async fn new(engine: Engine) -> anyhow_like::Result<TestStorage> {
        let dir = tempfile::Builder::new().prefix("earshot-test-").tempdir()?;
        match engine {
            Engine::Sqlite => Ok(TestStorage {
                dir,
                postgres_url: None,
                admin_url: None,
                database: None,
            }),
            Engine::Postgres => {
                let admin = std::env::var(POSTGRES_ENV)?;
                let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let name = format!(
                    "earshot_test_{}_{}_{}",
                    std::process::id(),
                    n,
                    uuid::Uuid::new_v4()
                        .simple()
                        .to_string()
                        .get(..8)
                        .unwrap_or("0")
                );
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut conn)
                    .await?;
                let _ = conn.close().await;
                let url = replace_database(&admin, &name);
                Ok(TestStorage {
                    dir,
                    postgres_url: Some(url),
                    admin_url: Some(admin),
                    database: Some(name),
                })
            }
        }
    }

    /// Where a service named `service` keeps its data in this storage.
    pub fn target(&self, service: &str) -> DbTarget {
        match &self.postgres_url {
            Some(url) => DbTarget::Postgres {
                url: url.clone(),
                schema: service.to_owned(),
            },
            None => DbTarget::Sqlite {
                path: self.dir.path().join(format!("{service}.db")),
            },
        }
    }

    /// Opens a migrated database for `service`.
    pub async fn open(&self, service: &str, migrations: Migrations) -> crate::error::Result<Db> {
        Db::open(&self.target(service), &DbOptions::default(), migrations).await
    }
}

impl Drop for TestStorage {
    fn drop(&mut self) {
        let (Some(admin), Some(name)) = (self.admin_url.take(), self.database.take()) else {
            return;
        };
        // Async work in Drop: a short-lived runtime on its own thread, joined
        // so the database is gone before the test process exits.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}

fn replace_database(url: &str, database: &str) -> String {
    // postgres://user@host:port/dbname?params -> .../database?params
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], database);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Mints test tokens that [`test_verifier`] accepts.
pub fn test_issuer() -> TokenIssuer {
    TokenIssuer::hs256(TEST_SECRET.as_bytes(), "earshot", "earshot")
}

/// The verifier matching [`test_issuer`].
#[allow(clippy::expect_used)]
pub fn test_verifier() -> TokenVerifier {
    TokenVerifier::new(
        &VerificationKeys::Hs256(TEST_SECRET.as_bytes().to_vec()),
        "earshot",
        "earshot",
        Duration::from_secs(30),
    )
    .expect("the test secret is long enough")
}

/// A one-hour test token.
#[allow(clippy::expect_used)]
pub fn token(tenant: &str, subject: &str, roles: &[Role]) -> String {
    token_with_teams(tenant, subject, roles, &[])
}

/// A one-hour test token naming the teams a supervisor may see.
#[allow(clippy::expect_used)]
pub fn token_with_teams(tenant: &str, subject: &str, roles: &[Role], teams: &[&str]) -> String {
    test_issuer()
        .mint(&TokenRequest {
            tenant: tenant.into(),
            subject: subject.into(),
            roles: roles.to_vec(),
            teams: teams.iter().map(|t| (*t).to_owned()).collect(),
            ttl: Duration::from_secs(3600),
        })
        .expect("minting with the test secret works")
}

/// A verified caller for unit tests of handlers and stores.
#[allow(clippy::expect_used)]
pub fn caller(tenant: &str, subject: &str, roles: &[Role]) -> crate::auth::Caller {
    test_verifier()
        .verify(&token(tenant, subject, roles))
        .expect("a fresh test token verifies")
}

/// A minimal boxed error for test set-up.
pub mod anyhow_like {
    /// Any error.
    pub type Error = Box<dyn std::error::Error + Send + Sync>;
    /// Result with any error.
    pub type Result<T> = std::result::Result<T, Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_in_url_is_replaced() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://h", "t3"), "postgres://h/t3");
    }
}
