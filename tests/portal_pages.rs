//! The web pages over real HTTP: what a visitor sees, that everything they type is escaped,
//! that junk gets a friendly page rather than a 500, and that the links lead somewhere.

mod support;

use support::{get, serve_test_headers, Workspace};

#[tokio::test]
async fn home_shows_what_the_service_holds_from_the_statistics() {
    let (_workspace, server) = serve_test_headers();
    let (status, body) = get(&server.url("/")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"<strong id="total-exposures">6</strong>"#),
        "{body}"
    );
    assert!(
        body.contains(r#"<a href="/search?instrument=GRAVITY">GRAVITY</a>"#),
        "{body}"
    );
    assert!(body.contains("MEDIUM-SPLIT"));
    assert!(body.contains(r#"aria-label="Exposures per year and instrument""#));
    assert!(
        body.contains("2020 GRAVITY: 3"),
        "three exposures in 2020 in the histogram"
    );
    assert!(body.contains(r#"aria-label="Sky map of observed targets""#));
    assert_eq!(
        body.matches("<circle").count(),
        4,
        "four targets on the sky map"
    );
    for link in ["/search.votable", "/scs?", "/tap/"] {
        assert!(body.contains(link), "home links to {link}");
    }
}

#[tokio::test]
async fn a_search_finds_pages_sorts_and_offers_exports_and_adql() {
    let (_workspace, server) = serve_test_headers();
    let (status, body) =
        get(&server.url("/search?instrument=GRAVITY&size=20&sort=target_name&order=desc")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("<strong>6</strong> exposures found, page 1 of 1"),
        "{body}"
    );
    let rows = body.matches("/detail/exposure/").count();
    assert_eq!(rows, 6);
    let table = &body[body.find(r#"id="results""#).unwrap()..];
    assert!(
        table.find("Neighbour").unwrap() < table.find("HD 45677").unwrap(),
        "sorted by target, descending"
    );
    assert!(
        body.contains(r#"href="/search.votable?instrument=GRAVITY&amp;format=csv""#),
        "{body}"
    );
    assert!(
        body.contains("WHERE instrument_name = &#39;GRAVITY&#39;")
            || body.contains("WHERE instrument_name = 'GRAVITY'"),
        "{body}"
    );
    assert!(
        body.contains("/tap/sync?REQUEST=doQuery&amp;LANG=ADQL"),
        "{body}"
    );

    // Positions in sexagesimal, dates instead of MJDs, and a program link.
    let (_, body) = get(&server.url(
        "/search?ra=06:59:15.99&dec=-13:03:31&radius=5&mjd_from=2020-01-01&mjd_to=2020-12-31",
    ))
    .await;
    assert!(
        body.contains("<strong>2</strong> exposures found"),
        "{body}"
    );
    let (_, body) = get(&server.url("/search?program_id=0104.C-0425(A)")).await;
    assert!(
        body.contains("<strong>6</strong> exposures found"),
        "{body}"
    );
}

#[tokio::test]
async fn paging_moves_through_the_results() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "120"]);
    let (_, first) = get(&server.url("/search?instrument_mode=&size=50")).await;
    assert!(
        first.contains("<strong>120</strong> exposures found, page 1 of 3"),
        "{first}"
    );
    assert!(
        first.contains(r#"rel="next" href="/search?size=50&amp;page=2""#),
        "{first}"
    );
    let (_, third) = get(&server.url("/search?size=50&page=3")).await;
    assert_eq!(third.matches("/detail/exposure/").count(), 20);
    assert!(third.contains(r#"rel="prev""#) && !third.contains(r#"rel="next""#));
}

#[tokio::test]
async fn what_a_visitor_types_is_escaped_and_junk_gets_a_friendly_page() {
    let (_workspace, server) = serve_test_headers();
    let (status, body) = get(&server.url("/search?target=%3Cscript%3Ealert(1)%3C/script%3E")).await;
    assert_eq!(status, 200);
    assert!(!body.contains("<script>"), "{body}");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(body.contains("<strong>0</strong> exposures found"));

    for query in [
        "ra=abc&dec=1",
        "size=7",
        "sort=pg_sleep",
        "order=sideways",
        "page=x",
        "mjd_from=%00%ff",
    ] {
        let (status, body) = get(&server.url(&format!("/search?{query}"))).await;
        assert_eq!(status, 400, "{query}");
        assert!(
            body.contains(r#"<p class="error">"#) && body.contains("<form"),
            "{query}: {body}"
        );
    }
    let (status, body) = get(&server.url("/detail/exposure/%3Cb%3Enope")).await;
    assert_eq!(status, 404);
    assert!(body.contains("&lt;b&gt;nope") && !body.contains("<b>nope"));
    let (status, _) = get(&server.url("/no/such/page")).await;
    assert_eq!(status, 404);
    let (status, _) = get(&server.url("/lists?targets_page=-1")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn lists_and_the_exposure_page_link_to_searches_and_to_eso() {
    let (_workspace, server) = serve_test_headers();
    let (status, lists) = get(&server.url("/lists")).await;
    assert_eq!(status, 200);
    assert!(
        lists.contains(r#"<a href="/search?program_id=0104.C-0425%28A%29">0104.C-0425(A)</a>"#),
        "{lists}"
    );
    assert!(lists.contains("Targets (4)"), "{lists}");
    assert!(
        lists.contains("/search?ra=104.8167&amp;dec=-13.0586&amp;radius=5"),
        "targets link to a cone: {lists}"
    );

    let (status, detail) =
        get(&server.url("/detail/exposure/GRAVI.2020-01-09T03:34:07.546_1")).await;
    assert_eq!(status, 200);
    assert!(
        detail.contains("https://archive.eso.org/hdr?DpId=GRAVI.2020-01-09T03%3A34%3A07.546"),
        "{detail}"
    );
    assert!(
        detail.contains("sched_rep_arc/query?progid=0104.C-0425%28A%29"),
        "{detail}"
    );
    assert!(detail.contains(r#"aria-label="Projected baselines in the (u,v) plane""#));
    assert_eq!(
        detail.matches("<title>U1-U2</title>").count(),
        4,
        "start and end, and their mirror images"
    );
    assert!(detail.contains("MEDIUM-SPLIT") && detail.contains("U1 U2 U3 U4"));
}

/// Sorted by seeing either way, the exposures with a seeing come first: a visitor asking for
/// the worst conditions wants conditions, not the CHARA exposures that have none.
#[tokio::test]
async fn sorting_by_seeing_puts_exposures_without_one_last_both_ways() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "300"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let without = support::count(
        &db,
        "SELECT count(*) FROM obsportal.exposures WHERE exp_seeing IS NULL",
    )
    .await;
    assert!(without > 20, "the demo data has exposures without a seeing");
    for order in ["asc", "desc"] {
        let (status, body) =
            get(&server.url(&format!("/search?sort=exp_seeing&order={order}&size=20"))).await;
        assert_eq!(status, 200, "{body}");
        let rows = &body[body.find("<tbody>").unwrap()..];
        let first_row = &rows[..rows.find("</tr>").unwrap()];
        let seeing = first_row
            .split("<td class=\"number\">")
            .nth(1)
            .and_then(|cell| cell.split("</td>").next())
            .unwrap();
        assert!(!seeing.is_empty(), "{order}: {first_row}");
    }
}

/// The interferometry filters of the search page find what plain SQL over the published
/// tables finds (written here independently of the page's query).
#[tokio::test]
async fn configuration_time_baseline_and_condition_filters_count_what_sql_counts() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "400"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let stations: String = db
        .query_one(
            "SELECT interferometer_stations FROM obsportal.exposures
              WHERE interferometer_stations LIKE '% %' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let two: Vec<&str> = stations.split(' ').take(2).collect();
    let cases = [
        (
            format!("stations={}+{}", two[1], two[0]),
            format!(
                "SELECT count(*) FROM obsportal.exposures WHERE ' ' || interferometer_stations || ' ' LIKE '% {} %' \
                 AND ' ' || interferometer_stations || ' ' LIKE '% {} %'",
                two[0], two[1]
            ),
        ),
        (
            "ha_from=-1&ha_to=2".into(),
            "SELECT count(*) FROM obsportal.exposures WHERE exp_ha_start BETWEEN -1 AND 2".into(),
        ),
        (
            "lst_from=20&lst_to=3".into(),
            "SELECT count(*) FROM obsportal.exposures WHERE exp_lst_start >= 20 OR exp_lst_start <= 3".into(),
        ),
        (
            "baseline_min=60&baseline_max=120&angle_min=150&angle_max=20".into(),
            "SELECT count(*) FROM obsportal.exposures x WHERE EXISTS (SELECT 1 FROM obsportal.baselines b \
             WHERE b.exp_id = x.exp_id AND EXISTS (SELECT 1 FROM (VALUES (b.u_start, b.v_start), (b.u_end, b.v_end)) p (u, v) \
             WHERE sqrt(u * u + v * v) BETWEEN 60 AND 120 \
               AND mod((degrees(atan2(u, v)) - 150 + 720)::numeric, 180) <= 50))".into(),
        ),
        (
            "seeing_max=0.9&tau0_min=4".into(),
            "SELECT count(*) FROM obsportal.exposures WHERE exp_seeing <= 0.9 AND exp_tau0 >= 0.004".into(),
        ),
    ];
    for (parameters, sql) in cases {
        let expected: i64 = db.query_one(&sql, &[]).await.unwrap().get(0);
        assert!(expected > 0 && expected < 400, "{parameters}: {expected}");
        let (status, body) = get(&server.url(&format!("/search?{parameters}&count=exact"))).await;
        assert_eq!(status, 200, "{parameters}: {body}");
        let found = format!("<strong>{expected}</strong> exposures found");
        assert!(
            body.contains(&found),
            "{parameters}: expected {found}\n{sql}"
        );
    }
}

/// A PI follows a program: its nights on a page, under either spelling of an old-style id,
/// and as an Atom feed; a target's nights as a feed too.
#[tokio::test]
async fn a_program_is_followed_night_by_night_on_a_page_and_by_feed() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "300"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    // The program with most nights, nights counted here from Paranal's longitude (-70.405).
    let row = db
        .query_one(
            "SELECT obs_program, count(DISTINCT floor(exp_mjd_start - 70.405 / 360 - 0.5)),
                    count(*)
               FROM obsportal.exposures WHERE interferometer_name = 'VLTI' AND obs_program IS NOT NULL
              GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let (program, nights, exposures): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert!(nights >= 2, "{program}: {nights} nights");
    let encoded: String = form_urlencoded::byte_serialize(program.as_bytes()).collect();
    let (status, page) = get(&server.url(&format!("/program/{encoded}"))).await;
    assert_eq!(status, 200, "{page}");
    let table = &page[page.find("id=\"nights\"").unwrap()..];
    assert_eq!(table.matches("<tr>").count() as i64, 1 + nights, "{table}");
    assert!(page.contains(&format!("{exposures} exposures in {nights} nights")));
    if let Some(short) = program.strip_prefix('0') {
        let short: String = form_urlencoded::byte_serialize(short.as_bytes()).collect();
        let (status, again) = get(&server.url(&format!("/program/{short}"))).await;
        assert_eq!(status, 200);
        assert!(again.contains(&format!("Program {program}")));
    }
    let (status, missing) = get(&server.url("/program/0999.Z-9999%28Z%29")).await;
    assert_eq!(status, 404, "{missing}");

    // The feed: one entry per night (up to 50), each updated when its exposures changed.
    let (status, feed) = get(&server.url(&format!("/program/{encoded}/feed.atom"))).await;
    assert_eq!(status, 200);
    assert!(feed.starts_with("<?xml") && feed.contains("http://www.w3.org/2005/Atom"));
    support::assert_well_formed_xml(&feed);
    assert_eq!(feed.matches("<entry>").count() as i64, nights.min(50));
    assert_eq!(feed.matches("<updated>").count() as i64, 1 + nights.min(50));

    let target: i32 = db
        .query_one(
            "SELECT target_id FROM obsportal.targets ORDER BY exposures DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let (status, feed) = get(&server.url(&format!("/detail/target/{target}/feed.atom"))).await;
    assert_eq!(status, 200);
    assert!(feed.contains("<entry>"), "{feed}");
}
