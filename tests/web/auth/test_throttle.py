"""Failed sign-ins: per username and per client address, bounded exponential backoff, 429 + Retry-After;
while blocked even the right password is refused (and not even checked)."""
from __future__ import annotations

from plugin.web.auth import throttle
from tests.web.auth.browser import PASSWORD

WRONG = "wrong password, long enough"


def test_per_username_backoff_then_recovery(make_user, browser, clock):
    user = make_user()
    for _ in range(throttle.FREE["user"]):
        assert browser().sign_in(user.username, WRONG).status_code == 401
    blocked = browser(address="10.9.9.9").sign_in(user.username, WRONG)   # any address: the name is blocked
    assert blocked.status_code == 429 and blocked.headers["retry-after"] == "1"
    right = browser(address="10.9.9.8").sign_in(user.username, PASSWORD)
    assert right.status_code == 429                                        # refused while blocked
    assert int(right.headers["retry-after"]) >= 1
    clock.advance(2)
    assert browser().sign_in(user.username, WRONG).status_code == 429       # next block: 2 s
    clock.advance(3)
    ok = browser().sign_in(user.username, PASSWORD)
    assert ok.status_code == 303
    assert browser().sign_in(user.username, WRONG).status_code == 401       # success cleared the name's count


def test_backoff_is_bounded(auth_store, clock):
    keys = throttle.keys("someone", "10.1.1.1")
    now = int(clock())
    waits = [throttle.failed(auth_store, keys, now) for _ in range(40)]
    assert waits[throttle.FREE["user"]] == 1 and max(waits) == throttle.MAX_BLOCK_S
    assert waits == sorted(waits)


def test_per_address_spray_over_many_names(make_user, browser):
    """One address trying one password on many names is blocked, also for a name it never tried;
    another address is not."""
    victim = make_user()
    for n in range(throttle.FREE["addr"]):
        assert browser(address="10.6.6.6").sign_in(f"name{n}", WRONG).status_code == 401
    assert browser(address="10.6.6.6").sign_in("name-new", WRONG).status_code == 429
    assert browser(address="10.6.6.6").sign_in(victim.username, PASSWORD).status_code == 429
    assert browser(address="10.7.7.7").sign_in(victim.username, PASSWORD).status_code == 303


def test_unknown_names_are_throttled_like_known_ones(browser):
    for _ in range(throttle.FREE["user"]):
        assert browser().sign_in("ghost", WRONG).status_code == 401
    assert browser().sign_in("ghost", WRONG).status_code == 429


def test_names_differing_in_case_share_a_count(make_user, browser):
    user = make_user(username="Casey")
    for _ in range(throttle.FREE["user"]):
        browser().sign_in("casey", WRONG)
    assert browser().sign_in("CASEY", WRONG).status_code == 429


def test_concurrent_failures_on_a_new_key_all_count(auth_store, clock):
    """Threads failing on the same new username at once: no error, every failure counted."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select

    from plugin.store.auth import LoginThrottle

    keys = throttle.keys("racer", "10.3.3.3")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: throttle.failed(auth_store, keys, int(clock())), range(8)))
    with auth_store.sessions() as db:
        assert db.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == keys[0])) == 8
