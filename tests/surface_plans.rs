//! EXPLAIN of what each surface really sends (its query built, checked and translated on the
//! one query path, with its parameters): the ObsPortal API's and cone search's cones are served
//! by the position index, every sort order of the /search page by an index, and MAXREC=0
//! reads nothing.

mod support;

use obsportal::http::Parameters;
use obsportal::portal::api;
use obsportal::portal::search::Search;
use obsportal::portal::search_page::{page_query, Display, SORTABLE};
use obsportal::query::prepare_built;
use support::{explain, sorts_everything, Workspace};

fn parameters(pairs: &[(&str, &str)]) -> Parameters {
    Parameters::new(
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
    )
}

/// A position the demo data has exposures around.
async fn observed_position(db: &tokio_postgres::Client) -> (f64, f64) {
    let row = db
        .query_one(
            "SELECT target_ra, target_dec FROM obsportal.exposures ORDER BY exp_id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn cones_of_the_api_and_of_cone_search_use_the_position_index() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&["--demo-rows", "5000"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let (ra, dec) = observed_position(&db).await;
    let (ra_text, dec_text) = (ra.to_string(), dec.to_string());

    // ASPRO2's request: a 30" cone.
    let search = Search::from_parameters(&parameters(&[
        ("ra", &ra_text),
        ("dec", &dec_text),
        ("radius", "30"),
    ]))
    .unwrap();
    let sent = api::query(&search, &api::api_fields(false));
    let prepared = prepare_built(&sent, Some(100_000)).unwrap();
    let plan = explain(&db, "", &prepared.query).await.join("\n");
    assert!(
        plan.contains("exposures_position"),
        "{}\n{plan}",
        prepared.query.sql
    );
    // The latitude band the translator adds keeps the estimate small, so no other plan wins.
    assert!(!plan.contains("Seq Scan"), "{plan}");

    // Cone search, each verbosity, and the metadata-only form (SR=0 or MAXREC=0): LIMIT 0 in
    // the text, which PostgreSQL answers without running the query below it.
    for verbosity in 1..=3 {
        let fields = obsportal::scs::fields_for(verbosity);
        let sent = obsportal::scs::cone_query(ra, dec, 0.01, &fields);
        let prepared = prepare_built(&sent, Some(100)).unwrap();
        let plan = explain(&db, "", &prepared.query).await.join("\n");
        assert!(
            plan.contains("exposures_position"),
            "{}\n{plan}",
            prepared.query.sql
        );
        let metadata = prepare_built(&sent, Some(0)).unwrap();
        assert!(
            metadata.query.sql.ends_with("LIMIT 0"),
            "{}",
            metadata.query.sql
        );
        let plan = explain(&db, "(ANALYZE)", &metadata.query).await;
        assert!(
            plan[0].starts_with("Limit") && plan[1].contains("(never executed)"),
            "{plan:?}"
        );
    }
}

#[tokio::test]
async fn every_sort_order_of_the_search_page_is_served_by_an_index() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&["--demo-rows", "5000"]);
    // No ANALYZE here: the import leaves the published table analysed (without statistics
    // the planner took GRAVITY for 0.5 % of the rows and sorted all of them).
    let db = workspace.connect("obsportal", "obsportal").await;
    for (sort, _) in SORTABLE {
        for order in ["asc", "desc"] {
            for filter in [None, Some(("instrument", "GRAVITY"))] {
                let mut pairs = vec![("sort", *sort), ("order", order), ("page", "7")];
                pairs.extend(filter);
                let parameters = parameters(&pairs);
                let search = Search::from_parameters(&parameters).unwrap();
                let display = Display::read(&parameters).unwrap();
                let sent = page_query(&search, &display);
                let prepared = prepare_built(&sent, None).unwrap();
                let plan = explain(&db, "", &prepared.query).await;
                let text = plan.join("\n");
                assert!(
                    text.contains("Index Scan") && !sorts_everything(&plan),
                    "{sort} {order} {filter:?}:\n{}\n{text}",
                    prepared.query.sql
                );
            }
        }
    }
}
