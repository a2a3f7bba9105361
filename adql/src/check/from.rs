//! FROM: tables, subqueries and common tables as scope entries, and joins whose conditions
//! are resolved once every table of the clause is known.

use super::*;

impl Checker<'_> {
    pub(super) fn table_with_joins<'q>(
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
                sql::JoinConstraint::None if kind == JoinKind::Cross => {
                    (false, PendingConstraint::None)
                }
                // ADQL's qualified joins (INNER, LEFT, RIGHT, FULL) need a join specification
                // unless NATURAL: only CROSS JOIN goes without one.
                sql::JoinConstraint::None => {
                    return Err(AdqlError::new(
                        ErrorKind::Syntax,
                        "this JOIN needs ON or USING",
                        position(join.relation.span()),
                    )
                    .with_hint(
                        "join on a condition (JOIN t ON a.x = t.x), on columns both have \
                         (USING (x)), write NATURAL JOIN, or CROSS JOIN for every pair",
                    ))
                }
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

    pub(super) fn join_conditions(
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

    pub(super) fn table_factor(
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
}

/// A FROM item whose join conditions wait for every table of the clause to be known.
pub(super) enum Pending<'q> {
    Item(FromItem),
    Join {
        left: Box<Pending<'q>>,
        right: Box<Pending<'q>>,
        kind: JoinKind,
        natural: bool,
        constraint: PendingConstraint<'q>,
    },
}

pub(super) enum PendingConstraint<'q> {
    None,
    On(&'q sql::Expr),
    Using(Vec<String>),
}
