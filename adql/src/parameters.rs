//! Numbers taken out of a checked query as parameters (`$1::float8`...), so that queries that
//! differ only in their numbers (the same cone around another target, another date range)
//! print the same SQL: PostgreSQL can then reuse one prepared statement and its plan.
//!
//! A number left where it is only costs that reuse, so the walk may be conservative. Numbers
//! whose text PostgreSQL reads as more than a value stay: ORDER BY and GROUP BY positions, and
//! the `1` of `CONTAINS(...) = 1`, which the printer turns into an indexed containment.

use crate::ast::*;

/// A number passed beside the SQL, typed as PostgreSQL types the literal it replaces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Literal {
    Int4(i32),
    Int8(i64),
    /// ADQL reads a number with a point or an exponent (or too large for a bigint) as a double.
    Float8(f64),
}

impl Literal {
    pub(crate) fn of(text: &str) -> Option<Literal> {
        if !is_whole_number(text) {
            // An overflow to infinity stays in the text, where PostgreSQL reports it.
            return text
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .map(Literal::Float8);
        }
        Some(match text.parse() {
            Ok(value) => Literal::Int4(value),
            Err(_) => Literal::Int8(text.parse().expect("a whole number fits a bigint")),
        })
    }

    /// The literal with its sign flipped: the tokenizer reads `-20` as a minus and `20`.
    pub(crate) fn negated(self) -> Literal {
        match self {
            Literal::Int4(value) => Literal::Int4(-value),
            Literal::Int8(value) => Literal::Int8(-value),
            Literal::Float8(value) => Literal::Float8(-value),
        }
    }

    /// The same type and value (bit for bit: -0.0 is not 0.0).
    pub(crate) fn same_as(self, other: Literal) -> bool {
        match (self, other) {
            (Literal::Float8(a), Literal::Float8(b)) => a.to_bits() == b.to_bits(),
            _ => self == other,
        }
    }

    /// The PostgreSQL type the parameter is cast to in the SQL.
    pub fn sql_type(self) -> &'static str {
        match self {
            Literal::Int4(_) => "int4",
            Literal::Int8(_) => "int8",
            Literal::Float8(_) => "float8",
        }
    }
}

/// Replaces the query's numbers by parameters, numbered from 1 in the order returned; equal
/// numbers share one.
pub(crate) fn take_numbers(query: &mut Query) -> Vec<Literal> {
    let mut taken = Vec::new();
    in_query(query, &mut taken);
    taken
}

fn in_query(query: &mut Query, taken: &mut Vec<Literal>) {
    for table in &mut query.with {
        in_query(&mut table.query, taken);
    }
    in_body(&mut query.body, taken);
    for item in &mut query.order_by {
        unless_position(&mut item.expr, taken);
    }
}

fn in_body(body: &mut Body, taken: &mut Vec<Literal>) {
    match body {
        Body::Select(select) => {
            for item in &mut select.items {
                if let SelectItem::Expr { expr, .. } = item {
                    in_expr(expr, taken);
                }
            }
            for item in &mut select.from {
                in_from(item, taken);
            }
            for expr in select.filter.iter_mut().chain(&mut select.having) {
                in_expr(expr, taken);
            }
            for expr in &mut select.group_by {
                unless_position(expr, taken);
            }
        }
        Body::SetOperation { left, right, .. } => {
            in_body(left, taken);
            in_body(right, taken);
        }
    }
}

fn in_from(item: &mut FromItem, taken: &mut Vec<Literal>) {
    match item {
        FromItem::Table { .. } | FromItem::CommonTable { .. } => {}
        FromItem::Subquery { query, .. } => in_query(query, taken),
        FromItem::Nested(inner) => in_from(inner, taken),
        FromItem::Join {
            left,
            right,
            constraint,
            ..
        } => {
            in_from(left, taken);
            in_from(right, taken);
            if let JoinConstraint::On(expr) = constraint {
                in_expr(expr, taken);
            }
        }
    }
}

/// ORDER BY and GROUP BY read a bare number as a column position.
fn unless_position(expr: &mut Expr, taken: &mut Vec<Literal>) {
    if !matches!(expr, Expr::Number(_)) {
        in_expr(expr, taken);
    }
}

fn in_expr(expr: &mut Expr, taken: &mut Vec<Literal>) {
    // A negative number is one parameter, so that -20 and 20 print the same SQL.
    let number = match expr {
        Expr::Number(text) => Literal::of(text),
        Expr::Negate(inner) => match &**inner {
            Expr::Number(text) => Literal::of(text).map(Literal::negated),
            _ => None,
        },
        _ => None,
    };
    if let Some(literal) = number {
        // Equal numbers share a parameter: PostgreSQL matches a GROUP BY expression with the
        // selected one only when they are the same, parameters included.
        let index = match taken.iter().position(|t| t.same_as(literal)) {
            Some(found) => found + 1,
            None => {
                taken.push(literal);
                taken.len()
            }
        };
        *expr = Expr::Parameter(index, literal);
        return;
    }
    match expr {
        Expr::Number(_) => {} // not a value a parameter can hold (an overflow)
        Expr::Column(_)
        | Expr::OutputAlias(_)
        | Expr::String(_)
        | Expr::Null
        | Expr::CountAll
        | Expr::Parameter(..) => {}
        Expr::Negate(inner)
        | Expr::Not(inner)
        | Expr::Nested(inner)
        | Expr::IsNull { expr: inner, .. }
        | Expr::Cast { expr: inner, .. }
        | Expr::InUnit { expr: inner, .. } => in_expr(inner, taken),
        Expr::Binary {
            operator,
            left,
            right,
        } => {
            // `CONTAINS(...) = 1` and the like (either way round) keep their number for the
            // printer, which makes them predicates an index serves.
            let containment =
                |e: &Expr| matches!(e, Expr::Call { function, .. } if function.is_predicate());
            let comparison = matches!(operator, BinaryOperator::Equal | BinaryOperator::NotEqual);
            let (left_contains, right_contains) = (containment(left), containment(right));
            for (side, other_contains) in [(left, right_contains), (right, left_contains)] {
                if !(comparison && other_contains && matches!(**side, Expr::Number(_))) {
                    in_expr(side, taken);
                }
            }
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            for part in [expr, low, high] {
                in_expr(part, taken);
            }
        }
        Expr::InList { expr, list, .. } => {
            in_expr(expr, taken);
            for item in list {
                in_expr(item, taken);
            }
        }
        Expr::InQuery { expr, query, .. } => {
            in_expr(expr, taken);
            in_query(query, taken);
        }
        Expr::Exists { query, .. } | Expr::Subquery(query) => in_query(query, taken),
        Expr::Like { expr, pattern, .. } => {
            in_expr(expr, taken);
            in_expr(pattern, taken);
        }
        Expr::Call { arguments, .. } => {
            for argument in arguments {
                in_expr(argument, taken);
            }
        }
    }
}
