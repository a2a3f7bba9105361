//! Coverage maps (issue 16): the MOCs each import computes, read by a real MOC library (mocpy,
//! what Aladin's and TOPCAT's users script with): the FITS and ASCII files are the same MOC,
//! every observed target lies inside the service's and its instruments', and no instrument's
//! MOC holds a target it never observed.

mod support;

use std::process::Command;

use support::{get, Workspace};

const CHECK: &str = r#"
import json, os, sys
import astropy.units as u
from mocpy import MOC
base = os.environ["BASE"]
targets = json.loads(os.environ["TARGETS"])
def fits(scope):
    return MOC.from_fits(f"{base}/moc/{scope}.fits")
with open(os.environ["ASCII"]) as f:
    ascii_all = MOC.from_string(f.read(), format="ascii")
all_fits = fits("all")
assert all_fits == ascii_all, "FITS and ASCII differ"
assert all_fits.max_order == 11, all_fits.max_order
checked = 0
for name, ra, dec, instruments in targets:
    inside = all_fits.contains_lonlat(ra * u.deg, dec * u.deg)
    assert inside[0], (name, ra, dec)
    checked += 1
for instrument in sorted({i for t in targets for i in t[3]}):
    moc = fits(instrument)
    for name, ra, dec, instruments in targets:
        inside = bool(moc.contains_lonlat(ra * u.deg, dec * u.deg)[0])
        assert inside == (instrument in instruments) or (inside and instrument not in instruments and
            any(instrument in other[3] and abs(other[1] - ra) < 0.1 and abs(other[2] - dec) < 0.1 for other in targets)), (instrument, name)
print(f"checked {checked} targets")
"#;

#[tokio::test]
async fn mocs_are_read_by_mocpy_and_cover_what_was_observed() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "400"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let targets: Vec<serde_json::Value> = db
        .query(
            "SELECT target_name, target_ra, target_dec, instruments FROM obsportal.targets",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| {
            let instruments: String = row.get(3);
            serde_json::json!([
                row.get::<_, String>(0),
                row.get::<_, f64>(1),
                row.get::<_, f64>(2),
                instruments.split(' ').collect::<Vec<_>>()
            ])
        })
        .collect();
    assert!(targets.len() >= 10);

    let (status, list) = get(&server.url("/moc")).await;
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let scopes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["scope"].as_str().unwrap())
        .collect();
    assert!(
        scopes.contains(&"all") && scopes.contains(&"VLTI"),
        "{scopes:?}"
    );
    for target in &targets {
        for instrument in target[3].as_array().unwrap() {
            assert!(
                scopes.contains(&instrument.as_str().unwrap()),
                "{instrument}: {scopes:?}"
            );
        }
    }
    let (status, ascii) = get(&server.url("/moc/all.txt")).await;
    assert_eq!(status, 200);
    assert!(ascii.starts_with("11/"), "{ascii}");
    let ascii_file = workspace.path().join("all.txt");
    std::fs::write(&ascii_file, ascii).unwrap();
    let (status, _) = get(&server.url("/moc/nowhere.fits")).await;
    assert_eq!(status, 404);
    // The home page's sky map shades the coverage: a cell of order 5 (or coarser) per region.
    let (status, home) = get(&server.url("/")).await;
    assert_eq!(status, 200);
    let shaded = home.matches("class=\"coverage\"").count();
    assert!(
        (1..=targets.len()).contains(&shaded),
        "{shaded} cells shaded"
    );

    let output = Command::new("python3")
        .args(["-c", CHECK])
        .env("BASE", server.url(""))
        .env("TARGETS", serde_json::Value::Array(targets).to_string())
        .env("ASCII", &ascii_file)
        .output()
        .expect("python3 with mocpy (scripts/install-prerequisites test)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    assert!(report.contains("checked "), "{report}");
}
