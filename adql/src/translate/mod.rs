//! PostgreSQL + pg_sphere SQL, printed from the checked AST alone: identifiers always quoted,
//! strings escaped, numbers as the tokenizer read them (digits only; decimals cast to float8)
//! or as `$n` parameters. Geometry becomes pg_sphere values in radians; `CONTAINS(...) = 1` and
//! `DISTANCE(...) < r` become `<@` containment on the indexed point expression, so the GiST
//! index serves them (with a band of latitude for the planner's estimate: `latitude_band`);
//! `geometry` prints those.

use std::fmt::Write;

use crate::ast::*;
use crate::functions::Function;
use crate::parameters::Literal;
use crate::{OutputColumn, Translation};

mod geometry;
mod uv;
mod zones;

use geometry::*;

pub(crate) fn to_postgres(query: &Query, parameters: Vec<Literal>) -> Translation {
    let mut sql = String::new();
    query_sql(query, &mut sql, true);
    let columns = query
        .columns
        .iter()
        .map(|c| OutputColumn {
            name: c.name.clone(),
            source: c.source.clone(),
            kind: c.kind,
            unit: c.unit.clone(),
            xtype: c.xtype,
        })
        .collect();
    Translation {
        sql,
        parameters,
        columns,
        joins_by_zones: zones::used_in(query),
    }
}

/// `outermost`: the query whose rows go to the client (geometries leave in DALI form).
fn query_sql(query: &Query, out: &mut String, outermost: bool) {
    if !query.with.is_empty() {
        out.push_str("WITH ");
        for (index, table) in query.with.iter().enumerate() {
            if index > 0 {
                out.push_str(", ");
            }
            identifier(&table.name, out);
            out.push_str(" AS (");
            query_sql(&table.query, out, false);
            out.push(')');
        }
        out.push(' ');
    }
    body(&query.body, out, outermost);
    if !query.order_by.is_empty() {
        out.push_str(" ORDER BY ");
        for (index, item) in query.order_by.iter().enumerate() {
            if index > 0 {
                out.push_str(", ");
            }
            expr(&item.expr, out);
            if item.descending {
                out.push_str(" DESC");
                if item.missing_last {
                    out.push_str(" NULLS LAST");
                }
            }
        }
    }
    // TOP of a single SELECT applies after ORDER BY: it is the query's LIMIT.
    if let Body::Select(select) = &query.body {
        if let Some(top) = select.top {
            let _ = write!(out, " LIMIT {top}");
        }
    }
    if let Some(offset) = query.offset {
        let _ = write!(out, " OFFSET {offset}");
    }
}

fn body(body: &Body, out: &mut String, outermost: bool) {
    match body {
        Body::Select(select) => select_sql(select, out, outermost),
        Body::SetOperation {
            operator,
            all,
            left,
            right,
        } => {
            out.push('(');
            member(left, out, outermost);
            out.push_str(match operator {
                SetOperator::Union => ") UNION ",
                SetOperator::Intersect => ") INTERSECT ",
                SetOperator::Except => ") EXCEPT ",
            });
            if *all {
                out.push_str("ALL ");
            }
            out.push('(');
            member(right, out, outermost);
            out.push(')');
        }
    }
}

/// One side of a set operation: a SELECT keeps its TOP inside its parentheses.
fn member(side: &Body, out: &mut String, outermost: bool) {
    body(side, out, outermost);
    if let Body::Select(select) = side {
        if let Some(top) = select.top {
            let _ = write!(out, " LIMIT {top}");
        }
    }
}

