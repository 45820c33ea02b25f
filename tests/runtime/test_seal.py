"""The transport seal (:mod:`actors.runtime.seal`): Thespian frames without the system's
HMAC are dropped before anything is unpickled.

The probe (:mod:`tests.runtime.sealprobe`) is a live exploit for stock Thespian: its
frame, fed to Thespian's own reassembly, runs its payload. Against a running ``local``
system it is sent to every listener of every process; nothing runs, every process
lives, each listener answers the sealed ``ACK+DATAERR`` and closes, and the system
still works.
"""

from __future__ import annotations

import os
import pickle
import stat
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from thespian.system.transport import TCPTransport
from thespian.system.transport.streamBuffer import ReceiveBuffer, toSendBuffer

from actors.runtime import (
    BadSeal,
    ChildSpec,
    ModeError,
    RuntimeSystem,
    SealError,
    SupFlags,
    seal,
)
from tests.runtime import sealprobe
from tests.runtime.conftest import uniq
from tests.runtime.workers import Echo


@pytest.fixture
def sealed() -> Iterator[None]:
    """This process sealed with its own key for the test (as a local system is)."""
    seal.use()
    yield
    seal.release()


def _feed(buf: ReceiveBuffer, frame: bytes, step: int | None) -> object:
    """Feed ``frame`` whole (step None) or ``step`` bytes at a time; the result."""
    chunks = [frame] if step is None else [frame[i : i + step] for i in range(0, len(frame), step)]
    for chunk in chunks:
        assert not buf.isDone()
        buf.addMore(chunk)
    assert buf.isDone()
    return buf.completed()


def test_the_probe_runs_its_payload_in_stock_thespian(tmp_path: Path) -> None:
    marker = tmp_path / "planted"
    frame = sealprobe.attack_frames(marker)["unsealed"]
    _feed(ReceiveBuffer(pickle.loads), frame, None)  # Thespian 4.0.1's reassembly
    assert marker.exists()


@pytest.mark.parametrize("step", [None, 1, 7])
def test_the_sealed_transport_drops_every_probe_frame(
    sealed: None, tmp_path: Path, step: int | None
) -> None:
    marker = tmp_path / "planted"
    for kind, frame in sealprobe.attack_frames(marker).items():
        before = seal.rejected()
        assert _feed(TCPTransport.ReceiveBuffer(TCPTransport.serializer.loads), frame, step) is None
        assert seal.rejected() == before + 1, kind
        with pytest.raises(BadSeal):
            TCPTransport.serializer.loads(frame[frame.index(b">") + 1 :])
    assert not marker.exists()


def test_drops_are_logged_at_powers_of_two(
    sealed: None, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seal, "_rejected", 0)
    frame = sealprobe.attack_frames(tmp_path / "planted")["wrong_key"]
    with caplog.at_level("WARNING", logger="actors.runtime.seal"):
        for _ in range(9):
            _feed(seal.SealedReceiveBuffer(), frame, None)
    assert seal.rejected() == 9
    assert [r.getMessage().split("(")[1].split()[0] for r in caplog.records] == ["1", "2", "4", "8"]


def test_a_frame_shorter_than_a_tag_is_dropped(sealed: None) -> None:
    before = seal.rejected()
    assert _feed(seal.SealedReceiveBuffer(), b"3>abc", None) is None
    assert seal.rejected() == before + 1


@pytest.mark.parametrize("step", [None, 1, 5])
def test_sealed_frames_round_trip_with_trailing_data(sealed: None, step: int | None) -> None:
    message = ("sender", {"a": [1, 2.5, "x"]})
    frame = toSendBuffer(message, TCPTransport.serializer.dumps)
    body = frame.split(b">", 1)[1]
    assert body[seal.TAG_SIZE :] == pickle.dumps(message)  # Thespian's pickle, tag in front
    buf = TCPTransport.ReceiveBuffer(TCPTransport.serializer.loads)
    assert _feed(buf, frame, step) == (message, b"")
    buf.addMore(b"12>")  # the start of the next frame
    assert buf.completed() == (message, b"12>")


def test_the_tag_alone_stands_between_a_frame_and_pickle(sealed: None, tmp_path: Path) -> None:
    marker = tmp_path / "planted"
    body = (sealprobe.Plant(marker), "hello")
    frame = toSendBuffer(body, TCPTransport.serializer.dumps)  # sealed with the right key
    _feed(TCPTransport.ReceiveBuffer(TCPTransport.serializer.loads), frame, None)
    assert marker.exists()  # the seal authenticates; it does not vet what it lets through


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_changed_byte_is_dropped(data: st.DataObject) -> None:
    seal.use()
    try:
        body = seal.seal(pickle.dumps(("sender", "a message of some length")))
        index = data.draw(st.integers(0, len(body) - 1))
        flip = data.draw(st.integers(1, 255))
        changed = bytearray(body)
        changed[index] ^= flip
        with pytest.raises(BadSeal):
            seal.unseal(bytes(changed))
        assert seal.unseal(body) == body[seal.TAG_SIZE :]
    finally:
        seal.release()


def test_the_hook_seals_both_acks(sealed: None) -> None:
    assert seal.installed()
    assert TCPTransport.ReceiveBuffer is seal.SealedReceiveBuffer
    for frame, text in ((TCPTransport.ackMsg, "ACK"), (TCPTransport.ackDataErrMsg, "ACK+DATAERR")):
        body = frame.split(b">", 1)[1]
        assert pickle.loads(seal.unseal(body)) == text


