//! From sqlparser's AST to this crate's, construct by construct: what ADQL allows is converted
//! (names resolved against the catalog), everything else is an error where it stands. The
//! `match`es end in explicit "not ADQL" arms: nothing passes by default.
//!
//! This module holds the query, its body and SELECT, scopes and names, and what an
//! expression's output column is; `from` the FROM clause and joins, `expr` expressions and the
//! names they resolve, `calls` function calls and their arguments.

use std::rc::Rc;

use sqlparser::ast::{self as sql, Spanned};

use crate::ast::*;
use crate::catalog::{Catalog, ColumnInfo, ColumnType};
use crate::error::{AdqlError, ErrorKind};
use crate::functions::{self, Function};
use crate::hints::closest;
use crate::parameters::Literal;
use crate::reserved::is_reserved;

mod calls;
mod expr;
mod from;

use calls::*;

/// PostgreSQL's limit on a select list (its MaxTupleAttributeNumber).
const MAX_COLUMNS: usize = 1664;

/// A checked query, and where the numbers were written whose values decided whether it passed
/// (a CIRCLE's radius): the same query with another value there needs checking again.
pub(crate) struct Checked {
    pub query: Query,
    pub value_checked: Vec<(u64, u64)>,
}

pub(crate) fn check(
    statement: &sql::Statement,
    text: &str,
    catalog: Option<&dyn Catalog>,
) -> Result<Checked, AdqlError> {
    let sql::Statement::Query(query) = statement else {
        // Some statements carry no span: the error concerns the whole text, which starts at 1:1.
        let start = statement.span().start;
        let at = if start.line == 0 {
            (1, 1)
        } else {
            (start.line, start.column)
        };
        return Err(
            AdqlError::new(ErrorKind::Unsupported, "only SELECT queries can be run", at)
                .with_hint("ADQL reads; it never changes data"),
        );
    };
    let mut checker = Checker {
        catalog,
        text,
        common_tables: Vec::new(),
        value_checked: Vec::new(),
    };
    let query = checker.query(query, &Scope::root())?;
    Ok(Checked {
        query,
        value_checked: checker.value_checked,
    })
}

fn position(span: sqlparser::tokenizer::Span) -> (u64, u64) {
    (span.start.line, span.start.column)
}

fn unsupported(span: sqlparser::tokenizer::Span, message: impl Into<String>) -> AdqlError {
    AdqlError::new(ErrorKind::Unsupported, message, position(span))
}

/// A name as ADQL compares it: regular identifiers without regard to case, delimited exactly.
#[derive(Debug, Clone)]
struct Name {
    text: String,
    exact: bool,
}

impl Name {
    fn of(ident: &sql::Ident) -> Name {
        Name {
            text: ident.value.clone(),
            exact: ident.quote_style.is_some(),
        }
    }

    fn matches(&self, candidate: &str) -> bool {
        if self.exact {
            self.text == candidate
        } else {
            self.text.eq_ignore_ascii_case(candidate)
        }
    }
}

/// One table (or alias) the query can name columns of.
#[derive(Debug, Clone)]
struct ScopeEntry {
    /// Names that refer to it: its alias, or its name (and schema.name).
    names: Vec<String>,
    qualifier: Rc<Qualifier>,
    /// None when unknown (syntax-only checks): any column is accepted.
    columns: Option<Vec<ColumnInfo>>,
    /// Catalog table, for the output column's source.
    source: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct Scope<'p> {
    entries: Vec<ScopeEntry>,
    /// Columns merged by JOIN ... USING or NATURAL JOIN: named without a table.
    merged: Vec<String>,
    parent: Option<&'p Scope<'p>>,
}

impl<'p> Scope<'p> {
    fn root() -> Scope<'static> {
        Scope {
            entries: Vec::new(),
            merged: Vec::new(),
            parent: None,
        }
    }
}

struct Checker<'c> {
    catalog: Option<&'c dyn Catalog>,
    /// The query text, where the AST alone does not say what was written.
    text: &'c str,
    /// Common tables in scope, with their columns.
    common_tables: Vec<(String, Vec<ColumnInfo>)>,
    /// Where numbers whose value the checker judged were written (see `Checked`).
    value_checked: Vec<(u64, u64)>,
}

