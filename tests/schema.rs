//! `schema/*.toml` describes the published tables; the database must agree with it, and the
//! query role must reach those tables and nothing else.

mod support;

use obsportal::schema::published_tables;
use support::Workspace;

/// `"schema"."table"`: TAP_SCHEMA is upper case in the database too.
fn quoted(table: &obsportal::schema::Table) -> String {
    format!("\"{}\".\"{}\"", table.schema, table.name)
}

/// The VOTable datatype (and xtype) a PostgreSQL column type is published as.
fn votable_type(postgres_type: &str) -> (&'static str, Option<&'static str>) {
    match postgres_type {
        "text" => ("char", None),
        "double precision" => ("double", None),
        "integer" => ("int", None),
        "bigint" => ("long", None),
        "smallint" => ("short", None),
        "boolean" => ("boolean", None),
        "timestamp with time zone" => ("char", Some("timestamp")),
        "spoly" => ("double", Some("polygon")),
        other => panic!("no VOTable mapping for PostgreSQL type {other}"),
    }
}

#[tokio::test]
async fn every_published_column_is_described_in_order_with_its_type() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);
    let db = workspace.connect("obsportal", "obsportal").await;
    for table in published_tables() {
        let rows = db
            .query(
                "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
                  WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                &[&quoted(table)],
            )
            .await
            .unwrap();
        let database: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let described: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        let actual: Vec<&str> = database.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            described,
            actual,
            "{}: columns differ from schema/",
            table.qualified_name()
        );
        for (column, (_, postgres_type)) in table.columns.iter().zip(&database) {
            let (datatype, xtype) = votable_type(postgres_type);
            assert_eq!(
                column.datatype,
                datatype,
                "{}.{}",
                table.qualified_name(),
                column.name
            );
            assert_eq!(
                column.xtype.as_deref(),
                xtype,
                "{}.{}",
                table.qualified_name(),
                column.name
            );
            assert_eq!(
                column.arraysize.is_some(),
                datatype == "char" || xtype.is_some(),
                "{}",
                column.name
            );
        }
    }
}

#[tokio::test]
async fn the_query_role_reads_published_tables_and_nothing_else() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&["--demo-rows", "50"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    db.batch_execute("SET ROLE obsportal_query").await.unwrap();
    for table in published_tables() {
        let sql = format!("SELECT count(*) FROM {}", quoted(table));
        let count: i64 = db.query_one(&sql, &[]).await.unwrap().get(0);
        if table.schema == "TAP_SCHEMA" {
            assert!(count > 0 || table.name.starts_with("key"), "{sql}: {count}");
        } else if table.name == "summary" {
            // Counts by instrument, mode, year, program and target: at least one of each.
            assert!(count >= 5, "{sql}: {count}");
        } else if table.name == "coverage" {
            // The service, VLTI, and each instrument observed.
            assert!((3..=10).contains(&count), "{sql}: {count}");
        } else if table.name == "blocks" {
            assert!((1..=50).contains(&count), "{sql}: {count}");
        } else if table.name == "calibrations" {
            // Demo programs interleave calibrators with their science: some are linked.
            assert!(count > 0, "{sql}: {count}");
        } else if table.name == "targets" {
            assert!((1..=50).contains(&count), "{sql}: {count}");
        } else if table.name == "baselines" {
            // Every demo exposure has two to four stations: one to six baselines each.
            assert!((50..=300).contains(&count), "{sql}: {count}");
        } else {
            assert_eq!(count, 50, "{sql}");
        }
    }
    for forbidden in [
        "SELECT count(*) FROM obsportal.header",
        "SELECT count(*) FROM obsportal.exposure",
        "DELETE FROM obsportal.exposures",
        "DELETE FROM obsportal.baselines",
        "CREATE TABLE obsportal.sneaky (x int)",
    ] {
        let error = db.batch_execute(forbidden).await.unwrap_err();
        let code = error.code().map(|c| c.code().to_string());
        assert!(
            matches!(code.as_deref(), Some("42501") | Some("42809")),
            "{forbidden}: expected a permission error, got {error:?}"
        );
    }
}

#[tokio::test]
async fn the_reader_pool_is_read_only_restricted_and_timed() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&["--demo-rows", "20"]);
    let settings = obsportal::db::DbSettings {
        data_dir: workspace.data_dir(),
        database_url: Some(workspace.connection_string("obsportal", "obsportal")),
        reader_database_url: None,
        query_connections: 2,
        page_connections: 1,
        query_timeout: obsportal::db::DEFAULT_QUERY_TIMEOUT,
        job_connections: 2,
        job_timeout: std::time::Duration::from_secs(3600),
        public_url: Some("https://obsportal.example/vo".into()),
    };
    let database = obsportal::db::Database::open(&settings).await.unwrap();
    let reader = database.reader().pool.get().await.unwrap();
    // ObsCore links to the DataLink document on the public URL the connections carry.
    let access_url: String = reader
        .query_one("SELECT access_url FROM ivoa.obscore LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        access_url.starts_with("https://obsportal.example/vo/datalink?ID="),
        "{access_url}"
    );
    let who: String = reader
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(who, "obsportal_query");
    let exposures: i64 = reader
        .query_one("SELECT count(*) FROM obsportal.exposures", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(exposures, 20);
    let timeout: String = reader
        .query_one("SHOW statement_timeout", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(timeout, "1min");
    for (sql, code) in [
        ("SELECT count(*) FROM obsportal.header", "42501"),
        ("CREATE TEMP TABLE t (x int)", "25006"),
        ("SELECT pg_sleep(0) FROM obsportal.import", "42501"),
    ] {
        let error = reader.batch_execute(sql).await.unwrap_err();
        assert_eq!(
            error.code().map(|c| c.code()),
            Some(code),
            "{sql}: {error:?}"
        );
    }
    drop(reader);
    database.close().await.unwrap();
}

/// With a reader URL (a read replica in production), user queries go there and everything
/// else stays on DATABASE_URL. Here the "replica" is another database of the same cluster,
/// which the pools' answers tell apart.
#[tokio::test]
async fn user_queries_go_to_the_reader_database_when_one_is_given() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);
    let settings = obsportal::db::DbSettings {
        data_dir: workspace.data_dir(),
        database_url: Some(workspace.connection_string("obsportal", "obsportal")),
        reader_database_url: Some(workspace.connection_string("obsportal", "postgres")),
        query_connections: 1,
        page_connections: 1,
        query_timeout: obsportal::db::DEFAULT_QUERY_TIMEOUT,
        job_connections: 1,
        job_timeout: std::time::Duration::from_secs(3600),
        public_url: None,
    };
    let database = obsportal::db::Database::open(&settings).await.unwrap();
    for (pool, expected) in [
        (database.pool(), "obsportal"),
        (&database.reader().pool, "postgres"),
        (&database.pages().pool, "postgres"),
        (&database.jobs().pool, "postgres"),
    ] {
        let client = pool.get().await.unwrap();
        let (name, user): (String, String) = {
            let row = client
                .query_one("SELECT current_database()::text, current_user::text", &[])
                .await
                .unwrap();
            (row.get(0), row.get(1))
        };
        assert_eq!(name, expected);
        let application: String = client
            .query_one("SELECT current_setting('application_name')", &[])
            .await
            .unwrap()
            .get(0);
        assert!(application.starts_with("obsportal"), "{application}");
        if expected == "postgres" {
            assert_eq!(
                user, "obsportal_query",
                "the replica is read as the query role"
            );
        }
    }
}
