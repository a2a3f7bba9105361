//! Queries a program builds (the portal's search, the ObsPortal API, cone search) rather than
//! a user types. A `Query` is a typed description printed as ADQL text, which then takes the
//! same road as every user's query (parse, check against the catalog, numbers out as
//! parameters, print): a surface can ask for nothing ADQL could not say, is checked like
//! everyone, and can show its visitors the very ADQL it ran. Values are printed as literals
//! (strings quoted, names delimited where they must be), never pasted.

use std::fmt::{self, Write};

/// A SELECT over one table (or over another query, for a bounded count).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    selection: Selection,
    from: Source,
    conditions: Vec<Condition>,
    order: Vec<Order>,
    top: Option<u64>,
    offset: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
enum Selection {
    Columns(Vec<String>),
    /// `COUNT(*) AS name`.
    Count(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Source {
    Table(String),
    Query(Box<Query>),
}

/// A condition on the rows; a query's conditions all hold (AND).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Equal(String, Value),
    AtLeast(String, Value),
    AtMost(String, Value),
    /// The column's text equals this one, letters of either case alike.
    EqualIgnoringCase(String, String),
    /// The position in two columns lies within a cone.
    InCone(Cone),
}

/// A cone around a position [degrees], over the positions held in two columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Cone {
    pub ra_column: String,
    pub dec_column: String,
    pub ra: f64,
    pub dec: f64,
    pub radius: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(f64),
    Text(String),
    /// An instant as ADQL compares it to a timestamp column: ISO 8601 text.
    Timestamp(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Order {
    Column {
        name: String,
        descending: bool,
        /// Rows without a value last also when descending (see `order_by_missing_last`).
        missing_last: bool,
    },
    /// Nearest first from a position, over the positions in two columns.
    DistanceFrom { cone: Cone },
}

impl Query {
    /// `SELECT columns FROM table`.
    pub fn select<S: Into<String>>(table: &str, columns: impl IntoIterator<Item = S>) -> Query {
        Query {
            selection: Selection::Columns(columns.into_iter().map(Into::into).collect()),
            from: Source::Table(table.to_string()),
            conditions: Vec::new(),
            order: Vec::new(),
            top: None,
            offset: None,
        }
    }

    /// How many rows this query finds, counting no further than `up_to` when given (the count
    /// then reads at most that many rows).
    pub fn count(&self, alias: &str, up_to: Option<u64>) -> Query {
        let mut rows = self.clone();
        rows.order.clear();
        rows.offset = None;
        rows.top = up_to;
        if let Selection::Columns(columns) = &mut rows.selection {
            columns.truncate(1);
        }
        Query {
            selection: Selection::Count(alias.to_string()),
            from: Source::Query(Box::new(rows)),
            conditions: Vec::new(),
            order: Vec::new(),
            top: None,
            offset: None,
        }
    }

    pub fn filter(mut self, condition: Condition) -> Query {
        self.conditions.push(condition);
        self
    }

    pub fn order_by(mut self, column: &str, descending: bool) -> Query {
        self.order.push(Order::Column {
            name: column.to_string(),
            descending,
            missing_last: false,
        });
        self
    }

    /// As `order_by`, with rows that have no value last also when descending (the worst
    /// seeing first, not the exposures without a seeing). ADQL cannot say this: its text
    /// (`to_string`) orders them first when descending, and the query must be translated
    /// with `crate::translate_built`, which adds the order after the check.
    pub fn order_by_missing_last(mut self, column: &str, descending: bool) -> Query {
        self.order.push(Order::Column {
            name: column.to_string(),
            descending,
            missing_last: true,
        });
        self
    }

    /// Whether the query asks for an order ADQL text cannot carry.
    pub fn orders_missing_last(&self) -> bool {
        self.order.iter().any(|order| {
            matches!(
                order,
                Order::Column {
                    descending: true,
                    missing_last: true,
                    ..
                }
            )
        })
    }

    /// For each ORDER BY key in order, whether it puts missing values last when descending.
    pub(crate) fn missing_last_by_key(&self) -> Vec<bool> {
        self.order
            .iter()
            .map(|order| {
                matches!(
                    order,
                    Order::Column {
                        missing_last: true,
                        ..
                    }
                )
            })
            .collect()
    }

    /// Nearest first from the cone's centre.
    pub fn order_by_distance(mut self, cone: &Cone) -> Query {
        self.order.push(Order::DistanceFrom { cone: cone.clone() });
        self
    }

    pub fn top(mut self, rows: u64) -> Query {
        self.top = Some(rows);
        self
    }

    pub fn offset(mut self, rows: u64) -> Query {
        self.offset = Some(rows);
        self
    }
}

/// The query as ADQL text, on several lines as a person would write it.
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        if let Some(top) = self.top {
            write!(f, "TOP {top} ")?;
        }
        match &self.selection {
            Selection::Columns(columns) if columns.is_empty() => f.write_str("*")?,
            Selection::Columns(columns) => {
                for (index, column) in columns.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write_name(f, column)?;
                }
            }
            Selection::Count(alias) => {
                f.write_str("COUNT(*) AS ")?;
                write_name(f, alias)?;
            }
        }
        f.write_str("\nFROM ")?;
        match &self.from {
            Source::Table(table) => write_name(f, table)?,
            Source::Query(query) => {
                let inner = query.to_string().replace('\n', "\n  ");
                write!(f, "(\n  {inner}\n) AS counted")?;
            }
        }
        for (index, condition) in self.conditions.iter().enumerate() {
            f.write_str(if index == 0 { "\nWHERE " } else { "\n  AND " })?;
            write_condition(f, condition)?;
        }
        for (index, order) in self.order.iter().enumerate() {
            f.write_str(if index == 0 { "\nORDER BY " } else { ", " })?;
            match order {
                Order::Column {
                    name, descending, ..
                } => {
                    write_name(f, name)?;
                    if *descending {
                        f.write_str(" DESC")?;
                    }
                }
                Order::DistanceFrom { cone } => {
                    f.write_str("DISTANCE(")?;
                    write_point_columns(f, cone)?;
                    write!(f, ", POINT({}, {}))", number(cone.ra), number(cone.dec))?;
                }
            }
        }
        if let Some(offset) = self.offset {
            write!(f, "\nOFFSET {offset}")?;
        }
        Ok(())
    }
}

