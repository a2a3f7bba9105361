//! `/search.votable`, the ObsPortal API that ASPRO2 and OiDB call, over real HTTP against a
//! real database holding the hand-written headers: HD 45677 at (104.8167, -13.0586) observed
//! three times (once as "FS CMa"), a neighbour 10" north, a calibrator a degree away, HD 2.

mod support;

use support::{get, post_form, serve_test_headers, Server, VoTable};

const HD45677: (f64, f64) = (104.8167, -13.0586);

async fn search(server: &Server, query: &str) -> VoTable {
    let (status, body) = get(&server.url(&format!("/search.votable?{query}"))).await;
    assert_eq!(status, 200, "{query}: {body}");
    VoTable::parse(&body)
}

/// FIELDs of today's ObsPortal answer with all_fields=true (shared/reference/obsportal/
/// obsportal-dev-spica.votable.xml): name, datatype, ucd, unit. Two units are fixed knowingly:
/// exp_temperature is Celsius (the reference said "deg"), exp_seeing arcsec ("as").
const ALL_FIELDS: &[(&str, &str, &str, &str)] = &[
    ("exp_id", "unicodeChar", "meta.id", ""),
    ("exp_header_id", "unicodeChar", "meta.id", ""),
    ("exp_mjd_start", "double", "time.start;obs.exposure", "d"),
    ("exp_mjd_end", "double", "time.end;obs.exposure", "d"),
    (
        "exp_projected_baselines",
        "unicodeChar",
        "instr.baseline",
        "",
    ),
    ("exp_validation_level", "int", "meta.code.qual", ""),
    ("exp_validation_log", "unicodeChar", "", ""),
    ("exp_tau0", "double", "time.processing", "s"),
    ("exp_temperature", "double", "phys.temperature", "Celsius"),
    ("exp_seeing", "double", "instr.obsty.seeing", "arcsec"),
    ("exp_date_updated", "unicodeChar", "time.processing", ""),
    ("exp_date_release", "unicodeChar", "time.release;obs", ""),
    ("obs_id", "int", "meta.id", ""),
    ("obs_type", "unicodeChar", "meta.id;class", ""),
    ("obs_program", "unicodeChar", "meta.id", ""),
    ("obs_program_title", "unicodeChar", "meta.title", ""),
    (
        "obs_program_pi_coi",
        "unicodeChar",
        "meta.curation;obs.observer",
        "",
    ),
    ("interferometer_name", "unicodeChar", "meta.id", ""),
    ("interferometer_stations", "unicodeChar", "", ""),
    ("instrument_name", "unicodeChar", "meta.id;instr", ""),
    ("instrument_mode", "unicodeChar", "meta.id;instr.setup", ""),
    (
        "instrument_submode",
        "unicodeChar",
        "meta.id;instr.setup",
        "",
    ),
    ("instrument_em_min", "double", "em.wl;stat.min", "m"),
    ("instrument_em_max", "double", "em.wl;stat.max", "m"),
    ("instrument_em_res_power", "double", "spect.resolution", ""),
    ("target_id", "int", "meta.id", ""),
    ("target_name", "unicodeChar", "meta.id;meta.main", ""),
    ("target_ra", "double", "pos.eq.ra;meta.main", "deg"),
    ("target_dec", "double", "pos.eq.dec;meta.main", "deg"),
];

/// Sent only with all_fields=true.
const EXTRA_FIELDS: &[&str] = &[
    "exp_validation_level",
    "exp_validation_log",
    "exp_date_updated",
    "exp_date_release",
    "obs_program_title",
    "obs_program_pi_coi",
    "instrument_em_min",
    "instrument_em_max",
    "instrument_em_res_power",
];

fn described(table: &VoTable) -> Vec<(String, String, String, String)> {
    let attribute = |field: &std::collections::BTreeMap<String, String>, name: &str| {
        field.get(name).cloned().unwrap_or_default()
    };
    table
        .fields
        .iter()
        .map(|f| {
            (
                attribute(f, "name"),
                attribute(f, "datatype"),
                attribute(f, "ucd"),
                attribute(f, "unit"),
            )
        })
        .collect()
}

fn expected(all_fields: bool) -> Vec<(String, String, String, String)> {
    ALL_FIELDS
        .iter()
        .filter(|(name, ..)| all_fields || !EXTRA_FIELDS.contains(name))
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect()
}

