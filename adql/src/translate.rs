//! PostgreSQL + pg_sphere SQL, printed from the checked AST alone: identifiers always quoted,
//! strings escaped, numbers as the tokenizer read them (digits only; decimals cast to float8)
//! or as `$n` parameters. Geometry becomes pg_sphere values in radians; `CONTAINS(...) = 1` and
//! `DISTANCE(...) < r` become `<@` containment on the indexed point expression, so the GiST
//! index serves them (with a band of latitude for the planner's estimate: `latitude_band`).

use std::fmt::Write;

use crate::ast::*;
use crate::functions::Function;
use crate::parameters::Literal;
use crate::{OutputColumn, Translation};

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
            identifier(schema, out);
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
            from_item(left, out);
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
                    expr(condition, out);
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

/// `CONTAINS(a, b) = 1` (either order; `= 0` negates) as `(a <@ b)`; INTERSECTS as `&&`.
fn geometry_predicate(operator: BinaryOperator, left: &Expr, right: &Expr) -> Option<String> {
    if operator != BinaryOperator::Equal && operator != BinaryOperator::NotEqual {
        return None;
    }
    let (call, value) = match (left, right) {
        (
            Expr::Call {
                function: Function::Contains | Function::Intersects,
                ..
            },
            Expr::Number(n),
        ) => (left, n),
        (
            Expr::Number(n),
            Expr::Call {
                function: Function::Contains | Function::Intersects,
                ..
            },
        ) => (right, n),
        _ => return None,
    };
    let truth = match value.as_str() {
        "1" => true,
        "0" => false,
        _ => return None,
    };
    let holds = truth == (operator == BinaryOperator::Equal);
    let mut predicate = String::new();
    relation(call, &mut predicate);
    Some(if holds {
        predicate
    } else {
        format!("(NOT {predicate})")
    })
}

/// The pg_sphere relation behind CONTAINS or INTERSECTS.
fn relation(call: &Expr, out: &mut String) {
    let Expr::Call {
        function,
        arguments,
        ..
    } = call
    else {
        unreachable!("a geometry call")
    };
    let (first, second) = (&arguments[0], &arguments[1]);
    let is_point = |e: &Expr| {
        matches!(
            e,
            Expr::Call {
                function: Function::Point,
                ..
            }
        )
    };
    out.push('(');
    match function {
        Function::Contains => {
            geometry(first, out);
            out.push_str(" <@ ");
            constant_geometry(second, out);
            cone_band(first, second, out);
        }
        // A point intersects what contains it; other shapes overlap.
        Function::Intersects if is_point(first) || is_point(second) => {
            let (point, area) = if is_point(first) {
                (first, second)
            } else {
                (second, first)
            };
            geometry(point, out);
            out.push_str(" <@ ");
            constant_geometry(area, out);
            cone_band(point, area, out);
        }
        _ => {
            geometry(first, out);
            out.push_str(" && ");
            constant_geometry(second, out);
        }
    }
    out.push(')');
}

