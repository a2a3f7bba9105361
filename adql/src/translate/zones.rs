//! Crossmatches by zones of declination. A point of one table within a small constant radius of
//! a point of another (`CONTAINS(POINT(a), CIRCLE(b, r)) = 1` or `DISTANCE(a, b) < r`) in an
//! inner join's ON: pg_sphere answers it only by probing a GiST index once per row of one side,
//! a nested loop (15 s for 300,000 uploaded positions against 300,000 exposures here, 10.7
//! million matches). Zones 1" high (`floor(dec * 3600)`) make it an equi-join as well: two
//! points within r degrees lie at most `ceil(r * 3600) + 1` zones apart, so the join also
//! gets `floor(a.dec * 3600) = floor(b.dec * 3600) + step` for each step of that range (a
//! `generate_series` cross-joined before the right side; exactly one step matches a pair, so
//! no row is repeated). PostgreSQL can then hash or merge (3 s for the same join). The exact
//! predicate stays as it was. Which plan runs is still the planner's: the published tables and
//! the uploads carry statistics on the zone expression (migration 0013, the server's upload
//! loader), so a handful of targets still probe the GiST index; the exposures' zone index
//! (migration 0016) gives their side in zone order from the index alone, and an upload joined
//! by zones is not indexed at all (`Translation::joins_by_zones`).
//!
//! The number of steps is computed from the radius in the SQL itself, so that a translation
//! reused for another radius (`TranslationCache`) stays exact.

use super::*;

/// Above this radius [deg] the zones would be too many to help: the join is left as it is.
const MAX_RADIUS_DEG: f64 = 0.1;

/// The two latitudes and the radius [deg] of a crossmatch.
pub(super) struct Zones<'e> {
    point: &'e Expr,
    centre: &'e Expr,
    radius: &'e Expr,
}

/// The crossmatch of a join, when it is an inner join whose condition holds one.
pub(super) fn of_join(kind: JoinKind, constraint: &JoinConstraint) -> Option<Zones<'_>> {
    match (kind, constraint) {
        (JoinKind::Inner, JoinConstraint::On(condition)) => crossmatch(condition),
        _ => None,
    }
}

/// Whether a join of `query`, its common tables' and its derived tables' is a crossmatch by
/// zones. (Subqueries within conditions are not looked into: the answer only spares building
/// an index, so a missed one costs time, never rows.)
pub(super) fn used_in(query: &Query) -> bool {
    fn in_body(body: &Body) -> bool {
        match body {
            Body::Select(select) => select.from.iter().any(in_from),
            Body::SetOperation { left, right, .. } => in_body(left) || in_body(right),
        }
    }
    fn in_from(item: &FromItem) -> bool {
        match item {
            FromItem::Table { .. } | FromItem::CommonTable { .. } => false,
            FromItem::Subquery { query, .. } => used_in(query),
            FromItem::Nested(inner) => in_from(inner),
            FromItem::Join {
                left,
                right,
                kind,
                constraint,
                ..
            } => of_join(*kind, constraint).is_some() || in_from(left) || in_from(right),
        }
    }
    query.with.iter().any(|table| used_in(&table.query)) || in_body(&query.body)
}

/// The crossmatch among the conjuncts of an inner join's condition, if there is one.
fn crossmatch(condition: &Expr) -> Option<Zones<'_>> {
    let found = match condition {
        Expr::Nested(inner) => return crossmatch(inner),
        Expr::Binary {
            operator: BinaryOperator::And,
            left,
            right,
        } => return crossmatch(left).or_else(|| crossmatch(right)),
        Expr::Binary {
            operator,
            left,
            right,
        } => contains(*operator, left, right).or_else(|| distance(*operator, left, right)),
        _ => None,
    }?;
    let qualifier = |e: &Expr| match e {
        Expr::Column(column) => column.qualifier.clone(),
        _ => None,
    };
    let (point, centre) = (qualifier(found.point)?, qualifier(found.centre)?);
    let small = radius_deg(found.radius).is_some_and(|r| (0.0..=MAX_RADIUS_DEG).contains(&r));
    (point != centre && small).then_some(found)
}

