//! The quick tier: the router called in process (`tower::ServiceExt::oneshot`), over a real
//! database (an embedded cluster of this test's own, holding the hand-written headers), with
//! no binary started and no socket opened. Cases are data: a request, and the status, the
//! Content-Type and pieces of the body its answer must have.

mod support;

use axum::body::Body;
use axum::http::{header, Request};
use obsportal::db::{Database, DbSettings};
use obsportal::http::AppState;
use obsportal::ingest::{self, Progress};
use support::{header_file, Workspace};
use tower::ServiceExt;

struct Case {
    uri: &'static str,
    status: u16,
    content_type: &'static str,
    contains: &'static [&'static str],
}

const VOTABLE: &str = "application/x-votable+xml";
const HTML: &str = "text/html";

const CASES: &[Case] = &[
    // TAP: a query, DALI errors with line and column, DALI's single-valued parameters.
    Case {
        uri: "/tap/sync?REQUEST=doQuery&LANG=ADQL&QUERY=SELECT%20exp_id%20FROM%20obsportal.exposures%20ORDER%20BY%201&MAXREC=1",
        status: 200,
        content_type: VOTABLE,
        contains: &["<TABLEDATA>", "GRAVI.2020-01-09T03:34:07.546_1", "value=\"OVERFLOW\""],
    },
    Case {
        uri: "/tap/sync?lang=ADQL&query=SELECT%201",
        status: 400,
        content_type: VOTABLE,
        contains: &["value=\"ERROR\"", "line 1, column 1: a SELECT needs FROM"],
    },
    Case {
        uri: "/tap/sync?LANG=ADQL&Lang=ADQL&QUERY=SELECT%20exp_id%20FROM%20obsportal.exposures",
        status: 400,
        content_type: VOTABLE,
        contains: &["LANG was given more than once"],
    },
    Case {
        uri: "/tap/sync?LANG=ADQL&QUERY=SELECT%20exp_id%20FROM%20obsportal.exposures&RESPONSEFORMAT=hdf5",
        status: 400,
        content_type: VOTABLE,
        contains: &["RESPONSEFORMAT=hdf5 is not supported: use votable, votable/b2, csv, tsv, json, fits or parquet"],
    },
    Case {
        uri: "/tap/sync?LANG=ADQL&QUERY=SELECT%20TOP%201%20exp_id%20FROM%20obsportal.exposures%20ORDER%20BY%201&RESPONSEFORMAT=text/csv",
        status: 200,
        content_type: "text/csv",
        contains: &["exp_id\r\nGRAVI.2020-01-09T03:34:07.546_1\r\n"],
    },
    Case {
        uri: "/tap/sync?LANG=ADQL&QUERY=SELECT%20exp_id%20FROM%20obsportal.exposures&MAXREC=many",
        status: 400,
        content_type: VOTABLE,
        contains: &["MAXREC=many: expected a whole number"],
    },
    Case {
        uri: "/tap/capabilities",
        status: 200,
        content_type: "text/xml",
        contains: &["features-udf", "ivo_healpix_index", "<default>600</default>"],
    },
    // The ObsPortal API: its document, its plain-text errors, every registered format.
    Case {
        uri: "/search.votable?instrument=GRAVITY&maxrec=1",
        status: 200,
        content_type: VOTABLE,
        contains: &["name=\"maxrec\"", "value=\"OVERFLOW\"", "GRAVI.2020-01-09T03:34:07.546_1"],
    },
    Case {
        uri: "/search.votable?ra=abc&dec=1",
        status: 400,
        content_type: "text/plain",
        contains: &["ra=\"abc\": expected degrees"],
    },
    Case {
        uri: "/search.votable?target=Neighbour&format=json",
        status: 200,
        content_type: "application/json",
        contains: &["\"Neighbour\""],
    },
    Case {
        uri: "/search.votable?all_fields=perhaps",
        status: 400,
        content_type: "text/plain",
        contains: &["all_fields=perhaps: expected true or false"],
    },
    // Simple Cone Search: errors in a successful answer, as SCS 1.03 asks.
    Case {
        uri: "/scs?RA=abc&DEC=1&SR=1",
        status: 200,
        content_type: VOTABLE,
        contains: &["name=\"Error\"", "Error in input RA value: abc"],
    },
    Case {
        uri: "/scs?RA=104.8167&DEC=-13.0586&SR=0.01&VERB=1",
        status: 200,
        content_type: VOTABLE,
        contains: &["ID_MAIN", "GRAVI.2020-01-09T03:34:07.546_1"],
    },
    Case {
        uri: "/scs?RA=10&DEC=1&SR=1&VERB=9",
        status: 200,
        content_type: VOTABLE,
        contains: &["VERB=9: expected 1, 2 or 3"],
    },
    // Pages: from published tables on the reader pool; errors as pages.
    Case {
        uri: "/",
        status: 200,
        content_type: HTML,
        contains: &["id=\"total-exposures\">6<"],
    },
    Case {
        uri: "/lists",
        status: 200,
        content_type: HTML,
        contains: &["HD 45677", "0104.C-0425(A)"],
    },
    Case {
        uri: "/lists?targets_page=-1",
        status: 400,
        content_type: HTML,
        contains: &["targets_page=-1: expected a whole number from 1"],
    },
    Case {
        uri: "/search?instrument=GRAVITY&sort=exp_seeing&order=desc",
        status: 200,
        content_type: HTML,
        contains: &["<strong>6</strong> exposures found", "ORDER BY exp_seeing DESC"],
    },
    Case {
        uri: "/detail/exposure/GRAVI.2020-01-09T03:34:07.546_1",
        status: 200,
        content_type: HTML,
        contains: &["Projected baselines", "<svg"],
    },
    Case {
        uri: "/detail/exposure/no-such-exposure",
        status: 404,
        content_type: HTML,
        contains: &["There is no exposure"],
    },
    Case {
        uri: "/no/such/page",
        status: 404,
        content_type: HTML,
        contains: &["There is no such page here."],
    },
];

