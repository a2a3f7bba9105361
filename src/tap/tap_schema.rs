//! TAP_SCHEMA's rows, generated from `schema/*.toml` at every start, so what the service says
//! about itself is what `schema/` says (and a test holds `schema/` to the database).

use tokio_postgres::Client;

use crate::schema::{published_tables, ForeignKey, FOREIGN_KEYS};

/// Arbitrary but fixed: serialises TAP_SCHEMA publication on one database.
const PUBLISH_LOCK_KEY: i64 = 0x0b5_0003;

/// What each schema holds, for TAP_SCHEMA.schemas, in display order.
const SCHEMAS: &[(&str, &str)] = &[
    ("obsportal", "Interferometric exposures already made (ESO VLTI), one row per exposure, with the column names of the original ObsPortal"),
    ("ivoa", "IVOA standard views of the same data (ObsCore 1.1)"),
    ("TAP_SCHEMA", "How this service describes its schemas, tables and columns"),
];

/// Replaces TAP_SCHEMA's rows in one transaction; readers see the old rows or the new.
pub async fn publish(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    let transaction = client.transaction().await?;
    // Replicas starting together would otherwise delete and insert the same rows at once.
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&PUBLISH_LOCK_KEY])
        .await?;
    transaction
        .batch_execute(
            r#"DELETE FROM "TAP_SCHEMA".key_columns; DELETE FROM "TAP_SCHEMA".keys;
               DELETE FROM "TAP_SCHEMA".columns; DELETE FROM "TAP_SCHEMA".tables; DELETE FROM "TAP_SCHEMA".schemas"#,
        )
        .await?;
    for (index, (name, description)) in SCHEMAS.iter().enumerate() {
        transaction
            .execute(
                r#"INSERT INTO "TAP_SCHEMA".schemas (schema_name, description, schema_index) VALUES ($1, $2, $3)"#,
                &[name, description, &(index as i32)],
            )
            .await?;
    }
    for (table_index, table) in published_tables().iter().enumerate() {
        let table_name = table.qualified_name();
        transaction
            .execute(
                r#"INSERT INTO "TAP_SCHEMA".tables (schema_name, table_name, table_type, description, utype, table_index)
                   VALUES ($1, $2, $3, $4, $5, $6)"#,
                &[&table.schema, &table_name, &table.table_type, &table.description, &table.utype, &(table_index as i32)],
            )
            .await?;
        for (column_index, column) in table.columns.iter().enumerate() {
            let flag = |set: bool| i32::from(set);
            // TAP 1.1: a column named by a reserved word is listed the way queries write it.
            let column_name = if adql::is_reserved_word(&column.name) {
                format!("\"{}\"", column.name)
            } else {
                column.name.clone()
            };
            transaction
                .execute(
                    r#"INSERT INTO "TAP_SCHEMA".columns (table_name, column_name, datatype, arraysize, xtype,
                           description, utype, unit, ucd, indexed, principal, std, column_index)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"#,
                    &[
                        &table_name,
                        &column_name,
                        &column.datatype,
                        &column.arraysize,
                        &column.xtype,
                        &column.description,
                        &column.utype,
                        &column.unit,
                        &column.ucd,
                        &flag(column.indexed),
                        &flag(column.principal),
                        &flag(column.std),
                        &(column_index as i32),
                    ],
                )
                .await?;
        }
    }
    for key in FOREIGN_KEYS {
        let ForeignKey {
            id: key_id,
            from_table,
            target_table,
            from_column,
            target_column,
        } = key;
        transaction
            .execute(
                r#"INSERT INTO "TAP_SCHEMA".keys (key_id, from_table, target_table) VALUES ($1, $2, $3)"#,
                &[key_id, from_table, target_table],
            )
            .await?;
        transaction
            .execute(
                r#"INSERT INTO "TAP_SCHEMA".key_columns (key_id, from_column, target_column) VALUES ($1, $2, $3)"#,
                &[key_id, from_column, target_column],
            )
            .await?;
    }
    transaction.commit().await
}
