//! The /search page without scans (issue 18): every sort order is served by an index, counts
//! come from the statistics or stop at a bound unless the visitor asks, and the page's
//! figures agree with what TAP counts.

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

/// EXPLAIN of the very SQL the page sends, for each sort order and both directions, on the
/// reader's connection: an index gives the rows in order (no Sort over the whole result).
#[tokio::test]
async fn every_sort_order_of_the_page_is_served_by_an_index() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&["--demo-rows", "5000"]);
    // No ANALYZE here: the import leaves the published table analysed (without statistics
    // the planner took GRAVITY for 0.5 % of the rows and sorted all of them).
    let db = workspace.connect("obsportal", "obsportal").await;
    for (sort, _) in obsportal::portal::search_page::SORTABLE {
        for order in ["asc", "desc"] {
            for (filter, condition) in [
                ("", "true"),
                ("&instrument=GRAVITY", "instrument_name = 'GRAVITY'"),
            ] {
                let parameters = obsportal::params::Parameters(vec![
                    ("sort".into(), sort.to_string()),
                    ("order".into(), order.into()),
                    ("page".into(), "7".into()),
                ]);
                let display = obsportal::portal::search_page::Display::read(&parameters).unwrap();
                let sql = obsportal::portal::search_page::page_sql(condition, &display);
                let plan: Vec<String> = db
                    .query(&format!("EXPLAIN {sql}"), &[])
                    .await
                    .unwrap()
                    .iter()
                    .map(|row| row.get(0))
                    .collect();
                // A full Sort node would sort every matching row; an Incremental Sort on a
                // presorted key only orders rows of equal start time by id.
                let full_sort = plan.iter().any(|line| {
                    line.trim_start()
                        .trim_start_matches("->  ")
                        .starts_with("Sort  (")
                });
                let plan = plan.join("\n");
                assert!(
                    plan.contains("Index Scan") && !full_sort,
                    "{sort} {order}{filter}:\n{plan}"
                );
            }
        }
    }
}
