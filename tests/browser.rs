//! A visitor in a real browser (headless Chromium through chromedriver): the home page, the
//! search form, paging, the CSV export, an exposure's page. Screenshots are kept in
//! `target/screenshots/` as test artifacts.

mod support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use support::{header_file, wait_until, Workspace};

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    process: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (scripts/install-prerequisites test)");
        let ready = wait_until(Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(ready, "chromedriver did not start");
        Driver {
            process,
            port,
            profile: tempfile::tempdir().unwrap(),
        }
    }

    async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--window-size=1280,1400",
                    format!("--user-data-dir={}", self.profile.path().display()),
                ]
            }),
        );
        ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

async fn screenshot(browser: &Client, name: &str) {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&directory).unwrap();
    let png = browser.screenshot().await.unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{name}: a real picture"
    );
    std::fs::write(directory.join(format!("{name}.png")), png).unwrap();
}

async fn element(browser: &Client, locator: Locator<'_>) -> fantoccini::elements::Element {
    // After a click that navigates, the next page may still be loading: wait for it.
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(locator)
        .await
        .unwrap_or_else(|e| panic!("{locator:?}: {e}"))
}

async fn click(browser: &Client, locator: Locator<'_>) {
    element(browser, locator).await.click().await.unwrap();
}

/// Waits until the element shows `expected` (the page a click leads to may still be loading).
async fn shows(browser: &Client, css: &str, expected: &str) {
    let mut seen = String::new();
    for _ in 0..100 {
        if let Ok(found) = browser.find(Locator::Css(css)).await {
            seen = found.text().await.unwrap_or_default();
            if seen.contains(expected) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{css} shows {seen:?}, not {expected:?}");
}

async fn text(browser: &Client, css: &str) -> String {
    element(browser, Locator::Css(css))
        .await
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_visitor_finds_observations_pages_through_them_exports_and_opens_one() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "150"]);
    workspace.ingest_ok(&[
        header_file("night.hdr"),
        header_file("alias.hdr"),
        header_file("fresh.hdr"),
    ]);
    let driver = Driver::start();
    let browser = driver.browser().await;

    // Home: what the service holds.
    browser.goto(&server.url("/")).await.unwrap();
    assert_eq!(text(&browser, "#total-exposures").await, "156");
    assert!(browser
        .find(Locator::Css(
            "svg[aria-label='Sky map of observed targets'] circle"
        ))
        .await
        .is_ok());
    screenshot(&browser, "home").await;

    // To the search form through the menu; an instrument and a name typed in lower case.
    click(&browser, Locator::LinkText("Search")).await;
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/search"));
    element(&browser, Locator::Css("select[name=instrument]"))
        .await
        .select_by_value("GRAVITY")
        .await
        .unwrap();
    element(&browser, Locator::Css("input[name=target]"))
        .await
        .send_keys("hd 45677")
        .await
        .unwrap();
    click(&browser, Locator::Css("form.search button[type=submit]")).await;
    shows(&browser, "#result-count", "3 exposures found").await;
    screenshot(&browser, "search").await;

    // The CSV export holds the same three exposures.
    let csv_link = element(&browser, Locator::LinkText("CSV"))
        .await
        .prop("href")
        .await
        .unwrap()
        .unwrap();
    let csv = reqwest::get(&csv_link).await.unwrap().text().await.unwrap();
    assert!(csv.starts_with("exp_id,exp_header_id,"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + 3, "{csv}");

    // An empty form lists everything, a page at a time.
    click(&browser, Locator::LinkText("Clear")).await;
    click(&browser, Locator::Css("form.search button[type=submit]")).await;
    shows(
        &browser,
        "#result-count",
        "156 exposures found, page 1 of 4",
    )
    .await;
    click(&browser, Locator::Css("a[rel=next]")).await;
    shows(&browser, "#result-count", "page 2 of 4").await;
    assert_eq!(
        browser
            .find_all(Locator::Css("#results tbody tr"))
            .await
            .unwrap()
            .len(),
        50
    );

    // One exposure: its page, its (u,v) sketch, its links to ESO.
    browser
        .goto(&server.url("/search?target=HD%2045677"))
        .await
        .unwrap();
    click(&browser, Locator::Css("#results tbody tr a")).await;
    shows(&browser, "h1", "Exposure GRAVI.2020-01-09T03:34:07.546_1").await;
    assert!(browser
        .find(Locator::Css(
            "svg[aria-label='Projected baselines in the (u,v) plane'] line"
        ))
        .await
        .is_ok());
    assert!(browser
        .find(Locator::LinkText("Header in the ESO archive"))
        .await
        .is_ok());
    screenshot(&browser, "exposure").await;

    // Its target: everything observed of it, its (u,v) coverage coloured by instrument, its
    // observation blocks with the sidereal times and hour angles they span.
    click(&browser, Locator::Css("a[href^='/detail/target/']")).await;
    shows(&browser, "h1", "Target HD 45677").await;
    assert!(text(&browser, "#summary")
        .await
        .contains("cells of 10 m sampled"));
    assert!(browser
        .find(Locator::Css(
            "svg[aria-label='Projected baselines in the (u,v) plane'] line[stroke='#1f77b4']"
        ))
        .await
        .is_ok());
    assert!(!browser
        .find_all(Locator::Css("#blocks tbody tr"))
        .await
        .unwrap()
        .is_empty());
    screenshot(&browser, "target").await;

    // The form's interferometry fields: an hour-angle window that holds them all.
    browser.goto(&server.url("/search")).await.unwrap();
    for (name, value) in [("target", "HD 45677"), ("ha_from", "-12"), ("ha_to", "12")] {
        element(&browser, Locator::Css(&format!("input[name={name}]")))
            .await
            .send_keys(value)
            .await
            .unwrap();
    }
    click(&browser, Locator::Css("form.search button[type=submit]")).await;
    shows(&browser, "#result-count", "3 exposures found").await;
    browser.close().await.unwrap();
}
