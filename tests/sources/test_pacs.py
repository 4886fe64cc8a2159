"""The PACS setting and the stable-study notification (plugin/sources/pacs.py): clear errors, nothing shown of a secret."""
from __future__ import annotations

import json

import pytest

from plugin.errors import SettingsError, SourceRefused
from plugin.settings import Settings
from plugin.sources import pacs

SECRET = "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"


def _settings(spec) -> Settings:
    return Settings.from_env({"DWCODER_HOME": "/tmp/dwcoder-test-pacs", "PACS": json.dumps(spec)}, dotenv=None)


def test_a_good_entry_is_read():
    s = _settings({"office": {"dicomweb": "http://pacs:8042/dicom-web/", "auth": "basic", "user": "u",
                              "password": "p", "secrets": [SECRET], "stations": ["CBCT-OP1"], "orthanc": "http://pacs:8042"}})
    config = s.pacs["office"]
    assert (config.dicomweb, config.credentials, config.stations) == ("http://pacs:8042/dicom-web", ("basic", "u", "p"), ("CBCT-OP1",))
    assert "password=" not in repr(config) and "secrets=" not in repr(config)
    assert len(pacs.keys_of(config)[0]) == 24


@pytest.mark.parametrize("spec,message", [
    ({"auth": "none"}, r"PACS\['office'\]\.dicomweb=None: expected an http\(s\) URL"),
    ({"dicomweb": "ftp://x"}, r"PACS\['office'\]\.dicomweb='ftp://x'"),
    ({"dicomweb": "http://x", "auth": "kerberos"}, r"PACS\['office'\]\.auth='kerberos': expected one of none, basic, bearer"),
    ({"dicomweb": "http://x", "auth": "basic", "user": "u"}, r"auth='basic' needs \"user\" and \"password\""),
    ({"dicomweb": "http://x", "auth": "bearer"}, r"auth='bearer' needs \"token\""),
    ({"dicomweb": "http://x", "secrets": ["plain-secret-value"]}, r"PACS\['office'\]\.secrets: a secret is not 'whsec_'"),
    ({"dicomweb": "http://x", "stations": "CBCT"}, r"PACS\['office'\]\.stations: expected a list"),
    ({"dicomweb": "http://x", "timeout_s": 0}, r"timeout_s=0: expected a number of seconds above 0"),
    ({"dicomweb": "http://x", "colour": "red"}, r"unknown field\(s\) colour"),
])
def test_a_bad_entry_is_named(spec, message):
    with pytest.raises(SettingsError, match=message) as err:
        _settings({"office": spec})
    assert "plain-secret-value" not in str(err.value)


def test_each_entry_must_be_an_object():
    with pytest.raises(SettingsError, match=r"PACS\['office'\]: expected an object with \"dicomweb\""):
        _settings({"office": "http://pacs/dicom-web"})


@pytest.mark.parametrize("body,status,field", [
    (b"not json", 400, ""), (b"[]", 422, "study"), (b'{"study": "1.2.x"}', 422, "study"),
    (b'{"study": "1.2.3", "version": ' + b'"' + b"v" * 101 + b'"}', 422, "version"),
    (b'{"study": "1.2.3", "aet": 5}', 422, "aet"),
])
def test_bad_notifications_are_refused(body, status, field):
    with pytest.raises(SourceRefused) as err:
        pacs.notification(body)
    assert err.value.status == status and err.value.expression == field


def test_notification_and_keys():
    assert pacs.notification(b'{"study": "1.2.3", "version": "2026-12-01T10:00:00", "aet": " CBCT "}') == (
        "1.2.3", "2026-12-01T10:00:00", "CBCT")
    study, version, _ = pacs.notification(b'{"study": "1.2.3"}')
    assert version.startswith("sha256:") and pacs.notification(b'{"study": "1.2.3"}')[1] == version
    assert pacs.study_key("office", "1.2.3", "v1") == "pacs:office:1.2.3:v1" != pacs.study_key("other", "1.2.3", "v1")
    assert len(pacs.study_key("office", "1." * 300, "v")) <= 512
