//! The published tables, described once in `schema/*.toml`: the single source for TAP_SCHEMA,
//! VOSI tables, VOTable FIELDs and the ADQL catalog.

use serde::Deserialize;

/// The description files, embedded so the binary needs nothing beside it.
const TABLE_FILES: &[(&str, &str)] = &[
    (
        "schema/exposures.toml",
        include_str!("../schema/exposures.toml"),
    ),
    (
        "schema/baselines.toml",
        include_str!("../schema/baselines.toml"),
    ),
    (
        "schema/targets.toml",
        include_str!("../schema/targets.toml"),
    ),
    ("schema/blocks.toml", include_str!("../schema/blocks.toml")),
    (
        "schema/calibrations.toml",
        include_str!("../schema/calibrations.toml"),
    ),
    (
        "schema/coverage.toml",
        include_str!("../schema/coverage.toml"),
    ),
    (
        "schema/summary.toml",
        include_str!("../schema/summary.toml"),
    ),
    (
        "schema/obscore.toml",
        include_str!("../schema/obscore.toml"),
    ),
    (
        "schema/tap_schema.toml",
        include_str!("../schema/tap_schema.toml"),
    ),
];

/// A foreign key between published tables (a baseline's exposure; TAP_SCHEMA's own, TAP 1.1
/// section 4), listed in TAP_SCHEMA.keys and in VOSI tables alike.
pub struct ForeignKey {
    pub id: &'static str,
    pub from_table: &'static str,
    pub target_table: &'static str,
    pub from_column: &'static str,
    pub target_column: &'static str,
}

pub const FOREIGN_KEYS: &[ForeignKey] = &[
    ForeignKey {
        id: "exposures_target",
        from_table: "obsportal.exposures",
        target_table: "obsportal.targets",
        from_column: "target_id",
        target_column: "target_id",
    },
    ForeignKey {
        id: "baselines_exposure",
        from_table: "obsportal.baselines",
        target_table: "obsportal.exposures",
        from_column: "exp_id",
        target_column: "exp_id",
    },
    ForeignKey {
        id: "tables_schema",
        from_table: "TAP_SCHEMA.tables",
        target_table: "TAP_SCHEMA.schemas",
        from_column: "schema_name",
        target_column: "schema_name",
    },
    ForeignKey {
        id: "columns_table",
        from_table: "TAP_SCHEMA.columns",
        target_table: "TAP_SCHEMA.tables",
        from_column: "table_name",
        target_column: "table_name",
    },
    ForeignKey {
        id: "keys_from",
        from_table: "TAP_SCHEMA.keys",
        target_table: "TAP_SCHEMA.tables",
        from_column: "from_table",
        target_column: "table_name",
    },
    ForeignKey {
        id: "keys_target",
        from_table: "TAP_SCHEMA.keys",
        target_table: "TAP_SCHEMA.tables",
        from_column: "target_table",
        target_column: "table_name",
    },
    ForeignKey {
        id: "key_columns_key",
        from_table: "TAP_SCHEMA.key_columns",
        target_table: "TAP_SCHEMA.keys",
        from_column: "key_id",
        target_column: "key_id",
    },
];

/// A file describing several tables (`[[table]]`), e.g. TAP_SCHEMA's five.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    table: Vec<Table>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub schema: String,
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub utype: Option<String>,
    /// TAP_SCHEMA.tables.table_type: "table" or "view".
    #[serde(default = "table_type")]
    pub table_type: String,
    #[serde(rename = "column")]
    pub columns: Vec<Column>,
}

fn table_type() -> String {
    "table".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    /// VOTable datatype: char, short, int, long, double, boolean.
    pub datatype: String,
    #[serde(default)]
    pub arraysize: Option<String>,
    #[serde(default)]
    pub xtype: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub ucd: Option<String>,
    #[serde(default)]
    pub utype: Option<String>,
    pub description: String,
    #[serde(default)]
    pub principal: bool,
    #[serde(default)]
    pub indexed: bool,
    /// Defined by an IVOA standard (ObsCore) rather than by this service.
    #[serde(default)]
    pub std: bool,
    /// Whether the ObsPortal API (`/search.votable`) sends this column.
    #[serde(default)]
    pub api: Option<ApiPresence>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiPresence {
    /// Always.
    Default,
    /// Only when the client asks for `all_fields=true`.
    AllFields,
}

impl Table {
    /// `schema.name`, as TAP_SCHEMA and ADQL spell it.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// Every published table, parsed once. The files are part of the binary, so a parse error is
/// a build bug: the unit test below catches it before anything ships.
pub fn published_tables() -> &'static [Table] {
    static TABLES: std::sync::LazyLock<Vec<Table>> = std::sync::LazyLock::new(|| {
        TABLE_FILES
            .iter()
            .flat_map(|(path, text)| match toml::from_str::<Table>(text) {
                Ok(table) => vec![table],
                Err(_) => {
                    toml::from_str::<TableFile>(text)
                        .unwrap_or_else(|error| panic!("{path}: {error}"))
                        .table
                }
            })
            .collect()
    });
    &TABLES
}

/// A published table by its unqualified name.
pub fn published_table(name: &str) -> &'static Table {
    published_tables()
        .iter()
        .find(|table| table.name == name)
        .unwrap_or_else(|| panic!("no published table {name} in schema/"))
}

/// The published tables as the ADQL checker sees them (built once).
pub fn adql_catalog() -> &'static Vec<adql::TableInfo> {
    static CATALOG: std::sync::LazyLock<Vec<adql::TableInfo>> =
        std::sync::LazyLock::new(build_adql_catalog);
    &CATALOG
}

fn build_adql_catalog() -> Vec<adql::TableInfo> {
    published_tables()
        .iter()
        .map(|table| adql::TableInfo {
            schema: table.schema.clone(),
            name: table.name.clone(),
            columns: table
                .columns
                .iter()
                .map(|column| adql::ColumnInfo {
                    name: column.name.clone(),
                    kind: match (column.datatype.as_str(), column.xtype.as_deref()) {
                        (_, Some("timestamp")) => adql::ColumnType::Timestamp,
                        (_, Some("point" | "circle" | "polygon")) => adql::ColumnType::Geometry,
                        ("char", _) => adql::ColumnType::Text,
                        ("short" | "int" | "long", _) => adql::ColumnType::Integer,
                        ("double", _) => adql::ColumnType::Double,
                        ("boolean", _) => adql::ColumnType::Boolean,
                        _ => adql::ColumnType::Unknown,
                    },
                    unit: column.unit.clone(),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_file_parses_with_known_datatypes() {
        let tables = published_tables();
        assert_eq!(
            tables.len(),
            8 + 5,
            "exposures, baselines, targets, blocks, calibrations, coverage, summary, obscore \
             and TAP_SCHEMA's five"
        );
        for table in tables {
            assert!(
                !table.columns.is_empty(),
                "{} has no columns",
                table.qualified_name()
            );
            for column in &table.columns {
                assert!(
                    ["char", "short", "int", "long", "double", "boolean"]
                        .contains(&column.datatype.as_str()),
                    "{}.{}: datatype {}",
                    table.qualified_name(),
                    column.name,
                    column.datatype
                );
                assert!(
                    !column.description.is_empty(),
                    "{}.{} undescribed",
                    table.name,
                    column.name
                );
            }
        }
    }
}
