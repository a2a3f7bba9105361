//! Hostile parameters for the portal and the APIs (issue 14): every value of
//! `tests/hostile/parameters.txt` given to every parameter (and path segment) of the pages,
//! the ObsPortal API, cone search, TAP sync's parameters, DataLink, MOC and the change feed.
//! None gets a 5xx; an XML answer is well-formed; an HTML page never carries the value as
//! markup; the database is unchanged and the server still answers.

mod support;

use futures_util::StreamExt;
use support::{assert_well_formed_xml, database_state, read_answer, unescape, Workspace};

/// (method, path, parameters every request carries, the parameters given a hostile value).
const SURFACES: &[(&str, &str, &str, &[&str])] = &[
    (
        "POST",
        "/search.votable",
        "ra=10&dec=-20&radius=30",
        &[
            "ra",
            "dec",
            "radius",
            "target",
            "instrument",
            "interferometer",
            "instrument_mode",
            "instrument_submode",
            "program_id",
            "mjd_from",
            "mjd_to",
            "date_updated_from",
            "date_updated_to",
            "stations",
            "ha_from",
            "lst_to",
            "baseline_min",
            "angle_max",
            "seeing_max",
            "tau0_min",
            "format",
            "summary",
            "all_fields",
            "maxrec",
            "targets",
        ],
    ),
    (
        "GET",
        "/search",
        "instrument=GRAVITY",
        &[
            "ra",
            "target",
            "instrument",
            "mjd_from",
            "stations",
            "baseline_min",
            "sort",
            "order",
            "page",
            "count",
        ],
    ),
    (
        "GET",
        "/scs",
        "RA=10&DEC=-20&SR=0.5",
        &["RA", "DEC", "SR", "VERB", "MAXREC", "RESPONSEFORMAT"],
    ),
    (
        "POST",
        "/tap/sync",
        "LANG=ADQL&QUERY=SELECT%20TOP%201%20exp_id%20FROM%20obsportal.exposures",
        &[
            "LANG",
            "QUERY",
            "MAXREC",
            "RESPONSEFORMAT",
            "FORMAT",
            "REQUEST",
            "UPLOAD",
            "VERSION",
        ],
    ),
    ("GET", "/datalink", "", &["ID", "RESPONSEFORMAT"]),
    (
        "GET",
        "/changes",
        "since=2020-01-01T00:00:00Z",
        &["since", "after", "limit", "format"],
    ),
    ("GET", "/lists", "", &["by", "instrument"]),
];

/// Path segments given a hostile value: `{}` is replaced.
const PATHS: &[&str] = &[
    "/detail/exposure/{}",
    "/detail/exposure/{}/uv.svg",
    "/detail/target/{}",
    "/detail/target/{}/feed.atom",
    "/program/{}",
    "/program/{}/feed.atom",
    "/moc/{}",
    "/tap/tables/{}",
    "/tap/async/{}",
];

fn values() -> Vec<String> {
    include_str!("hostile/parameters.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| match line {
            "#LONG#" => "A".repeat(100_000),
            line => unescape(line),
        })
        .collect()
}

fn encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// What is wrong with one answer, if anything.
async fn judge(
    client: &reqwest::Client,
    method: &str,
    url: String,
    body: String,
) -> Option<String> {
    let request = match method {
        "POST" => client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
        _ => client.get(&url),
    };
    let (status, content_type, text) = read_answer(request.send().await.unwrap()).await;
    let shown: String = url.chars().take(160).collect();
    if status >= 500 {
        return Some(format!(
            "{status} for {method} {shown}: {}",
            &text[..text.len().min(300)]
        ));
    }
    if content_type.contains("xml") && !content_type.contains("svg") {
        let checked = std::panic::catch_unwind(|| assert_well_formed_xml(&text));
        if checked.is_err() {
            return Some(format!("malformed XML for {method} {shown}"));
        }
    }
    if content_type.starts_with("text/html")
        && (text.contains("<script>alert") || text.contains("<x>"))
    {
        return Some(format!(
            "markup from the request in the page for {method} {shown}"
        ));
    }
    None
}

#[tokio::test]
async fn hostile_parameters_get_no_5xx_no_markup_and_change_nothing() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "300", "--query-timeout", "2"]);
    let before = database_state(&workspace).await;
    let values = values();
    let mut requests = Vec::new();
    for value in &values {
        for (method, path, base, names) in SURFACES {
            for name in *names {
                let fixed = base
                    .split('&')
                    .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some(name));
                let query = fixed
                    .map(str::to_string)
                    .chain([format!("{name}={}", encoded(value))])
                    .collect::<Vec<_>>()
                    .join("&");
                let url = server.url(path);
                requests.push(match *method {
                    "POST" => (*method, url, query),
                    _ => (*method, format!("{url}?{query}"), String::new()),
                });
            }
        }
        for path in PATHS {
            let segment: String = encoded(value).replace('+', "%20");
            requests.push((
                "GET",
                server.url(&path.replace("{}", &segment)),
                String::new(),
            ));
        }
    }
    assert!(requests.len() > 1000, "{} requests", requests.len());
    let client = reqwest::Client::new();
    let wrong: Vec<String> = futures_util::stream::iter(requests.iter().cloned())
        .map(|(method, url, body)| {
            let client = client.clone();
            async move { judge(&client, method, url, body).await }
        })
        .buffer_unordered(8)
        .filter_map(|verdict| async move { verdict })
        .collect()
        .await;
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        requests.len(),
        wrong.join("\n")
    );
    assert_eq!(
        database_state(&workspace).await,
        before,
        "the database changed"
    );
    let (status, _) = support::get(&server.url("/search?instrument=GRAVITY")).await;
    assert_eq!(status, 200);
}