impl Checker<'_> {
    fn query(&mut self, query: &sql::Query, outer: &Scope<'_>) -> Result<Query, AdqlError> {
        let known_common_tables = self.common_tables.len();
        let mut with = Vec::new();
        if let Some(clause) = &query.with {
            if clause.recursive {
                return Err(unsupported(
                    clause.with_token.0.span,
                    "WITH RECURSIVE is not ADQL",
                ));
            }
            for table in &clause.cte_tables {
                if !table.alias.columns.is_empty() {
                    return Err(unsupported(
                        table.alias.name.span,
                        "column lists after a WITH name are not ADQL",
                    )
                    .with_hint("name the columns with AS in the query"));
                }
                let checked = self.query(&table.query, outer)?;
                let columns = output_columns(&checked);
                self.common_tables
                    .push((table.alias.name.value.clone(), columns));
                with.push(CommonTable {
                    name: table.alias.name.value.clone(),
                    query: checked,
                });
            }
        }
        if query.fetch.is_some()
            || !query.locks.is_empty()
            || query.for_clause.is_some()
            || query.settings.is_some()
            || query.format_clause.is_some()
            || !query.pipe_operators.is_empty()
        {
            return Err(unsupported(query.span(), "this clause is not ADQL"));
        }
        let offset = match &query.limit_clause {
            None => None,
            Some(sql::LimitClause::LimitOffset {
                limit: None,
                offset: Some(offset),
                limit_by,
            }) if limit_by.is_empty() => Some(self.whole_number(&offset.value, "OFFSET")?),
            Some(clause) => {
                return Err(unsupported(clause.span(), "LIMIT is not ADQL")
                    .with_hint("write SELECT TOP n ..."));
            }
        };
        let (body, columns, scope_for_order) = self.body(&query.body, outer)?;
        let mut order_by = Vec::new();
        if let Some(order) = &query.order_by {
            let sql::OrderByKind::Expressions(items) = &order.kind else {
                return Err(unsupported(order.span(), "ORDER BY ALL is not ADQL"));
            };
            for item in items {
                if item.options.nulls_first.is_some() || item.with_fill.is_some() {
                    return Err(unsupported(item.span(), "NULLS FIRST/LAST is not ADQL"));
                }
                let descending = match &item.options.sort {
                    None | Some(sql::OrderBySort::Asc) => false,
                    Some(sql::OrderBySort::Desc) => true,
                    Some(_) => {
                        return Err(unsupported(item.span(), "ORDER BY ... USING is not ADQL"))
                    }
                };
                let expr = self.order_item(&item.expr, &columns, &scope_for_order)?;
                order_by.push(OrderItem {
                    expr,
                    descending,
                    missing_last: false,
                });
            }
        }
        self.common_tables.truncate(known_common_tables);
        Ok(Query {
            with,
            body,
            order_by,
            offset,
            columns,
        })
    }

    /// A query body, its output columns, and the scope its ORDER BY may use.
    fn body<'s>(
        &mut self,
        body: &sql::SetExpr,
        outer: &'s Scope<'s>,
    ) -> Result<(Body, Vec<Output>, Scope<'s>), AdqlError> {
        match body {
            sql::SetExpr::Select(select) => {
                let (select, columns, scope) = self.select(select, outer)?;
                Ok((Body::Select(Box::new(select)), columns, scope))
            }
            sql::SetExpr::Query(query) => {
                let span = query.span();
                if query.with.is_some() || query.order_by.is_some() || query.limit_clause.is_some()
                {
                    return Err(unsupported(
                        span,
                        "a parenthesised query cannot have its own WITH, ORDER BY or OFFSET here",
                    ));
                }
                self.body(&query.body, outer)
            }
            sql::SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                let operator = match op {
                    sql::SetOperator::Union => SetOperator::Union,
                    sql::SetOperator::Intersect => SetOperator::Intersect,
                    sql::SetOperator::Except => SetOperator::Except,
                    _ => return Err(unsupported(body.span(), format!("{op} is not ADQL"))),
                };
                let all = match set_quantifier {
                    sql::SetQuantifier::All => true,
                    sql::SetQuantifier::Distinct | sql::SetQuantifier::None => false,
                    _ => return Err(unsupported(body.span(), "BY NAME is not ADQL")),
                };
                let (left, columns, _) = self.body(left, outer)?;
                let (right, right_columns, _) = self.body(right, outer)?;
                if columns.len() != right_columns.len() {
                    return Err(AdqlError::new(
                        ErrorKind::BadArguments,
                        format!(
                            "both sides of {op} must return as many columns ({} and {})",
                            columns.len(),
                            right_columns.len()
                        ),
                        position(body.span()),
                    ));
                }
                Ok((
                    Body::SetOperation {
                        operator,
                        all,
                        left: Box::new(left),
                        right: Box::new(right),
                    },
                    columns,
                    outer.child_owned(),
                ))
            }
            _ => Err(unsupported(body.span(), "only SELECT queries are ADQL")),
        }
    }

    fn select<'s>(
        &mut self,
        select: &sql::Select,
        outer: &'s Scope<'s>,
    ) -> Result<(Select, Vec<Output>, Scope<'s>), AdqlError> {
        let span = select.select_token.0.span;
        if select.into.is_some()
            || !select.lateral_views.is_empty()
            || select.prewhere.is_some()
            || !select.connect_by.is_empty()
            || !select.cluster_by.is_empty()
            || !select.distribute_by.is_empty()
            || !select.sort_by.is_empty()
            || !select.named_window.is_empty()
            || select.qualify.is_some()
            || select.value_table_mode.is_some()
            || select.exclude.is_some()
            || select.select_modifiers.is_some()
            || !select.optimizer_hints.is_empty()
        {
            return Err(unsupported(span, "this SELECT clause is not ADQL"));
        }
        let distinct = match &select.distinct {
            None | Some(sql::Distinct::All) => false,
            Some(sql::Distinct::Distinct) => true,
            Some(sql::Distinct::On(_)) => return Err(unsupported(span, "DISTINCT ON is not ADQL")),
        };
        let top = match &select.top {
            None => None,
            Some(top) if top.percent || top.with_ties => {
                return Err(unsupported(span, "TOP ... PERCENT / WITH TIES is not ADQL"))
            }
            Some(sql::Top {
                quantity: Some(sql::TopQuantity::Constant(n)),
                ..
            }) => Some(*n),
            Some(_) => {
                return Err(unsupported(span, "TOP takes a whole number").with_hint("write TOP 100"))
            }
        };

        let mut scope = Scope {
            entries: Vec::new(),
            merged: Vec::new(),
            parent: Some(outer),
        };
        let mut pending = Vec::new();
        for table in &select.from {
            pending.push(self.table_with_joins(table, &mut scope, outer)?);
        }
        // Join conditions name columns of the tables around them: resolved once all are known.
        let from = pending
            .into_iter()
            .map(|item| self.join_conditions(item, &scope))
            .collect::<Result<Vec<_>, _>>()?;

        let mut items = Vec::new();
        let mut columns = Vec::new();
        for item in &select.projection {
            self.select_item(item, &scope, &mut items, &mut columns)?;
        }
        if columns.len() > MAX_COLUMNS {
            return Err(unsupported(
                span,
                format!(
                    "this SELECT returns {} columns; at most {MAX_COLUMNS} can be selected",
                    columns.len()
                ),
            )
            .with_hint("select the columns you need by name, or in several queries"));
        }
        let filter = select
            .selection
            .as_ref()
            .map(|e| self.condition(e, &scope, "WHERE"))
            .transpose()?;
        let group_by = match &select.group_by {
            sql::GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => exprs
                .iter()
                .map(|e| self.expr(e, &scope))
                .collect::<Result<Vec<_>, _>>()?,
            _ => {
                return Err(unsupported(
                    span,
                    "GROUP BY ALL / ROLLUP / CUBE are not ADQL",
                ))
            }
        };
        let having = select
            .having
            .as_ref()
            .map(|e| self.condition(e, &scope, "HAVING"))
            .transpose()?;
        // ADQL's query specification always has a FROM clause (SQL's SELECT of constants alone
        // is not ADQL). Checked last, so that a mistake in what is selected is told first.
        if select.from.is_empty() {
            return Err(
                AdqlError::new(ErrorKind::Syntax, "a SELECT needs FROM", position(span)).with_hint(
                    "ADQL selects from a table: add FROM and the table the values come from",
                ),
            );
        }
        Ok((
            Select {
                distinct,
                top,
                items,
                from,
                filter,
                group_by,
                having,
            },
            columns,
            scope,
        ))
    }

    fn whole_number(&self, expr: &sql::Expr, clause: &str) -> Result<u64, AdqlError> {
        if let sql::Expr::Value(value) = expr {
            if let sql::Value::Number(number, _) = &value.value {
                if let Ok(n) = number.parse() {
                    return Ok(n);
                }
            }
        }
        Err(unsupported(
            expr.span(),
            format!("{clause} takes a whole number"),
        ))
    }
}

