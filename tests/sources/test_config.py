import base64

import pytest

from plugin.errors import SettingsError
from plugin.settings import Settings
from plugin.sources.config import parse_rate, secret_key, sources_from_settings, subscription_source

SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()


def settings(**env):
    return Settings.from_env({"DWCODER_HOME": "/tmp/dwcoder-test-config", **env}, dotenv=None)


def test_sources_from_the_environment():
    s = settings(WEBHOOK_SOURCES='{"lab": {"secrets": ["%s"], "max_body_bytes": 1000, "rate": 2}}' % SECRET,
                 SUBSCRIPTIONS='{"admission": "Authorization: Bearer t0k", "plain": "Bearer q", "open": ""}',
                 FHIR_BASE_URL="https://ehr.example.org/fhir")
    sources = sources_from_settings(s)
    lab = sources.webhooks["lab"]
    assert lab.keys == (b"k" * 24,) and lab.limits.max_body_bytes == 1000 and lab.limits.rate_per_s == 2.0
    assert (sources.subscriptions["admission"].header_name, sources.subscriptions["admission"].header_value) == \
        ("authorization", "Bearer t0k")
    assert sources.subscriptions["plain"].header_name == "authorization"
    assert sources.subscriptions["open"].header_name == ""
    assert sources.fhir_base_url == "https://ehr.example.org/fhir"


def test_secrets_never_appear_in_the_repr():
    s = settings(WEBHOOK_SOURCES='{"lab": ["%s"]}' % SECRET, SUBSCRIPTIONS='{"a": "Authorization: Bearer t0k"}')
    text = repr(sources_from_settings(s))
    assert "kkkk" not in text and "t0k" not in text


@pytest.mark.parametrize("bad", ["whsec_", "whsec_!!!", "whsec_" + base64.b64encode(b"short").decode(), ""])
def test_a_bad_secret_is_a_settings_error_that_does_not_repeat_it(bad):
    with pytest.raises(SettingsError, match="not 'whsec_' \\+ base64") as err:
        secret_key(bad, "WEBHOOK_SOURCES['lab']")
    assert bad[6:] not in str(err.value) or not bad[6:]


@pytest.mark.parametrize("value, per_second", [(5, 5.0), ("20/s", 20.0), ("600/min", 10.0), ("3600/h", 1.0)])
def test_rates(value, per_second):
    assert parse_rate(value) == per_second


@pytest.mark.parametrize("value", [0, -1, "x/s", "5/fortnight", True])
def test_bad_rates(value):
    with pytest.raises(SettingsError, match="is not a rate"):
        parse_rate(value)


def test_subscription_object_form():
    sub = subscription_source("s", {"header": "X-Token: abc", "types": ["Procedure"], "heartbeat_period_s": 60})
    assert (sub.header_name, sub.types, sub.heartbeat_period_s) == ("x-token", ("Procedure",), 60)
    with pytest.raises(SettingsError, match="heartbeat_period_s"):
        subscription_source("s", {"heartbeat_period_s": -5})
