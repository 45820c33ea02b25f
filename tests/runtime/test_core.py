"""The pure parts: restart table, intensity, restart plans, registry state, validation."""

from __future__ import annotations

import pytest

from actors.runtime import (
    CapabilityError,
    ChildSpec,
    ChildSpecError,
    DeadlineTable,
    Exit,
    IntensityWindow,
    ModeError,
    RegistryCore,
    RuntimeConfigError,
    RuntimeSystem,
    SupFlags,
    restart_plan,
    restart_wanted,
    validate_capabilities,
)
from tests.runtime.workers import Echo

NORMAL, SHUTDOWN, ABNORMAL, KILLED = (
    Exit("normal"),
    Exit("shutdown"),
    Exit("abnormal", "x"),
    Exit("killed"),
)


@pytest.mark.parametrize(
    ("restart", "reason", "expected"),
    [
        ("permanent", NORMAL, True),
        ("permanent", SHUTDOWN, True),
        ("permanent", ABNORMAL, True),
        ("permanent", KILLED, True),
        ("transient", NORMAL, False),
        ("transient", SHUTDOWN, False),
        ("transient", ABNORMAL, True),
        ("transient", KILLED, True),
        ("temporary", NORMAL, False),
        ("temporary", SHUTDOWN, False),
        ("temporary", ABNORMAL, False),
        ("temporary", KILLED, False),
    ],
)
def test_restart_table_matches_otp(restart: str, reason: Exit, expected: bool) -> None:
    assert restart_wanted(restart, reason) is expected


def test_intensity_window_default_is_one_in_five_seconds() -> None:
    flags = SupFlags()
    assert (flags.intensity, flags.period) == (1, 5.0)
    w = IntensityWindow(flags.intensity, flags.period)
    assert w.add(10.0)
    assert not w.add(12.0)  # second restart within 5 s: give up


def test_intensity_window_forgets_old_restarts() -> None:
    w = IntensityWindow(2, 5.0)
    assert w.add(0.0) and w.add(1.0)
    assert w.add(5.5)  # the restart at 0.0 has left the window
    assert not w.add(5.6)
    assert len(w) == 3


def test_restart_plans() -> None:
    order = ["a", "b", "c", "d"]
    running = {"a", "c", "d"}  # b failed
    assert restart_plan("one_for_one", order, running, "b").stop == ()
    assert restart_plan("one_for_one", order, running, "b").start == ("b",)
    plan = restart_plan("one_for_all", order, running, "b")
    assert plan.stop == ("d", "c", "a") and plan.start == ("a", "b", "c", "d")
    plan = restart_plan("rest_for_one", order, running, "b")
    assert plan.stop == ("d", "c") and plan.start == ("b", "c", "d")
    with pytest.raises(ValueError, match="strategy"):
        restart_plan("nope", order, running, "b")


