//! Simple Cone Search 1.03 at `/scs`: the documented error cases, SR=0, VERB, MAXREC, and a
//! real client (`stilts cone`).

mod support;

use std::process::Command;

use support::{get, serve_test_headers, Server, VoTable};

const HD45677: (f64, f64) = (104.8167, -13.0586);

async fn cone(server: &Server, query: &str) -> (String, VoTable) {
    let (status, body) = get(&server.url(&format!("/scs?{query}"))).await;
    assert_eq!(status, 200, "{query}");
    let table = VoTable::parse(&body);
    (body, table)
}

#[tokio::test]
async fn errors_are_an_error_info_under_votable_and_nothing_else() {
    let (_workspace, server) = serve_test_headers();
    for (query, says) in [
        ("", "RA is required"),
        ("RA=10&DEC=5", "SR is required"),
        ("RA=abc&DEC=5&SR=1", "Error in input RA value: abc"),
        ("RA=10&DEC=91&SR=1", "DEC=91 is out of range"),
        ("RA=-1&DEC=5&SR=1", "RA=-1 is out of range"),
        ("RA=10&DEC=5&SR=-0.5", "SR=-0.5 is out of range"),
        ("RA=10&DEC=5&SR=181", "SR=181 is out of range"),
        ("RA=10&DEC=5&SR=1&VERB=4", "VERB=4"),
    ] {
        let (body, table) = cone(&server, query).await;
        let errors: Vec<_> = table
            .infos
            .iter()
            .filter(|info| info.0 == "Error")
            .collect();
        assert_eq!(errors.len(), 1, "{query}: {body}");
        assert!(errors[0].1.contains(says), "{query}: {body}");
        assert!(
            !body.contains("<TABLE") && !body.contains("<RESOURCE"),
            "{query}: a stub document: {body}"
        );
        let root_child = body.find("<VOTABLE").unwrap() < body.find("<INFO").unwrap();
        assert!(root_child, "{body}");
    }
}

#[tokio::test]
async fn finds_what_lies_in_the_cone_nearest_first() {
    let (_workspace, server) = serve_test_headers();
    let (ra, dec) = HD45677;
    // 20" north of HD 45677: the neighbour (10" north) is nearer than HD 45677 itself.
    let (_, table) = cone(
        &server,
        &format!("RA={ra}&DEC={}&SR={}", dec + 20.0 / 3600.0, 25.0 / 3600.0),
    )
    .await;
    assert_eq!(
        table.column("target_name"),
        ["Neighbour", "HD 45677", "HD 45677", "HD 45677"]
    );
    for ucd in ["ID_MAIN", "POS_EQ_RA_MAIN", "POS_EQ_DEC_MAIN"] {
        assert_eq!(
            table
                .fields
                .iter()
                .filter(|f| f.get("ucd").map(String::as_str) == Some(ucd))
                .count(),
            1,
            "{ucd}"
        );
    }
    let id_field = table
        .fields
        .iter()
        .find(|f| f.get("ucd").map(String::as_str) == Some("ID_MAIN"))
        .unwrap();
    assert_eq!(id_field["datatype"], "char");
    // Nothing in the southern sky far from the data is not an error: an empty table.
    let (_, empty) = cone(&server, "RA=300&DEC=-80&SR=1").await;
    assert!(empty.rows.is_empty() && !empty.fields.is_empty());
    assert!(empty.infos.iter().all(|info| info.0 != "Error"));
}

#[tokio::test]
async fn sr_zero_gives_the_metadata_and_verb_the_column_count() {
    let (_workspace, server) = serve_test_headers();
    let (ra, dec) = HD45677;
    let (_, metadata) = cone(&server, &format!("RA={ra}&DEC={dec}&SR=0")).await;
    assert!(metadata.rows.is_empty());
    let mut counts = Vec::new();
    for verb in 1..=3 {
        let (_, table) = cone(&server, &format!("RA={ra}&DEC={dec}&SR=0.001&VERB={verb}")).await;
        assert_eq!(table.rows.len(), 3, "VERB={verb}");
        counts.push(table.fields.len());
    }
    assert!(counts[0] < counts[1] && counts[1] < counts[2], "{counts:?}");
    assert_eq!(metadata.fields.len(), counts[1], "VERB defaults to 2");
    // Parameter names are not case-sensitive.
    let (_, lower) = cone(&server, &format!("ra={ra}&dec={dec}&sr=0.001")).await;
    assert_eq!(lower.rows.len(), 3);
}

#[tokio::test]
async fn maxrec_limits_the_rows_and_reports_the_overflow_after_the_table() {
    let (_workspace, server) = serve_test_headers();
    let (ra, dec) = HD45677;
    let (_, table) = cone(&server, &format!("RA={ra}&DEC={dec}&SR=0.01&MAXREC=2")).await;
    assert_eq!(table.rows.len(), 2);
    assert!(table.info_after_table);
    assert_eq!(table.query_status().0, "OVERFLOW", "{:?}", table.infos);
    let (_, all) = cone(&server, &format!("RA={ra}&DEC={dec}&SR=0.01&MAXREC=10")).await;
    assert_eq!(all.rows.len(), 4);
    assert!(!all.infos.iter().any(|info| info.1 == "OVERFLOW"));
}

#[tokio::test]
async fn stilts_reads_it_as_a_cone_search_service() {
    let (_workspace, server) = serve_test_headers();
    let (ra, dec) = HD45677;
    let url = server.url("/scs?");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("stilts")
            .args([
                "cone",
                &format!("serviceurl={url}"),
                &format!("lon={ra}"),
                &format!("lat={dec}"),
            ])
            .args(["radius=0.001", "verb=1", "ofmt=csv", "out=-"])
            .output()
            .expect("stilts is installed (scripts/install-prerequisites test)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("exp_id,"), "{stdout}");
    assert_eq!(lines.len(), 1 + 3, "{stdout}");
    assert!(
        lines[1..].iter().all(|line| line.contains("HD 45677")),
        "{stdout}"
    );
}