def test_one_key_per_process_at_a_time() -> None:
    other, third = os.urandom(32), os.urandom(32)
    seal.use()
    own = seal.fingerprint()
    try:
        seal.use()  # a second local system shares the key
        seal.release()
        assert seal.fingerprint() == own
        with pytest.raises(SealError, match="another key"):
            seal.use(other)
    finally:
        seal.release()
    seal.use(other)  # nothing runs: a cluster secret may take over
    try:
        assert seal.fingerprint() not in (None, own)
        cluster = seal.fingerprint()
        seal.use()  # a local system started now shares the cluster's secret
        assert seal.fingerprint() == cluster
        seal.release()
        with pytest.raises(SealError):
            seal.use(third)
    finally:
        seal.release()
    seal.use()  # afterwards local systems are back on the process's own key
    try:
        assert seal.fingerprint() == own
    finally:
        seal.release()
    with pytest.raises(SealError, match="at least 32 bytes"):
        seal.use(b"short")


def test_secret_files(tmp_path: Path) -> None:
    path = tmp_path / "cluster.secret"
    seal.write_secret_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = seal.read_secret_file(path)
    assert len(secret) == seal.KEY_SIZE
    with pytest.raises(SealError, match="cannot create"):
        seal.write_secret_file(path)  # never overwritten
    path.chmod(0o640)
    with pytest.raises(SealError, match=r"mode 0640.*chmod 600"):
        seal.read_secret_file(path)
    path.chmod(0o400)
    assert seal.read_secret_file(path) == secret
    bad = tmp_path / "bad.secret"
    for text, match in (("abcd\n", "at least 32 bytes"), ("zz" * 40, "hex digits"), ("", "32")):
        bad.unlink(missing_ok=True)
        bad.write_text(text)
        bad.chmod(0o600)
        with pytest.raises(SealError, match=match):
            seal.read_secret_file(bad)
    with pytest.raises(SealError, match="cannot open"):
        seal.read_secret_file(tmp_path / "missing")
    with pytest.raises(SealError, match="not a regular file"):
        seal.read_secret_file(tmp_path)


def test_modes_and_secrets() -> None:
    with pytest.raises(ModeError, match="needs the secret"):
        RuntimeSystem("cluster", host="127.0.0.1")
    with pytest.raises(ModeError, match="needs the secret"):
        RuntimeSystem("cluster", secret=os.urandom(32), secret_file="x")
    with pytest.raises(ModeError, match="only for mode 'cluster'"):
        RuntimeSystem("local", secret=os.urandom(32))
    with pytest.raises(SealError, match="at least 32 bytes"):
        RuntimeSystem("cluster", secret=b"0123456789")


def test_only_fork_carries_the_seal() -> None:
    seal.require_fork({})
    seal.require_fork({seal.START_METHOD: "fork"})
    for method in ("spawn", "forkserver"):
        with pytest.raises(SealError, match=rf"{method!r}.*fork"):
            RuntimeSystem("local", capabilities={seal.START_METHOD: method})


def test_a_platform_without_fork_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    with pytest.raises(SealError, match="cannot fork"):
        RuntimeSystem("local")


@pytest.mark.multiproc
def test_every_listener_of_a_local_system_refuses_the_probe(tmp_path: Path) -> None:
    marker = tmp_path / "planted"
    with RuntimeSystem("local") as rt:
        names = [uniq("sealed"), uniq("sealed")]
        rt.start_supervisor(
            SupFlags(), [ChildSpec(f"w{i}", Echo, name=n) for i, n in enumerate(names)]
        )
        pids = rt.pids()
        listening = rt.listeners()
        targets = sorted({(x.host, x.port) for x in listening})
        owners = {x.pid for x in listening}
        assert len(pids) >= 5 and set(pids) <= owners  # admin, logger, registry, sup, 2 workers
        driver_ports = {x.port for x in listening if x.pid == os.getpid()}
        assert driver_ports  # the driver's own ActorSystem() endpoint listens too
        before = seal.rejected()

        sent = sealprobe.launch(targets, marker)
        answers = sealprobe.collect(sent, 20.0, drive=lambda: rt.request(names[0], "during"))

        assert not marker.exists()
        assert len(answers) == 3 * len(targets)
        # every listener answered Thespian's bad-frame reply, sealed with the system's
        # key (the same bytes from every process), and closed the connection
        assert sealprobe.unrefused(answers, TCPTransport.ackDataErrMsg) == {}
        assert seal.rejected() - before == 3 * len(driver_ports)
        assert all(psutil.pid_exists(p) for p in pids)
        for name in names:
            installed, print_, rejected = rt.request(name, "seal")
            assert installed and print_ == seal.fingerprint()
            assert rejected == 3  # its own listener's frames
        # the system still works: a new actor (a new process), and round trips
        late = rt.start_root(ChildSpec("late", Echo, name=uniq("late")))
        assert rt.request(late, "after") == "after"
        assert rt.request(names[1], "after") == "after"
        assert all(psutil.pid_exists(p) for p in pids)
    assert rt.leftovers == []


@pytest.mark.multiproc
def test_an_evolution_run_in_local_mode_is_sealed_and_loses_nothing() -> None:
    from actors.evolution.run import EvolveOptions, evolve
    from actors.genotype import encode_agent
    from tests.evolution.helpers import small_config

    before = seal.rejected()
    local = evolve(EvolveOptions("xor", seed=4, config=small_config(), runtime="local", workers=2))
    simple = evolve(EvolveOptions("xor", seed=4, config=small_config()))
    assert seal.installed() and seal.rejected() == before  # no honest frame was dropped
    assert local.champion is not None and simple.champion is not None
    assert encode_agent(local.champion) == encode_agent(simple.champion)
    assert local.evaluations == simple.evaluations
