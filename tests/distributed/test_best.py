"""``megabrain mesh best`` picks the best verified champion of the DHT records."""

from __future__ import annotations

from actors.cli.islands import best_champions
from tests.distributed.helpers import envelope, key

A, B = key(1), key(2)


def _record(author: bytes, value: bytes) -> dict:
    return {"author": author.hex(), "seq": 1, "ttl": 60, "value": value.hex(), "meta": {}}


def test_best_verified_champion_first_and_bad_records_counted() -> None:
    low = envelope(A, seed=1, fitness=0.2)
    high = envelope(B, seed=2, fitness=0.7)
    tampered = bytearray(envelope(A, seed=3, fitness=9.0).to_bytes())
    tampered[-1] ^= 1
    records = [
        _record(A.public_key, low.to_bytes()),
        _record(B.public_key, high.to_bytes()),
        _record(A.public_key, bytes(tampered)),  # bad signature
        _record(A.public_key, envelope(B, seed=4, fitness=5.0).to_bytes()),  # B's, stored by A
        {"author": "zz", "value": "not hex"},
    ]
    good, bad = best_champions(records)
    assert [e.main_fitness for e in good] == [0.7, 0.2]
    assert good[0].origin == B.node_id and bad == 3
