//! Pictures drawn by the server as SVG, so they need no JavaScript: exposures per year and
//! instrument, a sky map of observed targets, and the (u,v) coverage of an exposure or a target.

use std::collections::BTreeMap;
use std::fmt::Write;

use maud::{html, Markup, PreEscaped};

/// One colour per instrument, the same on every picture.
pub(super) fn instrument_colour(instrument: &str) -> &'static str {
    match instrument {
        "GRAVITY" => "#1f77b4",
        "MATISSE" => "#d62728",
        "PIONIER" => "#2ca02c",
        "AMBER" => "#ff7f0e",
        "MIDI" => "#9467bd",
        _ => "#7f7f7f",
    }
}

/// Stacked bars of exposures per year, one colour per instrument.
pub(super) fn histogram(counts: &[(i32, String, i64)]) -> Markup {
    let (width, height, left, bottom) = (720.0, 260.0, 56.0, 28.0);
    let mut by_year: BTreeMap<i32, Vec<(&str, i64)>> = BTreeMap::new();
    for (year, instrument, count) in counts {
        by_year.entry(*year).or_default().push((instrument, *count));
    }
    let (Some(first), Some(last)) = (
        by_year.keys().next().copied(),
        by_year.keys().last().copied(),
    ) else {
        return html! { p { "No exposures yet." } };
    };
    let tallest = by_year
        .values()
        .map(|bars| bars.iter().map(|b| b.1).sum::<i64>())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let years = (last - first + 1) as f64;
    let slot = (width - left - 10.0) / years;
    let scale = (height - bottom - 10.0) / tallest;
    let mut bars = String::new();
    for (year, stack) in &by_year {
        let x = left + (year - first) as f64 * slot;
        let mut top = height - bottom;
        for (instrument, count) in stack {
            let h = *count as f64 * scale;
            top -= h;
            let _ = write!(
                bars,
                r#"<rect x="{x:.1}" y="{top:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{year} {}: {count}</title></rect>"#,
                slot * 0.8,
                instrument_colour(instrument),
                html_escape::encode_text(instrument),
            );
        }
        if (year - first) % 2 == 0 {
            let _ = write!(
                bars,
                r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{year}</text>"#,
                x + slot * 0.4,
                height - 10.0
            );
        }
    }
    let instruments: Vec<&str> = {
        let mut names: Vec<&str> = counts.iter().map(|c| c.1.as_str()).collect();
        names.sort();
        names.dedup();
        names
    };
    html! {
        svg.picture role="img" aria-label="Exposures per year and instrument" viewBox=(format!("0 0 {width} {height}")) xmlns="http://www.w3.org/2000/svg" {
            line x1=(left) y1=(height - bottom) x2=(width - 10.0) y2=(height - bottom) stroke="#444" {}
            line x1=(left) y1="10" x2=(left) y2=(height - bottom) stroke="#444" {}
            text x=(left - 6.0) y="18" font-size="11" text-anchor="end" { (tallest as i64) }
            text x=(left - 6.0) y=(height - bottom) font-size="11" text-anchor="end" { "0" }
            (PreEscaped(bars))
            @for (index, instrument) in instruments.iter().enumerate() {
                rect x=(left + 10.0 + index as f64 * 110.0) y="4" width="10" height="10" fill=(instrument_colour(instrument)) {}
                text x=(left + 24.0 + index as f64 * 110.0) y="13" font-size="11" { (instrument) }
            }
        }
    }
}

/// Hammer-Aitoff projection of (ra, dec) in degrees to (x, y) in [-1, 1] x [-0.5, 0.5],
/// right ascension growing to the left as on the sky.
fn hammer(ra: f64, dec: f64) -> (f64, f64) {
    let longitude = (180.0 - ra).to_radians();
    let latitude = dec.to_radians();
    let denominator = (1.0 + latitude.cos() * (longitude / 2.0).cos()).sqrt();
    let x = latitude.cos() * (longitude / 2.0).sin() / denominator;
    let y = latitude.sin() / denominator;
    (x, y / 2.0)
}

/// Observed targets on the sky, the area of a dot growing with its exposures, over the
/// coverage map's cells (centre and HEALPix order) shaded.
pub(super) fn sky_map(targets: &[(f64, f64, i64)], coverage: &[(f64, f64, i32)]) -> Markup {
    let (width, height) = (720.0, 380.0);
    let centre = (width / 2.0, height / 2.0);
    let to_page = |(x, y): (f64, f64)| {
        (
            centre.0 + x * (width / 2.0 - 10.0),
            centre.1 - y * (height - 20.0),
        )
    };
    let mut grid = String::new();
    for dec in [-60, -30, 0, 30, 60] {
        grid_line(
            &mut grid,
            (0..=72).map(|step| to_page(hammer(step as f64 * 5.0, dec as f64))),
        );
    }
    for ra in (0..360).step_by(60) {
        grid_line(
            &mut grid,
            (-90..=90)
                .step_by(5)
                .map(|dec| to_page(hammer(ra as f64 + 1e-9, dec as f64))),
        );
        let (x, y) = to_page(hammer(ra as f64 + 1e-9, 0.0));
        let _ = write!(
            grid,
            r##"<text x="{x:.1}" y="{:.1}" font-size="10" fill="#666">{}h</text>"##,
            y - 3.0,
            ra / 15
        );
    }
    let mut dots = String::new();
    for (ra, dec, order) in coverage {
        let (x, y) = to_page(hammer(*ra, *dec));
        // A cell of order 5 is 1.8 degrees across, about 3.5 of the map's units at the equator.
        let side = 3.6 * 2f64.powi(5 - order);
        let _ = write!(
            dots,
            r##"<rect class="coverage" x="{:.1}" y="{:.1}" width="{side:.1}" height="{side:.1}" fill="#ff7f0e" fill-opacity="0.35"/>"##,
            x - side / 2.0,
            y - side / 2.0
        );
    }
    for (ra, dec, exposures) in targets {
        let (x, y) = to_page(hammer(*ra, *dec));
        let radius = 1.2 + (*exposures as f64).sqrt() * 0.35;
        let _ = write!(
            dots,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="{radius:.1}" fill="#1f77b4" fill-opacity="0.5"><title>RA {ra:.3} Dec {dec:.3}: {exposures} exposures</title></circle>"##
        );
    }
    html! {
        svg.picture role="img" aria-label="Sky map of observed targets" viewBox=(format!("0 0 {width} {height}")) xmlns="http://www.w3.org/2000/svg" {
            ellipse cx=(centre.0) cy=(centre.1) rx=(width / 2.0 - 10.0) ry=(height / 2.0 - 10.0) fill="#f8f9fb" stroke="#444" {}
            (PreEscaped(grid))
            (PreEscaped(dots))
        }
    }
}