class Addr:
    """Stands for a Thespian address: unhashable, compared by value, str-able."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, key: str) -> None:
        self.key = key

    def __str__(self) -> str:
        return f"Addr-{self.key}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Addr) and other.key == self.key


def test_registry_core_names_monitors_and_cascade() -> None:
    sup, w1, w2, w1b = Addr("sup"), Addr("w1"), Addr("w2"), Addr("w1b")
    core = RegistryCore()
    core.up(sup, None, "top")
    core.up(w1, sup, "worker")
    core.up(w2, sup, None)
    assert core.whereis("worker") == w1
    assert core.monitor("m1", "worker", "watcher") == []
    assert core.monitor("m2", w2, "watcher") == []
    assert core.register("worker", Addr("other")) == "already_registered"
    downs = core.down(sup, KILLED)
    assert sorted(d.ref for _, d in downs) == ["m1", "m2"]
    assert all(d.reason.kind == "killed" for _, d in downs)
    assert core.whereis("worker") is None and core.whereis("top") is None
    # a monitor on something not alive fires at once with noproc
    [(watcher, down)] = core.monitor("m3", "worker", "watcher")
    assert watcher == "watcher" and down.reason.kind == "noproc"
    # a restarted child is registered under the same name again
    core.up(w1b, Addr("sup2"), "worker")
    assert core.whereis("worker") == w1b
    core.demonitor("m3")
    core.unregister("worker")
    assert core.whereis("worker") is None


def test_register_and_bad_name() -> None:
    a = Addr("a")
    core = RegistryCore()
    assert core.register("", a) == "bad_name"
    assert core.register("n", a) == ""
    assert core.whereis("n") == a
    assert core.down(a, NORMAL) == []
    assert core.whereis("n") is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"id": ""}, "child id"),
        ({"actor": object}, "Worker or Supervisor"),
        ({"actor": "no.such.module.Cls"}, "cannot be imported"),
        ({"actor": "nodots"}, "module.Class"),
        ({"restart": "sometimes"}, "restart"),
        ({"shutdown": -1}, "shutdown"),
        ({"shutdown": True}, "shutdown"),
        ({"shutdown": "later"}, "shutdown"),
        ({"type": "manager"}, "type"),
        ({"args": [1]}, "args"),
        ({"name": ""}, "name"),
        ({"requirements": {"zone": object()}}, "zone"),
    ],
)
def test_invalid_child_spec_names_the_problem(kwargs: dict, field: str) -> None:
    base = {"id": "c", "actor": Echo}
    with pytest.raises(RuntimeConfigError, match=field):
        ChildSpec(**{**base, **kwargs})


def test_child_spec_defaults_and_paths() -> None:
    spec = ChildSpec("c", "tests.runtime.workers.Echo")
    assert spec.type == "worker" and spec.shutdown == 5000 and spec.restart == "permanent"
    assert spec.actor_class() is Echo
    assert spec.shutdown_seconds() == 5.0
    assert ChildSpec("k", Echo, shutdown="brutal_kill").shutdown_seconds() == 0.0
    assert ChildSpec("k", Echo, shutdown="infinity").shutdown_seconds() is None


def test_actor_in_main_is_rejected() -> None:
    cls = type("InMain", (Echo,), {"__module__": "__main__"})
    with pytest.raises(ChildSpecError, match="importable"):
        ChildSpec("c", cls)


@pytest.mark.parametrize(
    "flags",
    [
        {"strategy": "one_for_some"},
        {"intensity": -1},
        {"intensity": 1.5},
        {"period": 0},
    ],
)
def test_invalid_sup_flags(flags: dict) -> None:
    with pytest.raises(ChildSpecError):
        SupFlags(**flags)


def test_unknown_mode_and_bad_options() -> None:
    with pytest.raises(ModeError, match="unknown runtime mode 'fast'"):
        RuntimeSystem("fast")
    with pytest.raises(ModeError, match="cluster"):
        RuntimeSystem("local", leader="127.0.0.1:1")
    with pytest.raises(ModeError):
        RuntimeSystem("simple", admin_port=1900)


@pytest.mark.parametrize(
    "caps",
    [{"": 1}, {1: 1}, {"x": {"nested": 1}}, {"x": float("nan")}, {"x": [object()]}],
)
def test_bad_capability_values(caps: dict) -> None:
    with pytest.raises(CapabilityError):
        validate_capabilities(caps)
    with pytest.raises(CapabilityError):
        RuntimeSystem("local", capabilities=caps)


def test_good_capabilities_copied() -> None:
    assert validate_capabilities({"zone": "a", "gpus": 2, "tags": ("x", "y")}) == {
        "zone": "a",
        "gpus": 2,
        "tags": ["x", "y"],
    }


def test_deadline_table_expires_in_order_and_forgets_answered() -> None:
    table = DeadlineTable()
    table.add("a", 10.0)
    table.add("b", 5.0)
    table.add("c", 7.0)
    assert table.next_deadline() == 5.0
    table.discard("b")  # answered in time
    assert table.next_deadline() == 7.0 and len(table) == 2
    assert table.expired(6.9) == []
    assert table.expired(10.0) == ["c", "a"]
    assert table.next_deadline() is None and len(table) == 0
    table.add("d", 1.0)
    table.discard("d")
    table.add("d", 3.0)  # a ref re-added keeps only its latest deadline
    assert table.expired(2.0) == [] and table.expired(3.0) == ["d"]


def test_bad_arguments_raise_the_runtimes_own_errors() -> None:
    from actors.runtime.cluster import tune_convention_timers

    with pytest.raises(ChildSpecError, match="strategy"):
        restart_plan("nope", ("a",), {"a"}, "a")
    with pytest.raises(RuntimeConfigError, match="exit kind"):
        Exit("vanished")  # type: ignore[arg-type]
    with pytest.raises(RuntimeConfigError, match="period_s"):
        tune_convention_timers(0.0)