fn select_sql(select: &Select, out: &mut String, outermost: bool) {
    out.push_str("SELECT ");
    if select.distinct {
        out.push_str("DISTINCT ");
    }
    for (index, item) in select.items.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        match item {
            SelectItem::Columns(columns) => {
                for (i, column) in columns.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if outermost && column.geometry {
                        let mut value = String::new();
                        column_ref(column, &mut value);
                        dali_array(&value, out);
                        out.push_str(" AS ");
                        identifier(&column.name, out);
                    } else {
                        column_ref(column, out);
                    }
                }
            }
            SelectItem::Expr { expr: e, alias } => {
                output_value(e, out, outermost);
                if let Some(alias) = alias {
                    out.push_str(" AS ");
                    identifier(alias, out);
                }
            }
        }
    }
    if !select.from.is_empty() {
        out.push_str(" FROM ");
        for (index, item) in select.from.iter().enumerate() {
            if index > 0 {
                out.push_str(", ");
            }
            from_item(item, out);
        }
    }
    if let Some(filter) = &select.filter {
        out.push_str(" WHERE ");
        expr(filter, out);
    }
    if !select.group_by.is_empty() {
        out.push_str(" GROUP BY ");
        list(&select.group_by, out);
    }
    if let Some(having) = &select.having {
        out.push_str(" HAVING ");
        expr(having, out);
    }
}

/// A select-list value; in the outermost query, geometries leave in DALI form.
fn output_value(e: &Expr, out: &mut String, outermost: bool) {
    let is_geometry = match e {
        Expr::Call { function, .. } => function.is_geometry_valued(),
        Expr::Column(column) => column.geometry,
        _ => false,
    };
    if outermost && is_geometry {
        let mut value = String::new();
        geometry(e, &mut value);
        dali_array(&value, out);
    } else {
        expr(e, out);
    }
}

/// pg_sphere writes a point `(lon , lat)`, a circle `<(lon , lat) , radius>` and a polygon
/// `{(lon , lat),...}`, in radians: their numbers in order, in degrees, are the DALI point,
/// circle and polygon. NULL stays NULL.
fn dali_array(value: &str, out: &mut String) {
    let _ = write!(
        out,
        "CASE WHEN ({value}) IS NULL THEN NULL ELSE ARRAY(SELECT degrees(CAST(v.x AS double precision)) \
         FROM unnest(string_to_array(translate(CAST(({value}) AS text), '{{}}()<> ', ''), ',')) \
         WITH ORDINALITY AS v (x, i) ORDER BY v.i) END"
    );
}

fn from_item(item: &FromItem, out: &mut String) {
    match item {
        FromItem::Table {
            schema,
            name,
            alias,
        } => {
            schema_name(schema, out);
            out.push('.');
            identifier(name, out);
            if let Some(alias) = alias {
                out.push_str(" AS ");
                identifier(alias, out);
            }
        }
        FromItem::CommonTable { name, alias } => {
            identifier(name, out);
            if let Some(alias) = alias {
                out.push_str(" AS ");
                identifier(alias, out);
            }
        }
        FromItem::Nested(inner) => {
            out.push('(');
            from_item(inner, out);
            out.push(')');
        }
        FromItem::Subquery { query, alias } => {
            out.push('(');
            query_sql(query, out, false);
            out.push_str(") AS ");
            identifier(alias, out);
        }
        FromItem::Join {
            left,
            right,
            kind,
            natural,
            constraint,
        } => {
            let zones = zones::of_join(*kind, constraint);
            from_item(left, out);
            if let Some(zones) = &zones {
                zones.steps(out);
            }
            if *natural {
                out.push_str(" NATURAL");
            }
            out.push_str(match kind {
                JoinKind::Inner => " JOIN ",
                JoinKind::Left => " LEFT JOIN ",
                JoinKind::Right => " RIGHT JOIN ",
                JoinKind::Full => " FULL JOIN ",
                JoinKind::Cross => " CROSS JOIN ",
            });
            from_item(right, out);
            match constraint {
                JoinConstraint::None => {}
                JoinConstraint::On(condition) => {
                    out.push_str(" ON ");
                    match &zones {
                        Some(zones) => {
                            zones.equality(out);
                            out.push('(');
                            expr(condition, out);
                            out.push(')');
                        }
                        None => expr(condition, out),
                    }
                }
                JoinConstraint::Using(columns) => {
                    out.push_str(" USING (");
                    for (index, column) in columns.iter().enumerate() {
                        if index > 0 {
                            out.push_str(", ");
                        }
                        identifier(column, out);
                    }
                    out.push(')');
                }
            }
        }
    }
}

