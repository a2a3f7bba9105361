//! ADQL 2.1 to PostgreSQL with pg_sphere: the security boundary of the TAP service.
//!
//! Text is parsed by sqlparser (`dialect`), then converted construct by construct into this
//! crate's own small AST (`check`): only what ADQL allows, against the tables and columns a
//! `Catalog` knows, with a whitelist of functions. Anything else is an `AdqlError` with a line
//! and column. PostgreSQL SQL is printed from that AST alone (`translate`): identifiers always
//! quoted, literals escaped, geometry turned into pg_sphere expressions the GiST index serves.
//! No user text is ever pasted into the output. This crate does no I/O.

mod ast;
pub mod build;
mod cache;
mod catalog;
mod check;
mod depth;
mod dialect;
mod error;
mod functions;
mod hints;
mod parameters;
mod reserved;
mod translate;
mod units;

pub use cache::TranslationCache;
pub use catalog::{Catalog, ColumnInfo, ColumnType, TableInfo};
pub use error::{AdqlError, ErrorKind};
pub use parameters::Literal;

/// The stack a thread needs to parse, check and translate any query the crate accepts: the
/// passes recurse as deep as the query's tree, which is bounded before parsing. Measured in a
/// debug build (a release build needs about a third); the limits tests check it.
pub const STACK_NEEDED: usize = 8 * 1024 * 1024;

/// Whether a name is an ADQL or SQL reserved word, which must be written delimited ("size").
pub fn is_reserved_word(name: &str) -> bool {
    reserved::is_reserved(name)
}

/// A checked query, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// PostgreSQL + pg_sphere SQL.
    pub sql: String,
    /// Values of the SQL's `$1`, `$2`... (none unless asked for: `translate_with_parameters`).
    pub parameters: Vec<Literal>,
    /// The columns the query returns, in order.
    pub columns: Vec<OutputColumn>,
    /// Whether a join of the query is a crossmatch by zones of declination (an equi-join
    /// PostgreSQL hashes or merges), so that a position index on either side is not needed
    /// for it.
    pub joins_by_zones: bool,
}

/// A result column: its name and, when it is a catalog column, where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputColumn {
    pub name: String,
    pub source: Option<(String, String)>,
    pub kind: ColumnType,
    /// VOUnit of the values, when known (a column's, or the one IN_UNIT converted to).
    pub unit: Option<String>,
    /// DALI xtype of geometry values (`point`, `circle`, `polygon`), written as double arrays.
    pub xtype: Option<&'static str>,
}

/// Parses, checks against `catalog` and translates one ADQL query.
pub fn translate(text: &str, catalog: &dyn Catalog) -> Result<Translation, AdqlError> {
    let statement = dialect::parse(text)?;
    let checked = check::check(&statement, text, Some(catalog))?;
    Ok(translate::to_postgres(&checked.query, Vec::new()))
}

/// As `translate`, with the query's numbers passed as parameters (`$1::float8`...) instead of
/// printed, so that queries differing only in their numbers (the same cone around another
/// target) share one prepared statement and its plan.
pub fn translate_with_parameters(
    text: &str,
    catalog: &dyn Catalog,
) -> Result<Translation, AdqlError> {
    translate_noting_checked_values(text, catalog).map(|(translation, _)| translation)
}

/// As `translate_with_parameters`, with where (line, column) the numbers were written whose
/// values the checker judged: the cache keeps them fixed.
fn translate_noting_checked_values(
    text: &str,
    catalog: &dyn Catalog,
) -> Result<(Translation, Vec<(u64, u64)>), AdqlError> {
    let statement = dialect::parse(text)?;
    let mut checked = check::check(&statement, text, Some(catalog))?;
    let parameters = parameters::take_numbers(&mut checked.query);
    let value_checked = std::mem::take(&mut checked.value_checked);
    Ok((
        translate::to_postgres(&checked.query, parameters),
        value_checked,
    ))
}

/// A query a program built, translated as its ADQL text is (parse, check, numbers as
/// parameters, print), with what ADQL cannot say added to the checked query: the order of
/// rows without a value (`build::Query::order_by_missing_last`).
pub fn translate_built(
    query: &build::Query,
    catalog: &dyn Catalog,
) -> Result<Translation, AdqlError> {
    let text = query.to_string();
    let statement = dialect::parse(&text)?;
    let mut checked = check::check(&statement, &text, Some(catalog))?;
    for (item, missing_last) in checked
        .query
        .order_by
        .iter_mut()
        .zip(query.missing_last_by_key())
    {
        item.missing_last = missing_last;
    }
    let parameters = parameters::take_numbers(&mut checked.query);
    Ok(translate::to_postgres(&checked.query, parameters))
}

/// Parses and checks the grammar alone: any table or column name is accepted.
pub fn check_syntax(text: &str) -> Result<(), AdqlError> {
    let statement = dialect::parse(text)?;
    check::check(&statement, text, None).map(|_| ())
}
