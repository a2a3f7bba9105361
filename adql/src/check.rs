//! From sqlparser's AST to this crate's, construct by construct: what ADQL allows is converted
//! (names resolved against the catalog), everything else is an error where it stands. The
//! `match`es end in explicit "not ADQL" arms: nothing passes by default.

use std::rc::Rc;

use sqlparser::ast::{self as sql, Spanned};

use crate::ast::*;
use crate::catalog::{Catalog, ColumnInfo, ColumnType};
use crate::error::{AdqlError, ErrorKind};
use crate::functions::{self, Function};
use crate::hints::closest;
use crate::parameters::Literal;
use crate::reserved::is_reserved;

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
                order_by.push(OrderItem { expr, descending });
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

    fn table_with_joins<'q>(
        &mut self,
        table: &'q sql::TableWithJoins,
        scope: &mut Scope<'_>,
        outer: &Scope<'_>,
    ) -> Result<Pending<'q>, AdqlError> {
        let mut item = Pending::Item(self.table_factor(&table.relation, scope, outer)?);
        for join in &table.joins {
            let left_tables = scope.entries.len();
            let right = self.table_factor(&join.relation, scope, outer)?;
            let (kind, constraint) = match &join.join_operator {
                sql::JoinOperator::Join(c) | sql::JoinOperator::Inner(c) => (JoinKind::Inner, c),
                sql::JoinOperator::Left(c) | sql::JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
                sql::JoinOperator::Right(c) | sql::JoinOperator::RightOuter(c) => {
                    (JoinKind::Right, c)
                }
                sql::JoinOperator::FullOuter(c) => (JoinKind::Full, c),
                sql::JoinOperator::CrossJoin(c) => (JoinKind::Cross, c),
                _ => {
                    return Err(unsupported(
                        join.relation.span(),
                        "this kind of JOIN is not ADQL",
                    ))
                }
            };
            let (natural, constraint) = match constraint {
                sql::JoinConstraint::None => (false, PendingConstraint::None),
                sql::JoinConstraint::Natural => {
                    // The columns both sides have are merged.
                    let right_columns: Vec<String> = scope.entries[left_tables..]
                        .iter()
                        .flat_map(|e| e.columns.iter().flatten().map(|c| c.name.clone()))
                        .collect();
                    let common: Vec<String> = scope.entries[..left_tables]
                        .iter()
                        .flat_map(|e| e.columns.iter().flatten().map(|c| c.name.clone()))
                        .filter(|name| right_columns.contains(name))
                        .collect();
                    scope.merged.extend(common);
                    (true, PendingConstraint::None)
                }
                sql::JoinConstraint::On(expr) => (false, PendingConstraint::On(expr)),
                sql::JoinConstraint::Using(names) => {
                    let mut columns = Vec::new();
                    for name in names {
                        match name.0.as_slice() {
                            [sql::ObjectNamePart::Identifier(ident)] => {
                                columns.push(ident.value.clone())
                            }
                            _ => return Err(unsupported(name.span(), "USING takes column names")),
                        }
                    }
                    scope.merged.extend(columns.iter().cloned());
                    (false, PendingConstraint::Using(columns))
                }
                sql::JoinConstraint::UsingAlias(..) => {
                    return Err(unsupported(
                        join.relation.span(),
                        "USING ... AS is not ADQL",
                    ))
                }
            };
            item = Pending::Join {
                left: Box::new(item),
                right: Box::new(Pending::Item(right)),
                kind,
                natural,
                constraint,
            };
        }
        Ok(item)
    }

    fn join_conditions(
        &mut self,
        item: Pending<'_>,
        scope: &Scope<'_>,
    ) -> Result<FromItem, AdqlError> {
        Ok(match item {
            Pending::Item(item) => item,
            Pending::Join {
                left,
                right,
                kind,
                natural,
                constraint,
            } => FromItem::Join {
                left: Box::new(self.join_conditions(*left, scope)?),
                right: Box::new(self.join_conditions(*right, scope)?),
                kind,
                natural,
                constraint: match constraint {
                    PendingConstraint::None => JoinConstraint::None,
                    PendingConstraint::On(expr) => JoinConstraint::On(self.expr(expr, scope)?),
                    PendingConstraint::Using(columns) => JoinConstraint::Using(columns),
                },
            },
        })
    }

    fn table_factor(
        &mut self,
        factor: &sql::TableFactor,
        scope: &mut Scope<'_>,
        outer: &Scope<'_>,
    ) -> Result<FromItem, AdqlError> {
        match factor {
            sql::TableFactor::Table {
                name,
                alias,
                args: None,
                with_hints,
                version: None,
                with_ordinality: false,
                partitions,
                json_path: None,
                sample: None,
                index_directives,
                inheritance: None,
            } if with_hints.is_empty() && partitions.is_empty() && index_directives.is_empty() => {
                let alias = table_alias(alias.as_ref())?;
                let parts: Vec<&sql::Ident> = name
                    .0
                    .iter()
                    .map(|part| match part {
                        sql::ObjectNamePart::Identifier(ident) => Ok(ident),
                        _ => Err(unsupported(name.span(), "not a table name")),
                    })
                    .collect::<Result<_, _>>()?;
                let (schema, table) = match parts.as_slice() {
                    [table] => (None, *table),
                    [schema, table] => (Some(*schema), *table),
                    [_catalog, _schema, _table] => {
                        return Err(unsupported(
                            name.span(),
                            "catalog-qualified table names are not served here",
                        ))
                    }
                    _ => return Err(unsupported(name.span(), "not a table name")),
                };
                // A common table named like this comes first.
                if schema.is_none() {
                    let wanted = Name::of(table);
                    if let Some((cte, columns)) = self
                        .common_tables
                        .iter()
                        .rev()
                        .find(|(n, _)| wanted.matches(n))
                        .cloned()
                    {
                        let qualifier = Rc::new(Qualifier::Name(
                            alias.clone().unwrap_or_else(|| cte.clone()),
                        ));
                        scope.entries.push(ScopeEntry {
                            names: vec![alias.clone().unwrap_or_else(|| cte.clone())],
                            qualifier,
                            columns: Some(columns),
                            source: None,
                        });
                        return Ok(FromItem::CommonTable { name: cte, alias });
                    }
                }
                let (schema_name, table_name, columns) = match self.catalog {
                    None => (
                        schema.map(|s| s.value.clone()).unwrap_or_default(),
                        table.value.clone(),
                        None,
                    ),
                    Some(catalog) => {
                        let found = catalog.table(
                            schema.map(|s| s.value.as_str()),
                            &table.value,
                            table.quote_style.is_some(),
                        );
                        let Some(found) = found else {
                            let written = match schema {
                                Some(s) => format!("{}.{}", s.value, table.value),
                                None => table.value.clone(),
                            };
                            let mut error = AdqlError::new(
                                ErrorKind::UnknownTable,
                                format!("there is no table {written}"),
                                position(name.span()),
                            );
                            let names = catalog.table_names();
                            let bare: Vec<String> = names
                                .iter()
                                .map(|n| n.rsplit('.').next().unwrap_or(n).to_string())
                                .collect();
                            let suggestion = closest(&written, &names).or_else(|| {
                                closest(&written, &bare).and_then(|b| {
                                    names
                                        .iter()
                                        .find(|n| n.ends_with(&format!(".{b}")))
                                        .cloned()
                                })
                            });
                            if let Some(closest) = suggestion {
                                error = error.with_hint(format!("did you mean {closest}?"));
                            }
                            return Err(error);
                        };
                        (
                            found.schema.clone(),
                            found.name.clone(),
                            Some(found.columns.clone()),
                        )
                    }
                };
                let qualifier = Rc::new(match &alias {
                    Some(alias) => Qualifier::Name(alias.clone()),
                    None => Qualifier::Table {
                        schema: schema_name.clone(),
                        table: table_name.clone(),
                    },
                });
                let names = match &alias {
                    Some(alias) => vec![alias.clone()],
                    None => vec![table_name.clone(), format!("{schema_name}.{table_name}")],
                };
                scope.entries.push(ScopeEntry {
                    names,
                    qualifier,
                    columns,
                    source: Some(format!("{schema_name}.{table_name}")),
                });
                let _ = outer;
                Ok(FromItem::Table {
                    schema: schema_name,
                    name: table_name,
                    alias,
                })
            }
            sql::TableFactor::Derived {
                lateral: false,
                subquery,
                alias,
                sample: None,
            } => {
                let Some(alias) = table_alias(alias.as_ref())? else {
                    return Err(
                        unsupported(factor.span(), "a subquery in FROM needs a name")
                            .with_hint("add AS name after the parenthesis"),
                    );
                };
                let query = self.query(subquery, outer)?;
                scope.entries.push(ScopeEntry {
                    names: vec![alias.clone()],
                    qualifier: Rc::new(Qualifier::Name(alias.clone())),
                    columns: Some(output_columns(&query)),
                    source: None,
                });
                Ok(FromItem::Subquery {
                    query: Box::new(query),
                    alias,
                })
            }
            sql::TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => {
                // Its join conditions name the tables inside the parentheses (and before).
                let pending = self.table_with_joins(table_with_joins, scope, outer)?;
                let item = self.join_conditions(pending, scope)?;
                Ok(FromItem::Nested(Box::new(item)))
            }
            sql::TableFactor::NestedJoin { .. } => Err(unsupported(
                factor.span(),
                "a parenthesised join cannot be renamed",
            )),
            _ => Err(unsupported(
                factor.span(),
                "only tables and subqueries can appear in FROM",
            )),
        }
    }

    fn select_item(
        &mut self,
        item: &sql::SelectItem,
        scope: &Scope<'_>,
        items: &mut Vec<SelectItem>,
        columns: &mut Vec<Output>,
    ) -> Result<(), AdqlError> {
        match item {
            sql::SelectItem::Wildcard(options) if is_plain(options) => {
                let (refs, outputs) = expand_star(scope.entries.iter(), item.span())?;
                items.push(SelectItem::Columns(refs));
                columns.extend(outputs);
                Ok(())
            }
            sql::SelectItem::QualifiedWildcard(
                sql::SelectItemQualifiedWildcardKind::ObjectName(name),
                options,
            ) if is_plain(options) => {
                let written = name.to_string();
                let entry = scope
                    .entries
                    .iter()
                    .find(|e| e.names.iter().any(|n| n.eq_ignore_ascii_case(&written)));
                let Some(entry) = entry else {
                    return Err(AdqlError::new(
                        ErrorKind::UnknownTable,
                        format!("{written} is not a table of this FROM clause"),
                        position(name.span()),
                    ));
                };
                let (refs, outputs) = expand_star(std::iter::once(entry), item.span())?;
                items.push(SelectItem::Columns(refs));
                columns.extend(outputs);
                Ok(())
            }
            sql::SelectItem::UnnamedExpr(expr) => {
                let checked = self.expr(expr, scope)?;
                columns.push(describe(&checked, None, scope));
                items.push(SelectItem::Expr {
                    expr: checked,
                    alias: None,
                });
                Ok(())
            }
            sql::SelectItem::ExprWithAlias { expr, alias } => {
                if alias.quote_style.is_none() && is_reserved(&alias.value) {
                    return Err(AdqlError::new(
                        ErrorKind::Syntax,
                        format!("{} is a reserved word", alias.value),
                        position(alias.span),
                    )
                    .with_hint(format!("write AS \"{}\"", alias.value)));
                }
                let checked = self.expr(expr, scope)?;
                columns.push(describe(&checked, Some(&alias.value), scope));
                items.push(SelectItem::Expr {
                    expr: checked,
                    alias: Some(alias.value.clone()),
                });
                Ok(())
            }
            _ => Err(unsupported(item.span(), "this select item is not ADQL")),
        }
    }

    /// ORDER BY: an output column's alias or position, or an expression.
    fn order_item(
        &mut self,
        expr: &sql::Expr,
        columns: &[Output],
        scope: &Scope<'_>,
    ) -> Result<Expr, AdqlError> {
        if let sql::Expr::Identifier(ident) = expr {
            let name = Name::of(ident);
            let aliased = columns.iter().any(|c| name.matches(&c.name));
            let is_column = self.resolve(std::slice::from_ref(ident), scope).is_ok();
            if aliased && !is_column {
                let output = columns
                    .iter()
                    .find(|c| name.matches(&c.name))
                    .expect("found above");
                return Ok(Expr::OutputAlias(output.name.clone()));
            }
        }
        if let sql::Expr::Value(value) = expr {
            if let sql::Value::Number(number, _) = &value.value {
                let position_number: usize = number.parse().map_err(|_| {
                    unsupported(
                        expr.span(),
                        "ORDER BY takes a column position, name or expression",
                    )
                })?;
                if position_number == 0 || position_number > columns.len() {
                    return Err(AdqlError::new(
                        ErrorKind::BadArguments,
                        format!(
                            "ORDER BY {position_number}: the query returns {} column{}",
                            columns.len(),
                            if columns.len() == 1 { "" } else { "s" }
                        ),
                        position(expr.span()),
                    ));
                }
                return Ok(Expr::Number(number.clone()));
            }
        }
        self.expr(expr, scope)
    }

    /// A WHERE or HAVING condition: a comparison, not a value (PostgreSQL refused a number
    /// there as a server error; ADQL's CONTAINS gives 0 or 1 and is compared).
    fn condition(
        &mut self,
        expr: &sql::Expr,
        scope: &Scope<'_>,
        clause: &str,
    ) -> Result<Expr, AdqlError> {
        let checked = self.expr(expr, scope)?;
        match kind_of(&checked, scope) {
            ColumnType::Boolean | ColumnType::Unknown => Ok(checked),
            kind => {
                let mut error = AdqlError::new(
                    ErrorKind::BadArguments,
                    format!("{clause} needs a condition, not a {}", kind_name(kind)),
                    position(expr.span()),
                );
                if let Expr::Call {
                    function: Function::Contains | Function::Intersects,
                    ..
                } = checked
                {
                    error = error
                        .with_hint("CONTAINS and INTERSECTS give 0 or 1: write CONTAINS(...) = 1");
                }
                Err(error)
            }
        }
    }

    /// Recurses as deep as the expression: `depth` bounded that before parsing.
    fn expr(&mut self, expr: &sql::Expr, scope: &Scope<'_>) -> Result<Expr, AdqlError> {
        let boxed = |checker: &mut Self, e: &sql::Expr| checker.expr(e, scope).map(Box::new);
        Ok(match expr {
            sql::Expr::Identifier(ident) => {
                Expr::Column(self.resolve(std::slice::from_ref(ident), scope)?)
            }
            sql::Expr::CompoundIdentifier(parts) => Expr::Column(self.resolve(parts, scope)?),
            sql::Expr::Value(value) => match &value.value {
                sql::Value::Number(number, _) => Expr::Number(number.clone()),
                sql::Value::SingleQuotedString(text) => Expr::String(text.clone()),
                sql::Value::Null => Expr::Null,
                sql::Value::Boolean(_) => {
                    return Err(
                        unsupported(expr.span(), "TRUE and FALSE are not ADQL values")
                            .with_hint("compare with 1 or 0"),
                    )
                }
                _ => {
                    return Err(unsupported(expr.span(), "this kind of literal is not ADQL")
                        .with_hint("strings use single quotes: 'text'"))
                }
            },
            sql::Expr::Nested(inner) => Expr::Nested(boxed(self, inner)?),
            sql::Expr::UnaryOp { op, expr: inner } => match op {
                sql::UnaryOperator::Minus => Expr::Negate(boxed(self, inner)?),
                sql::UnaryOperator::Plus => self.expr(inner, scope)?,
                sql::UnaryOperator::Not => Expr::Not(boxed(self, inner)?),
                _ => {
                    return Err(unsupported(
                        expr.span(),
                        format!("the operator {op} is not ADQL"),
                    ))
                }
            },
            sql::Expr::BinaryOp { left, op, right } => {
                let operator = match op {
                    sql::BinaryOperator::Plus => BinaryOperator::Plus,
                    sql::BinaryOperator::Minus => BinaryOperator::Minus,
                    sql::BinaryOperator::Multiply => BinaryOperator::Multiply,
                    sql::BinaryOperator::Divide => BinaryOperator::Divide,
                    sql::BinaryOperator::StringConcat => BinaryOperator::Concat,
                    sql::BinaryOperator::Eq => BinaryOperator::Equal,
                    sql::BinaryOperator::NotEq => BinaryOperator::NotEqual,
                    sql::BinaryOperator::Lt => BinaryOperator::Less,
                    sql::BinaryOperator::LtEq => BinaryOperator::LessOrEqual,
                    sql::BinaryOperator::Gt => BinaryOperator::Greater,
                    sql::BinaryOperator::GtEq => BinaryOperator::GreaterOrEqual,
                    sql::BinaryOperator::And => BinaryOperator::And,
                    sql::BinaryOperator::Or => BinaryOperator::Or,
                    sql::BinaryOperator::Modulo => {
                        return Err(
                            unsupported(expr.span(), "% is not ADQL").with_hint("write MOD(a, b)")
                        )
                    }
                    _ => {
                        return Err(unsupported(
                            expr.span(),
                            format!("the operator {op} is not ADQL"),
                        ))
                    }
                };
                let (left, right) = (boxed(self, left)?, boxed(self, right)?);
                // PostgreSQL has no || for pg_sphere's types: it failed there as a server error.
                let geometry = |side: &Expr| kind_of(side, scope) == ColumnType::Geometry;
                if operator == BinaryOperator::Concat && (geometry(&left) || geometry(&right)) {
                    return Err(AdqlError::new(
                        ErrorKind::BadArguments,
                        "|| joins strings, not geometries",
                        position(expr.span()),
                    ));
                }
                Expr::Binary {
                    operator,
                    left,
                    right,
                }
            }
            sql::Expr::IsNull(inner) => Expr::IsNull {
                expr: boxed(self, inner)?,
                negated: false,
            },
            sql::Expr::IsNotNull(inner) => Expr::IsNull {
                expr: boxed(self, inner)?,
                negated: true,
            },
            sql::Expr::Between {
                expr: inner,
                negated,
                low,
                high,
            } => Expr::Between {
                expr: boxed(self, inner)?,
                negated: *negated,
                low: boxed(self, low)?,
                high: boxed(self, high)?,
            },
            sql::Expr::In {
                expr: inner,
                target,
                negated,
                global: false,
            } => match target {
                sql::InTarget::List(list) => Expr::InList {
                    expr: boxed(self, inner)?,
                    negated: *negated,
                    list: list
                        .iter()
                        .map(|e| self.expr(e, scope))
                        .collect::<Result<_, _>>()?,
                },
                sql::InTarget::Subquery(query) => Expr::InQuery {
                    expr: boxed(self, inner)?,
                    negated: *negated,
                    query: Box::new(self.query(query, scope)?),
                },
                _ => return Err(unsupported(expr.span(), "IN takes a list or a subquery")),
            },
            sql::Expr::Exists { subquery, negated } => Expr::Exists {
                negated: *negated,
                query: Box::new(self.query(subquery, scope)?),
            },
            sql::Expr::Subquery(query) => Expr::Subquery(Box::new(self.query(query, scope)?)),
            sql::Expr::Like {
                negated,
                any: false,
                expr: inner,
                pattern,
                escape_char: None,
            }
            | sql::Expr::ILike {
                negated,
                any: false,
                expr: inner,
                pattern,
                escape_char: None,
            } => Expr::Like {
                expr: boxed(self, inner)?,
                negated: *negated,
                pattern: boxed(self, pattern)?,
                case_insensitive: matches!(expr, sql::Expr::ILike { .. }),
            },
            sql::Expr::Ceil { .. } => {
                // CEILING arrives as an ordinary function call; this is CEIL, which ADQL lacks.
                return Err(AdqlError::new(
                    ErrorKind::UnknownFunction,
                    "CEIL is not an ADQL function",
                    self.keyword_before(expr.span(), "CEIL"),
                )
                .with_hint("ADQL writes CEILING"));
            }
            sql::Expr::Floor {
                expr: inner,
                field: sql::CeilFloorKind::DateTimeField(sql::DateTimeField::NoDateTime),
            } => Expr::Call {
                function: Function::Floor,
                arguments: vec![self.expr(inner, scope)?],
                distinct: false,
            },
            sql::Expr::Cast {
                kind: sql::CastKind::Cast,
                expr: inner,
                data_type,
                format: None,
            } => Expr::Cast {
                expr: boxed(self, inner)?,
                target: cast_target(data_type, expr.span())?,
            },
            sql::Expr::Function(function) => self.call(function, scope)?,
            sql::Expr::Floor { .. } => {
                return Err(AdqlError::new(
                    ErrorKind::BadArguments,
                    "FLOOR takes 1 argument",
                    position(expr.span()),
                ))
            }
            sql::Expr::Cast {
                kind: sql::CastKind::DoubleColon,
                ..
            } => {
                return Err(unsupported(expr.span(), "'::' is not ADQL")
                    .with_hint("write CAST(value AS type)"))
            }
            sql::Expr::Substring { .. }
            | sql::Expr::Position { .. }
            | sql::Expr::Trim { .. }
            | sql::Expr::Extract { .. }
            | sql::Expr::Overlay { .. } => {
                return Err(unsupported(expr.span(), "this SQL function is not ADQL")
                    .with_hint("ADQL has LOWER, UPPER, || and LIKE for strings"))
            }
            sql::Expr::Case { .. } => {
                return Err(
                    unsupported(expr.span(), "CASE is not ADQL 2.1").with_hint("COALESCE is")
                )
            }
            _ => return Err(unsupported(expr.span(), "this expression is not ADQL")),
        })
    }

    fn call(&mut self, function: &sql::Function, scope: &Scope<'_>) -> Result<Expr, AdqlError> {
        let span = function.name.span();
        let name = function.name.to_string();
        if function.filter.is_some()
            || function.over.is_some()
            || !function.within_group.is_empty()
            || function.null_treatment.is_some()
        {
            return Err(unsupported(
                span,
                "FILTER, OVER and WITHIN GROUP are not ADQL",
            ));
        }
        if name.eq_ignore_ascii_case("IN_UNIT") {
            return self.in_unit(function, scope);
        }
        if name.eq_ignore_ascii_case("BOX") {
            return self.box_as_polygon(function, scope);
        }
        let Some((known, least, most)) = functions::lookup(&name) else {
            let mut error = AdqlError::new(
                ErrorKind::UnknownFunction,
                format!("{name} is not an ADQL function"),
                position(span),
            );
            if let Some(hint) = functions::hint_for_unknown(&name) {
                error = error.with_hint(hint);
            }
            return Err(error);
        };
        let list = match &function.args {
            sql::FunctionArguments::None => {
                return Err(unsupported(span, format!("{name} needs parentheses")))
            }
            sql::FunctionArguments::Subquery(_) => {
                return Err(unsupported(
                    span,
                    "a function takes values, not a bare subquery",
                ))
            }
            sql::FunctionArguments::List(list) => list,
        };
        if !list.clauses.is_empty() {
            return Err(unsupported(
                span,
                "clauses inside a function call are not ADQL",
            ));
        }
        let distinct = match list.duplicate_treatment {
            None | Some(sql::DuplicateTreatment::All) => false,
            Some(sql::DuplicateTreatment::Distinct) if known.is_aggregate() => true,
            Some(sql::DuplicateTreatment::Distinct) => {
                return Err(unsupported(
                    span,
                    format!("DISTINCT only goes in aggregates, not {name}"),
                ))
            }
        };
        if known == Function::Count {
            if let [sql::FunctionArg::Unnamed(sql::FunctionArgExpr::Wildcard)] =
                list.args.as_slice()
            {
                return Ok(Expr::CountAll);
            }
        }
        let arguments = self.arguments(function, scope)?;
        if arguments.len() < least || most.is_some_and(|most| arguments.len() > most) {
            let expected = match most {
                Some(most) if most == least => format!("{least}"),
                Some(most) => format!("{least} to {most}"),
                None => format!("at least {least}"),
            };
            return Err(AdqlError::new(
                ErrorKind::BadArguments,
                format!(
                    "{name} takes {expected} argument{}, not {}",
                    if expected == "1" { "" } else { "s" },
                    arguments.len()
                ),
                position(span),
            ));
        }
        check_geometry_arguments(known, &arguments, span)?;
        if known == Function::Circle {
            self.check_radius(list.args.last(), arguments.last())?;
        }
        Ok(Expr::Call {
            function: known,
            arguments,
            distinct,
        })
    }

    /// Where `keyword` was written last before `span` on its line (sqlparser's spans of some
    /// expressions start at their argument).
    fn keyword_before(&self, span: sqlparser::tokenizer::Span, keyword: &str) -> (u64, u64) {
        let line = self
            .text
            .lines()
            .nth(span.start.line.saturating_sub(1) as usize)
            .unwrap_or("");
        let before: String = line
            .chars()
            .take(span.start.column.saturating_sub(1) as usize)
            .collect();
        match before.to_ascii_uppercase().rfind(keyword) {
            Some(byte) => (span.start.line, before[..byte].chars().count() as u64 + 1),
            None => position(span),
        }
    }

    /// The plain arguments of a call, checked.
    fn arguments(
        &mut self,
        function: &sql::Function,
        scope: &Scope<'_>,
    ) -> Result<Vec<Expr>, AdqlError> {
        let span = function.name.span();
        let sql::FunctionArguments::List(list) = &function.args else {
            return Err(unsupported(
                span,
                format!("{} needs parentheses", function.name),
            ));
        };
        let mut arguments = Vec::new();
        for argument in &list.args {
            match argument {
                sql::FunctionArg::Unnamed(sql::FunctionArgExpr::Expr(e)) => {
                    arguments.push(self.expr(e, scope)?)
                }
                _ => {
                    return Err(unsupported(
                        span,
                        format!("{} takes values as arguments", function.name),
                    ))
                }
            }
        }
        Ok(arguments)
    }

    /// pg_sphere's circles reach 90 degrees at most. A radius written as a number is checked
    /// here, where the error can say where it is; the number's position is noted, so that a
    /// translation cache does not serve the same query with another radius unchecked.
    fn check_radius(
        &mut self,
        written: Option<&sql::FunctionArg>,
        radius: Option<&Expr>,
    ) -> Result<(), AdqlError> {
        let (Some(written), Some(value)) = (written, radius.and_then(Expr::constant_number)) else {
            return Ok(());
        };
        // The number itself, inside any signs and brackets: where the cache finds it.
        let mut number = match written {
            sql::FunctionArg::Unnamed(sql::FunctionArgExpr::Expr(expr)) => expr,
            _ => return Ok(()),
        };
        while let sql::Expr::UnaryOp { expr, .. } | sql::Expr::Nested(expr) = number {
            number = expr;
        }
        let at = position(number.span());
        self.value_checked.push(at);
        if (0.0..=90.0).contains(&value) {
            return Ok(());
        }
        Err(AdqlError::new(
            ErrorKind::BadArguments,
            format!("a CIRCLE's radius is from 0 to 90 degrees, not {value}"),
            at,
        )
        .with_hint(if value < 0.0 {
            "the radius is in degrees and cannot be negative"
        } else {
            "for more than a hemisphere, write NOT CONTAINS with the circle around the opposite point"
        }))
    }

    /// IN_UNIT(value, 'unit'): the value, whose unit is known, converted.
    fn in_unit(&mut self, function: &sql::Function, scope: &Scope<'_>) -> Result<Expr, AdqlError> {
        let span = function.name.span();
        let mut arguments = self.arguments(function, scope)?;
        let (Some(Expr::String(target)), 2) = (arguments.get(1).cloned(), arguments.len()) else {
            return Err(AdqlError::new(
                ErrorKind::BadArguments,
                "IN_UNIT takes a value and a unit string, e.g. IN_UNIT(col, 'arcsec')",
                position(span),
            ));
        };
        let value = arguments.swap_remove(0);
        let Some(from) = self.unit_of(&value, scope) else {
            return Err(AdqlError::new(
                ErrorKind::BadArguments,
                "IN_UNIT needs a value whose unit is known: a column with a unit",
                position(span),
            ));
        };
        let factor = crate::units::factor(&from, &target)
            .map_err(|message| AdqlError::new(ErrorKind::BadArguments, message, position(span)))?;
        Ok(Expr::InUnit {
            expr: Box::new(value),
            factor,
            unit: target,
        })
    }

    /// The unit of a value: a column's, kept by aggregates that do not change it and by sums
    /// and differences of values in one unit.
    fn unit_of(&self, expr: &Expr, scope: &Scope<'_>) -> Option<String> {
        match expr {
            Expr::Column(column) => column_info(column, scope).and_then(|c| c.unit.clone()),
            Expr::InUnit { unit, .. } => Some(unit.clone()),
            Expr::Nested(inner) | Expr::Negate(inner) => self.unit_of(inner, scope),
            Expr::Call {
                function:
                    Function::Min | Function::Max | Function::Avg | Function::Sum | Function::Abs,
                arguments,
                ..
            } => arguments.first().and_then(|a| self.unit_of(a, scope)),
            Expr::Binary {
                operator: BinaryOperator::Plus | BinaryOperator::Minus,
                left,
                right,
            } => {
                let unit = self.unit_of(left, scope)?;
                (self.unit_of(right, scope).as_ref() == Some(&unit)).then_some(unit)
            }
            _ => None,
        }
    }

    /// BOX (deprecated in ADQL 2.1) as the polygon of its corners: centre plus or minus half
    /// the width in longitude and half the height in latitude.
    fn box_as_polygon(
        &mut self,
        function: &sql::Function,
        scope: &Scope<'_>,
    ) -> Result<Expr, AdqlError> {
        let span = function.name.span();
        let mut arguments = self.arguments(function, scope)?;
        if arguments.len() == 5 {
            check_geometry_arguments(Function::Point, &arguments[..3], span)?;
            arguments.remove(0);
        }
        let [ra, dec, width, height] = <[Expr; 4]>::try_from(arguments).map_err(|_| {
            AdqlError::new(
                ErrorKind::BadArguments,
                "BOX takes ('ICRS',) ra, dec, width, height",
                position(span),
            )
        })?;
        let half = |size: &Expr| Expr::Binary {
            operator: BinaryOperator::Divide,
            left: Box::new(size.clone()),
            right: Box::new(Expr::Number("2.0".into())),
        };
        let shift = |value: &Expr, size: &Expr, operator| Expr::Binary {
            operator,
            left: Box::new(value.clone()),
            right: Box::new(half(size)),
        };
        let (west, east) = (
            shift(&ra, &width, BinaryOperator::Minus),
            shift(&ra, &width, BinaryOperator::Plus),
        );
        let (south, north) = (
            shift(&dec, &height, BinaryOperator::Minus),
            shift(&dec, &height, BinaryOperator::Plus),
        );
        Ok(Expr::Call {
            function: Function::Polygon,
            arguments: vec![
                west.clone(),
                south.clone(),
                east.clone(),
                south,
                east,
                north.clone(),
                west,
                north,
            ],
            distinct: false,
        })
    }

    /// A column reference: `name`, `table.name`, `schema.table.name`.
    fn resolve(&self, parts: &[sql::Ident], scope: &Scope<'_>) -> Result<ColumnRef, AdqlError> {
        let span = parts
            .last()
            .map(|p| p.span)
            .unwrap_or(sqlparser::tokenizer::Span::empty());
        let (qualifier, column) = match parts {
            [column] => (None, column),
            [table, column] => (Some(table.value.clone()), column),
            [schema, table, column] => (Some(format!("{}.{}", schema.value, table.value)), column),
            _ => {
                return Err(unsupported(
                    span,
                    "a column is named column, table.column or schema.table.column",
                ))
            }
        };
        if column.quote_style.is_none() && is_reserved(&column.value) {
            return Err(AdqlError::new(
                ErrorKind::Syntax,
                format!("{} is a reserved word", column.value),
                position(span),
            )
            .with_hint(format!(
                "a column named {} is written \"{}\"",
                column.value, column.value
            )));
        }
        let wanted = Name::of(column);
        let mut level = Some(scope);
        while let Some(current) = level {
            let candidates: Vec<&ScopeEntry> = current
                .entries
                .iter()
                .filter(|e| {
                    qualifier
                        .as_ref()
                        .is_none_or(|q| e.names.iter().any(|n| n.eq_ignore_ascii_case(q)))
                })
                .collect();
            let mut found = Vec::new();
            for entry in &candidates {
                match &entry.columns {
                    None => found.push(ColumnRef {
                        qualifier: Some(entry.qualifier.clone()),
                        name: column.value.clone(),
                        geometry: false,
                    }),
                    Some(columns) => {
                        if let Some(c) = columns.iter().find(|c| wanted.matches(&c.name)) {
                            found.push(ColumnRef {
                                qualifier: Some(entry.qualifier.clone()),
                                name: c.name.clone(),
                                geometry: c.kind == ColumnType::Geometry,
                            });
                        }
                    }
                }
            }
            match found.len() {
                1 => return Ok(found.remove(0)),
                0 => {}
                _ if qualifier.is_none() && current.merged.iter().any(|m| wanted.matches(m)) => {
                    // A column merged by USING or NATURAL JOIN is one column, named alone.
                    return Ok(ColumnRef {
                        qualifier: None,
                        name: found[0].name.clone(),
                        geometry: found[0].geometry,
                    });
                }
                _ if qualifier.is_none() && candidates.iter().all(|e| e.columns.is_none()) => {
                    // Syntax-only: nothing to disambiguate with.
                    return Ok(ColumnRef {
                        qualifier: None,
                        name: column.value.clone(),
                        geometry: false,
                    });
                }
                _ => {
                    return Err(AdqlError::new(
                        ErrorKind::AmbiguousColumn,
                        format!("{} is a column of more than one table here", column.value),
                        position(span),
                    )
                    .with_hint("write table.column"))
                }
            }
            level = current.parent;
        }
        if self.catalog.is_none() && scope.entries.is_empty() {
            return Ok(ColumnRef {
                qualifier: None,
                name: column.value.clone(),
                geometry: false,
            });
        }
        let known: Vec<String> = scope
            .entries
            .iter()
            .flat_map(|e| e.columns.iter().flatten().map(|c| c.name.clone()))
            .collect();
        let mut error = AdqlError::new(
            ErrorKind::UnknownColumn,
            format!(
                "there is no column {}",
                parts
                    .iter()
                    .map(|p| p.value.as_str())
                    .collect::<Vec<_>>()
                    .join(".")
            ),
            position(span),
        );
        if column.quote_style == Some('"') && column.value.contains(' ') {
            error = error.with_hint(format!("strings use single quotes: '{}'", column.value));
        } else if is_reserved(&column.value) {
            error = error.with_hint(format!(
                "{} is a reserved word; a column of that name is written \"{}\"",
                column.value, column.value
            ));
        } else if let Some(closest) = closest(&column.value, &known) {
            error = error.with_hint(format!("did you mean {closest}?"));
        }
        Err(error)
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

/// A FROM item whose join conditions wait for every table of the clause to be known.
enum Pending<'q> {
    Item(FromItem),
    Join {
        left: Box<Pending<'q>>,
        right: Box<Pending<'q>>,
        kind: JoinKind,
        natural: bool,
        constraint: PendingConstraint<'q>,
    },
}