impl<'p> Scope<'p> {
    /// An empty scope under the same parent (set operations order by output columns only).
    fn child_owned(&self) -> Scope<'p> {
        Scope {
            entries: Vec::new(),
            merged: Vec::new(),
            parent: self.parent,
        }
    }
}

fn is_plain(options: &sql::WildcardAdditionalOptions) -> bool {
    options.opt_ilike.is_none()
        && options.opt_exclude.is_none()
        && options.opt_except.is_none()
        && options.opt_replace.is_none()
        && options.opt_rename.is_none()
}

fn table_alias(alias: Option<&sql::TableAlias>) -> Result<Option<String>, AdqlError> {
    match alias {
        None => Ok(None),
        Some(alias) if alias.columns.is_empty() => Ok(Some(alias.name.value.clone())),
        Some(alias) => Err(unsupported(
            alias.name.span,
            "column lists after a table alias are not ADQL",
        )),
    }
}

fn expand_star<'a>(
    entries: impl Iterator<Item = &'a ScopeEntry>,
    span: sqlparser::tokenizer::Span,
) -> Result<(Vec<ColumnRef>, Vec<Output>), AdqlError> {
    let mut refs = Vec::new();
    let mut outputs = Vec::new();
    for entry in entries {
        let Some(columns) = &entry.columns else {
            // Syntax-only: the columns are not known; keep the star as written.
            refs.push(ColumnRef {
                qualifier: Some(entry.qualifier.clone()),
                name: "*".into(),
                geometry: false,
            });
            continue;
        };
        for column in columns {
            refs.push(ColumnRef {
                qualifier: Some(entry.qualifier.clone()),
                name: column.name.clone(),
                geometry: column.kind == ColumnType::Geometry,
            });
            outputs.push(Output {
                name: column.name.clone(),
                source: entry.source.clone().map(|s| (s, column.name.clone())),
                kind: column.kind,
                unit: column.unit.clone(),
                xtype: None,
            });
        }
    }
    if refs.is_empty() {
        return Err(unsupported(span, "SELECT * needs a FROM clause"));
    }
    Ok((refs, outputs))
}

