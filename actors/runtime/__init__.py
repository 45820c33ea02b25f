"""megabrain's BEAM mirror on Thespian: actor systems, OTP supervisors, names, monitors.

Quick tour::

    from actors.runtime import ChildSpec, SupFlags, Worker, start_system

    class Echo(Worker):                      # in an importable module
        def handle_call(self, payload, sender):
            return payload

    with start_system("local") as rt:        # or "simple", or "cluster"
        sup = rt.start_supervisor(SupFlags("one_for_one", intensity=3, period=5),
                                  [ChildSpec("echo", Echo, name="echo")])
        assert rt.request(rt.whereis("echo"), "hi") == "hi"

See ``docs/runtime.md`` for the contracts.
"""

from actors.runtime.child import NOREPLY, Caller, SupervisedActor, Worker, crash_exit
from actors.runtime.cluster import ConventionWatcher, tune_convention_timers
from actors.runtime.core import (
    DeadlineTable,
    IntensityWindow,
    RestartPlan,
    restart_plan,
    restart_wanted,
)
from actors.runtime.errors import (
    ActorError,
    BadSeal,
    CallFailed,
    CapabilityError,
    ConfigError,
    ModeError,
    NoProc,
    RequestTimeout,
    RuntimeFailure,
    SealError,
    SpecError,
    SupervisorRefused,
    SystemLost,
)
from actors.runtime.messages import (
    ABNORMAL,
    KILLED,
    NORMAL,
    SHUTDOWN,
    ChildCounts,
    ChildInfo,
    Down,
    Exit,
    Reply,
    Request,
    SupervisorArgs,
)
from actors.runtime.registry import REGISTRY_NAME, Registry, RegistryCore
from actors.runtime.spec import INFINITY, ChildSpec, SupFlags, validate_capabilities
from actors.runtime.supervisor import Supervisor
from actors.runtime.system import MODES, RuntimeSystem, start_system

__all__ = [
    "ABNORMAL",
    "INFINITY",
    "KILLED",
    "MODES",
    "NOREPLY",
    "NORMAL",
    "REGISTRY_NAME",
    "SHUTDOWN",
    "ActorError",
    "BadSeal",
    "CallFailed",
    "Caller",
    "CapabilityError",
    "ChildCounts",
    "ChildInfo",
    "ChildSpec",
    "ConfigError",
    "ConventionWatcher",
    "DeadlineTable",
    "Down",
    "Exit",
    "IntensityWindow",
    "ModeError",
    "NoProc",
    "Registry",
    "RegistryCore",
    "Reply",
    "Request",
    "RequestTimeout",
    "RestartPlan",
    "RuntimeFailure",
    "RuntimeSystem",
    "SealError",
    "SpecError",
    "SupFlags",
    "SupervisedActor",
    "Supervisor",
    "SupervisorArgs",
    "SupervisorRefused",
    "SystemLost",
    "Worker",
    "crash_exit",
    "restart_plan",
    "restart_wanted",
    "start_system",
    "tune_convention_timers",
    "validate_capabilities",
]