#[tokio::test]
async fn answers_aspro2_with_the_obsportal_document_shape() {
    let (_workspace, server) = serve_test_headers();
    let (ra, dec) = HD45677;
    // Exactly what ASPRO2 sends: a form POST, Java number forms, radius in arcsec.
    let (status, content_type, body) = post_form(
        &server.url("/search.votable"),
        &[
            ("ra", &ra.to_string()),
            ("dec", &dec.to_string()),
            ("radius", "30.0"),
            ("all_fields", "false"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/x-votable+xml"),
        "{content_type}"
    );
    assert!(
        body.contains("<RESOURCE type=\"results\">") && body.contains("<TABLEDATA>"),
        "{body}"
    );
    let table = VoTable::parse(&body);
    assert_eq!(described(&table), expected(false));
    assert_eq!(table.params.get("status").map(String::as_str), Some("OK"));
    let last_mod = &table.params["last_mod_date"];
    assert!(
        last_mod.len() == 25 && last_mod.ends_with("+00:00"),
        "{last_mod}"
    );

    // HD 45677 three times (once observed as FS CMa) and its neighbour 10" north.
    assert_eq!(
        table.column("exp_id"),
        [
            "GRAVI.2020-01-09T03:34:07.546_1",
            "GRAVI.2020-01-09T03:44:00.000_1",
            "GRAVI.2021-03-01T01:00:00.000_1",
            "GRAVI.2021-03-01T02:00:00.000_1"
        ]
    );
    assert_eq!(
        table.column("target_name"),
        ["HD 45677", "HD 45677", "HD 45677", "Neighbour"]
    );
    assert_eq!(table.column("obs_type"), ["science"; 4]);
    assert_eq!(table.column("interferometer_stations"), ["U1 U2 U3 U4"; 4]);
    assert_eq!(
        table.column("instrument_submode"),
        ["SINGLE", "SINGLE", "DUAL", "DUAL"]
    );
    assert!(table.column("exp_projected_baselines")[0].starts_with(
        "{'U1-U2': {'length': {'start': '55.9040', 'end': '55.8970'}, 'angle': {'start': '3.3000', 'end': '4.0000'}}, 'U1-U3'"
    ));
    for (start, end) in table
        .column("exp_mjd_start")
        .iter()
        .zip(table.column("exp_mjd_end"))
    {
        assert!(end.parse::<f64>().unwrap() > start.parse::<f64>().unwrap());
    }

    let all = search(
        &server,
        &format!("ra={ra}&dec={dec}&radius=30&all_fields=true"),
    )
    .await;
    assert_eq!(described(&all), expected(true));
    assert_eq!(all.rows.len(), 4);
}

#[tokio::test]
async fn the_radius_is_in_arcseconds_and_exponent_forms_parse() {
    let (_workspace, server) = serve_test_headers();
    let (ra, dec) = HD45677;
    // 29" south of HD 45677 is inside a 30" cone; 31" south is not (the neighbour is 10" north).
    let inside = search(
        &server,
        &format!("ra={ra}&dec={}&radius=30.0", dec - 29.0 / 3600.0),
    )
    .await;
    assert_eq!(inside.column("target_name"), ["HD 45677"; 3]);
    let outside = search(
        &server,
        &format!("ra={ra}&dec={}&radius=30.0", dec - 31.0 / 3600.0),
    )
    .await;
    assert!(outside.rows.is_empty(), "{:?}", outside.rows);
    assert_eq!(
        outside.field_names().len(),
        20,
        "an empty answer still describes its fields"
    );

    let exponents = search(&server, "ra=1.048167E2&dec=-1.30586E1&radius=8.0E0").await;
    assert_eq!(exponents.column("target_name"), ["HD 45677"; 3]);
}

#[tokio::test]
async fn get_and_post_give_the_same_answer_sorted_by_start() {
    let (_workspace, server) = serve_test_headers();
    let (ra, dec) = HD45677;
    let form = [
        ("ra", ra.to_string()),
        ("dec", dec.to_string()),
        ("radius", "3600".to_string()),
    ];
    let query: String = form
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let (_, by_get) = get(&server.url(&format!("/search.votable?{query}"))).await;
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, _, by_post) = post_form(&server.url("/search.votable"), &form).await;
    assert_eq!(by_get, by_post);
    let table = VoTable::parse(&by_get);
    assert_eq!(
        table.rows.len(),
        5,
        "everything within a degree: all but HD 2"
    );
    let starts: Vec<f64> = table
        .column("exp_mjd_start")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|pair| pair[0] <= pair[1]),
        "{starts:?}"
    );
}

