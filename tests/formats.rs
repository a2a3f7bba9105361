//! Output formats read by the readers astronomers use (issue 16): astropy reads the FITS
//! table and the VOParquet file (with pyarrow) of a query with the same columns, types, units
//! and NULLs as the VOTable of the same query; megabytes come whole (spilled or in row groups,
//! not held).

mod support;

use std::process::Command;

use support::Workspace;

const COMPARE: &str = r#"
import io, os, urllib.parse, urllib.request
import numpy as np
from astropy.table import Table
base = os.environ["BASE"]
query = os.environ["QUERY"]

def fetch(fmt):
    url = base + "/tap/sync?" + urllib.parse.urlencode({"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": fmt})
    with urllib.request.urlopen(url) as answer:
        return answer.read()

def same(kind, votable, other, units=True):
    assert votable.colnames == other.colnames, (kind, votable.colnames, other.colnames)
    assert len(votable) == len(other) and len(other) > 0, (kind, len(votable), len(other))
    for name in votable.colnames:
        v, f = votable[name], other[name]
        assert not units or str(v.unit or "") == str(f.unit or ""), (kind, name, v.unit, f.unit)
        if v.dtype.kind == "f":
            assert f.dtype.kind == "f", (kind, name, f.dtype)
            vm = np.ma.getmaskarray(v) | np.isnan(np.ma.filled(v, np.nan))
            fm = np.ma.getmaskarray(f) | np.isnan(np.ma.filled(f, np.nan))
            assert (vm == fm).all(), (kind, name)
            assert np.allclose(np.ma.filled(v, 0)[~vm], np.ma.filled(f, 0)[~fm]), (kind, name)
        elif v.dtype.kind in "iu":
            assert f.dtype.kind in "iu", (kind, name, f.dtype)
            assert (np.ma.getmaskarray(v) == np.ma.getmaskarray(f)).all(), (kind, name)
            assert (np.ma.filled(v, 0) == np.ma.filled(f, 0)).all(), (kind, name)
        else:
            vs = [str(x) if x is not np.ma.masked else "" for x in v]
            fs = [str(x) if x is not np.ma.masked else "" for x in f]
            assert vs == fs, (kind, name, vs[:3], fs[:3])

votable = Table.read(io.BytesIO(fetch("votable")), format="votable")
same("fits", votable, Table.read(io.BytesIO(fetch("fits")), format="fits"))
parquet_file = os.path.join(os.environ["WORK"], "result.parquet")
with open(parquet_file, "wb") as out:
    out.write(fetch("parquet"))
# The values and types as Parquet holds them; the units from its VOTable metadata, which
# astropy's VOParquet reader applies.
import pyarrow.parquet
data = pyarrow.parquet.read_table(parquet_file)
assert data.column_names == votable.colnames, data.column_names
for name in votable.colnames:
    v, column = votable[name], data.column(name)
    expected = [None if x is np.ma.masked else x for x in v.tolist()] if not np.ma.isMaskedArray(v) \
        else [None if m else x for x, m in zip(np.ma.getdata(v).tolist(), np.ma.getmaskarray(v))]
    got = column.to_pylist()
    kind = str(column.type)
    if v.dtype.kind == "f":
        assert kind == "double", (name, kind)
        expected = [None if x is None or x != x else x for x in expected]
        got = [None if x is None or x != x else x for x in got]
        assert all((a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)
                   for a, b in zip(expected, got)), name
    else:
        wanted = {"i": f"int{v.dtype.itemsize * 8}", "b": "bool"}.get(v.dtype.kind, "string")
        assert kind == wanted, (name, kind, v.dtype)
        assert expected == got, (name, expected[:3], got[:3])
with_metadata = Table.read(parquet_file, format="parquet.votable")
for name in votable.colnames:
    assert str(votable[name].unit or "") == str(with_metadata[name].unit or ""), name
    assert votable[name].description == with_metadata[name].description, name
print("compared", len(votable), "rows of", len(votable.colnames), "columns")
"#;

#[tokio::test]
async fn astropy_reads_fits_and_voparquet_as_the_votable_of_the_same_query() {
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
            .env("WORK", workspace.path())
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
