//! Function calls: the whitelist's arity, geometry arguments (coordinate systems, a CIRCLE's
//! radius), IN_UNIT, BOX as a polygon, and CAST targets.

use super::*;

impl Checker<'_> {
    pub(super) fn call(
        &mut self,
        function: &sql::Function,
        scope: &Scope<'_>,
    ) -> Result<Expr, AdqlError> {
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
        check_geometry_arguments(known, &arguments, span, self.catalog.is_some())?;
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
    pub(super) fn keyword_before(
        &self,
        span: sqlparser::tokenizer::Span,
        keyword: &str,
    ) -> (u64, u64) {
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
    pub(super) fn arguments(
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
    pub(super) fn check_radius(
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

    /// CAST of a DALI string (`'12.3 45.6'` AS POINT, `'ra dec radius'` AS CIRCLE, the
    /// vertices' coordinates AS POLYGON) to a geometry: read here into the constructor it
    /// stands for, which is then checked and translated like one written out. Only a literal
    /// can be read before the query runs; a column of such strings is refused.
    pub(super) fn geometry_cast(
        &mut self,
        value: Expr,
        function: Function,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Expr, AdqlError> {
        let name = function.name().to_ascii_uppercase();
        let example = match function {
            Function::Point => "'12.3 45.6'",
            Function::Circle => "'12.3 45.6 1.0'",
            _ => "'1.0 0.1 2.0 0.2 3.0 0.3'",
        };
        let refuse = |problem: String| {
            AdqlError::new(ErrorKind::BadArguments, problem, position(span)).with_hint(format!(
                "CAST to {name} reads a string literal of DALI coordinates in degrees, e.g. \
                 CAST({example} AS {name})"
            ))
        };
        let Expr::String(text) = value else {
            return Err(refuse(format!("CAST to {name} takes a string literal")));
        };
        let numbers = text
            .split_whitespace()
            .map(|word| word.parse::<f64>().ok().filter(|n| n.is_finite()))
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| refuse(format!("{text:?} is not a list of numbers")))?;
        let fits = match function {
            Function::Point => numbers.len() == 2,
            Function::Circle => numbers.len() == 3,
            _ => numbers.len() >= 6 && numbers.len() % 2 == 0,
        };
        if !fits {
            return Err(refuse(format!(
                "{text:?} has {} numbers, which make no {name}",
                numbers.len()
            )));
        }
        if function == Function::Circle && !(0.0..=90.0).contains(&numbers[2]) {
            return Err(refuse(format!(
                "a CIRCLE's radius is from 0 to 90 degrees, not {}",
                numbers[2]
            )));
        }
        let arguments: Vec<Expr> = numbers
            .iter()
            .map(|number| match format!("{}", number.abs()) {
                digits if *number < 0.0 => Expr::Negate(Box::new(Expr::Number(digits))),
                digits => Expr::Number(digits),
            })
            .collect();
        check_geometry_arguments(function, &arguments, span, self.catalog.is_some())?;
        Ok(Expr::Call {
            function,
            arguments,
            distinct: false,
        })
    }

    /// IN_UNIT(value, 'unit'): the value, whose unit is known, converted.
    pub(super) fn in_unit(
        &mut self,
        function: &sql::Function,
        scope: &Scope<'_>,
    ) -> Result<Expr, AdqlError> {
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
                "IN_UNIT needs a value whose unit is known: a column with a unit, or an \
                 expression of such columns that keeps it (a sum, a scaling by a number, MAX...)",
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

    /// The unit of a value, where it follows from its parts: a column's; kept by aggregates,
    /// rounding and signs that do not change it, by sums and differences of values in one
    /// unit, by COALESCE of such values, and by scaling with a plain number (`2 * col`,
    /// `col / 3600`); DEGREES and RADIANS give degrees and radians.
    pub(super) fn unit_of(&self, expr: &Expr, scope: &Scope<'_>) -> Option<String> {
        let same_unit = |values: &[Expr]| {
            let unit = self.unit_of(values.first()?, scope)?;
            values[1..]
                .iter()
                .all(|value| self.unit_of(value, scope).as_ref() == Some(&unit))
                .then_some(unit)
        };
        match expr {
            Expr::Column(column) => column_info(column, scope).and_then(|c| c.unit.clone()),
            Expr::InUnit { unit, .. } => Some(unit.clone()),
            Expr::Nested(inner) | Expr::Negate(inner) => self.unit_of(inner, scope),
            Expr::Call {
                function:
                    Function::Min
                    | Function::Max
                    | Function::Avg
                    | Function::Sum
                    | Function::Abs
                    | Function::Round
                    | Function::Floor
                    | Function::Ceiling
                    | Function::Truncate,
                arguments,
                ..
            } => arguments.first().and_then(|a| self.unit_of(a, scope)),
            Expr::Call {
                function: Function::Coalesce,
                arguments,
                ..
            } => same_unit(arguments),
            Expr::Call {
                function: Function::Degrees,
                ..
            } => Some("deg".into()),
            Expr::Call {
                function: Function::Radians,
                ..
            } => Some("rad".into()),
            Expr::Binary {
                operator: BinaryOperator::Plus | BinaryOperator::Minus,
                left,
                right,
            } => same_unit(&[(**left).clone(), (**right).clone()]),
            Expr::Binary {
                operator: BinaryOperator::Multiply,
                left,
                right,
            } => match (is_plain_number(left), is_plain_number(right)) {
                (true, false) => self.unit_of(right, scope),
                (false, true) => self.unit_of(left, scope),
                _ => None,
            },
            Expr::Binary {
                operator: BinaryOperator::Divide,
                left,
                right,
            } if is_plain_number(right) => self.unit_of(left, scope),
            _ => None,
        }
    }

    /// BOX (deprecated in ADQL 2.1) as the polygon of its corners: centre plus or minus half
    /// the width in longitude and half the height in latitude.
    pub(super) fn box_as_polygon(
        &mut self,
        function: &sql::Function,
        scope: &Scope<'_>,
    ) -> Result<Expr, AdqlError> {
        let span = function.name.span();
        let mut arguments = self.arguments(function, scope)?;
        if arguments.len() == 5 {
            check_geometry_arguments(
                Function::Point,
                &arguments[..3],
                span,
                self.catalog.is_some(),
            )?;
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
}

/// Geometry functions take geometries, or coordinates with an optional coordinate system
/// first. That argument is deprecated in ADQL 2.1 (section 4.2.1) and any string is ADQL; but
/// ADQL 2.1 leaves frame conversions to explicit functions, and this service converts none:
/// its positions are ICRS, so against its tables (`frames_checked`) another frame is refused
/// rather than read as ICRS.
pub(super) fn check_geometry_arguments(
    function: Function,
    arguments: &[Expr],
    span: sqlparser::tokenizer::Span,
    frames_checked: bool,
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
            if !frames_checked || upper.is_empty() || upper.starts_with("ICRS") {
                Ok(())
            } else {
                Err(AdqlError::new(
                    ErrorKind::BadArguments,
                    format!(
                        "the coordinate system {text:?} is not served: positions here are ICRS, \
                         and this service converts no frames"
                    ),
                    position(span),
                )
                .with_hint(
                    "the coordinate system argument is deprecated in ADQL 2.1: leave it out \
                     (POINT(ra, dec)) or write 'ICRS', with ICRS coordinates",
                ))
            }
        }
        _ => Err(AdqlError::new(
            ErrorKind::BadArguments,
            "the first of these arguments is a coordinate system string, e.g. 'ICRS'".to_string(),
            position(span),
        )),
    };
    // A string anywhere but first is a coordinate system in the wrong place, or an argument
    // missing after it.
    let misplaced_string = |from: usize| {
        arguments[from..]
            .iter()
            .any(|argument| matches!(argument, Expr::String(_)))
    };
    match function {
        Function::Point if arguments.len() == 2 && misplaced_string(0) => {
            return bad("POINT takes two coordinates, after an optional coordinate system: POINT(ra, dec)")
        }
        Function::Circle if arguments.len() == 3 && misplaced_string(0) => {
            return bad("CIRCLE takes a centre and a radius, after an optional coordinate system: CIRCLE(ra, dec, radius) or CIRCLE(point, radius)")
        }
        Function::Point | Function::Circle if misplaced_string(1) => {
            return bad("a coordinate system comes first, and only there")
        }
        _ => {}
    }
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
        _ if function.is_uv()
            && arguments
                .iter()
                .any(|a| match a {
                    Expr::Call { function, .. } => function.is_geometry_valued(),
                    Expr::String(_) => true,
                    _ => false,
                }) =>
        {
            bad("this function takes numbers: (u, v) in metres, lengths in metres, angles in degrees")
        }
        Function::IvoHealpixIndex if arguments.len() == 2 && !is_geometry(&arguments[1]) => {
            bad("ivo_healpix_index takes an order and a POINT, or an order, ra and dec")
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

/// The geometry constructor a CAST target names (ADQL 2.1, 4.7.5: POINT, CIRCLE, POLYGON).
pub(super) fn geometry_type(data_type: &sql::DataType) -> Option<Function> {
    let sql::DataType::Custom(name, modifiers) = data_type else {
        return None;
    };
    if !modifiers.is_empty() {
        return None;
    }
    match name.to_string().to_ascii_uppercase().as_str() {
        "POINT" => Some(Function::Point),
        "CIRCLE" => Some(Function::Circle),
        "POLYGON" => Some(Function::Polygon),
        _ => None,
    }
}

pub(super) fn cast_target(
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

/// A number written as such, whatever its sign and brackets: a scale without a unit.
fn is_plain_number(expr: &Expr) -> bool {
    match expr {
        Expr::Number(_) | Expr::Parameter(..) => true,
        Expr::Negate(inner) | Expr::Nested(inner) => is_plain_number(inner),
        _ => false,
    }
}