#[tokio::test]
async fn every_filter_narrows_the_answer() {
    let (workspace, server) = serve_test_headers();
    let everything = search(&server, "all_fields=true").await;
    assert_eq!(everything.rows.len(), 6);
    // The API writes update times to the second; the imports ran within one. The boundary
    // between the first import (night.hdr) and the later ones comes from the database.
    let db = workspace.connect("obsportal", "obsportal").await;
    let boundary: chrono::DateTime<chrono::Utc> = db
        .query_one(
            "SELECT max(exp_date_updated) FROM obsportal.exposures WHERE exp_id LIKE 'GRAVI.2020%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let after_night = urlencode(&(boundary + chrono::Duration::microseconds(1)).to_rfc3339());
    let until_night = urlencode(&boundary.to_rfc3339());

    for (query, expected_rows) in [
        ("interferometer=VLTI", 6),
        ("interferometer=CHARA", 0),
        ("instrument=GRAVITY", 6),
        ("instrument=PIONIER", 0),
        ("instrument_mode=MEDIUM-SPLIT", 6),
        ("instrument_mode=LOW-SPLIT", 0),
        ("instrument_submode=DUAL", 2),
        ("program_id=0104.C-0425(A)", 6),
        ("program_id=105.20UA.001", 0),
        ("target=hd%2045677", 3),
        ("target=NEIGHBOUR", 1),
        ("mjd_from=59000", 3),
        ("mjd_to=59000", 3),
        ("mjd_from=2021-03-01&mjd_to=2021-03-02", 2),
        (
            "instrument=GRAVITY&instrument_submode=DUAL&target=Neighbour",
            1,
        ),
        (
            &format!("date_updated_from={after_night}&instrument=GRAVITY"),
            3,
        ),
        (&format!("date_updated_to={until_night}"), 3),
    ] {
        let table = search(&server, query).await;
        assert_eq!(table.rows.len(), expected_rows, "{query}");
    }
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn csv_has_the_same_columns_and_rows() {
    let (_workspace, server) = serve_test_headers();
    let (status, body) = get(&server.url("/search.votable?format=csv&instrument=GRAVITY")).await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = body.lines().collect();
    let names: Vec<String> = expected(false).into_iter().map(|field| field.0).collect();
    assert_eq!(lines[0], names.join(","));
    assert_eq!(lines.len(), 1 + 6);
    assert!(
        lines[1].starts_with("GRAVI.2020-01-09T03:34:07.546_1,GRAVI.2020-01-09T03:34:07.546,"),
        "{}",
        lines[1]
    );
}

#[tokio::test]
async fn missing_weather_is_nan_not_a_sentinel() {
    let (_workspace, server) = serve_test_headers();
    let table = search(&server, "target=HD%2046355&all_fields=true").await;
    assert_eq!(table.rows.len(), 1);
    assert_eq!(table.column("obs_type"), ["calibrator"]);
    for column in ["exp_seeing", "exp_tau0", "exp_temperature"] {
        assert_eq!(table.column(column), ["NaN"], "{column}");
    }
    assert_eq!(table.column("exp_validation_level"), ["1"]);
}

#[tokio::test]
async fn bad_parameters_get_a_400_that_says_what_is_wrong() {
    let (_workspace, server) = serve_test_headers();
    for (query, says) in [
        ("ra=abc&dec=1", "ra=\"abc\""),
        ("dec=10", "needs both ra and dec"),
        ("ra=10&dec=95", "within [-90, 90]"),
        ("ra=10&dec=5&radius=-1", "must be positive"),
        ("mjd_from=yesterday", "expected an MJD"),
        ("date_updated_from=2021-01-01", "with a timezone"),
        (
            "format=xml",
            "format=xml: expected votable, votable/b2, csv, tsv, json, fits or parquet",
        ),
        ("all_fields=maybe", "expected true or false"),
    ] {
        let (status, body) = get(&server.url(&format!("/search.votable?{query}"))).await;
        assert_eq!(status, 400, "{query}");
        assert!(body.contains(says), "{query}: {body}");
    }
}
