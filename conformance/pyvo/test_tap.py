"""pyvo, as an astronomer's script uses it, against a running obsportal (OBSPORTAL_TAP_URL).

Run by tests/pyvo.rs, which starts the server with the hand-written test headers.
"""
import os
import warnings

import pytest
import pyvo

TAP_URL = os.environ["OBSPORTAL_TAP_URL"]


@pytest.fixture(scope="module")
def service():
    return pyvo.dal.TAPService(TAP_URL)


def test_search_returns_rows_with_units(service):
    result = service.search(
        "SELECT exp_id, target_name, exp_seeing FROM obsportal.exposures "
        "WHERE CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', 104.8167, -13.0586, 5.0/3600)) = 1 "
        "ORDER BY exp_mjd_start"
    )
    table = result.to_table()
    assert len(table) == 3
    assert list(table["target_name"]) == ["HD 45677"] * 3
    assert str(table["exp_seeing"].unit) == "arcsec"


def test_tables_are_browsable(service):
    tables = service.tables
    names = [t.name for t in tables]
    assert "obsportal.exposures" in names and "ivoa.obscore" in names
    columns = [c.name for c in tables["obsportal.exposures"].columns]
    assert columns[:3] == ["exp_id", "exp_header_id", "exp_mjd_start"]


def test_overflow_is_reported(service):
    # pyvo warns only when the service's limit truncates; a truncation the user asked for with
    # maxrec is reported in the status it reads from the document.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = service.search("SELECT exp_id FROM obsportal.exposures", maxrec=2)
    assert len(result) == 2
    assert result.status[0] == "OVERFLOW"
    complete = service.search("SELECT exp_id FROM obsportal.exposures", maxrec=100)
    assert len(complete) == 6 and complete.status[0] == "OK"


def test_errors_reach_the_user_with_line_and_column(service):
    with pytest.raises(pyvo.dal.DALQueryError) as error:
        service.search("SELECT nothing FROM obsportal.exposures")
    assert "line 1, column 8" in str(error.value)
    assert "there is no column nothing" in str(error.value)


def test_binary2_is_read_like_tabledata(service):
    query = "SELECT TOP 4 exp_id, exp_mjd_start, obs_id FROM obsportal.exposures ORDER BY exp_id"
    td = service.search(query).to_table()
    b2 = service.run_sync(query, responseformat="votable/b2").to_table()
    assert list(td["exp_id"]) == list(b2["exp_id"])
    assert list(td["obs_id"]) == list(b2["obs_id"])


def test_run_async_returns_the_rows_sync_returns(service):
    query = "SELECT exp_id, target_name FROM obsportal.exposures ORDER BY exp_id"
    asynchronous = service.run_async(query).to_table()
    synchronous = service.search(query).to_table()
    assert len(asynchronous) == 6
    assert list(asynchronous["exp_id"]) == list(synchronous["exp_id"])


def test_submit_wait_fetch_and_delete_a_job(service):
    job = service.submit_job(
        "SELECT TOP 2 exp_id FROM obsportal.exposures ORDER BY exp_id", maxrec=1
    )
    assert job.phase == "PENDING"
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=30)
    assert job.phase == "COMPLETED"
    result = job.fetch_result()
    assert len(result) == 1 and result.status[0] == "OVERFLOW"
    assert job.result_uri.startswith("http")
    job.delete()
    with pytest.raises(pyvo.dal.DALServiceError):
        job.phase


def test_a_bad_query_ends_the_job_in_error_with_line_and_column(service):
    job = service.submit_job("SELECT nothing FROM obsportal.exposures")
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=30)
    assert job.phase == "ERROR"
    with pytest.raises(pyvo.dal.DALQueryError) as error:
        job.raise_if_error()
    assert "line 1, column 8" in str(error.value)
    job.delete()


def test_a_pending_job_can_be_aborted(service):
    job = service.submit_job("SELECT exp_id FROM obsportal.exposures")
    job.abort()
    assert job.phase == "ABORTED"
    job.delete()


CROSSMATCH = (
    "SELECT t.name, e.exp_id FROM TAP_UPLOAD.targets AS t "
    "JOIN obsportal.exposures AS e "
    "ON CONTAINS(POINT(e.target_ra, e.target_dec), CIRCLE(t.ra, t.dec, 5.0/3600)) = 1 "
    "ORDER BY e.exp_id"
)