/// `DISTANCE(p, q) < r` (or `<=`, or mirrored) as containment of the column's point in a
/// circle around the other, which the index serves, plus the exact test for `<`.
fn distance_within(operator: BinaryOperator, left: &Expr, right: &Expr) -> Option<String> {
    let (distance, radius, strict) = match (operator, left, right) {
        (
            BinaryOperator::Less,
            d @ Expr::Call {
                function: Function::Distance,
                ..
            },
            r,
        ) => (d, r, true),
        (
            BinaryOperator::LessOrEqual,
            d @ Expr::Call {
                function: Function::Distance,
                ..
            },
            r,
        ) => (d, r, false),
        (
            BinaryOperator::Greater,
            r,
            d @ Expr::Call {
                function: Function::Distance,
                ..
            },
        ) => (d, r, true),
        (
            BinaryOperator::GreaterOrEqual,
            r,
            d @ Expr::Call {
                function: Function::Distance,
                ..
            },
        ) => (d, r, false),
        _ => return None,
    };
    let Expr::Call { arguments, .. } = distance else {
        return None;
    };
    let [p, q] = distance_points(arguments);
    // The point that depends on columns goes on the left of <@, where the index is.
    let ((indexed, indexed_latitude), (centre, centre_latitude)) =
        if references_columns(&q.0) && !references_columns(&p.0) {
            (q, p)
        } else {
            (p, q)
        };
    let mut reach = String::new();
    expr(radius, &mut reach);
    let mut out = String::from("(");
    out.push_str(&indexed);
    out.push_str(" <@ ");
    out.push_str(&once_per_query(format!(
        "scircle({centre}, radians({reach}))"
    )));
    if let (Some(column), Some(middle)) = (indexed_latitude, centre_latitude) {
        latitude_band(column, middle, radius, &mut out);
    }
    if strict {
        let _ = write!(
            out,
            " AND degrees(dist({indexed}, {})) < {}",
            once_per_query(centre),
            once_per_query(reach)
        );
    }
    out.push(')');
    Some(out)
}

/// DISTANCE's two points as pg_sphere text, from two POINTs or four coordinates, each with its
/// latitude when it can be named.
fn distance_points(arguments: &[Expr]) -> [(String, Option<&Expr>); 2] {
    let mut p = String::new();
    let mut q = String::new();
    if arguments.len() == 4 {
        spoint(&arguments[0], &arguments[1], &mut p);
        spoint(&arguments[2], &arguments[3], &mut q);
        [(p, Some(&arguments[1])), (q, Some(&arguments[3]))]
    } else {
        geometry(&arguments[0], &mut p);
        geometry(&arguments[1], &mut q);
        [
            (p, point_latitude(&arguments[0])),
            (q, point_latitude(&arguments[1])),
        ]
    }
}

/// The latitude (second coordinate) of a POINT.
fn point_latitude(point: &Expr) -> Option<&Expr> {
    match point {
        Expr::Call {
            function: Function::Point,
            arguments,
            ..
        } => arguments.last(),
        Expr::Nested(inner) => point_latitude(inner),
        _ => None,
    }
}

/// For a POINT in a CIRCLE: the band of latitudes the circle spans (see `latitude_band`).
fn cone_band(point: &Expr, area: &Expr, out: &mut String) {
    let circle = match area {
        Expr::Nested(inner) => inner,
        other => other,
    };
    let Expr::Call {
        function: Function::Circle,
        arguments,
        ..
    } = circle
    else {
        return;
    };
    let centre = match arguments.len() {
        2 => point_latitude(&arguments[0]),
        n => Some(&arguments[n - 2]),
    };
    if let (Some(column), Some(centre), Some(radius)) =
        (point_latitude(point), centre, arguments.last())
    {
        latitude_band(column, centre, radius, out);
    }
}

/// `AND` a band of latitude around a cone on a column: true of every point inside, it is
/// there for the planner. pg_sphere 1.2.0 estimates any containment at 0.1 % of the rows, so
/// with ORDER BY and TOP the planner walks a sort index hoping to meet the cone early, and
/// reads the whole table when the cone is empty (0.8 s for 1M exposures, against 0.1 ms
/// through the GiST index). PostgreSQL estimates a range with computed bounds at 0.5 %, so
/// with the band every cone looks small and the GiST index wins. Values outside +-90, which
/// pg_sphere folds back onto the sphere, are let through.
fn latitude_band(column: &Expr, centre: &Expr, radius: &Expr, out: &mut String) {
    if !matches!(column, Expr::Column(_)) {
        return;
    }
    let (mut middle, mut reach) = (String::new(), String::new());
    expr(centre, &mut middle);
    expr(radius, &mut reach);
    if references_columns(&middle) || references_columns(&reach) {
        return; // a crossmatch: the band would differ row by row
    }
    let mut latitude = String::new();
    expr(column, &mut latitude);
    let _ = write!(
        out,
        " AND ({latitude} BETWEEN {} AND {} OR {latitude} NOT BETWEEN -90 AND 90)",
        once_per_query(format!("({middle}) - ({reach}) - 1e-6::float8")),
        once_per_query(format!("({middle}) + ({reach}) + 1e-6::float8")),
    );
}