fn output_columns(query: &Query) -> Vec<ColumnInfo> {
    query
        .columns
        .iter()
        .map(|c| ColumnInfo {
            name: c.name.clone(),
            kind: c.kind,
            unit: c.unit.clone(),
        })
        .collect()
}

/// The catalog column a reference names, if the scope knows its columns.
fn column_info<'s>(column: &ColumnRef, scope: &'s Scope<'_>) -> Option<&'s ColumnInfo> {
    let mut level = Some(scope);
    while let Some(current) = level {
        let entry = current
            .entries
            .iter()
            .find(|e| Some(&e.qualifier) == column.qualifier.as_ref());
        if let Some(found) = entry
            .and_then(|e| e.columns.as_ref())
            .and_then(|columns| columns.iter().find(|c| c.name == column.name))
        {
            return Some(found);
        }
        level = current.parent;
    }
    None
}

/// A value's kind as an error message says it.
fn kind_name(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Integer | ColumnType::Double => "number",
        ColumnType::Text => "string",
        ColumnType::Timestamp => "timestamp",
        ColumnType::Geometry => "geometry",
        ColumnType::Boolean | ColumnType::Unknown => "value",
    }
}

/// What kind of values an expression gives, as far as a result column needs to know.
fn kind_of(expr: &Expr, scope: &Scope<'_>) -> ColumnType {
    use BinaryOperator as B;
    match expr {
        Expr::Column(column) => column_info(column, scope).map_or(ColumnType::Unknown, |c| c.kind),
        Expr::Number(text) if !is_whole_number(text) => ColumnType::Double,
        Expr::Number(_) | Expr::CountAll => ColumnType::Integer,
        Expr::Parameter(_, Literal::Float8(_)) => ColumnType::Double,
        Expr::Parameter(..) => ColumnType::Integer,
        Expr::String(_) => ColumnType::Text,
        Expr::Negate(inner) | Expr::Nested(inner) => kind_of(inner, scope),
        Expr::InUnit { .. } => ColumnType::Double,
        Expr::Binary {
            operator: B::Plus | B::Minus | B::Multiply | B::Divide,
            left,
            right,
        } => match (kind_of(left, scope), kind_of(right, scope)) {
            (ColumnType::Integer, ColumnType::Integer) => ColumnType::Integer,
            _ => ColumnType::Double,
        },
        Expr::Binary {
            operator: B::Concat,
            ..
        } => ColumnType::Text,
        Expr::Binary { .. }
        | Expr::Not(_)
        | Expr::IsNull { .. }
        | Expr::Between { .. }
        | Expr::InList { .. }
        | Expr::InQuery { .. }
        | Expr::Exists { .. }
        | Expr::Like { .. } => ColumnType::Boolean,
        Expr::Cast { target, .. } => match target {
            CastTarget::SmallInt | CastTarget::Integer | CastTarget::BigInt => ColumnType::Integer,
            CastTarget::Real | CastTarget::DoublePrecision => ColumnType::Double,
            CastTarget::Char(_) | CastTarget::VarChar(_) => ColumnType::Text,
            CastTarget::Timestamp => ColumnType::Timestamp,
        },
        Expr::Subquery(query) => query
            .columns
            .first()
            .map_or(ColumnType::Unknown, |c| c.kind),
        Expr::Call {
            function,
            arguments,
            ..
        } => match function {
            _ if function.is_geometry_valued() => ColumnType::Geometry,
            Function::Lower | Function::Upper | Function::Coordsys => ColumnType::Text,
            _ if function.is_predicate() => ColumnType::Integer,
            Function::Count | Function::IvoHealpixIndex => ColumnType::Integer,
            Function::Abs | Function::Min | Function::Max | Function::Coalesce => arguments
                .first()
                .map_or(ColumnType::Unknown, |a| kind_of(a, scope)),
            _ => ColumnType::Double,
        },
        Expr::OutputAlias(_) | Expr::Null => ColumnType::Unknown,
    }
}

