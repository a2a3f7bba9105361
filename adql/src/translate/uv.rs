//! This service's (u, v) functions, which ADQL lacks: each becomes a call of the SQL function
//! of the same meaning (migrations/0012), a plain SQL function that PostgreSQL inlines into the
//! query. Inlined, its box test on a baseline's (u, v) track is the expression of the GiST index
//! on `obsportal.baselines`, which then serves it; the exact test follows.
//!
//! - `OBSPORTAL_UV_NEAR(u_start, v_start, u_end, v_end, u, v, radius)`: the track from start
//!   to end (straight), or its mirror image (-u, -v), passes within `radius` of (u, v) [m].
//! - `OBSPORTAL_UV_SECTOR(u_start, v_start, u_end, v_end, length_min, length_max, angle_min,
//!   angle_max)`: at the start or the end, the baseline's length lies in the range [m] and its
//!   position angle, modulo 180, from `angle_min` east to `angle_max` [deg].
//! - `OBSPORTAL_ANGLE_WITHIN(angle, from, to)`: a position angle modulo 180 in that range.

use super::*;

/// The function's SQL predicate (a boolean): callers compare it or turn it into 1 or 0.
pub(super) fn predicate(function: Function, arguments: &[Expr], out: &mut String) {
    out.push_str(match function {
        Function::ObsportalUvNear => "obsportal.uv_near(",
        Function::ObsportalUvSector => "obsportal.uv_sector(",
        Function::ObsportalAngleWithin => "obsportal.angle_within(",
        _ => unreachable!("a (u, v) function"),
    });
    list(arguments, out);
    out.push(')');
}