fn list(exprs: &[Expr], out: &mut String) {
    for (index, e) in exprs.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        expr(e, out);
    }
}

fn expr(e: &Expr, out: &mut String) {
    match e {
        Expr::Column(column) => column_ref(column, out),
        Expr::OutputAlias(name) => identifier(name, out),
        Expr::Number(number) => {
            out.push_str(number);
            // ADQL reads a literal with a point or an exponent as a double; PostgreSQL would
            // make it `numeric`, which changes arithmetic and which result writers do not take.
            if !is_whole_number(number) {
                out.push_str("::float8");
            }
        }
        Expr::Parameter(index, literal) => {
            let _ = write!(out, "${index}::{}", literal.sql_type());
        }
        Expr::String(text) => string(text, out),
        Expr::Null => out.push_str("NULL"),
        Expr::Negate(inner) => {
            out.push_str("(-");
            expr(inner, out);
            out.push(')');
        }
        Expr::Not(inner) => {
            out.push_str("(NOT ");
            expr(inner, out);
            out.push(')');
        }
        Expr::Nested(inner) => {
            out.push('(');
            expr(inner, out);
            out.push(')');
        }
        Expr::Binary {
            operator,
            left,
            right,
        } => binary(*operator, left, right, out),
        Expr::IsNull {
            expr: inner,
            negated,
        } => {
            out.push('(');
            expr(inner, out);
            out.push_str(if *negated {
                " IS NOT NULL)"
            } else {
                " IS NULL)"
            });
        }
        Expr::Between {
            expr: inner,
            negated,
            low,
            high,
        } => {
            out.push('(');
            expr(inner, out);
            out.push_str(if *negated {
                " NOT BETWEEN "
            } else {
                " BETWEEN "
            });
            expr(low, out);
            out.push_str(" AND ");
            expr(high, out);
            out.push(')');
        }
        Expr::InList {
            expr: inner,
            negated,
            list: items,
        } => {
            out.push('(');
            expr(inner, out);
            out.push_str(if *negated { " NOT IN (" } else { " IN (" });
            list(items, out);
            out.push_str("))");
        }
        Expr::InQuery {
            expr: inner,
            negated,
            query,
        } => {
            out.push('(');
            expr(inner, out);
            out.push_str(if *negated { " NOT IN (" } else { " IN (" });
            query_sql(query, out, false);
            out.push_str("))");
        }
        Expr::Exists { negated, query } => {
            out.push_str(if *negated {
                "(NOT EXISTS ("
            } else {
                "(EXISTS ("
            });
            query_sql(query, out, false);
            out.push_str("))");
        }
        Expr::Subquery(query) => {
            out.push('(');
            query_sql(query, out, false);
            out.push(')');
        }
        Expr::Like {
            expr: inner,
            negated,
            pattern,
            case_insensitive,
        } => {
            out.push('(');
            expr(inner, out);
            out.push_str(match (negated, case_insensitive) {
                (false, false) => " LIKE ",
                (true, false) => " NOT LIKE ",
                (false, true) => " ILIKE ",
                (true, true) => " NOT ILIKE ",
            });
            expr(pattern, out);
            out.push(')');
        }
        Expr::CountAll => out.push_str("count(*)"),
        Expr::Cast {
            expr: inner,
            target,
        } => {
            out.push_str("CAST(");
            expr(inner, out);
            out.push_str(" AS ");
            match target {
                CastTarget::SmallInt => out.push_str("smallint"),
                CastTarget::Integer => out.push_str("integer"),
                CastTarget::BigInt => out.push_str("bigint"),
                CastTarget::Real => out.push_str("real"),
                CastTarget::DoublePrecision => out.push_str("double precision"),
                CastTarget::Char(n) => push_sized(out, "char", *n),
                CastTarget::VarChar(n) => push_sized(out, "varchar", *n),
                CastTarget::Timestamp => out.push_str("timestamp"),
            }
            out.push(')');
        }
        Expr::Call {
            function,
            arguments,
            distinct,
        } => call(*function, arguments, *distinct, out),
        Expr::InUnit {
            expr: inner,
            factor,
            ..
        } => {
            out.push('(');
            expr(inner, out);
            let _ = write!(out, " * {factor:?})");
        }
    }
}

