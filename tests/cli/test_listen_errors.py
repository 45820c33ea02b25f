"""Every long-running command reports an address it cannot listen on in one line, exit 2:
``megabrain CMD: error: cannot listen on HOST:PORT: REASON`` -- a port held by a test socket
(UDP for QUIC, TCP for the control endpoint) and an address of no local interface."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.lifeline_procs import ROOT, env

pytestmark = pytest.mark.multiproc

IN_USE = "Address already in use"
NOT_HERE = "Cannot assign requested address"
FOREIGN = "8.8.8.8:7000"  # no interface of this host has it


@pytest.fixture
def udp() -> Iterator[str]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def tcp() -> Iterator[str]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield f"127.0.0.1:{s.getsockname()[1]}"


def _fails(*args: str, timeout: float = 60.0) -> str:
    """Run ``megabrain ARGS``; assert exit 2 and one line on stderr, nothing on stdout;
    return that line."""
    res = subprocess.run([sys.executable, "-m", "actors", *args], cwd=ROOT, env=env(),
                         capture_output=True, text=True, timeout=timeout)  # fmt: skip
    assert res.returncode == 2, res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert res.stdout == ""
    return lines[0]


def test_node_listen_port_in_use(tmp_path: Path, udp: str) -> None:
    line = _fails("node", "--key", str(tmp_path / "k"), "--listen", udp)
    assert line == f"megabrain node: error: cannot listen on {udp}: {IN_USE}"


def test_node_control_port_in_use(tmp_path: Path, tcp: str) -> None:
    line = _fails("node", "--key", str(tmp_path / "k"), "--control", tcp)
    assert line == f"megabrain node: error: cannot listen on {tcp}: {IN_USE}"
    assert not (tmp_path / "k.control.json").exists()


@pytest.mark.parametrize("option", ["--listen", "--control"])
def test_node_address_of_no_local_interface(tmp_path: Path, option: str) -> None:
    line = _fails("node", "--key", str(tmp_path / "k"), option, FOREIGN)
    assert line == f"megabrain node: error: cannot listen on {FOREIGN}: {NOT_HERE}"


EVOLVE = ["evolve", "xor", "--quiet", "--mesh", "--max-generations", "3"]


@pytest.mark.parametrize("runtime", ["simple", "local"])
def test_evolve_mesh_listen_port_in_use(udp: str, runtime: str) -> None:
    line = _fails(*EVOLVE, "--runtime", runtime, "--listen", udp)
    assert line == f"megabrain evolve: error: cannot listen on {udp}: {IN_USE}"


@pytest.mark.parametrize("runtime", ["simple", "local"])
def test_evolve_mesh_listen_address_of_no_local_interface(runtime: str) -> None:
    line = _fails(*EVOLVE, "--runtime", runtime, "--listen", FOREIGN)
    assert line == f"megabrain evolve: error: cannot listen on {FOREIGN}: {NOT_HERE}"


def test_demo_reports_a_node_that_cannot_listen(tmp_path: Path, udp: str) -> None:
    config = tmp_path / "demo.toml"
    config.write_text(f'[mesh]\nlisten = "{udp}"\n')
    out = tmp_path / "demo"
    line = _fails("demo", "--morphology", "xor", "--nodes", "2", "--no-live", "--out", str(out),
                  "--config", str(config))  # fmt: skip
    assert line == (
        f"megabrain demo: error: node n0 exited at start: cannot listen on {udp}: {IN_USE}; "
        f"see its log {out / 'n0.log'}"
    )


def test_evolve_mesh_local_checks_its_address_before_starting_actor_processes(
    udp: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from actors.cli import main
    from actors.runtime import RuntimeSystem

    def started(self: RuntimeSystem) -> RuntimeSystem:
        raise AssertionError("the actor system was started before the address was checked")

    monkeypatch.setattr(RuntimeSystem, "start", started)
    with pytest.raises(SystemExit) as exc:
        main([*EVOLVE, "--runtime", "local", "--listen", udp])
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        f"megabrain evolve: error: cannot listen on {udp}: {IN_USE}\n"
    )
