//! Real ESO headers through a real import (issue 11): what an astronomer expects kept or
//! dropped, and every published `instrument_mode` one of ASPRO2's exact names, for the real
//! headers and for the demo data generated to look like them.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use support::{get, VoTable, Workspace};

/// ASPRO2's (instrument, mode) names, from `tests/data/aspro2-modes.tsv`. The portal publishes
/// ESO's instrument names: MATISSE's modes are ASPRO2's MATISSE_LM and MATISSE_N ones,
/// PIONIER's those of PIONIER and PIONIER_2 (the optics of 2015 on).
fn aspro2_modes() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/aspro2-modes.tsv"),
    )
    .unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let instrument = match fields[1] {
                "MATISSE_LM" | "MATISSE_N" => "MATISSE",
                "PIONIER_2" => "PIONIER",
                other => other,
            };
            (instrument.to_string(), fields[2].to_string())
        })
        .collect()
}

/// (instrument, mode) of every exposure the service publishes, through TAP.
async fn published_modes(server: &support::Server) -> Vec<(String, String, String)> {
    let (status, body) = get(&server.url(
        "/tap/sync?LANG=ADQL&QUERY=SELECT%20exp_id,%20instrument_name,%20instrument_mode%20\
         FROM%20obsportal.exposures%20ORDER%20BY%20exp_id",
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let table = VoTable::parse(&body);
    table
        .rows
        .iter()
        .map(|row| (row[0].clone(), row[1].clone(), row[2].clone()))
        .collect()
}

#[tokio::test]
async fn real_headers_are_kept_or_dropped_with_aspro2_mode_names() {
    let workspace = Workspace::new();
    let server = workspace.serve(&[]);
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/eso-headers");
    let summary = workspace.ingest_ok(&[folder]);
    assert!(summary.contains("8 headers read"), "{summary}");
    assert!(summary.contains("accepted as exposures: 7"), "{summary}");
    assert!(summary.contains("dropped: 1 (remanence 1)"), "{summary}");

    let aspro2 = aspro2_modes();
    let published = published_modes(&server).await;
    assert_eq!(published.len(), 7);
    for (id, instrument, mode) in &published {
        assert!(
            aspro2.contains(&(instrument.clone(), mode.clone())),
            "{id}: {instrument} {mode:?} is not one of ASPRO2's modes"
        );
    }
    // All five VLTI instruments but MIDI (no real MIDI header is at hand) are there.
    let instruments: BTreeSet<&str> = published.iter().map(|p| p.1.as_str()).collect();
    assert_eq!(
        instruments.into_iter().collect::<Vec<_>>(),
        ["AMBER", "GRAVITY", "MATISSE", "PIONIER"]
    );

    // ASPRO2's own request around the MATISSE calibrator 75 Vir finds it, named by its OB.
    let (_, _, body) = support::post_form(
        &server.url("/search.votable"),
        &[("ra", "203.214249"), ("dec", "-15.363"), ("radius", "10")],
    )
    .await;
    let table = VoTable::parse(&body);
    assert_eq!(table.column("target_name"), ["75Vir"]);
    assert_eq!(table.column("instrument_mode"), ["SI_PHOT_LM_LOW"]);
}

#[tokio::test]
async fn demo_data_publishes_only_aspro2_mode_names() {
    let workspace = Workspace::new();
    let headers = workspace.path().join("demo.hdr");
    let output = std::process::Command::new(support::BINARY)
        .args(["demo-data", "--exposures", "1500", "--seed", "11", "--out"])
        .arg(&headers)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let server = workspace.serve(&[]);
    workspace.ingest_ok(&[headers]);
    let aspro2 = aspro2_modes();
    let published = published_modes(&server).await;
    assert_eq!(published.len(), 1500);
    let mut seen = BTreeSet::new();
    for (id, instrument, mode) in &published {
        assert!(
            aspro2.contains(&(instrument.clone(), mode.clone())),
            "{id}: {instrument} {mode:?} is not one of ASPRO2's modes"
        );
        seen.insert(instrument.as_str());
    }
    // 1,500 exposures come from a few dozen programs: most instruments, not always all five
    // (every mode's keywords are checked one by one in `ingest::instruments`' tests).
    assert!(seen.len() >= 4, "{seen:?}");
}

/// CHARA as the second interferometer: a log in the layout JMMC's OiDB reads, placed by the
/// operator's positions table, searchable beside VLTI with computed baselines.
#[tokio::test]
async fn chara_logs_are_published_beside_vlti() {
    let workspace = Workspace::new();
    let server = workspace.serve(&[]);
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/chara");
    // The positions table first: it places the stars of the logs after it.
    let summary = workspace.ingest_ok(&[
        folder.join("positions.csv"),
        folder.join("observations.csv"),
    ]);
    assert!(summary.contains("8 headers read"), "{summary}");
    assert!(summary.contains("accepted as exposures: 6"), "{summary}");
    assert!(
        summary.contains("dropped: 2 (no position for the star's name 1, unknown type 1)"),
        "{summary}"
    );

    let (status, body) =
        get(&server.url("/search.votable?interferometer=CHARA&all_fields=true")).await;
    assert_eq!(status, 200, "{body}");
    let table = VoTable::parse(&body);
    assert_eq!(table.rows.len(), 6);
    let aspro2 = aspro2_modes();
    let instruments = table.column("instrument_name");
    let modes = table.column("instrument_mode");
    for (instrument, mode) in instruments.iter().zip(&modes) {
        // "H-band" is no ASPRO2 mode of CLIMB: published without one, never as written.
        assert!(
            mode.is_empty() || aspro2.contains(&(instrument.to_string(), mode.to_string())),
            "{instrument} {mode:?}"
        );
    }
    assert_eq!(modes.iter().filter(|m| m.is_empty()).count(), 1);
    assert_eq!(
        table.column("obs_type"),
        [
            "science",
            "calibrator",
            "calibrator",
            "science",
            "science",
            "science"
        ]
    );
    assert_eq!(
        table.column("interferometer_stations")[3],
        "S1 S2 E1 E2 W1 W2"
    );
    // Baselines computed from CHARA's stations: fifteen pairs for six telescopes, each no
    // longer than the longest baseline CHARA has (E1-W1, 331 m).
    let baselines = table.column("exp_projected_baselines")[3];
    assert_eq!(baselines.matches("'length'").count(), 15, "{baselines}");
    for length in baselines.split("'start': '").skip(1).step_by(2) {
        let metres: f64 = length.split('\'').next().unwrap().parse().unwrap();
        assert!(metres > 0.0 && metres < 331.5, "{metres}");
    }
    // CHARA's data stay proprietary for 18 months: 2019-06-14 becomes public on 2020-12-14.
    assert!(
        table.column("exp_date_release")[0].starts_with("2020-12-14"),
        "{body}"
    );
    // Beside VLTI: the search without an interferometer finds them too.
    let (_, all) = get(&server.url("/search.votable?target=Vega")).await;
    assert_eq!(VoTable::parse(&all).rows.len(), 2);

    // Without a positions table, stars are placed by the names of targets already known: the
    // VLTI's DelSco and AS_209 take CHARA's "Del Sco" and "AS 209", and become their targets.
    let headers = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/eso-headers");
    workspace.ingest_ok(&[headers]);
    let summary = workspace.ingest_ok(&[folder.join("known-targets.csv")]);
    assert!(summary.contains("accepted as exposures: 2"), "{summary}");
    assert!(summary.contains("(0 new targets)"), "{summary}");
    // Published under the target's name, which the VLTI gave first.
    for star in ["DelSco", "AS_209"] {
        let (_, body) = get(&server.url(&format!("/search.votable?target={star}"))).await;
        let table = VoTable::parse(&body);
        let mut interferometers = table.column("interferometer_name");
        interferometers.sort();
        assert_eq!(interferometers, ["CHARA", "VLTI"], "{star}");
        let (_, body) = get(&server.url(&format!(
            "/search.votable?ra={}&dec={}&radius=5",
            table.column("target_ra")[0],
            table.column("target_dec")[0]
        )))
        .await;
        let around = VoTable::parse(&body);
        let targets: std::collections::BTreeSet<&str> =
            around.column("target_id").into_iter().collect();
        assert_eq!(targets.len(), 1, "{star}: one target for VLTI and CHARA");
        assert_eq!(around.rows.len(), 2, "{star}: its VLTI and CHARA exposures");
    }
}

/// CHARA's raw FITS headers (`tests/data/chara-raw`, see `tests/data/chara.md`): MIRC-X and
/// MYSTIC files in the keywords of their pipeline, SPICA's with ESO's hierarchical keywords
/// written without `ESO`. Fringe files are exposures with ASPRO2's modes, stations from the
/// beam order, positions from RA in hours, baselines computed; backgrounds are dropped.
#[tokio::test]
async fn chara_raw_headers_are_published_beside_vlti() {
    let workspace = Workspace::new();
    let server = workspace.serve(&[]);
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/chara-raw");
    let summary = workspace.ingest_ok(&[folder]);
    assert!(summary.contains("5 headers read"), "{summary}");
    assert!(summary.contains("accepted as exposures: 4"), "{summary}");
    assert!(summary.contains("dropped: 1 (background 1)"), "{summary}");

    let (_, body) = get(
        &server.url("/search.votable?interferometer=CHARA&all_fields=true&order=exp_mjd_start")
    )
    .await;
    let table = &VoTable::parse(&body);
    let ids = table.column("exp_header_id");
    let row = |id: &str| {
        let index = ids
            .iter()
            .position(|i| *i == id)
            .unwrap_or_else(|| panic!("{id}: {ids:?}"));
        move |column: &str| table.column(column)[index].to_string()
    };
    // MIRC-X and MYSTIC record the same instant: two exposures, named by their combiner.
    let mircx = row("MIRC-X.2021-06-15T08:12:30.250");
    let mystic = row("MYSTIC.2021-06-15T08:12:30.250");
    let reference = row("MIRC-X.2021-06-15T08:40:02.125");
    let spica = row("SPICA.2021-09-24T10:25:45.325");
    for exposure in [&mircx, &mystic, &reference] {
        assert_eq!(exposure("instrument_name"), "MIRCX-MYSTIC");
        assert_eq!(exposure("interferometer_name"), "CHARA");
        assert_eq!(exposure("obs_program"), "2021A-M07");
    }
    for exposure in [&mircx, &mystic] {
        // Vega at 18:36:56.336 +38:47:01.28: 279.234733 deg, 38.783689 deg.
        let ra: f64 = exposure("target_ra").parse().unwrap();
        let dec: f64 = exposure("target_dec").parse().unwrap();
        assert!(
            (ra - 279.234733).abs() < 1e-5 && (dec - 38.783689).abs() < 1e-5,
            "{ra} {dec}"
        );
    }
    // Its calibrator at 18:41:09.10 +39:54:04.0: 280.287917 deg, 39.901111 deg.
    let ra: f64 = reference("target_ra").parse().unwrap();
    assert!((ra - 280.287917).abs() < 1e-5, "{ra}");
    assert_eq!(mircx("instrument_mode"), "Low_H");
    assert_eq!(mircx("obs_type"), "science");
    assert_eq!(mircx("interferometer_stations"), "S1 S2 E1 E2 W1 W2");
    assert_eq!(
        mircx("exp_projected_baselines").matches("'length'").count(),
        15
    );
    // MYSTIC's configurations are not known here: no mode rather than a made-up one, and the
    // log says which value named nothing.
    assert_eq!(mystic("instrument_mode"), "");
    assert!(
        mystic("exp_validation_log").contains("CONF_NA = \\\"K_PRISM49\\\""),
        "{}",
        mystic("exp_validation_log")
    );
    assert_eq!(reference("instrument_mode"), "Medium_H");
    assert_eq!(reference("obs_type"), "calibrator");
    assert_eq!(reference("interferometer_stations"), "E1 W2 S1 E2");

    assert_eq!(spica("instrument_name"), "SPICA");
    assert_eq!(spica("instrument_mode"), "LR");
    assert_eq!(spica("obs_program"), "V3");
    assert_eq!(spica("interferometer_stations"), "S1 E1 W2");
    assert_eq!(
        spica("exp_projected_baselines").matches("'length'").count(),
        3
    );
    let seeing: f64 = spica("exp_seeing").parse().unwrap();
    assert!((seeing - 1.2).abs() < 1e-9, "{seeing}");
    let minutes = |column: &str| spica(column).parse::<f64>().unwrap() * 1440.0;
    assert!((minutes("exp_mjd_end") - minutes("exp_mjd_start") - 20.0 / 60.0).abs() < 1e-3);
    // The log names the keywords SPICA lacks as SPICA writes them.
    let log = spica("exp_validation_log");
    assert!(log.contains("'HIERARCH ISS AMBI TAU0 START'"), "{log}");
    assert!(!log.contains("ESO"), "{log}");
}

/// The demo database the README's first command serves covers CHARA too: a tenth of its
/// exposures, placed, with ASPRO2's modes.
#[tokio::test]
async fn the_demo_database_has_chara_beside_vlti() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "300"]);
    let (_, body) = get(&server.url("/search.votable?interferometer=CHARA")).await;
    let chara = VoTable::parse(&body);
    assert_eq!(chara.rows.len(), 30);
    let aspro2 = aspro2_modes();
    for (instrument, mode) in chara
        .column("instrument_name")
        .iter()
        .zip(chara.column("instrument_mode"))
    {
        assert!(
            aspro2.contains(&(instrument.to_string(), mode.to_string())),
            "{instrument} {mode}"
        );
    }
    let (_, body) = get(&server.url("/search.votable?interferometer=VLTI")).await;
    assert_eq!(VoTable::parse(&body).rows.len(), 270);
}