/// The output column an expression makes.
fn describe(expr: &Expr, alias: Option<&str>, scope: &Scope<'_>) -> Output {
    let (default_name, source) = match expr {
        Expr::Column(column) => {
            let entry = scope
                .entries
                .iter()
                .find(|e| Some(&e.qualifier) == column.qualifier.as_ref());
            (
                column.name.clone(),
                entry
                    .and_then(|e| e.source.clone())
                    .map(|s| (s, column.name.clone())),
            )
        }
        Expr::Call { function, .. } => (function.name(), None),
        Expr::CountAll => ("count".into(), None),
        _ => ("expr".into(), None),
    };
    let kind = kind_of(expr, scope);
    let unit = match expr {
        Expr::Column(column) => column_info(column, scope).and_then(|c| c.unit.clone()),
        Expr::InUnit { unit, .. } => Some(unit.clone()),
        _ => None,
    };
    let xtype = match expr {
        Expr::Call {
            function: Function::Point | Function::Centroid | Function::IvoHealpixCenter,
            ..
        } => Some("point"),
        Expr::Call {
            function: Function::Circle,
            ..
        } => Some("circle"),
        Expr::Call {
            function: Function::Polygon,
            ..
        } => Some("polygon"),
        _ => None,
    };
    Output {
        name: alias.map_or(default_name, str::to_string),
        source,
        kind,
        unit,
        xtype,
    }
}

fn is_geometry(expr: &Expr) -> bool {
    match expr {
        Expr::Call { function, .. } => function.is_geometry_valued(),
        Expr::Column(_) => true, // a geometry column (the catalog decides at run time)
        Expr::Nested(inner) => is_geometry(inner),
        _ => false,
    }
}
