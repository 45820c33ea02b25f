import hashlib
import os
import random
import stat

import pytest

from mesh.errors import IdentityError
from mesh.identity import ED25519, SIM_FAST, NodeKey, node_id_of, realm_id


def test_node_id_is_sha256_of_public_key():
    key = NodeKey.generate()
    assert len(key.public_key) == 32
    assert key.node_id == hashlib.sha256(key.public_key).digest() == node_id_of(key.public_key)


def test_realm_id_is_sha256_of_name():
    assert realm_id("tweann") == hashlib.sha256(b"tweann").digest()
    assert realm_id("a") != realm_id("b")


def test_seeded_keys_are_deterministic():
    a = NodeKey.generate(random.Random(5))
    b = NodeKey.generate(random.Random(5))
    c = NodeKey.generate(random.Random(6))
    assert a.node_id == b.node_id != c.node_id


def test_save_uses_0600_and_load_round_trips(tmp_path):
    key = NodeKey.generate()
    path = tmp_path / "node.key"
    key.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = NodeKey.load(path)
    assert loaded.node_id == key.node_id
    sig = loaded.sign(b"msg")
    assert ED25519.verify(key.public_key, sig, b"msg")


def test_save_never_overwrites(tmp_path):
    path = tmp_path / "node.key"
    NodeKey.generate().save(path)
    with pytest.raises(IdentityError):
        NodeKey.generate().save(path)


def test_load_refuses_permissive_or_bad_files(tmp_path):
    path = tmp_path / "node.key"
    NodeKey.generate().save(path)
    os.chmod(path, 0o644)
    with pytest.raises(IdentityError):
        NodeKey.load(path)
    bad = tmp_path / "bad.key"
    bad.write_bytes(b"not a key")
    os.chmod(bad, 0o600)
    with pytest.raises(IdentityError):
        NodeKey.load(bad)
    with pytest.raises(IdentityError):
        NodeKey.load(tmp_path / "missing.key")


@pytest.mark.parametrize("suite", [ED25519, SIM_FAST], ids=["ed25519", "sim-fast"])
def test_suites_reject_wrong_message_key_or_signature(suite):
    k1, k2 = NodeKey.generate(random.Random(1)), NodeKey.generate(random.Random(2))
    sig = suite.sign(k1, b"hello")
    assert suite.verify(k1.public_key, sig, b"hello")
    assert not suite.verify(k1.public_key, sig, b"hellO")
    assert not suite.verify(k2.public_key, sig, b"hello")
    assert not suite.verify(k1.public_key, bytes(64), b"hello")
    assert not suite.verify(b"short", sig, b"hello")
