//! Queries a program builds (the portal's search, the ObsPortal API, cone search) rather than
//! a user types. A `Query` is a typed description printed as ADQL text, which then takes the
//! same road as every user's query (parse, check against the catalog, numbers out as
//! parameters, print): a surface can ask for nothing ADQL could not say, is checked like
//! everyone, and can show its visitors the very ADQL it ran. Values are printed as literals
//! (strings quoted, names delimited where they must be), never pasted.

use std::fmt::{self, Write};

/// A SELECT over one table (or over another query, for a bounded count), optionally joined
/// to an uploaded list by position (`near_each`).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    selection: Selection,
    from: Source,
    near_each: Option<NearEach>,
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

/// Each row of the table within `radius` [deg] of a row of the uploaded list
/// `TAP_UPLOAD.<list>`, whose position is in `ra_column`, `dec_column`: the table's rows come
/// once per list row they are near, with the list's `columns` (name, output name) after
/// their own. Names in the query's columns, conditions and order are the table's.
#[derive(Debug, Clone, PartialEq)]
pub struct NearEach {
    pub list: String,
    pub ra_column: String,
    pub dec_column: String,
    pub radius: f64,
    /// The table's position columns.
    pub table_ra: String,
    pub table_dec: String,
    pub columns: Vec<(String, String)>,
    /// The list's column the rows are ordered by first (its row number).
    pub order_column: Option<String>,
}

/// A condition on the rows; a query's conditions all hold (AND).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Equal(String, Value),
    AtLeast(String, Value),
    AtMost(String, Value),
    Greater(String, Value),
    Less(String, Value),
    /// The column's text equals this one, letters of either case alike.
    EqualIgnoringCase(String, String),
    /// The position in two columns lies within a cone.
    InCone(Cone),
    /// The column's text, a list of words separated by spaces, has this word.
    HasWord(String, String),
    /// At least one of these holds.
    AnyOf(Vec<Condition>),
    /// All of these hold (inside an `AnyOf`).
    AllOf(Vec<Condition>),
    /// A function whose value is 1 or 0 (a predicate) is 1 for these arguments.
    Holds(String, Vec<Argument>),
    /// The column's value is among the rows of a one-column query.
    In(String, Box<Query>),
}