/// `CONTAINS(POINT(.., lat), CIRCLE(.., lat, r)) = 1`, either way round.
fn contains<'e>(operator: BinaryOperator, left: &'e Expr, right: &'e Expr) -> Option<Zones<'e>> {
    if operator != BinaryOperator::Equal {
        return None;
    }
    let call = match (left, right) {
        (call, Expr::Number(one)) | (Expr::Number(one), call) if one == "1" => call,
        _ => return None,
    };
    let Expr::Call {
        function: Function::Contains,
        arguments,
        ..
    } = call
    else {
        return None;
    };
    let Expr::Call {
        function: Function::Circle,
        arguments: circle,
        ..
    } = unnested(&arguments[1])
    else {
        return None;
    };
    Some(Zones {
        point: point_latitude(&arguments[0])?,
        centre: circle_latitude(circle)?,
        radius: circle.last()?,
    })
}

/// `DISTANCE(p, q) < r` (or `<=`, or mirrored).
fn distance<'e>(operator: BinaryOperator, left: &'e Expr, right: &'e Expr) -> Option<Zones<'e>> {
    let is_distance = |e: &Expr| {
        matches!(
            e,
            Expr::Call {
                function: Function::Distance,
                ..
            }
        )
    };
    let (call, radius) = match operator {
        BinaryOperator::Less | BinaryOperator::LessOrEqual if is_distance(left) => (left, right),
        BinaryOperator::Greater | BinaryOperator::GreaterOrEqual if is_distance(right) => {
            (right, left)
        }
        _ => return None,
    };
    let Expr::Call { arguments, .. } = call else {
        return None;
    };
    let [p, q] = distance_points(arguments);
    Some(Zones {
        point: p.latitude?,
        centre: q.latitude?,
        radius,
    })
}

fn unnested(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => unnested(inner),
        other => other,
    }
}

/// A radius written as numbers (`1.0/3600`), with its value.
fn radius_deg(e: &Expr) -> Option<f64> {
    match e {
        Expr::Number(text) => text.parse().ok(),
        Expr::Parameter(_, literal) => Some(match literal {
            Literal::Int4(value) => f64::from(*value),
            Literal::Int8(value) => *value as f64,
            Literal::Float8(value) => *value,
        }),
        Expr::Negate(inner) => radius_deg(inner).map(|value| -value),
        Expr::Nested(inner) => radius_deg(inner),
        Expr::Binary {
            operator,
            left,
            right,
        } => {
            let (left, right) = (radius_deg(left)?, radius_deg(right)?);
            match operator {
                BinaryOperator::Plus => Some(left + right),
                BinaryOperator::Minus => Some(left - right),
                BinaryOperator::Multiply => Some(left * right),
                BinaryOperator::Divide => Some(left / right),
                _ => None,
            }
        }
        _ => None,
    }
}

impl Zones<'_> {
    /// The steps' name: after the point's table, whose alias is unique in its FROM, with a
    /// space no one writes in an alias.
    fn name(&self) -> String {
        let table = match self.point {
            Expr::Column(ColumnRef {
                qualifier: Some(qualifier),
                ..
            }) => match &**qualifier {
                Qualifier::Table { table, .. } => table.as_str(),
                Qualifier::Name(name) => name.as_str(),
            },
            _ => "",
        };
        format!("{table} zones")
    }

    /// `CROSS JOIN generate_series(..) AS "<name>"(step)`, to print before the joined table.
    pub(super) fn steps(&self, out: &mut String) {
        let name = self.name();
        let mut radius = String::new();
        expr(self.radius, &mut radius);
        let reach = format!("(ceil(({radius}) * 3600)::integer + 1)");
        out.push_str(&format!(
            " CROSS JOIN generate_series(-{reach}, {reach}) AS "
        ));
        identifier(&name, out);
        out.push_str("(step)");
    }

    /// The zones' equality, to print before the join's own condition.
    pub(super) fn equality(&self, out: &mut String) {
        out.push_str("floor(");
        expr(self.point, out);
        out.push_str(" * 3600) = floor(");
        expr(self.centre, out);
        out.push_str(" * 3600) + ");
        identifier(&self.name(), out);
        out.push_str(".step AND ");
    }
}
