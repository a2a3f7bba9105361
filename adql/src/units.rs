//! IN_UNIT's conversions: VOUnit names of angles, lengths (and wavelengths), times, each with
//! its size in the base unit of its kind. Converting means multiplying by a ratio of sizes;
//! units of different kinds (or temperatures, which need an offset) are refused.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dimension {
    Angle,
    Length,
    Time,
}

/// (VOUnit, kind, size in degrees / metres / seconds).
const UNITS: &[(&str, Dimension, f64)] = &[
    ("deg", Dimension::Angle, 1.0),
    ("rad", Dimension::Angle, 180.0 / std::f64::consts::PI),
    ("arcmin", Dimension::Angle, 1.0 / 60.0),
    ("arcsec", Dimension::Angle, 1.0 / 3600.0),
    ("mas", Dimension::Angle, 1.0 / 3_600_000.0),
    ("uas", Dimension::Angle, 1.0 / 3_600_000_000.0),
    ("m", Dimension::Length, 1.0),
    ("km", Dimension::Length, 1e3),
    ("cm", Dimension::Length, 1e-2),
    ("mm", Dimension::Length, 1e-3),
    ("um", Dimension::Length, 1e-6),
    ("nm", Dimension::Length, 1e-9),
    ("Angstrom", Dimension::Length, 1e-10),
    ("AU", Dimension::Length, 1.495_978_707e11),
    ("lyr", Dimension::Length, 9.460_730_472_580_8e15),
    ("pc", Dimension::Length, 3.085_677_581_491_367e16),
    ("kpc", Dimension::Length, 3.085_677_581_491_367e19),
    ("Mpc", Dimension::Length, 3.085_677_581_491_367e22),
    ("s", Dimension::Time, 1.0),
    ("ms", Dimension::Time, 1e-3),
    ("us", Dimension::Time, 1e-6),
    ("ns", Dimension::Time, 1e-9),
    ("min", Dimension::Time, 60.0),
    ("h", Dimension::Time, 3600.0),
    ("d", Dimension::Time, 86_400.0),
    ("yr", Dimension::Time, 31_557_600.0),
    ("a", Dimension::Time, 31_557_600.0),
];

fn find(unit: &str) -> Option<(Dimension, f64)> {
    UNITS
        .iter()
        .find(|(name, ..)| *name == unit.trim())
        .map(|&(_, dimension, size)| (dimension, size))
}

/// The factor that turns a value in `from` into `to`, or why it cannot.
pub(crate) fn factor(from: &str, to: &str) -> Result<f64, String> {
    let known = || {
        UNITS
            .iter()
            .map(|(name, ..)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some((from_dimension, from_size)) = find(from) else {
        return Err(format!(
            "the unit {from:?} of this value cannot be converted (units known: {})",
            known()
        ));
    };
    let Some((to_dimension, to_size)) = find(to) else {
        return Err(format!(
            "{to:?} is not a unit IN_UNIT knows (units known: {})",
            known()
        ));
    };
    if from_dimension != to_dimension {
        return Err(format!("{from} cannot be converted to {to}"));
    }
    Ok(from_size / to_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_within_a_kind_and_refuses_across_kinds() {
        assert_eq!(factor("deg", "arcsec"), Ok(3600.0));
        assert!((factor("m", "um").unwrap() - 1e6).abs() < 1e-6);
        assert_eq!(factor("d", "h"), Ok(24.0));
        assert!((factor("rad", "deg").unwrap() - 57.29577951308232).abs() < 1e-12);
        assert!(factor("deg", "m")
            .unwrap_err()
            .contains("cannot be converted"));
        assert!(factor("Celsius", "K").is_err());
    }
}