/// A function's argument: a column of the row, or a number.
#[derive(Debug, Clone, PartialEq)]
pub enum Argument {
    Column(String),
    Number(f64),
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
            near_each: None,
            conditions: Vec::new(),
            order: Vec::new(),
            top: None,
            offset: None,
        }
    }

    /// The rows near each row of an uploaded list, with the list's columns (`NearEach`).
    pub fn near_each(mut self, list: NearEach) -> Query {
        self.near_each = Some(list);
        self
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
            near_each: None,
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
        let list_order = self
            .near_each
            .as_ref()
            .and_then(|list| list.order_column.as_ref());
        list_order
            .map(|_| false)
            .into_iter()
            .chain(self.order.iter().map(|order| {
                matches!(
                    order,
                    Order::Column {
                        missing_last: true,
                        ..
                    }
                )
            }))
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
        // Joined to a list, the table is `x` and the list `p`, and names say whose they are.
        let names = Names(self.near_each.as_ref().map(|_| "x"));
        f.write_str("SELECT ")?;
        if let Some(top) = self.top {
            write!(f, "TOP {top} ")?;
        }
        match &self.selection {
            Selection::Columns(columns) if columns.is_empty() && self.near_each.is_none() => {
                f.write_str("*")?
            }
            Selection::Columns(columns) if columns.is_empty() => f.write_str("x.*")?,
            Selection::Columns(columns) => {
                for (index, column) in columns.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    names.write(f, column)?;
                }
            }
            Selection::Count(alias) => {
                f.write_str("COUNT(*) AS ")?;
                write_name(f, alias)?;
            }
        }
        if let Some(list) = &self.near_each {
            for (column, alias) in &list.columns {
                f.write_str(", ")?;
                Names(Some("p")).write(f, column)?;
                f.write_str(" AS ")?;
                write_name(f, alias)?;
            }
        }
        f.write_str("\nFROM ")?;
        match (&self.from, &self.near_each) {
            (Source::Table(table), None) => write_name(f, table)?,
            (Source::Table(table), Some(list)) => {
                f.write_str("TAP_UPLOAD.")?;
                write_name(f, &list.list)?;
                f.write_str(" AS p\nJOIN ")?;
                write_name(f, table)?;
                f.write_str(" AS x\n  ON CONTAINS(POINT(")?;
                names.write(f, &list.table_ra)?;
                f.write_str(", ")?;
                names.write(f, &list.table_dec)?;
                f.write_str("), CIRCLE(")?;
                Names(Some("p")).write(f, &list.ra_column)?;
                f.write_str(", ")?;
                Names(Some("p")).write(f, &list.dec_column)?;
                write!(f, ", {})) = 1", number(list.radius))?;
            }
            (Source::Query(query), _) => {
                let inner = query.to_string().replace('\n', "\n  ");
                write!(f, "(\n  {inner}\n) AS counted")?;
            }
        }
        for (index, condition) in self.conditions.iter().enumerate() {
            f.write_str(if index == 0 { "\nWHERE " } else { "\n  AND " })?;
            write_condition(f, condition, names)?;
        }
        let list_order = self
            .near_each
            .as_ref()
            .and_then(|list| list.order_column.as_deref());
        if let Some(column) = list_order {
            f.write_str("\nORDER BY ")?;
            Names(Some("p")).write(f, column)?;
        }
        for (index, order) in self.order.iter().enumerate() {
            f.write_str(if index == 0 && list_order.is_none() {
                "\nORDER BY "
            } else {
                ", "
            })?;
            match order {
                Order::Column {
                    name, descending, ..
                } => {
                    names.write(f, name)?;
                    if *descending {
                        f.write_str(" DESC")?;
                    }
                }
                Order::DistanceFrom { cone } => {
                    f.write_str("DISTANCE(")?;
                    write_point_columns(f, cone, names)?;
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

/// How a query names its table's columns: plainly, or qualified by the table's alias.
#[derive(Clone, Copy)]
struct Names(Option<&'static str>);

impl Names {
    fn write(self, f: &mut fmt::Formatter<'_>, column: &str) -> fmt::Result {
        if let Some(alias) = self.0 {
            write!(f, "{alias}.")?;
        }
        write_name(f, column)
    }
}

fn write_condition(f: &mut fmt::Formatter<'_>, condition: &Condition, names: Names) -> fmt::Result {
    match condition {
        Condition::Equal(column, value) => write_comparison(f, column, "=", value, names),
        Condition::AtLeast(column, value) => write_comparison(f, column, ">=", value, names),
        Condition::AtMost(column, value) => write_comparison(f, column, "<=", value, names),
        Condition::Greater(column, value) => write_comparison(f, column, ">", value, names),
        Condition::Less(column, value) => write_comparison(f, column, "<", value, names),
        Condition::EqualIgnoringCase(column, text) => {
            f.write_str("LOWER(")?;
            names.write(f, column)?;
            write!(f, ") = LOWER({})", string(text))
        }
        Condition::InCone(cone) => write_cone(f, cone, names),
        Condition::HasWord(column, word) => {
            f.write_str("' ' || ")?;
            names.write(f, column)?;
            write!(f, " || ' ' LIKE {}", string(&format!("% {word} %")))
        }
        Condition::AnyOf(conditions) | Condition::AllOf(conditions) => {
            let joint = match condition {
                Condition::AnyOf(_) => " OR ",
                _ => " AND ",
            };
            f.write_char('(')?;
            for (index, condition) in conditions.iter().enumerate() {
                if index > 0 {
                    f.write_str(joint)?;
                }
                write_condition(f, condition, names)?;
            }
            f.write_char(')')
        }
        Condition::Holds(function, arguments) => {
            write_name(f, function)?;
            f.write_char('(')?;
            for (index, argument) in arguments.iter().enumerate() {
                if index > 0 {
                    f.write_str(", ")?;
                }
                match argument {
                    Argument::Column(column) => names.write(f, column)?,
                    Argument::Number(value) => f.write_str(&number(*value))?,
                }
            }
            f.write_str(") = 1")
        }
        Condition::In(column, query) => {
            names.write(f, column)?;
            let inner = query.to_string().replace('\n', "\n  ");
            write!(f, " IN (\n  {inner}\n)")
        }
    }
}

/// CONTAINS with a circle, which the index serves. pg_sphere's circles stop at 90 degrees, so
/// a wider cone is the complement of the circle around the opposite point, and a cone of
/// 180 degrees or more is the whole sky.
fn write_cone(f: &mut fmt::Formatter<'_>, cone: &Cone, names: Names) -> fmt::Result {
    let (ra, dec, radius, inside) = if cone.radius <= 90.0 {
        (cone.ra, cone.dec, cone.radius, 1)
    } else if cone.radius < 180.0 {
        ((cone.ra + 180.0) % 360.0, -cone.dec, 180.0 - cone.radius, 0)
    } else {
        return f.write_str("1 = 1");
    };
    f.write_str("CONTAINS(")?;
    write_point_columns(f, cone, names)?;
    write!(
        f,
        ", CIRCLE({}, {}, {})) = {inside}",
        number(ra),
        number(dec),
        number(radius)
    )
}

fn write_point_columns(f: &mut fmt::Formatter<'_>, cone: &Cone, names: Names) -> fmt::Result {
    f.write_str("POINT(")?;
    names.write(f, &cone.ra_column)?;
    f.write_str(", ")?;
    names.write(f, &cone.dec_column)?;
    f.write_char(')')
}

fn write_comparison(
    f: &mut fmt::Formatter<'_>,
    column: &str,
    operator: &str,
    value: &Value,
    names: Names,
) -> fmt::Result {
    names.write(f, column)?;
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
    fn rows_near_each_of_a_list_name_whose_columns_they_are() {
        let query = Query::select("obsportal.exposures", ["exp_id"])
            .near_each(NearEach {
                list: "plan".into(),
                ra_column: "ra".into(),
                dec_column: "dec".into(),
                radius: 0.01,
                table_ra: "target_ra".into(),
                table_dec: "target_dec".into(),
                columns: vec![("name".into(), "input_target".into())],
                order_column: Some("input_index".into()),
            })
            .filter(Condition::HasWord(
                "interferometer_stations".into(),
                "A0".into(),
            ))
            .filter(Condition::AnyOf(vec![
                Condition::AtLeast("exp_lst_start".into(), Value::Number(22.0)),
                Condition::AtMost("exp_lst_start".into(), Value::Number(2.0)),
            ]))
            .filter(Condition::In(
                "exp_id".into(),
                Box::new(Query::select("obsportal.baselines", ["exp_id"]).filter(
                    Condition::Holds(
                        "OBSPORTAL_ANGLE_WITHIN".into(),
                        vec![
                            Argument::Column("angle_start".into()),
                            Argument::Number(40.0),
                            Argument::Number(50.0),
                        ],
                    ),
                )),
            ))
            .order_by("exp_mjd_start", false);
        assert_eq!(
            query.to_string(),
            "SELECT x.exp_id, p.name AS input_target\nFROM TAP_UPLOAD.plan AS p\n\
             JOIN obsportal.exposures AS x\n  \
             ON CONTAINS(POINT(x.target_ra, x.target_dec), CIRCLE(p.ra, p.dec, 0.01)) = 1\n\
             WHERE ' ' || x.interferometer_stations || ' ' LIKE '% A0 %'\n  \
             AND (x.exp_lst_start >= 22 OR x.exp_lst_start <= 2)\n  \
             AND x.exp_id IN (\n  SELECT exp_id\n  FROM obsportal.baselines\n  \
             WHERE OBSPORTAL_ANGLE_WITHIN(angle_start, 40, 50) = 1\n)\n\
             ORDER BY p.input_index, x.exp_mjd_start"
        );
        assert_eq!(query.missing_last_by_key(), [false, false]);
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
