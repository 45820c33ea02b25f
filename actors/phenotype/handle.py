"""Build an actor phenotype from a :class:`~actors.neural.spec.NetworkSpec` and drive it.

:class:`ActorPhenotype` is the owner's handle (DXNN's exoself side of the protocol) over a
:class:`~actors.runtime.system.RuntimeSystem`. It offers the evaluator interface of
:class:`~actors.neural.compiled.CompiledNetwork` (``step``, ``step_flat``, ``reset``,
``get_weights``, ``set_weights``) plus DXNN's tuning verbs (``backup``, ``restore``,
``perturb``, ``get_backup``), episodes against a morphology's scape (``run_episode``), and
``terminate``::

    with start_system("simple") as rt:
        with ActorPhenotype.build(rt, spec, morphology="xor") as net:
            net.reset()
            result = net.run_episode(seed=0)          # a morphologies.EpisodeResult

Layout: one supervisor per phenotype (a root, or a child of ``parent``) with the cortex, the
scape host (when a morphology is given), the sensors, the neurons and the actuators as
``temporary`` children (never restarted: a phenotype that lost an element is rebuilt by its
owner). The handle monitors every element; if one exits while the handle waits on the
phenotype, the wait raises :class:`PhenotypeDown` naming it. The handle is one caller's: it
listens on the runtime's external mailbox (:meth:`RuntimeSystem.listen`) while it waits (not
thread-safe).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from actors.neural.spec import NetworkSpec
from actors.phenotype.elements import Actuator, Cortex, Neuron, ScapeHost, Sensor
from actors.phenotype.errors import (
    PhenotypeDown,
    PhenotypeError,
    PhenotypeTimeout,
    PhenotypeUsageError,
)
from actors.phenotype.messages import (
    ActuatorWire,
    CortexWire,
    Evaluate,
    EvaluationCompleted,
    GetBackup,
    GetWeights,
    NeuronBackup,
    NeuronWire,
    Reset,
    ResetPrep,
    SensorWire,
    SetWeights,
    StepDone,
    StepRequest,
    Target,
    WeightBackup,
    WeightPerturb,
    WeightRestore,
)
from actors.phenotype.plan import Plan, make_plan
from actors.runtime.errors import SystemLost
from actors.runtime.messages import (
    Demonitor,
    Down,
    Monitor,
    Reply,
    Request,
    Shutdown,
    SupervisorArgs,
)
from actors.runtime.spec import ChildSpec, SupFlags
from actors.runtime.supervisor import Supervisor
from actors.runtime.system import RuntimeSystem
from morphologies.base import EpisodeResult

__all__ = ["ActorPhenotype"]

log = logging.getLogger(__name__)


class ActorPhenotype:
    """A running actor phenotype (see the module docstring). Build with :meth:`build`."""

    def __init__(self, rt: RuntimeSystem, spec: NetworkSpec, plan: Plan, timeout: float) -> None:
        self.rt = rt
        self.spec = spec
        self.plan = plan
        self.timeout = timeout
        self.supervisor: Any = None
        self.parent: Any = None
        self.child_id = ""
        self.addresses: dict[str, Any] = {}
        self._monitors: dict[str, str] = {}  # monitor ref -> element id
        self._retired: set[str] = set()
        self._inbox: list[Any] = []
        self._epoch = 0
        self._cycles = 0
        self._broken: PhenotypeError | None = None
        self._terminated = False
        self._cortex: Any = None
        self._n_inputs = spec.input_size
        self._slices: list[tuple[int, int]] = []
        pos = 0
        for s in spec.sensors:
            self._slices.append((pos, pos + s.vl))
            pos += s.vl

    # -- building -------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        rt: RuntimeSystem,
        spec: NetworkSpec,
        *,
        morphology: str | None = None,
        heredity: str = "darwinian",
        parent: Any = None,
        name: str = "phenotype",
        timeout: float = 30.0,
    ) -> ActorPhenotype:
        """Start and wire the elements of ``spec`` (DXNN's exoself ``spawn`` + initial state
        messages). ``morphology`` (a registered name) adds a scape host for
        :meth:`run_episode`; ``parent`` puts the phenotype's supervisor under that supervisor
        instead of making it a root. Raises :class:`PhenotypeUsageError` if the spec does not
        fit the morphology."""
        plan = make_plan(spec, morphology, heredity)
        self = cls(rt, spec, plan, timeout)
        # simple: an exit request, no timer; multi-process: an orderly stop (the supervisor's
        # brutal kill waits for Thespian to notice the SIGKILLed process, which can lag).
        stop: Any = "brutal_kill" if rt.mode == "simple" else 2000
        children = [
            ChildSpec(el.id, _ACTORS[el.kind], el.args, restart="temporary", shutdown=stop)
            for el in plan.elements
        ]
        flags = SupFlags("one_for_one", intensity=0, period=1.0)
        if parent is None:
            self.supervisor = rt.start_supervisor(flags, children, id=name, timeout=timeout)
        else:
            self.parent, self.child_id = parent, f"{name}-{rt.new_ref()}"
            sup_spec = ChildSpec(
                self.child_id, Supervisor, (SupervisorArgs(flags, tuple(children)),),
                restart="temporary",
            )  # fmt: skip
            self.supervisor = rt.start_child(parent, sup_spec, timeout)
        try:
            self.addresses = {c.id: c.address for c in rt.which_children(self.supervisor)}
            self._cortex = self.addresses[plan.cortex_id]
            self._watch()
            self._wire()
        except BaseException:
            self.terminate()
            raise
        return self

    def _watch(self) -> None:
        reqs = []
        for el_id, address in self.addresses.items():
            ref = self.rt.new_ref()
            self._monitors[ref] = el_id
            reqs.append((self.rt.registry, Monitor(ref, address, None)))
        self._call_all(reqs)

    def _wire(self) -> None:
        a, p = self.addresses, self.plan
        scape = a.get(p.scape_id) if p.scape_id else None

        def targets(src: str) -> tuple[Target, ...]:
            return tuple(Target(a[t], slot, rec) for t, slot, rec in p.links.get(src, ()))

        reqs: list[tuple[Any, Any]] = [
            (a[p.cortex_id], CortexWire(
                tuple(a[s] for s in p.sensor_ids), tuple(a[x] for x in p.actuator_ids), scape)),
        ]  # fmt: skip
        reqs += [(a[s], SensorWire(a[p.cortex_id], scape, targets(s))) for s in p.sensor_ids]
        reqs += [(a[x], ActuatorWire(a[p.cortex_id], scape)) for x in p.actuator_ids]
        reqs += [(a[n], NeuronWire(targets(n))) for n in p.neuron_ids]
        self._call_all(reqs)

    # -- waiting --------------------------------------------------------------------------

    def _listen(self, deadline: float) -> Any:
        rt = self.rt
        if not rt.running:
            raise PhenotypeError("the actor system is not running")
        try:
            if rt.mode == "simple":  # a message already held is taken even past the deadline
                msg = rt.listen(0)
                if msg is not None:
                    return msg
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # an answer may still come, out of step with the next request: stop here
                self._broken = PhenotypeTimeout(f"no answer from the phenotype in {self.timeout} s")
                raise self._broken
            return rt.listen(remaining)
        except SystemLost as exc:  # the Admin died, and every element with it
            self._broken = PhenotypeDown("the actor system", str(exc))
            raise self._broken from exc

    def _next(self, deadline: float, want: Any) -> Any:
        """The next message for which ``want(msg)`` is true; raises PhenotypeDown if an
        element of this phenotype exits meanwhile."""
        for i, msg in enumerate(self._inbox):
            if want(msg):
                return self._inbox.pop(i)
        while True:
            msg = self._take(self._listen(deadline), want)
            if msg is not None:
                return msg

    def _take(self, msg: Any, want: Any) -> Any:
        """``msg`` if wanted; a Down of an element raises PhenotypeDown; others are kept."""
        if msg is None:
            return None
        if isinstance(msg, Down):
            if msg.ref in self._monitors:
                el = self._monitors.pop(msg.ref)
                self._broken = PhenotypeDown(el, msg.reason)
                raise self._broken
            if msg.ref in self._retired:
                self._retired.discard(msg.ref)
                return None
        if want(msg):
            return msg
        self._inbox.append(msg)
        return None

    def _call_all(self, reqs: Iterable[tuple[Any, Any]]) -> list[Any]:
        """Send every ``(address, payload)`` as a Request at once; the values in order."""
        refs: dict[str, int] = {}
        for i, (address, payload) in enumerate(reqs):
            ref = self.rt.new_ref()
            refs[ref] = i
            self.rt.tell(address, Request(ref, payload))
        values: list[Any] = [None] * len(refs)
        deadline = time.monotonic() + self.timeout
        while refs:
            msg = self._next(deadline, lambda m: isinstance(m, Reply) and m.ref in refs)
            i = refs.pop(msg.ref)
            if not msg.ok:
                if msg.error == "refused":
                    raise PhenotypeUsageError(msg.reason)
                raise PhenotypeError(f"{msg.error}: {msg.reason}")
            values[i] = msg.value
        return values

    def _usable(self) -> None:
        if self._terminated:
            raise PhenotypeUsageError("the phenotype was terminated")
        if self._broken is not None:
            raise PhenotypeUsageError(f"the phenotype is broken: {self._broken}")

    def _neurons(self, op: Any) -> list[Any]:
        self._usable()
        return self._call_all((self.addresses[n], op) for n in self.plan.neuron_ids)

    # -- the evaluator interface ------------------------------------------------------------

    def step_flat(self, x: Sequence[float]) -> list[float]:
        """One cycle on the concatenated sensor vector (spec sensor order); returns the
        concatenated actuator vectors (spec actuator order)."""
        self._usable()
        if len(x) != self._n_inputs:
            raise PhenotypeUsageError(f"expected {self._n_inputs} inputs, got {len(x)}")
        inputs = tuple(tuple(x[a:b]) for a, b in self._slices)
        rt = self.rt
        ref = rt.new_ref()
        rt.tell(self._cortex, StepRequest(ref, self._epoch, inputs))
        # in simple mode the whole cycle has run inside tell: the answer is waiting
        msg = rt.listen(0) if rt.mode == "simple" and not self._inbox else None
        if type(msg) is not StepDone or msg.ref != ref:

            def want(m: Any) -> bool:
                return isinstance(m, StepDone) and m.ref == ref

            msg = self._take(msg, want) or self._next(time.monotonic() + self.timeout, want)
        if msg.error:
            raise PhenotypeUsageError(msg.error)
        self._cycles += 1
        return list(msg.outputs)

    def step(self, inputs: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
        """One cycle with named sensor vectors in, named actuator vectors out."""
        flat: list[float] = []
        for s in self.spec.sensors:
            vec = inputs[s.name]
            if len(vec) != s.vl:
                raise PhenotypeUsageError(f"sensor {s.name!r} expects {s.vl} values")
            flat.extend(vec)
        out = self.step_flat(flat)
        res, pos = {}, 0
        for a in self.spec.actuators:
            res[a.name] = out[pos : pos + len(a.sources)]
            pos += len(a.sources)
        return res

    def run_episode(self, seed: int, max_cycles: int | None = None) -> EpisodeResult:
        """One episode on a new scape made with ``random.Random(seed)`` (the network is not
        reset first: call :meth:`reset`, as with the compiled backend). Raises
        :class:`PhenotypeError` if the scape rejected an action."""
        self._usable()
        if self.plan.morphology is None:
            raise PhenotypeUsageError("this phenotype was built without a morphology")
        limit = self.plan.morphology.max_cycles if max_cycles is None else max_cycles
        ref = self.rt.new_ref()
        self.rt.tell(
            self.addresses[self.plan.cortex_id], Evaluate(ref, self._epoch, int(seed), limit)
        )
        deadline = time.monotonic() + self.timeout
        msg = self._next(deadline, lambda m: isinstance(m, EvaluationCompleted) and m.ref == ref)
        self._cycles += msg.cycles
        if msg.error:
            raise PhenotypeError(f"evaluation failed: {msg.error}")
        return EpisodeResult(msg.fitness, msg.cycles, msg.goal_reached)

    def reset(self) -> None:
        """DXNN's ``reset_prep`` / ``reset``: every neuron drops buffered signals and
        diff_product memory, then primes its recurrent links with zero (weights are kept)."""
        self._epoch += 1
        self._neurons(ResetPrep(self._cycles, self._epoch))
        self._cycles = 0
        self._neurons(Reset(0))

    def get_weights(self) -> list[float]:
        """The current weights and biases in the spec's flat layout."""
        parts = self._neurons(GetWeights(self._cycles))
        return [float(v) for part in parts for v in part]

    def set_weights(self, flat: Sequence[float]) -> None:
        """Replace the weights and biases (flat layout); the recurrent state is kept."""
        if len(flat) != self.spec.weight_count:
            raise PhenotypeUsageError(f"expected {self.spec.weight_count} weights, got {len(flat)}")
        ops, pos = [], 0
        for n in self.spec.neurons:
            k = n.weight_slots
            ops.append(SetWeights(self._cycles, tuple(float(v) for v in flat[pos : pos + k])))
            pos += k
        self._usable()
        self._call_all(zip((self.addresses[n] for n in self.plan.neuron_ids), ops, strict=True))

    def backup(self) -> None:
        """``weight_backup`` to every neuron."""
        self._neurons(WeightBackup(self._cycles))

    def restore(self, neuron_ids: Iterable[str] | None = None) -> None:
        """``weight_restore`` to the given neurons (spec ids; default: all)."""
        self._usable()
        ids = self._ids(neuron_ids)
        self._call_all((self.addresses[i], WeightRestore(self._cycles)) for i in ids)

    def perturb(self, choices: Iterable[tuple[str, float]], rng: random.Random) -> dict[str, int]:
        """``weight_perturb`` ``(neuron_id, spread)`` pairs (as the tuning selection gives
        them). Each neuron gets a seed drawn from ``rng`` in the given order
        (``rng.getrandbits(64)``); returns the seeds, so the same perturbation can be
        replayed on another backend with :func:`actors.phenotype.perturb.perturb_blocks`."""
        self._usable()
        seeds: dict[str, int] = {}
        reqs = []
        for nid, spread in choices:
            seed = rng.getrandbits(64)
            seeds[nid] = seed
            reqs.append(
                (self.addresses[self._ids([nid])[0]], WeightPerturb(self._cycles, spread, seed))
            )
        self._call_all(reqs)
        return seeds

    def get_backup(self) -> dict[str, NeuronBackup]:
        """Every neuron's backed-up weights and momentum deltas, by spec neuron id."""
        return {b.neuron_id: b for b in self._neurons(GetBackup(self._cycles))}

    def _ids(self, neuron_ids: Iterable[str] | None) -> list[str]:
        if neuron_ids is None:
            return list(self.plan.neuron_ids)
        out = []
        for nid in neuron_ids:
            el = self.plan.neuron_element.get(nid)
            if el is None:
                raise PhenotypeUsageError(f"no neuron {nid!r} in this phenotype")
            out.append(el)
        return out

    # -- ending -------------------------------------------------------------------------------

    def terminate(self) -> None:
        """Stop every element (DXNN's ``terminate``) and the phenotype's supervisor.
        Idempotent; safe after :class:`PhenotypeDown`."""
        if self._terminated or self.supervisor is None or not self.rt.running:
            self._terminated = True
            return
        self._terminated = True
        refs = list(self._monitors)
        self._monitors.clear()
        self._retired.update(refs)
        for ref in refs:
            self.rt.tell(self.rt.registry, Request(self.rt.new_ref(), Demonitor(ref)))
        if self.parent is not None:
            self.rt.terminate_child(self.parent, self.child_id, self.timeout)
            return
        ref = self.rt.new_ref()
        self._monitors[ref] = "supervisor"
        self.rt.tell(
            self.rt.registry, Request(self.rt.new_ref(), Monitor(ref, self.supervisor, None))
        )
        self.rt.tell(self.supervisor, Shutdown())
        try:
            self._next(time.monotonic() + self.timeout, lambda m: False)
        except PhenotypeDown:
            pass  # the supervisor is gone, and its elements with it
        except PhenotypeTimeout:
            log.error("phenotype supervisor did not stop in %s s", self.timeout)
        finally:
            self._inbox.clear()

    def __enter__(self) -> ActorPhenotype:
        return self

    def __exit__(self, *exc: object) -> None:
        self.terminate()


_ACTORS: dict[str, type] = {
    "cortex": Cortex,
    "scape": ScapeHost,
    "sensor": Sensor,
    "neuron": Neuron,
    "actuator": Actuator,
}