fn write_condition(f: &mut fmt::Formatter<'_>, condition: &Condition) -> fmt::Result {
    match condition {
        Condition::Equal(column, value) => write_comparison(f, column, "=", value),
        Condition::AtLeast(column, value) => write_comparison(f, column, ">=", value),
        Condition::AtMost(column, value) => write_comparison(f, column, "<=", value),
        Condition::EqualIgnoringCase(column, text) => {
            f.write_str("LOWER(")?;
            write_name(f, column)?;
            write!(f, ") = LOWER({})", string(text))
        }
        Condition::InCone(cone) => write_cone(f, cone),
    }
}

/// CONTAINS with a circle, which the index serves. pg_sphere's circles stop at 90 degrees, so
/// a wider cone is the complement of the circle around the opposite point, and a cone of
/// 180 degrees or more is the whole sky.
fn write_cone(f: &mut fmt::Formatter<'_>, cone: &Cone) -> fmt::Result {
    let (ra, dec, radius, inside) = if cone.radius <= 90.0 {
        (cone.ra, cone.dec, cone.radius, 1)
    } else if cone.radius < 180.0 {
        ((cone.ra + 180.0) % 360.0, -cone.dec, 180.0 - cone.radius, 0)
    } else {
        return f.write_str("1 = 1");
    };
    f.write_str("CONTAINS(")?;
    write_point_columns(f, cone)?;
    write!(
        f,
        ", CIRCLE({}, {}, {})) = {inside}",
        number(ra),
        number(dec),
        number(radius)
    )
}

