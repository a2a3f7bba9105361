//! Output formats read by the readers astronomers use (issue 16): astropy reads the FITS
//! table of a query with the same columns, types, units and NULLs as the VOTable of the same
//! query; a result larger than memory would allow still comes whole (spilled, not held).

mod support;

use std::process::Command;

use support::Workspace;

const COMPARE: &str = r#"
import io, os, sys, urllib.parse, urllib.request
import numpy as np
from astropy.table import Table
base = os.environ["BASE"]
query = os.environ["QUERY"]
def fetch(fmt):
    url = base + "/tap/sync?" + urllib.parse.urlencode({"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": fmt})
    with urllib.request.urlopen(url) as answer:
        return answer.read()
votable = Table.read(io.BytesIO(fetch("votable")), format="votable")
fits = Table.read(io.BytesIO(fetch("fits")), format="fits")
assert votable.colnames == fits.colnames, (votable.colnames, fits.colnames)
assert len(votable) == len(fits) and len(fits) > 0, (len(votable), len(fits))
for name in votable.colnames:
    v, f = votable[name], fits[name]
    assert str(v.unit or "") == str(f.unit or ""), (name, v.unit, f.unit)
    if v.dtype.kind == "f":
        assert f.dtype.kind == "f", (name, f.dtype)
        vm = np.ma.getmaskarray(v) | np.isnan(np.ma.filled(v, np.nan))
        fm = np.ma.getmaskarray(f) | np.isnan(np.ma.filled(f, np.nan))
        assert (vm == fm).all(), name
        assert np.allclose(np.ma.filled(v, 0)[~vm], np.ma.filled(f, 0)[~fm]), name
    elif v.dtype.kind in "iu":
        assert f.dtype.kind in "iu", (name, f.dtype)
        assert (np.ma.getmaskarray(v) == np.ma.getmaskarray(f)).all(), name
        assert (np.ma.filled(v, 0) == np.ma.filled(f, 0)).all(), name
    else:
        vs = [str(x) if x is not np.ma.masked else "" for x in v]
        fs = [str(x) if x is not np.ma.masked else "" for x in f]
        assert vs == fs, (name, vs[:3], fs[:3])
print("compared", len(fits), "rows of", len(fits.colnames), "columns")
"#;

#[tokio::test]
async fn astropy_reads_fits_as_the_votable_of_the_same_query() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "400"]);
    for query in [
        "SELECT exp_id, exp_mjd_start, exp_seeing, exp_tau0, obs_id, obs_ob_id, target_name, \
         instrument_mode, exp_lst_start, exp_airmass_end FROM obsportal.exposures ORDER BY exp_id",
        "SELECT exp_id, station1, station2, length_start, angle_start, u_start, v_end \
         FROM obsportal.baselines ORDER BY exp_id, station1, station2",
        // Megabytes: the FITS document comes back from its spill in several pieces.
        "SELECT e.exp_id, e.exp_projected_baselines, t.exp_id AS other FROM obsportal.exposures AS e \
         CROSS JOIN (SELECT TOP 20 exp_id FROM obsportal.exposures) AS t ORDER BY e.exp_id, other",
    ] {
        let output = Command::new("python3")
            .args(["-c", COMPARE])
            .env("BASE", server.url(""))
            .env("QUERY", query)
            .output()
            .expect("python3 with astropy (scripts/install-prerequisites test)");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{query}\n{report}");
        assert!(report.contains("compared "), "{report}");
    }
}