/// The sky and (u, v) columns of real exposures against what the real headers say of
/// themselves: ESO's LST card (sidereal time at start, [s]), ISS AIRM START/END, and ISS PBL
/// (the published lengths) against the published (u, v).
#[tokio::test]
async fn sky_and_uv_columns_agree_with_the_real_headers_own_cards() {
    let workspace = Workspace::new();
    let server = workspace.serve(&[]);
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/eso-headers");
    workspace.ingest_ok(&[folder]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let query = "SELECT x.exp_id, x.exp_lst_start, x.exp_airmass_start, x.exp_airmass_end, \
                 x.exp_ha_start, x.exp_ha_end, x.exp_mjd_start, x.exp_mjd_end \
                 FROM obsportal.exposures AS x ORDER BY x.exp_id";
    let encoded: String = form_urlencoded::byte_serialize(query.as_bytes()).collect();
    let (status, body) = get(&server.url(&format!("/tap/sync?LANG=ADQL&QUERY={encoded}"))).await;
    assert_eq!(status, 200, "{body}");
    let exposures = VoTable::parse(&body);
    let mut checked = 0;
    for row in &exposures.rows {
        let number = |i: usize| row[i].parse::<f64>().ok();
        let cards = db
            .query_one(
                "SELECT (keywords->>'LST')::float8, \
                        (keywords->>'HIERARCH ESO ISS AIRM START')::float8, \
                        (keywords->>'HIERARCH ESO ISS AIRM END')::float8, \
                        (keywords->>'UTC')::float8 \
                   FROM obsportal.header h JOIN obsportal.exposure e ON e.header_id = h.dp_id \
                  WHERE e.id = $1",
                &[&row[0]],
            )
            .await
            .unwrap();
        let (lst, airmass_start, airmass_end, utc): (
            Option<f64>,
            Option<f64>,
            Option<f64>,
            Option<f64>,
        ) = (cards.get(0), cards.get(1), cards.get(2), cards.get(3));
        let ours = number(1).expect("every VLTI exposure has its sidereal time");
        if let (Some(lst), Some(utc)) = (lst, utc) {
            // ESO's LST card is the sidereal time at its UTC card [s of the day], which is
            // MJD-OBS in raw files but not always in products (a PIONIER one of 2017 starts
            // 248 s before its UTC): ours is carried to that instant, at 1.0027379 sidereal
            // seconds per second.
            let day_seconds = number(6).unwrap().fract() * 86_400.0;
            let shift =
                ((utc - day_seconds + 43_200.0).rem_euclid(86_400.0) - 43_200.0) * 1.002_737_9;
            let apart = (ours * 3600.0 + shift - lst).rem_euclid(86_400.0);
            assert!(
                apart.min(86_400.0 - apart) < 5.0,
                "{}: {ours} h vs {lst} s",
                row[0]
            );
            checked += 1;
        }
        for (card, column) in [(airmass_start, 2), (airmass_end, 3)] {
            if let (Some(card), Some(ours)) = (card, number(column)) {
                assert!((card - ours).abs() < 0.01, "{}: {ours} vs {card}", row[0]);
            }
        }
        // The hour angle moves with sidereal time: 1.0027 sidereal hours per hour.
        if let (Some(start), Some(end), Some(t0), Some(t1)) =
            (number(4), number(5), number(6), number(7))
        {
            let expected = (t1 - t0) * 24.0 * 1.002_737_9;
            assert!(((end - start) - expected).abs() < 1e-4, "{}", row[0]);
        }
    }
    assert!(checked >= 6, "headers with LST and UTC cards: {checked}");

    // Each baseline's (u, v) is as long as its published (ESO's) length, and its spatial
    // frequencies are the lengths over the mode's wavelengths.
    let rows = db
        .query(
            "SELECT b.exp_id, b.station1 || '-' || b.station2, b.length_start, b.length_end,
                    sqrt(b.u_start ^ 2 + b.v_start ^ 2), sqrt(b.u_end ^ 2 + b.v_end ^ 2),
                    b.spatial_freq_max * x.instrument_em_min,
                    greatest(b.length_start, b.length_end)
               FROM obsportal.baselines b JOIN obsportal.exposures x USING (exp_id)
              WHERE x.instrument_em_min IS NOT NULL",
            &[],
        )
        .await
        .unwrap();
    assert!(rows.len() >= 20, "{} baselines", rows.len());
    for row in &rows {
        let (id, pair): (String, String) = (row.get(0), row.get(1));
        for (length, uv) in [(2, 4), (3, 5)] {
            let (length, uv): (f64, f64) = (row.get(length), row.get(uv));
            assert!(
                (length - uv).abs() < 1.0,
                "{id} {pair}: {length} vs |uv| {uv}"
            );
        }
        let (scaled, longest): (f64, f64) = (row.get(6), row.get(7));
        assert!((scaled - longest).abs() < 1e-6, "{id} {pair}");
    }
}
