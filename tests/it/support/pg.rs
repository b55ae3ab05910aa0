//! A private schema in the machine's PostgreSQL (`test` database, trust auth) for tests that run
//! sidecars on a shared PostgreSQL store. Dropped with everything in it when the guard goes.

const PG_BASE: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh schema; [`Schema::url`] points a store at it.
pub struct Schema {
    name: String,
}

impl Schema {
    pub async fn create() -> Self {
        let name = format!("it_{}", uuid::Uuid::new_v4().simple());
        admin_sql(&format!("CREATE SCHEMA {name}")).await;
        Self { name }
    }

    /// A store URL whose connections use this schema.
    pub fn url(&self) -> scim_sidecar::config::Secret {
        scim_sidecar::config::Secret::new(format!("{PG_BASE}?options=-c%20search_path%3D{}", self.name))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // Drop runs inside the test's runtime; a helper thread with its own runtime can block.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(admin_sql(&sql));
        })
        .join();
    }
}

async fn admin_sql(sql: &str) {
    let (client, conn) = tokio_postgres::connect(PG_BASE, tokio_postgres::NoTls).await.unwrap();
    let task = tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
    drop(client);
    let _ = task.await;
}