enum PendingConstraint<'q> {
    None,
    On(&'q sql::Expr),
    Using(Vec<String>),
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

/// What kind of values an expression gives, as far as a result column needs to know.
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
            Function::Count | Function::Contains | Function::Intersects => ColumnType::Integer,
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
            function: Function::Point | Function::Centroid,
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

/// Geometry functions take geometries, or coordinates with an optional coordinate system
/// first; only ICRS is served.
fn check_geometry_arguments(
    function: Function,
    arguments: &[Expr],
    span: sqlparser::tokenizer::Span,
) -> Result<(), AdqlError> {
    let bad = |message: &str| {
        Err(AdqlError::new(
            ErrorKind::BadArguments,
            message.to_string(),
            position(span),
        ))
    };
    let coordinate_system = |expr: &Expr| match expr {
        Expr::String(text) => {
            let upper = text.trim().to_ascii_uppercase();
            if upper.is_empty() || upper.starts_with("ICRS") {
                Ok(())
            } else {
                Err(AdqlError::new(
                    ErrorKind::BadArguments,
                    format!("the coordinate system {text:?} is not served; only ICRS"),
                    position(span),
                ))
            }
        }
        _ => Err(AdqlError::new(
            ErrorKind::BadArguments,
            "the first of these arguments is a coordinate system string, e.g. 'ICRS'".to_string(),
            position(span),
        )),
    };
    match function {
        Function::Point if arguments.len() == 3 => coordinate_system(&arguments[0]),
        Function::Circle if arguments.len() == 4 => coordinate_system(&arguments[0]),
        Function::Circle if arguments.len() == 2 && !is_geometry(&arguments[0]) => {
            bad("CIRCLE(center, radius) takes a POINT first")
        }
        Function::Polygon => {
            let coordinates = if matches!(arguments[0], Expr::String(_)) {
                coordinate_system(&arguments[0])?;
                &arguments[1..]
            } else {
                arguments
            };
            let all_points = coordinates.iter().all(|a| {
                matches!(
                    a,
                    Expr::Call {
                        function: Function::Point,
                        ..
                    }
                )
            });
            if all_points && coordinates.len() >= 3
                || !all_points && coordinates.len() >= 6 && coordinates.len() % 2 == 0
            {
                Ok(())
            } else {
                bad("POLYGON takes at least three vertices: three POINTs or six coordinates")
            }
        }
        Function::Contains | Function::Intersects => {
            if arguments.iter().all(is_geometry) {
                Ok(())
            } else {
                bad("CONTAINS and INTERSECTS compare geometries: POINT, CIRCLE, POLYGON")
            }
        }
        Function::Distance if arguments.len() == 2 && !arguments.iter().all(is_geometry) => {
            bad("DISTANCE takes two POINTs, or four coordinates")
        }
        Function::Distance if arguments.len() == 3 => {
            bad("DISTANCE takes two POINTs, or four coordinates")
        }
        Function::Coord1
        | Function::Coord2
        | Function::Coordsys
        | Function::Area
        | Function::Centroid
            if !is_geometry(&arguments[0]) =>
        {
            bad("this function takes a geometry")
        }
        _ => Ok(()),
    }
}

fn cast_target(
    data_type: &sql::DataType,
    span: sqlparser::tokenizer::Span,
) -> Result<CastTarget, AdqlError> {
    let length = |length: &Option<sql::CharacterLength>| match length {
        Some(sql::CharacterLength::IntegerLength { length, .. }) => Some(*length),
        _ => None,
    };
    Ok(match data_type {
        sql::DataType::SmallInt(_) => CastTarget::SmallInt,
        sql::DataType::Int(_) | sql::DataType::Integer(_) => CastTarget::Integer,
        sql::DataType::BigInt(_) => CastTarget::BigInt,
        sql::DataType::Real => CastTarget::Real,
        sql::DataType::DoublePrecision | sql::DataType::Double(_) => CastTarget::DoublePrecision,
        sql::DataType::Char(n) | sql::DataType::Character(n) => CastTarget::Char(length(n)),
        sql::DataType::Varchar(n) | sql::DataType::CharacterVarying(n) => CastTarget::VarChar(length(n)),
        sql::DataType::Timestamp(None, sql::TimezoneInfo::None) => CastTarget::Timestamp,
        other => {
            return Err(unsupported(span, format!("CAST to {other} is not ADQL"))
                .with_hint("ADQL casts to SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, CHAR, VARCHAR, TIMESTAMP"))
        }
    })
}
