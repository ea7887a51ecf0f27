//! Earshot's sampling service.

use earshot_kit::{
    config::ServiceKind,
    db::Migrations,
    server::{BuildFuture, ServiceContext, ServiceSpec},
};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// How the binary runs this service.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        kind: ServiceKind::Sampling,
        service_names: &[],
        migrations: Migrations {
            sqlite: &SQLITE,
            postgres: &POSTGRES,
        },
        build,
    }
}

fn build(_ctx: ServiceContext) -> BuildFuture {
    Box::pin(async move { Ok(tonic::service::Routes::default()) })
}
