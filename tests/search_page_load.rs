//! The /search page without scans (issue 18): counts come from the statistics or stop at a
//! bound unless the visitor asks, and the page's figures agree with what TAP counts. (Its
//! sort orders' plans are in `surface_plans.rs`.)

mod support;

use support::{get, VoTable, Workspace};

async fn tap_count(server: &support::Server, condition: &str) -> i64 {
    let query = format!("SELECT COUNT(*) AS n FROM obsportal.exposures WHERE {condition}");
    let encoded: String = form_urlencoded::byte_serialize(query.as_bytes()).collect();
    let (status, body) = get(&server.url(&format!("/tap/sync?LANG=ADQL&QUERY={encoded}"))).await;
    assert_eq!(status, 200, "{body}");
    VoTable::parse(&body).column("n")[0].parse().unwrap()
}

/// The number in `<strong>` of the result count.
fn shown_count(page: &str) -> (bool, i64) {
    let start = page.find("id=\"result-count\"").expect("a result count");
    let paragraph = &page[start..start + page[start..].find("</p>").unwrap()];
    let number = paragraph
        .split("<strong>")
        .nth(1)
        .and_then(|rest| rest.split("</strong>").next())
        .unwrap();
    (paragraph.contains("More than"), number.parse().unwrap())
}

#[tokio::test]
async fn counts_come_from_statistics_or_stop_at_a_bound() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "3000"]);
    // By instrument (and mode) alone: the statistics' exact figure.
    let (_, page) = get(&server.url("/search?instrument=GRAVITY")).await;
    let gravity = tap_count(&server, "instrument_name = 'GRAVITY'").await;
    assert!(gravity > 0);
    assert_eq!(shown_count(&page), (false, gravity));
    let (_, page) = get(&server.url("/search?instrument=GRAVITY&instrument_mode=HIGH-SPLIT")).await;
    let high_split = tap_count(
        &server,
        "instrument_name = 'GRAVITY' AND instrument_mode = 'HIGH-SPLIT'",
    )
    .await;
    assert_eq!(shown_count(&page), (false, high_split));
    // Anything else: counted up to 1,000, said honestly beyond, and exactly on request.
    let (_, page) = get(&server.url("/search?mjd_from=50000")).await;
    assert_eq!(shown_count(&page), (true, 1000));
    assert!(page.contains("count=exact"), "a link to the exact count");
    assert!(
        page.contains("rel=\"next\""),
        "a next page while rows remain"
    );
    let (_, page) = get(&server.url("/search?mjd_from=50000&count=exact")).await;
    assert_eq!(
        shown_count(&page),
        (false, tap_count(&server, "exp_mjd_start >= 50000").await)
    );
    let (_, page) = get(&server.url("/search?target=nobody-observed-this")).await;
    assert_eq!(shown_count(&page), (false, 0));
}
