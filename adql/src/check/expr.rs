//! Expressions: select items, ORDER BY items, conditions and every operator, and the names
//! they use resolved against the scope.

use super::*;

impl Checker<'_> {
    pub(super) fn select_item(
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
    pub(super) fn order_item(
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
    pub(super) fn condition(
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
    pub(super) fn expr(&mut self, expr: &sql::Expr, scope: &Scope<'_>) -> Result<Expr, AdqlError> {
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
            } if geometry_type(data_type).is_some() => {
                let function = geometry_type(data_type).expect("just matched");
                let value = self.expr(inner, scope)?;
                self.geometry_cast(value, function, expr.span())?
            }
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

    /// A column reference: `name`, `table.name`, `schema.table.name`.
    pub(super) fn resolve(
        &self,
        parts: &[sql::Ident],
        scope: &Scope<'_>,
    ) -> Result<ColumnRef, AdqlError> {
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
}