fn push_sized(out: &mut String, name: &str, length: Option<u64>) {
    out.push_str(name);
    if let Some(n) = length {
        let _ = write!(out, "({n})");
    }
}

fn binary(operator: BinaryOperator, left: &Expr, right: &Expr, out: &mut String) {
    // CONTAINS/INTERSECTS compared with 1 or 0 are predicates on the index.
    if let Some(predicate) = geometry_predicate(operator, left, right) {
        out.push_str(&predicate);
        return;
    }
    if let Some(cone) = distance_within(operator, left, right) {
        out.push_str(&cone);
        return;
    }
    let symbol = match operator {
        BinaryOperator::Plus => "+",
        BinaryOperator::Minus => "-",
        BinaryOperator::Multiply => "*",
        BinaryOperator::Divide => "/",
        BinaryOperator::Concat => "||",
        BinaryOperator::Equal => "=",
        BinaryOperator::NotEqual => "<>",
        BinaryOperator::Less => "<",
        BinaryOperator::LessOrEqual => "<=",
        BinaryOperator::Greater => ">",
        BinaryOperator::GreaterOrEqual => ">=",
        BinaryOperator::And => "AND",
        BinaryOperator::Or => "OR",
    };
    out.push('(');
    expr(left, out);
    let _ = write!(out, " {symbol} ");
    expr(right, out);
    out.push(')');
}

