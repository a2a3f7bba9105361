//! The functions a query may call: ADQL 2.1's, and nothing else. A name not listed here is an
//! error before anything reaches the database.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    // Mathematical and trigonometric.
    Abs,
    Ceiling,
    Degrees,
    Exp,
    Floor,
    Log,
    Log10,
    Mod,
    Pi,
    Power,
    Radians,
    Sqrt,
    Rand,
    Round,
    Truncate,
    Acos,
    Asin,
    Atan,
    Atan2,
    Cos,
    Cot,
    Sin,
    Tan,
    // Strings and conditionals.
    Lower,
    Upper,
    Coalesce,
    // Aggregates.
    Avg,
    Count,
    Max,
    Min,
    Sum,
    // Geometry.
    Point,
    Circle,
    Polygon,
    Contains,
    Intersects,
    Distance,
    Coord1,
    Coord2,
    Coordsys,
    Area,
    Centroid,
    // The IVOA UDF catalogue's HEALPix functions (nested scheme), which pg_sphere computes.
    IvoHealpixIndex,
    IvoHealpixCenter,
    // This service's (u, v) functions (`translate/uv.rs`), predicates like CONTAINS.
    ObsportalUvNear,
    ObsportalUvSector,
    ObsportalAngleWithin,
}

/// Name, function, least and most arguments (None: any number).
const FUNCTIONS: &[(&str, Function, usize, Option<usize>)] = &[
    ("ABS", Function::Abs, 1, Some(1)),
    ("CEILING", Function::Ceiling, 1, Some(1)),
    ("DEGREES", Function::Degrees, 1, Some(1)),
    ("EXP", Function::Exp, 1, Some(1)),
    ("FLOOR", Function::Floor, 1, Some(1)),
    ("LOG", Function::Log, 1, Some(1)),
    ("LOG10", Function::Log10, 1, Some(1)),
    ("MOD", Function::Mod, 2, Some(2)),
    ("PI", Function::Pi, 0, Some(0)),
    ("POWER", Function::Power, 2, Some(2)),
    ("RADIANS", Function::Radians, 1, Some(1)),
    ("SQRT", Function::Sqrt, 1, Some(1)),
    ("RAND", Function::Rand, 0, Some(1)),
    ("ROUND", Function::Round, 1, Some(2)),
    ("TRUNCATE", Function::Truncate, 1, Some(2)),
    ("ACOS", Function::Acos, 1, Some(1)),
    ("ASIN", Function::Asin, 1, Some(1)),
    ("ATAN", Function::Atan, 1, Some(1)),
    ("ATAN2", Function::Atan2, 2, Some(2)),
    ("COS", Function::Cos, 1, Some(1)),
    ("COT", Function::Cot, 1, Some(1)),
    ("SIN", Function::Sin, 1, Some(1)),
    ("TAN", Function::Tan, 1, Some(1)),
    ("LOWER", Function::Lower, 1, Some(1)),
    ("UPPER", Function::Upper, 1, Some(1)),
    ("COALESCE", Function::Coalesce, 1, None),
    ("AVG", Function::Avg, 1, Some(1)),
    ("COUNT", Function::Count, 1, Some(1)),
    ("MAX", Function::Max, 1, Some(1)),
    ("MIN", Function::Min, 1, Some(1)),
    ("SUM", Function::Sum, 1, Some(1)),
    ("POINT", Function::Point, 2, Some(3)),
    ("CIRCLE", Function::Circle, 2, Some(4)),
    ("POLYGON", Function::Polygon, 3, None),
    ("CONTAINS", Function::Contains, 2, Some(2)),
    ("INTERSECTS", Function::Intersects, 2, Some(2)),
    ("DISTANCE", Function::Distance, 2, Some(4)),
    ("COORD1", Function::Coord1, 1, Some(1)),
    ("COORD2", Function::Coord2, 1, Some(1)),
    ("COORDSYS", Function::Coordsys, 1, Some(1)),
    ("AREA", Function::Area, 1, Some(1)),
    ("CENTROID", Function::Centroid, 1, Some(1)),
    ("IVO_HEALPIX_INDEX", Function::IvoHealpixIndex, 2, Some(3)),
    ("IVO_HEALPIX_CENTER", Function::IvoHealpixCenter, 2, Some(2)),
    ("OBSPORTAL_UV_NEAR", Function::ObsportalUvNear, 7, Some(7)),
    (
        "OBSPORTAL_UV_SECTOR",
        Function::ObsportalUvSector,
        8,
        Some(8),
    ),
    (
        "OBSPORTAL_ANGLE_WITHIN",
        Function::ObsportalAngleWithin,
        3,
        Some(3),
    ),
];

/// The function of an ADQL name (any case), with its least and most argument counts.
pub(crate) fn lookup(name: &str) -> Option<(Function, usize, Option<usize>)> {
    FUNCTIONS
        .iter()
        .find(|(known, ..)| known.eq_ignore_ascii_case(name))
        .map(|&(_, function, least, most)| (function, least, most))
}

impl Function {
    pub(crate) fn is_aggregate(self) -> bool {
        matches!(
            self,
            Function::Avg | Function::Count | Function::Max | Function::Min | Function::Sum
        )
    }

    /// Functions whose value is 1 or 0, which a comparison with 1 or 0 turns into a predicate
    /// an index may serve.
    pub(crate) fn is_predicate(self) -> bool {
        matches!(
            self,
            Function::Contains
                | Function::Intersects
                | Function::ObsportalUvNear
                | Function::ObsportalUvSector
                | Function::ObsportalAngleWithin
        )
    }

    /// This service's (u, v) functions: numbers in, 1 or 0 out.
    pub(crate) fn is_uv(self) -> bool {
        matches!(
            self,
            Function::ObsportalUvNear
                | Function::ObsportalUvSector
                | Function::ObsportalAngleWithin
        )
    }

    /// Functions whose value is a geometry (a pg_sphere value).
    pub(crate) fn is_geometry_valued(self) -> bool {
        matches!(
            self,
            Function::Point
                | Function::Circle
                | Function::Polygon
                | Function::Centroid
                | Function::IvoHealpixCenter
        )
    }

    /// The output column name of a call, as TAP services usually name it.
    pub(crate) fn name(self) -> String {
        FUNCTIONS
            .iter()
            .find(|(_, function, ..)| *function == self)
            .map(|(name, ..)| name.to_ascii_lowercase())
            .expect("every function is listed")
    }
}

/// What a user probably meant, for SQL functions that ADQL does not have.
pub(crate) fn hint_for_unknown(name: &str) -> Option<&'static str> {
    let hint = match name.to_ascii_uppercase().as_str() {
        "CONCAT" => "join strings with ||",
        "SUBSTR" | "SUBSTRING" | "LEFT" | "RIGHT" => {
            "ADQL has no substring function; compare with LIKE"
        }
        "NOW" | "CURRENT_DATE" | "CURRENT_TIMESTAMP" => {
            "ADQL has no clock functions; write the time as a literal"
        }
        "LN" => "ADQL's LOG is the natural logarithm",
        "CEIL" => "ADQL writes CEILING",
        "POW" => "ADQL writes POWER",
        "TRUNC" => "ADQL writes TRUNCATE",
        "IFNULL" | "NVL" => "ADQL writes COALESCE",
        "ILIKE" => "ILIKE is an operator: column ILIKE 'pattern'",
        "REGION" => "REGION is not supported; use POINT, CIRCLE or POLYGON",
        "BOX" => "BOX is deprecated in ADQL 2.1; use POLYGON",
        _ => return None,
    };
    Some(hint)
}