#[tokio::test]
async fn every_surface_answers_its_cases_in_process() {
    let workspace = Workspace::new();
    let settings = DbSettings {
        data_dir: workspace.data_dir(),
        database_url: None,
        reader_database_url: None,
        query_connections: 2,
        page_connections: 2,
        query_timeout: obsportal::db::DEFAULT_QUERY_TIMEOUT,
        job_connections: 2,
        job_timeout: std::time::Duration::from_secs(3600),
        public_url: Some("http://obsportal.example".into()),
    };
    let database = Database::open(&settings).await.unwrap();
    let mut client = database.pool().get().await.unwrap();
    for file in ["night.hdr", "alias.hdr", "fresh.hdr"] {
        ingest::import(&mut client, vec![header_file(file)], Progress::Quiet)
            .await
            .unwrap();
    }
    obsportal::tap::tap_schema::publish(&mut client)
        .await
        .unwrap();
    drop(client);
    let jobs = obsportal::jobs::Jobs::start(
        database.pool().clone(),
        database.jobs().clone(),
        database.owner_config(),
        Default::default(),
        Default::default(),
    );
    let router = obsportal::server::router(AppState {
        pool: database.pool().clone(),
        reader: database.reader().clone(),
        pages: database.pages().clone(),
        last_import: Default::default(),
        jobs: jobs.clone(),
        uploads: Default::default(),
        client_queries: Default::default(),
        user_header: None,
    });

    let mut failures = Vec::new();
    for case in CASES {
        let request = Request::get(case.uri).body(Body::empty()).unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&body);
        let missing: Vec<&str> = case
            .contains
            .iter()
            .copied()
            .filter(|piece| !body.contains(piece))
            .collect();
        if status != case.status
            || !content_type.starts_with(case.content_type)
            || !missing.is_empty()
        {
            failures.push(format!(
                "{}: {status} {content_type}, missing {missing:?}\n{body}",
                case.uri
            ));
        }
    }

    // A body over the limit is refused before it is read whole, as TAP's error document.
    let request = Request::post("/tap/sync")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "LANG=ADQL&QUERY={}",
            "x".repeat(3 << 20)
        )))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    if response.status().as_u16() != 413 {
        failures.push(format!("3 MiB body: {}", response.status()));
    }
    jobs.stop().await;
    database.close().await.unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
