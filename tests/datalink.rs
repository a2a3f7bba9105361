//! DataLink 1.1 (issue 16) over real HTTP: the links of exposures named either way, error rows
//! for what is malformed or unknown, links that lead somewhere here, and the service
//! descriptor in every surface's VOTable of exposures, async results included. (pyvo's `iter_datalinks` runs in
//! conformance/pyvo; taplint's checks in tests/conformance.rs.)

mod support;

use support::{get, serve_test_headers, VoTable};

#[tokio::test]
async fn links_of_exposures_errors_and_descriptors() {
    let (_workspace, server) = serve_test_headers();
    let exposure = "GRAVI.2020-01-09T03:34:07.546_1";
    let url = server.url(&format!(
        "/datalink?ID={exposure}&ID=ivo%3A%2F%2Feso.org%2FID%3FGRAVI.2020-01-09T03%3A34%3A07.546\
         &ID=GRAVI.1999-01-01T00:00:00.000_1&ID=%27%3B%20DROP"
    ));
    let (status, body) = get(&url).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("name=\"standardID\" value=\"ivo://ivoa.net/std/DataLink#links-1.1\""));
    let links = VoTable::parse(&body);
    assert_eq!(
        links.field_names(),
        [
            "ID",
            "access_url",
            "service_def",
            "error_message",
            "semantics",
            "description",
            "content_type",
            "content_length"
        ]
    );
    let rows_of =
        |id: &str| -> Vec<&Vec<String>> { links.rows.iter().filter(|row| row[0] == id).collect() };
    // The same five links for the exposure named either way, in the input's order.
    let by_id = rows_of(exposure);
    let semantics: Vec<&str> = by_id.iter().map(|row| row[4].as_str()).collect();
    assert_eq!(
        semantics,
        [
            "#this",
            "#calibration",
            "#preview",
            "#auxiliary",
            "#documentation"
        ]
    );
    let by_did = rows_of("ivo://eso.org/ID?GRAVI.2020-01-09T03:34:07.546");
    assert_eq!(
        by_did.iter().map(|row| &row[1]).collect::<Vec<_>>(),
        by_id.iter().map(|row| &row[1]).collect::<Vec<_>>()
    );
    assert_eq!(
        by_id[0][1],
        "https://dataportal.eso.org/dataPortal/file/GRAVI.2020-01-09T03:34:07.546"
    );
    assert!(
        by_id[4][1].contains("progid=0104.C-0425%28A%29"),
        "{:?}",
        by_id[4]
    );
    // Unknown and malformed IDs: one error row each, the document still whole.
    let unknown = rows_of("GRAVI.1999-01-01T00:00:00.000_1");
    assert_eq!(unknown.len(), 1);
    assert!(
        unknown[0][3].starts_with("NotFoundFault: "),
        "{:?}",
        unknown[0]
    );
    let malformed = rows_of("'; DROP");
    assert!(
        malformed[0][3].starts_with("UsageFault: "),
        "{:?}",
        malformed[0]
    );

    // The preview and the page here answer.
    for row in &by_id[2..4] {
        let response = reqwest::get(&row[1]).await.unwrap();
        assert_eq!(response.status(), 200, "{}", row[1]);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            content_type.starts_with(&row[6]),
            "{content_type} for {}",
            row[1]
        );
    }

    // Every surface's VOTable of exposures says how to reach the links, with the column.
    let descriptor = format!(
        "<PARAM name=\"accessURL\" datatype=\"char\" arraysize=\"*\" value=\"{}\"/>",
        server.url("/datalink")
    );
    for path in [
        "/search.votable?instrument=GRAVITY",
        "/scs?RA=104.8167&DEC=-13.0586&SR=0.01",
        "/tap/sync?LANG=ADQL&QUERY=SELECT%20exp_id%20FROM%20obsportal.exposures",
        "/tap/sync?LANG=ADQL&QUERY=SELECT%20obs_publisher_did%20FROM%20ivoa.obscore",
    ] {
        let (status, body) = get(&server.url(path)).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(
            body.contains("<RESOURCE type=\"meta\" utype=\"adhoc:service\""),
            "{path}: {body}"
        );
        assert!(body.contains(&descriptor), "{path}: {body}");
        support::assert_well_formed_xml(&body);
    }
    // An async job's kept result too, naming the service's public URL (here the address it
    // listens on).
    let job = support::completed_job(&server, "SELECT exp_id FROM obsportal.exposures").await;
    let (status, body) = get(&format!("{job}/results/result")).await;
    assert_eq!(status, 200);
    assert!(body.contains(&descriptor), "{body}");

    // A table without an id column has none.
    let (_, body) = get(
        &server.url("/tap/sync?LANG=ADQL&QUERY=SELECT%20COUNT(*)%20FROM%20obsportal.exposures")
    )
    .await;
    assert!(!body.contains("adhoc:service"), "{body}");

    for (query, status) in [
        ("", 400),
        (&*format!("ID={exposure}&RESPONSEFORMAT=csv"), 400),
    ] {
        let (got, body) = get(&server.url(&format!("/datalink?{query}"))).await;
        assert_eq!(got, status, "{query}: {body}");
    }
}
