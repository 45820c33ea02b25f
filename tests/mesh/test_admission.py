"""The per-address identity budget (pure): burst, refill, known ids free, bounded memory."""

from __future__ import annotations

import pytest

from mesh.admission import IdentityBudget, address_key


def _ids(n: int, base: int = 0) -> list[bytes]:
    return [(base + i).to_bytes(32, "big") for i in range(n)]


def test_burst_then_one_new_identity_per_interval() -> None:
    b = IdentityBudget(burst=3, interval=10.0, known=16, tracked=8)
    ids = _ids(6)
    assert [b.admit("10.0.0.1", i, 0.0) for i in ids] == [True, True, True, False, False, False]
    assert b.admit("10.0.0.2", ids[3], 0.0)  # another address has its own budget
    assert not b.admit("10.0.0.1", ids[3], 9.9)
    assert b.admit("10.0.0.1", ids[3], 10.0)
    assert not b.admit("10.0.0.1", ids[4], 10.0)
    assert b.admit("10.0.0.1", ids[4], 100.0) and b.admit("10.0.0.1", ids[5], 100.0)
    assert b.new_admitted == 7


def test_known_identities_reconnect_for_free_even_with_the_budget_spent() -> None:
    b = IdentityBudget(burst=2, interval=60.0, known=16, tracked=8)
    honest, other, sybil = _ids(3)
    assert b.admit("h", honest, 0.0) and b.admit("h", other, 0.0)
    assert not b.admit("h", sybil, 1.0)
    for t in (2.0, 3.0, 4.0):  # restarts / reconnects of admitted ids cost nothing
        assert b.admit("h", honest, t) and b.admit("h", other, t)
    assert not b.admit("h", sybil, 5.0)


def test_memory_is_bounded() -> None:
    b = IdentityBudget(burst=1000, interval=1.0, known=4, tracked=3)
    for i in _ids(100):
        b.admit("a", i, 0.0)
    assert b.known_from("a") == 4  # the last 4 admitted
    for n in range(10):
        b.admit(f"addr{n}", b"x" * 32, 0.0)
    assert len(b) == 3


def test_address_keys() -> None:
    assert address_key("127.0.0.1") == "127.0.0.1"
    assert address_key("::ffff:10.1.2.3") == "10.1.2.3"
    # one IPv6 /64 is one subscriber's allocation: counted as one address
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("fe80::1%eth0") == address_key("fe80::2")
    assert address_key("not-an-ip") == "not-an-ip"


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        IdentityBudget(burst=0, interval=1.0, known=1, tracked=1)