def targets_table():
    from astropy.table import Table

    # HD 45677, observed three times, and a position nothing was observed at.
    return Table({"name": ["HD 45677", "nowhere"], "ra": [104.8167, 10.0], "dec": [-13.0586, 10.0]})


def test_an_uploaded_target_list_is_crossmatched_sync_and_async(service):
    sync = service.search(CROSSMATCH, uploads={"targets": targets_table()}).to_table()
    assert list(sync["name"]) == ["HD 45677"] * 3
    asynchronous = service.run_async(CROSSMATCH, uploads={"targets": targets_table()}).to_table()
    assert list(asynchronous["exp_id"]) == list(sync["exp_id"])


@pytest.mark.parametrize("serialization", ["tabledata", "binary", "binary2"])
def test_every_votable_serialization_uploads_alike(service, serialization, tmp_path):
    from astropy.io.votable import from_table

    path = tmp_path / f"targets-{serialization}.xml"
    votable = from_table(targets_table())
    if serialization == "binary2":
        votable.version = "1.4"
    votable.to_xml(str(path), tabledata_format=serialization)
    result = service.search(CROSSMATCH, uploads={"targets": str(path)}).to_table()
    assert list(result["name"]) == ["HD 45677"] * 3


def test_a_malformed_upload_is_refused_naming_it(service, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("name,ra,dec\nA,1,2\nB,3\n")
    with pytest.raises(pyvo.dal.DALQueryError) as error:
        service.search(CROSSMATCH, uploads={"targets": str(path)})
    assert "upload targets" in str(error.value) and "line 3" in str(error.value)


def test_a_user_lists_their_jobs_with_filters():
    import requests

    session = requests.Session()
    session.headers[os.environ["OBSPORTAL_USER_HEADER"]] = "pyvo-user"
    mine = pyvo.dal.TAPService(TAP_URL, session=session)
    pending = mine.submit_job("SELECT TOP 1 exp_id FROM obsportal.exposures")
    done = mine.submit_job("SELECT TOP 1 exp_id FROM obsportal.exposures")
    done.run()
    done.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=30)
    jobs = mine.get_job_list()
    assert {pending.job_id, done.job_id} <= {job.jobid for job in jobs}
    completed = mine.get_job_list(phases=["COMPLETED"])
    assert done.job_id in {job.jobid for job in completed}
    assert pending.job_id not in {job.jobid for job in completed}
    assert len(mine.get_job_list(last=1)) == 1
    # Someone else, or nobody, sees none of them.
    assert pyvo.dal.TAPService(TAP_URL).get_job_list() == []
    pending.delete()
    done.delete()


def test_datalink_from_any_row(service):
    # Every result row with exp_id or obs_publisher_did leads to its links through the
    # service descriptor the result carries: the raw file and calibrations at ESO, the
    # (u,v) preview, the program, the page here.
    result = service.search(
        "SELECT exp_id, target_name FROM obsportal.exposures WHERE target_name = 'HD 45677'"
    )
    assert len(result) == 3
    # pyvo asks for the links of several rows at once and gives them in no particular order
    # (preserve_order=False): each document is matched to its row by the ID it answers.
    seen = set()
    for links in result.iter_datalinks():
        assert links.status[0] == "OK"
        by_semantics = {link.semantics: link for link in links}
        assert {"#this", "#calibration", "#preview", "#auxiliary"} <= set(by_semantics)
        exp_id = by_semantics["#this"]["ID"]
        assert exp_id[:-2] in by_semantics["#this"].access_url
        assert by_semantics["#preview"].content_type == "image/svg+xml"
        seen.add(exp_id)
    assert seen == {row["exp_id"] for row in result}
    # ObsCore rows too, by publisher DID, and access_url is the same links document.
    obscore = service.search("SELECT TOP 2 obs_publisher_did, access_url, access_format FROM ivoa.obscore")
    by_did = {row["obs_publisher_did"]: row for row in obscore}
    assert len(by_did) == 2
    for links in obscore.iter_datalinks():
        row = by_did.pop(links[0]["ID"])
        assert row["access_format"] == "application/x-votable+xml;content=datalink"
        assert row["access_url"].startswith("http")
        assert "#this" in [link.semantics for link in links]
        again = pyvo.dal.adhoc.DatalinkResults.from_result_url(row["access_url"])
        assert sorted(link.access_url for link in again) == sorted(link.access_url for link in links)
    assert not by_did, f"no links for {sorted(by_did)}"
