import base64

import pytest
from hypothesis import given, settings, strategies as st

from plugin.errors import SourceRefused
from plugin.sources.config import secret_key
from plugin.sources.webhooks import sign, verify

KEY_A, KEY_B, KEY_OLD = b"a" * 32, b"b" * 24, b"o" * 32
NOW = 1_780_000_000


def headers(msg_id="msg_1", stamp=NOW, signature=None, body=b"{}", key=KEY_A):
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp),
            "webhook-signature": signature if signature is not None else sign(key, msg_id, stamp, body)}


def test_a_correct_signature_gives_the_webhook_id():
    assert verify(headers(body=b'{"a":1}'), b'{"a":1}', [KEY_A], NOW, 300) == "msg_1"


def test_binary_body_is_verified_as_bytes():
    body = bytes(range(256)) * 4 + b"\xff\xfe\x00DICM"
    assert verify(headers(body=body), body, [KEY_A], NOW, 300) == "msg_1"


def test_the_specifications_published_vector():
    # Standard Webhooks' README example: secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw.
    key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    hs = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
          "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    assert verify(hs, b'{"test": 2432232314}', [key], 1614265330, 300) == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    assert sign(key, hs["webhook-id"], 1614265330, b'{"test": 2432232314}') == hs["webhook-signature"]


@pytest.mark.parametrize("drop", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused_naming_it(drop):
    hs = headers()
    del hs[drop]
    with pytest.raises(SourceRefused, match=f"{drop} header missing") as err:
        verify(hs, b"{}", [KEY_A], NOW, 300)
    assert err.value.status == 401


@pytest.mark.parametrize("skew", [301, -301, 10_000])
def test_a_stale_or_future_timestamp_is_refused(skew):
    hs = headers(stamp=NOW - skew)
    with pytest.raises(SourceRefused, match="from the receiver's clock"):
        verify(hs, b"{}", [KEY_A], NOW, 300)


def test_a_timestamp_within_tolerance_passes_either_way():
    for skew in (-300, 0, 300):
        assert verify(headers(stamp=NOW + skew), b"{}", [KEY_A], NOW, 300)


@pytest.mark.parametrize("bad", ["v1", "v1,", "v1,@@@", "nocomma", "v2," + base64.b64encode(b"x" * 32).decode(), ""])
def test_malformed_signatures_are_refused_not_crashing(bad):
    with pytest.raises(SourceRefused) as err:
        verify(headers(signature=bad), b"{}", [KEY_A], NOW, 300)
    assert err.value.status == 401


def test_non_numeric_timestamp_is_refused():
    with pytest.raises(SourceRefused, match="whole Unix seconds"):
        verify({**headers(), "webhook-timestamp": "12a"}, b"{}", [KEY_A], NOW, 300)


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=300), msg_id=st.from_regex(r"[A-Za-z0-9_]{1,40}", fullmatch=True),
       offset=st.integers(-300, 300), data=st.data())
def test_any_tampering_is_refused(body, msg_id, offset, data):
    stamp = NOW + offset
    good = headers(msg_id, stamp, body=body)
    assert verify(good, body, [KEY_A], NOW, 300) == msg_id
    what = data.draw(st.sampled_from(["body", "id", "timestamp", "signature", "key"]))
    hs, sent = dict(good), body
    if what == "body":
        sent = data.draw(st.binary(max_size=300).filter(lambda b: b != body))
    elif what == "id":
        hs["webhook-id"] = data.draw(st.from_regex(r"[A-Za-z0-9_]{1,40}", fullmatch=True).filter(lambda m: m != msg_id))
    elif what == "timestamp":
        hs["webhook-timestamp"] = str(stamp + data.draw(st.integers(-200, 200).filter(lambda d: d != 0)))
    elif what == "signature":
        raw = bytearray(base64.b64decode(good["webhook-signature"][3:]))
        index = data.draw(st.integers(0, len(raw) - 1))
        raw[index] ^= data.draw(st.integers(1, 255))
        hs["webhook-signature"] = "v1," + base64.b64encode(bytes(raw)).decode()
    with pytest.raises(SourceRefused) as err:
        verify(hs, sent, [KEY_B] if what == "key" else [KEY_A], NOW, 300)
    assert err.value.status == 401


@settings(max_examples=60, deadline=None)
@given(order=st.permutations([KEY_A, KEY_B, KEY_OLD]), signer=st.sampled_from([KEY_A, KEY_B, KEY_OLD]),
       body=st.binary(max_size=100))
def test_rotation_accepts_a_signature_by_any_active_secret(order, signer, body):
    hs = headers(body=body, key=signer)
    assert verify(hs, body, order, NOW, 300) == "msg_1"
    retired = [k for k in order if k != signer]
    with pytest.raises(SourceRefused):
        verify(hs, body, retired, NOW, 300)


def test_one_good_entry_among_several_signatures_is_enough():
    good = sign(KEY_B, "msg_1", NOW, b"x")
    wrong = sign(KEY_OLD, "msg_1", NOW, b"x")
    assert verify(headers(signature=f"v1a,AAAA {wrong} {good}"), b"x", [KEY_B], NOW, 300) == "msg_1"
