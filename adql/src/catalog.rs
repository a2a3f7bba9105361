//! What the checker may know about tables: given by the caller (the server fills it from
//! `schema/`, and from uploaded tables).

/// The kinds of values a column holds, as far as translation needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Integer,
    Double,
    Boolean,
    Timestamp,
    /// A pg_sphere value (point, circle, polygon) written in DALI form.
    Geometry,
    /// Computed, type not tracked.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    pub kind: ColumnType,
    /// VOUnit of the values, for IN_UNIT.
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    pub schema: String,
    pub name: String,
    pub columns: Vec<ColumnInfo>,
}

pub trait Catalog {
    /// The table `schema.name` (or `name` in any schema when `schema` is None), matched as
    /// ADQL says: regular identifiers without regard to case, delimited ones exactly.
    fn table(&self, schema: Option<&str>, name: &str, exact: bool) -> Option<&TableInfo>;

    /// Every table name, for "did you mean" hints.
    fn table_names(&self) -> Vec<String>;
}

/// A catalog held in memory, for tests and for callers that build one.
impl Catalog for Vec<TableInfo> {
    fn table(&self, schema: Option<&str>, name: &str, exact: bool) -> Option<&TableInfo> {
        let same = |a: &str, b: &str| {
            if exact {
                a == b
            } else {
                a.eq_ignore_ascii_case(b)
            }
        };
        self.iter().find(|t| {
            same(&t.name, name) && schema.is_none_or(|s| t.schema.eq_ignore_ascii_case(s))
        })
    }

    fn table_names(&self) -> Vec<String> {
        self.iter()
            .map(|t| format!("{}.{}", t.schema, t.name))
            .collect()
    }
}
