//! Geometry: pg_sphere values from ADQL's POINT, CIRCLE, POLYGON..., and the predicates the GiST
//! index serves (`CONTAINS(...) = 1`, `DISTANCE(...) < r`), each with a band of latitude so the
//! planner estimates a cone from the column's statistics.

use super::*;

/// `CONTAINS(a, b) = 1` (either order; `= 0` negates) as `(a <@ b)`; INTERSECTS as `&&`.
pub(super) fn geometry_predicate(
    operator: BinaryOperator,
    left: &Expr,
    right: &Expr,
) -> Option<String> {
    if operator != BinaryOperator::Equal && operator != BinaryOperator::NotEqual {
        return None;
    }
    let is_predicate =
        |e: &Expr| matches!(e, Expr::Call { function, .. } if function.is_predicate());
    let (call, value) = match (left, right) {
        (call, Expr::Number(n)) if is_predicate(call) => (call, n),
        (Expr::Number(n), call) if is_predicate(call) => (call, n),
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

/// The pg_sphere relation behind CONTAINS or INTERSECTS, or the (u, v) predicate.
pub(super) fn relation(call: &Expr, out: &mut String) {
    let Expr::Call {
        function,
        arguments,
        ..
    } = call
    else {
        unreachable!("a predicate call")
    };
    if function.is_uv() {
        return super::uv::predicate(*function, arguments, out);
    }
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
pub(super) fn distance_within(
    operator: BinaryOperator,
    left: &Expr,
    right: &Expr,
) -> Option<String> {
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
    let (indexed, centre) = if q.varies && !p.varies {
        (q, p)
    } else {
        (p, q)
    };
    let mut reach = String::new();
    expr(radius, &mut reach);
    let constant = !centre.varies && !varies_by_row(radius);
    let mut out = String::from("(");
    out.push_str(&indexed.text);
    out.push_str(" <@ ");
    out.push_str(&once_per_query(
        format!("scircle({}, radians({reach}))", centre.text),
        constant,
    ));
    if let (Some(column), Some(middle)) = (indexed.latitude, centre.latitude) {
        latitude_band(column, middle, radius, &mut out);
    }
    if strict {
        let _ = write!(
            out,
            " AND degrees(dist({}, {})) < {}",
            indexed.text,
            once_per_query(centre.text, !centre.varies),
            once_per_query(reach, !varies_by_row(radius) && !is_single_value(radius))
        );
    }
    out.push(')');
    Some(out)
}

/// One of DISTANCE's points: as pg_sphere text, its latitude when it can be named, and
/// whether it differs from row to row.
pub(super) struct DistancePoint<'e> {
    pub text: String,
    pub latitude: Option<&'e Expr>,
    pub varies: bool,
}

/// DISTANCE's two points, from two POINTs or four coordinates.
pub(super) fn distance_points(arguments: &[Expr]) -> [DistancePoint<'_>; 2] {
    fn point(parts: &[Expr]) -> DistancePoint<'_> {
        let mut text = String::new();
        let latitude = match parts {
            [x, y] => {
                spoint(x, y, &mut text);
                Some(y)
            }
            [point] => {
                geometry(point, &mut text);
                point_latitude(point)
            }
            _ => unreachable!("the checker allows two points or four coordinates"),
        };
        DistancePoint {
            text,
            latitude,
            varies: parts.iter().any(varies_by_row),
        }
    }
    let (first, second) = arguments.split_at(arguments.len() / 2);
    [point(first), point(second)]
}

/// The latitude (second coordinate) of a POINT.
pub(super) fn point_latitude(point: &Expr) -> Option<&Expr> {
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

/// The latitude of a CIRCLE's centre, from its arguments: `(POINT, r)` or `([frame,] x, y, r)`.
pub(super) fn circle_latitude(arguments: &[Expr]) -> Option<&Expr> {
    match arguments.len() {
        2 => point_latitude(&arguments[0]),
        n => Some(&arguments[n - 2]),
    }
}

/// For a POINT in a CIRCLE: the band of latitudes the circle spans (see `latitude_band`).
pub(super) fn cone_band(point: &Expr, area: &Expr, out: &mut String) {
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
    if let (Some(column), Some(centre), Some(radius)) = (
        point_latitude(point),
        circle_latitude(arguments),
        arguments.last(),
    ) {
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
pub(super) fn latitude_band(column: &Expr, centre: &Expr, radius: &Expr, out: &mut String) {
    if !matches!(column, Expr::Column(_)) {
        return;
    }
    if varies_by_row(centre) || varies_by_row(radius) {
        return; // a crossmatch: the band would differ row by row
    }
    let (mut middle, mut reach) = (String::new(), String::new());
    expr(centre, &mut middle);
    expr(radius, &mut reach);
    let mut latitude = String::new();
    expr(column, &mut latitude);
    let _ = write!(
        out,
        " AND ({latitude} BETWEEN {} AND {} OR {latitude} NOT BETWEEN -90 AND 90)",
        once_per_query(format!("({middle}) - ({reach}) - 1e-6::float8"), true),
        once_per_query(format!("({middle}) + ({reach}) + 1e-6::float8"), true),
    );
}

/// The shape a column's geometry is compared with, computed once per query when it is a
/// constant (see `once_per_query`).
pub(super) fn constant_geometry(e: &Expr, out: &mut String) {
    let mut text = String::new();
    geometry(e, &mut text);
    out.push_str(&once_per_query(
        text,
        !varies_by_row(e) && !geometry_is_subquery(e),
    ));
}

/// Whether a geometry prints as a scalar subquery already (a POLYGON gathers its vertices in
/// one), which PostgreSQL computes once per query as it is.
fn geometry_is_subquery(e: &Expr) -> bool {
    match e {
        Expr::Call {
            function: Function::Polygon,
            ..
        }
        | Expr::Subquery(_) => true,
        Expr::Nested(inner) => geometry_is_subquery(inner),
        _ => false,
    }
}

/// A constant expression as a scalar subquery, which PostgreSQL computes once per query (an
/// InitPlan) instead of once per row. This matters for prepared statements: a generic plan
/// cannot fold `scircle(spoint(radians($1), radians($2)), radians($3))` into a constant, and
/// computing it row by row made generic plans look dearer than custom ones, so PostgreSQL
/// planned every execution anew (a third of its time per cone search). The caller says,
/// from the expressions the text was printed from, whether it is a constant worth computing
/// once (not a single value, not a subquery already).
pub(super) fn once_per_query(text: String, computed_constant: bool) -> String {
    if computed_constant {
        format!("(SELECT {text})")
    } else {
        text
    }
}

/// Whether a value may differ from row to row, so cannot be computed once per query: it names
/// a column, aggregates, or holds a subquery (which may be correlated).
pub(super) fn varies_by_row(e: &Expr) -> bool {
    match e {
        Expr::Column(_)
        | Expr::OutputAlias(_)
        | Expr::CountAll
        | Expr::Subquery(_)
        | Expr::InQuery { .. }
        | Expr::Exists { .. } => true,
        Expr::Number(_) | Expr::Parameter(..) | Expr::String(_) | Expr::Null => false,
        Expr::Negate(inner)
        | Expr::Not(inner)
        | Expr::Nested(inner)
        | Expr::IsNull { expr: inner, .. }
        | Expr::Cast { expr: inner, .. }
        | Expr::InUnit { expr: inner, .. } => varies_by_row(inner),
        Expr::Binary { left, right, .. } => varies_by_row(left) || varies_by_row(right),
        Expr::Between {
            expr, low, high, ..
        } => [expr, low, high].iter().any(|e| varies_by_row(e)),
        Expr::InList { expr, list, .. } => varies_by_row(expr) || list.iter().any(varies_by_row),
        Expr::Like { expr, pattern, .. } => varies_by_row(expr) || varies_by_row(pattern),
        Expr::Call {
            function,
            arguments,
            ..
        } => function.is_aggregate() || arguments.iter().any(varies_by_row),
    }
}

/// A literal or a parameter: printed as one value, nothing to compute.
pub(super) fn is_single_value(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Number(_) | Expr::Parameter(..) | Expr::String(_) | Expr::Null
    )
}

pub(super) fn spoint(x: &Expr, y: &Expr, out: &mut String) {
    out.push_str("spoint(radians(");
    expr(x, out);
    out.push_str("), radians(");
    expr(y, out);
    out.push_str("))");
}

/// A geometry as a pg_sphere value.
pub(super) fn geometry(e: &Expr, out: &mut String) {
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
        Expr::Call {
            function: Function::IvoHealpixCenter,
            arguments,
            ..
        } => {
            out.push_str("center_of_healpix_nest(");
            expr(&arguments[0], out);
            out.push_str(", ");
            expr(&arguments[1], out);
            out.push(')');
        }
        Expr::Nested(inner) => geometry(inner, out),
        other => expr(other, out),
    }
}