fn write_point_columns(f: &mut fmt::Formatter<'_>, cone: &Cone) -> fmt::Result {
    f.write_str("POINT(")?;
    write_name(f, &cone.ra_column)?;
    f.write_str(", ")?;
    write_name(f, &cone.dec_column)?;
    f.write_char(')')
}

fn write_comparison(
    f: &mut fmt::Formatter<'_>,
    column: &str,
    operator: &str,
    value: &Value,
) -> fmt::Result {
    write_name(f, column)?;
    write!(f, " {operator} ")?;
    match value {
        Value::Number(value) => f.write_str(&number(*value)),
        Value::Text(text) | Value::Timestamp(text) => f.write_str(&string(text)),
    }
}

/// A possibly qualified name (`schema.table`), each part delimited when it is not a regular
/// identifier or is a reserved word.
fn write_name(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    for (index, part) in name.split('.').enumerate() {
        if index > 0 {
            f.write_char('.')?;
        }
        let regular = part.starts_with(|c: char| c.is_ascii_alphabetic())
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !crate::reserved::is_reserved(part);
        if regular {
            f.write_str(part)?;
        } else {
            write!(f, "\"{}\"", part.replace('"', "\"\""))?;
        }
    }
    Ok(())
}

fn string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A number as ADQL writes it: Rust prints finite numbers without exponents, so the text is
/// always an ADQL literal (a non-finite value would not be, and the check refuses it).
fn number(value: f64) -> String {
    format!("{value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cone(radius: f64) -> Cone {
        Cone {
            ra_column: "target_ra".into(),
            dec_column: "target_dec".into(),
            ra: 10.5,
            dec: -20.0,
            radius,
        }
    }

    #[test]
    fn prints_what_a_person_would_write_with_values_quoted() {
        let query = Query::select("obsportal.exposures", ["exp_id", "size"])
            .filter(Condition::EqualIgnoringCase(
                "target_name".into(),
                "O'Hara".into(),
            ))
            .filter(Condition::InCone(cone(30.0 / 3600.0)))
            .filter(Condition::AtLeast(
                "exp_mjd_start".into(),
                Value::Number(0.0001),
            ))
            .order_by("exp_mjd_start", true)
            .top(51)
            .offset(100);
        assert_eq!(
            query.to_string(),
            "SELECT TOP 51 exp_id, \"size\"\nFROM obsportal.exposures\n\
             WHERE LOWER(target_name) = LOWER('O''Hara')\n  \
             AND CONTAINS(POINT(target_ra, target_dec), CIRCLE(10.5, -20, 0.008333333333333333)) = 1\n  \
             AND exp_mjd_start >= 0.0001\nORDER BY exp_mjd_start DESC\nOFFSET 100"
        );
    }

    #[test]
    fn wide_cones_are_the_complement_of_the_opposite_circle() {
        let query = Query::select("t", ["a"]).filter(Condition::InCone(cone(120.0)));
        assert!(query.to_string().ends_with("CIRCLE(190.5, 20, 60)) = 0"));
        let sky = Query::select("t", ["a"]).filter(Condition::InCone(cone(180.0)));
        assert!(sky.to_string().ends_with("WHERE 1 = 1"));
    }

    #[test]
    fn a_count_reads_no_more_rows_than_asked() {
        let rows = Query::select("t", ["a", "b"])
            .filter(Condition::Equal("b".into(), Value::Text("x".into())))
            .order_by("a", false)
            .top(10);
        assert_eq!(
            rows.count("n", Some(1001)).to_string(),
            "SELECT COUNT(*) AS n\nFROM (\n  SELECT TOP 1001 a\n  FROM t\n  WHERE b = 'x'\n) AS counted"
        );
    }
}
