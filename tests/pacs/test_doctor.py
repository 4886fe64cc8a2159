"""`dwcoder doctor` checks each configured PACS against a real Orthanc: ok, wrong password, a closed port, a wrong
path, an answer that is not JSON; the password is never printed."""
from __future__ import annotations

import json

from plugin.commands.doctor import run_checks
from tests.pacs.conftest import PASSWORD, USER, spare_port


def _doctor(tmp_path, **spec) -> tuple[dict, str]:
    entry = {"auth": "basic", "user": USER, "password": PASSWORD, **spec}
    lines: list[str] = []
    results = run_checks({"DWCODER_HOME": str(tmp_path), "PACS": json.dumps({"office": entry})}, lines.append)
    return {name: (ok, detail) for name, ok, detail in results}, "\n".join(lines)


def test_orthanc_with_dicomweb_and_rest_root_passes(tmp_path, orthanc_factory):
    orthanc = orthanc_factory().start({})
    results, out = _doctor(tmp_path, dicomweb=orthanc.dicomweb, orthanc=orthanc.url)
    ok, detail = results["PACS office"]
    assert ok, out
    assert f"DICOMweb {orthanc.dicomweb} answers QIDO-RS studies (auth basic)" in detail
    version = orthanc.http.get(orthanc.url + "/system").json()["Version"]
    assert f"Orthanc {orthanc.url} answers /system (Orthanc {version})" in detail
    assert "ok   PACS office: " in out and all(ok for ok, _ in results.values())


def test_wrong_password_names_the_setting_and_hides_it(tmp_path, orthanc_factory):
    orthanc = orthanc_factory().start({})
    wrong = "not-the-password-42"
    results, out = _doctor(tmp_path, dicomweb=orthanc.dicomweb, orthanc=orthanc.url, password=wrong)
    ok, detail = results["PACS office"]
    assert not ok
    assert "answered 401: wrong credentials (check PACS['office'].user and PACS['office'].password)" in detail
    assert wrong not in out and PASSWORD not in out
    assert "FAIL PACS office" in out


def test_orthanc_rest_root_on_a_wrong_path(tmp_path, orthanc_factory):
    """DICOMweb fine, the "orthanc" REST root wrong: the reconciler's /changes walk would fail, so doctor fails."""
    orthanc = orthanc_factory().start({})
    results, _ = _doctor(tmp_path, dicomweb=orthanc.dicomweb, orthanc=orthanc.url + "/not-orthanc")
    ok, detail = results["PACS office"]
    assert not ok and detail.startswith(f"DICOMweb {orthanc.dicomweb} answers")
    assert "answered 404: not Orthanc's REST root (check PACS['office'].orthanc" in detail


def test_closed_port_names_host_and_port(tmp_path):
    port = spare_port()  # bound and released: nothing listens there
    results, out = _doctor(tmp_path, dicomweb=f"http://127.0.0.1:{port}/dicom-web")
    ok, detail = results["PACS office"]
    assert not ok
    assert detail == (f"DICOMweb http://127.0.0.1:{port}/dicom-web: cannot reach 127.0.0.1:{port} "
                      "(connection refused or no such host)")
    assert PASSWORD not in out


def test_wrong_path_says_dicomweb_is_missing(tmp_path, orthanc_factory):
    orthanc = orthanc_factory().start({})
    results, _ = _doctor(tmp_path, dicomweb=orthanc.url + "/dicomweb")
    ok, detail = results["PACS office"]
    assert not ok
    assert "answered 404: no DICOMweb service at this path (is the DICOMweb plugin enabled" in detail
    assert "PACS['office'].dicomweb" in detail


def test_answer_that_is_not_json(tmp_path, serve):
    """A web page (a portal's sign-in page answering 200 at any path) where the DICOMweb root should be."""
    async def portal(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<html><body>Sign in</body></html>"})

    front = serve(portal)
    results, _ = _doctor(tmp_path, dicomweb=front.url + "/pacs")
    ok, detail = results["PACS office"]
    assert not ok
    assert detail == (f"DICOMweb {front.url}/pacs: answered HTTP 200 with something that is not JSON "
                      "(is PACS['office'].dicomweb the DICOMweb root?)")


def test_no_pacs_configured_adds_no_line(tmp_path):
    lines: list[str] = []
    results = run_checks({"DWCODER_HOME": str(tmp_path)}, lines.append)
    assert not any(name.startswith("PACS") for name, _, _ in results)