/// The shape a column's geometry is compared with, computed once per query when it is a
/// constant (see `once_per_query`).
fn constant_geometry(e: &Expr, out: &mut String) {
    let mut text = String::new();
    geometry(e, &mut text);
    out.push_str(&once_per_query(text));
}

/// A constant expression as a scalar subquery, which PostgreSQL computes once per query (an
/// InitPlan) instead of once per row. This matters for prepared statements: a generic plan
/// cannot fold `scircle(spoint(radians($1), radians($2)), radians($3))` into a constant, and
/// computing it row by row made generic plans look dearer than custom ones, so PostgreSQL
/// planned every execution anew (a third of its time per cone search). Column-dependent
/// text, and text that already is a subquery or a single value, stays as it is.
fn once_per_query(text: String) -> String {
    let single_value = !text.contains(['(', ' ']);
    if references_columns(&text) || single_value || text.starts_with("(SELECT ") {
        text
    } else {
        format!("(SELECT {text})")
    }
}

fn references_columns(text: &str) -> bool {
    // Columns are always printed as quoted identifiers; constants never contain a quote.
    text.contains('"')
}

fn spoint(x: &Expr, y: &Expr, out: &mut String) {
    out.push_str("spoint(radians(");
    expr(x, out);
    out.push_str("), radians(");
    expr(y, out);
    out.push_str("))");
}

/// A geometry as a pg_sphere value.
fn geometry(e: &Expr, out: &mut String) {
    match e {
        Expr::Call {
            function: Function::Point,
            arguments,
            ..
        } => {
            let coordinates = &arguments[arguments.len() - 2..];
            spoint(&coordinates[0], &coordinates[1], out);
        }
        Expr::Call {
            function: Function::Circle,
            arguments,
            ..
        } => {
            out.push_str("scircle(");
            match arguments.len() {
                2 => geometry(&arguments[0], out),
                n => spoint(&arguments[n - 3], &arguments[n - 2], out),
            }
            out.push_str(", radians(");
            expr(&arguments[arguments.len() - 1], out);
            out.push_str("))");
        }
        Expr::Call {
            function: Function::Polygon,
            arguments,
            ..
        } => {
            let coordinates = if matches!(arguments[0], Expr::String(_)) {
                &arguments[1..]
            } else {
                &arguments[..]
            };
            out.push_str("(SELECT spoly(v.p ORDER BY v.n) FROM (VALUES ");
            let points: Vec<String> = if coordinates.iter().all(|a| {
                matches!(
                    a,
                    Expr::Call {
                        function: Function::Point,
                        ..
                    }
                )
            }) {
                coordinates
                    .iter()
                    .map(|p| {
                        let mut s = String::new();
                        geometry(p, &mut s);
                        s
                    })
                    .collect()
            } else {
                coordinates
                    .chunks(2)
                    .map(|pair| {
                        let mut s = String::new();
                        spoint(&pair[0], &pair[1], &mut s);
                        s
                    })
                    .collect()
            };
            for (index, point) in points.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "({}, {point})", index + 1);
            }
            out.push_str(") AS v (n, p))");
        }
        Expr::Call {
            function: Function::Centroid,
            arguments,
            ..
        } => {
            out.push_str("center(");
            geometry(&arguments[0], out);
            out.push(')');
        }
        Expr::Nested(inner) => geometry(inner, out),
        other => expr(other, out),
    }
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
            let [(p, _), (q, _)] = distance_points(arguments);
            let _ = write!(out, "degrees(dist({p}, {q}))");
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
        Function::Point | Function::Circle | Function::Polygon | Function::Centroid => geometry(
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
                identifier(schema, out);
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