fn call(function: Function, arguments: &[Expr], distinct: bool, out: &mut String) {
    let simple = |name: &str, out: &mut String| {
        out.push_str(name);
        out.push('(');
        if distinct {
            out.push_str("DISTINCT ");
        }
        list(arguments, out);
        out.push(')');
    };
    match function {
        Function::Abs => simple("abs", out),
        Function::Ceiling => simple("ceiling", out),
        Function::Degrees => simple("degrees", out),
        Function::Exp => simple("exp", out),
        Function::Floor => simple("floor", out),
        Function::Log => simple("ln", out),
        Function::Log10 => simple("log", out),
        Function::Pi => out.push_str("pi()"),
        Function::Power => simple("power", out),
        Function::Radians => simple("radians", out),
        Function::Sqrt => simple("sqrt", out),
        Function::Rand => out.push_str("random()"),
        Function::Acos => simple("acos", out),
        Function::Asin => simple("asin", out),
        Function::Atan => simple("atan", out),
        Function::Atan2 => simple("atan2", out),
        Function::Cos => simple("cos", out),
        Function::Cot => simple("cot", out),
        Function::Sin => simple("sin", out),
        Function::Tan => simple("tan", out),
        Function::Lower => simple("lower", out),
        Function::Upper => simple("upper", out),
        Function::Coalesce => simple("coalesce", out),
        // avg of integers is numeric in PostgreSQL; ADQL results are double precision.
        Function::Avg => {
            out.push_str("CAST(");
            simple("avg", out);
            out.push_str(" AS double precision)");
        }
        Function::Count => simple("count", out),
        Function::Max => simple("max", out),
        Function::Min => simple("min", out),
        // sum of bigint is numeric in PostgreSQL, which results do not carry.
        Function::Sum => {
            out.push_str("CAST(");
            simple("sum", out);
            out.push_str(" AS double precision)");
        }
        // PostgreSQL rounds, truncates and takes remainders of numeric, not double precision.
        Function::Mod | Function::Round | Function::Truncate if arguments.len() == 2 => {
            let name = match function {
                Function::Mod => "mod",
                Function::Round => "round",
                _ => "trunc",
            };
            out.push_str("CAST(");
            out.push_str(name);
            out.push_str("(CAST(");
            expr(&arguments[0], out);
            out.push_str(" AS numeric), ");
            if function == Function::Mod {
                out.push_str("CAST(");
                expr(&arguments[1], out);
                out.push_str(" AS numeric)");
            } else {
                out.push_str("CAST(");
                expr(&arguments[1], out);
                out.push_str(" AS integer)");
            }
            out.push_str(") AS double precision)");
        }
        Function::Round => simple("round", out),
        Function::Truncate | Function::Mod => simple("trunc", out),
        Function::Contains | Function::Intersects => {
            out.push_str("(CASE WHEN ");
            relation(
                &Expr::Call {
                    function,
                    arguments: arguments.to_vec(),
                    distinct,
                },
                out,
            );
            out.push_str(" THEN 1 ELSE 0 END)");
        }
        Function::Distance => {
            let [p, q] = distance_points(arguments);
            let _ = write!(out, "degrees(dist({}, {}))", p.text, q.text);
        }
        Function::Coord1 => {
            out.push_str("degrees(long(");
            geometry(&arguments[0], out);
            out.push_str("))");
        }
        Function::Coord2 => {
            out.push_str("degrees(lat(");
            geometry(&arguments[0], out);
            out.push_str("))");
        }
        Function::Coordsys => out.push_str("'ICRS'"),
        Function::Area => {
            out.push_str("(area(");
            geometry(&arguments[0], out);
            out.push_str(") * (180.0 / pi()) ^ 2)");
        }
        Function::IvoHealpixIndex => {
            out.push_str("healpix_nest(");
            expr(&arguments[0], out);
            out.push_str(", ");
            match arguments {
                [_, point] => geometry(point, out),
                [_, ra, dec] => spoint(ra, dec, out),
                _ => unreachable!("the checker allows two or three arguments"),
            }
            out.push(')');
        }
        Function::ObsportalUvNear
        | Function::ObsportalUvSector
        | Function::ObsportalAngleWithin => {
            out.push('(');
            uv::predicate(function, arguments, out);
            out.push_str(")::integer");
        }
        Function::Point
        | Function::Circle
        | Function::Polygon
        | Function::Centroid
        | Function::IvoHealpixCenter => geometry(
            &Expr::Call {
                function,
                arguments: arguments.to_vec(),
                distinct,
            },
            out,
        ),
    }
}

fn column_ref(column: &ColumnRef, out: &mut String) {
    match column.qualifier.as_deref() {
        Some(Qualifier::Table { schema, table }) => {
            if !schema.is_empty() {
                schema_name(schema, out);
                out.push('.');
            }
            identifier(table, out);
            out.push('.');
        }
        Some(Qualifier::Name(name)) => {
            identifier(name, out);
            out.push('.');
        }
        None => {}
    }
    if column.name == "*" {
        out.push('*');
    } else {
        identifier(&column.name, out);
    }
}

/// TAP 1.1's `TAP_UPLOAD` schema is where a client's uploaded tables are; the server loads
/// them as temporary tables of the query's session, so it is printed as `pg_temp`.
fn schema_name(schema: &str, out: &mut String) {
    if schema.eq_ignore_ascii_case("TAP_UPLOAD") {
        out.push_str("pg_temp");
    } else {
        identifier(schema, out);
    }
}

/// Always quoted, so case and reserved words never matter to PostgreSQL.
fn identifier(name: &str, out: &mut String) {
    quoted(name, '"', out);
}

fn string(text: &str, out: &mut String) {
    quoted(text, '\'', out);
}

/// `text` between `quote`s, a quote inside doubled (SQL's only escape).
fn quoted(text: &str, quote: char, out: &mut String) {
    out.push(quote);
    for piece in text.split_inclusive(quote) {
        out.push_str(piece);
        if piece.ends_with(quote) {
            out.push(quote);
        }
    }
    out.push(quote);
}