/// One baseline's projected length [m] and position angle [deg, east of north] at the start
/// and end of an exposure.
pub(super) struct Baseline {
    pub(super) pair: String,
    /// What it is drawn in (its instrument's colour on a target's picture).
    pub(super) colour: &'static str,
    pub(super) start: Option<(f64, f64)>,
    pub(super) end: Option<(f64, f64)>,
}

/// The (u,v) points of one exposure or of a target's exposures (and their mirror images),
/// each baseline drawn from its position at the start to its position at the end.
pub(super) fn uv_plot(baselines: &[Baseline]) -> Markup {
    let size = 360.0;
    let half = size / 2.0;
    let longest = baselines
        .iter()
        .flat_map(|b| [b.start, b.end])
        .flatten()
        .map(|(length, _)| length)
        .fold(1.0_f64, f64::max);
    let scale = (half - 30.0) / longest;
    // u grows to the east (left, as on the sky), v to the north (up).
    let point = |(length, angle): (f64, f64), sign: f64| {
        let (u, v) = (
            length * angle.to_radians().sin(),
            length * angle.to_radians().cos(),
        );
        (half - sign * u * scale, half - sign * v * scale)
    };
    let mut marks = String::new();
    for baseline in baselines {
        for sign in [1.0, -1.0] {
            let ends: Vec<(f64, f64)> = [baseline.start, baseline.end]
                .into_iter()
                .flatten()
                .map(|p| point(p, sign))
                .collect();
            if let [(x1, y1), (x2, y2)] = ends[..] {
                let _ = write!(
                    marks,
                    r##"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{}" stroke-width="3"/>"##,
                    baseline.colour
                );
            }
            for (x, y) in ends {
                let _ = write!(
                    marks,
                    r##"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="{}"><title>{}</title></circle>"##,
                    baseline.colour,
                    html_escape::encode_text(&baseline.pair)
                );
            }
        }
    }
    html! {
        svg.picture.uv role="img" aria-label="Projected baselines in the (u,v) plane" viewBox=(format!("0 0 {size} {size}")) xmlns="http://www.w3.org/2000/svg" {
            line x1="10" y1=(half) x2=(size - 10.0) y2=(half) stroke="#999" {}
            line x1=(half) y1="10" x2=(half) y2=(size - 10.0) stroke="#999" {}
            text x="14" y=(half - 4.0) font-size="11" { "E (u)" }
            text x=(half + 4.0) y="20" font-size="11" { "N (v)" }
            text x=(size - 14.0) y=(size - 14.0) font-size="11" text-anchor="end" { (format!("{longest:.0} m")) }
            (PreEscaped(marks))
        }
    }
}

/// One grey line of the sky map's coordinate grid through `points` (page coordinates).
fn grid_line(grid: &mut String, points: impl Iterator<Item = (f64, f64)>) {
    let points: Vec<String> = points.map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let _ = write!(
        grid,
        r##"<polyline points="{}" fill="none" stroke="#ccc"/>"##,
        points.join(" ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projection_keeps_the_sky_inside_its_ellipse() {
        for (ra, dec) in [(0.0, 0.0), (180.0, 0.0), (359.9, 45.0), (90.0, -89.0)] {
            let (x, y) = hammer(ra, dec);
            assert!(x * x + (2.0 * y).powi(2) <= 1.0 + 1e-9, "{ra} {dec}");
        }
        assert!(hammer(90.0, 0.0).0 > hammer(270.0, 0.0).0, "east is left");
    }

    #[test]
    fn pictures_escape_names_and_show_their_data() {
        let markup =
            histogram(&[(2020, "GRAVITY".into(), 5), (2021, "<x>".into(), 2)]).into_string();
        assert!(
            markup.contains("2020 GRAVITY: 5")
                && markup.contains("&lt;x&gt;")
                && !markup.contains("<x>")
        );
        let uv = uv_plot(&[Baseline {
            pair: "U1-U2".into(),
            colour: "#d62728",
            start: Some((50.0, 10.0)),
            end: Some((49.0, 12.0)),
        }]);
        assert_eq!(
            uv.into_string().matches("<line x1").count(),
            2 + 2,
            "two axes, a track and its mirror"
        );
    }
}
