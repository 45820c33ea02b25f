"""The validation pipeline a received champion goes through before it is adopted (pure).

:meth:`Intake.receive` takes the bytes of one pub/sub event with the mesh's view of it: the
*publisher* (the key that signed the event, i.e. its author), the *relay* (``via``: the
authenticated, connected peer that delivered it -- the publisher itself when it published
directly, as honest nodes always do) and the realm. It runs, in order:

1. **publisher and relay checks** -- a publisher or a relay whose trust score fell below
   ``distrust_below`` is ignored (``distrusted``); at most ``relay_rate`` envelopes per
   second are looked at from one relay (events it delivers signed by other keys) and at most
   ``peer_rate`` per publisher (``rate_limited``);
2. **envelope** (:func:`~actors.distributed.envelope.decode_envelope`): size (``oversized``),
   msgpack / fields (``malformed``), schema name, version and codec (``schema``), origin =
   SHA-256 of the signing key (``forged``), Ed25519 signature (``signature``: a tampered
   byte anywhere lands here);
3. **realm and provenance** -- the envelope's realm is the one it arrived in and one we adopt
   from (``realm``); its origin is the node that published it (``forged``: someone else's
   envelope replayed under another identity); our own champion coming back is counted as
   ``own``;
4. **problem** -- the morphology is ours (``morphology``);
5. **replay / dedup** -- a genotype hash seen before (received, or published by us) is not
   processed twice (``duplicate``); the memory is bounded (oldest forgotten first); with
   ``adopt_only_better`` a claim no better than the local champion is not taken
   (``not_better``: fewer immigrants, more diversity kept);
6. **adoption rate** (``rate_limited``) -- two budgets: publishers with *earned trust*
   (score above 0: accepted genotypes outweigh their lies) share ``adopt_rate`` /
   ``adopt_burst``; every other publisher -- unknown keys, which cost nothing to mint --
   shares ``adopt_unknown_rate`` / ``adopt_unknown_burst``. Liars signing with fresh keys
   can therefore use up only the second budget, never a known-good publisher's;
7. **genotype** (:func:`~actors.distributed.envelope.open_genotype`): capped decompression
   (``oversized``), hash, canonical decode with limits (``genotype``);

and returns an :class:`Admission`: the shell re-evaluates the genotype locally and calls
:meth:`Intake.settle` with the measured fitness. A claimed main fitness above the measured
one by more than ``fitness_tolerance + fitness_relative_tolerance * |claimed|`` is a lie
(``fitness``): the genotype is rejected, its publisher loses ``trust_penalty`` and, when
another peer relayed it, that relay loses ``relay_penalty`` -- the relay is what the liar
paid for (a connection and an identity under the transport's per-address caps), so a relay
of liars reaches ``distrusted`` however many fresh keys signed the lies. An honest genotype
gives its publisher (and its relay) a little trust back (up to :data:`MAX_TRUST`).

Every rejection is a :class:`Rejection` with its reason; counters count what was received,
accepted, and rejected by reason. No exception escapes :meth:`receive` for outside input.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

import msgpack

from actors.distributed.config import MeshSettings
from actors.distributed.envelope import (
    ChampionEnvelope,
    EnvelopeLimits,
    decode_envelope,
    open_genotype,
)
from actors.distributed.errors import EnvelopeError
from actors.distributed.policy import TokenBucket
from actors.genotype import Agent
from mesh.identity import ED25519, CryptoSuite

__all__ = ["MAX_TRUST", "REASONS", "Admission", "Intake", "Rejection", "limits_from"]

#: Every reason a received envelope can be rejected for.
REASONS = (
    "distrusted", "rate_limited", "oversized", "malformed", "schema", "forged", "signature",
    "realm", "own", "morphology", "duplicate", "not_better", "genotype", "fitness",
)  # fmt: skip
MAX_TRUST = 1.0
TRUST_GAIN = 0.1
#: Genotype hashes remembered for dedup.
DEDUP_ENTRIES = 50_000
#: Publishers whose rate buckets and trust scores are kept.
MAX_PUBLISHERS = 10_000


@dataclass(frozen=True, slots=True)
class Rejection:
    """An envelope was refused for ``reason`` (one of :data:`REASONS`)."""

    reason: str
    detail: str
    publisher: bytes


@dataclass(frozen=True, slots=True)
class Admission:
    """An envelope passed every check but the fitness: re-evaluate ``agent`` and settle.
    ``relay`` is the peer that delivered it when that was not its publisher (else empty)."""

    envelope: ChampionEnvelope
    agent: Agent
    publisher: bytes
    received_at: float
    relay: bytes = b""


def peek_hash(payload: Any) -> bytes | None:
    """The genotype hash field of an envelope, unverified (only to skip known ones)."""
    try:
        doc = msgpack.unpackb(payload, raw=False)
        h = doc[14]
    except Exception:  # anything unreadable is left to the real decoder
        return None
    return h if type(h) is bytes else None


def limits_from(settings: MeshSettings) -> EnvelopeLimits:
    return EnvelopeLimits(
        max_envelope_bytes=settings.max_envelope_bytes,
        max_genotype_bytes=settings.max_genotype_bytes,
        max_neurons=settings.max_neurons,
    )


class Intake:
    """A node's intake of champions for one morphology (see the module docstring)."""

    def __init__(
        self,
        settings: MeshSettings,
        own_id: bytes,
        morphology: str,
        *,
        crypto: CryptoSuite = ED25519,
    ) -> None:
        self.settings = settings
        self.own_id = own_id
        self.morphology = morphology
        self.crypto = crypto
        self.limits = limits_from(settings)
        self.counters: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.trust: dict[bytes, float] = {}
        #: The local champion's main fitness (the shell keeps it current).
        self.local_best: float | None = None
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._peer_buckets: OrderedDict[bytes, TokenBucket] = OrderedDict()
        self._relay_buckets: OrderedDict[bytes, TokenBucket] = OrderedDict()
        self._adopt = TokenBucket(settings.adopt_rate, settings.adopt_burst)
        self._adopt_unknown = TokenBucket(
            settings.adopt_unknown_rate or settings.adopt_rate,
            settings.adopt_unknown_burst or settings.adopt_burst,
        )

    # ------------------------------------------------------------------ bookkeeping
    def remember(self, genotype_hash: bytes) -> None:
        """Mark a genotype as known (our own publications are remembered this way)."""
        self._seen[genotype_hash] = None
        self._seen.move_to_end(genotype_hash)
        while len(self._seen) > DEDUP_ENTRIES:
            self._seen.popitem(last=False)

    def score(self, publisher: bytes) -> float:
        return self.trust.get(publisher, 0.0)

    def _adjust(self, publisher: bytes, delta: float) -> None:
        self.trust[publisher] = min(MAX_TRUST, self.score(publisher) + delta)
        if len(self.trust) > MAX_PUBLISHERS:
            # Forget first a score that changes nothing when forgotten: neither earned trust
            # nor distrusted (a fresh key that lied once, gone back to unknown -- keys are
            # free, so churning them must not push out known-good publishers); else the most
            # trusted: distrust must not be washed out by churn.
            floor = self.settings.distrust_below
            idle = [k for k, v in self.trust.items() if floor <= v <= 0.0]
            pool = idle or list(self.trust)
            del self.trust[max(pool, key=self.trust.__getitem__)]

    def _reject(self, reason: str, detail: str, publisher: bytes) -> Rejection:
        self.rejected[reason] += 1
        return Rejection(reason, detail, publisher)

    @staticmethod
    def _bucket(buckets: OrderedDict[bytes, TokenBucket], key: bytes, rate: float) -> TokenBucket:
        """``key``'s bucket (``rate``/s, burst twice that); the least recently created is
        forgotten beyond :data:`MAX_PUBLISHERS`."""
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = TokenBucket(rate, max(1.0, 2 * rate))
            if len(buckets) > MAX_PUBLISHERS:
                buckets.popitem(last=False)
        return bucket

    def known(self, publisher: bytes) -> bool:
        """Has ``publisher`` earned trust (its accepted genotypes outweigh its lies)?"""
        return self.score(publisher) > 0.0

    # ------------------------------------------------------------------ the pipeline
    def receive(
        self,
        payload: Any,
        publisher: bytes,
        realm: str,
        now: float,
        *,
        fetched: bool = False,
        via: bytes | None = None,
    ) -> Admission | Rejection:
        """Run every check but the fitness on one received event (see the module doc).

        ``via`` is the peer that delivered the event (None or ``publisher``: the publisher
        itself). Our own events coming back (we subscribe to the topic we publish on) are
        returned as ``own`` and counted nowhere. ``fetched`` marks an envelope read from the
        DHT (a catch-up after joining, with ``publisher`` the record's author and no relay
        known): one whose genotype hash is already known is skipped uncounted
        (``duplicate``), it was no publication.
        """
        if publisher == self.own_id:
            return Rejection("own", "our own event", publisher)
        if fetched and peek_hash(payload) in self._seen:
            return Rejection("duplicate", "already known", publisher)
        self.counters["received"] += 1
        relay = b"" if via is None or via == publisher else via
        s = self.settings
        if self.score(publisher) < s.distrust_below:
            return self._reject("distrusted", "publisher distrusted", publisher)
        if relay and self.score(relay) < s.distrust_below:
            return self._reject("distrusted", "relay distrusted", publisher)
        if relay and not self._bucket(self._relay_buckets, relay, s.relay_rate).take(now):
            return self._reject("rate_limited", "relay over its rate", publisher)
        if not self._bucket(self._peer_buckets, publisher, s.peer_rate).take(now):
            return self._reject("rate_limited", "publisher over its rate", publisher)
        try:
            env = decode_envelope(payload, self.limits, self.crypto)
        except EnvelopeError as exc:
            return self._reject(exc.reason, exc.detail, publisher)
        if env.realm != realm or realm not in self.settings.subscribed:
            return self._reject("realm", f"envelope of realm {env.realm!r}", publisher)
        if env.origin == self.own_id:
            return self._reject("forged", "our own champion published by another", publisher)
        if env.origin != publisher:
            return self._reject("forged", "published by a node other than its origin", publisher)
        if env.morphology != self.morphology:
            return self._reject("morphology", f"a {env.morphology} genotype", publisher)
        if env.genotype_hash in self._seen:
            return self._reject("duplicate", "genotype already seen", publisher)
        if (
            self.settings.adopt_only_better
            and self.local_best is not None
            and env.main_fitness <= self.local_best
        ):
            return self._reject("not_better", "no better than our champion", publisher)
        if self.known(publisher):
            if not self._adopt.take(now):
                return self._reject("rate_limited", "adoption rate reached", publisher)
        elif not self._adopt_unknown.take(now):
            return self._reject(
                "rate_limited", "adoption rate of unknown publishers reached", publisher
            )
        self.remember(env.genotype_hash)
        try:
            agent = open_genotype(env, self.limits)
        except EnvelopeError as exc:
            return self._reject(exc.reason, exc.detail, publisher)
        return Admission(env, agent, publisher, now, relay)

    def tolerance(self, claimed: float) -> float:
        s = self.settings
        return s.fitness_tolerance + s.fitness_relative_tolerance * abs(claimed)

    def settle(self, admission: Admission, measured: float) -> Rejection | None:
        """The local re-evaluation of an admitted genotype gave ``measured`` (main fitness):
        ``None`` if the claim holds (accepted), a ``fitness`` :class:`Rejection` otherwise."""
        claimed = admission.envelope.main_fitness
        pub, relay = admission.publisher, admission.relay
        if not math.isfinite(measured) or claimed > measured + self.tolerance(claimed):
            self._adjust(pub, -self.settings.trust_penalty)
            if relay:
                self._adjust(relay, -self.settings.relay_penalty)
            return self._reject("fitness", f"claimed {claimed:.6g}, measured {measured:.6g}", pub)
        self._adjust(pub, TRUST_GAIN)
        if relay:
            self._adjust(relay, TRUST_GAIN)
        self.counters["accepted"] += 1
        return None

    def snapshot(self) -> dict[str, Any]:
        """Counters as plain data: received, accepted, rejected (total and by reason)."""
        return {
            "received": self.counters["received"],
            "accepted": self.counters["accepted"],
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": {k: v for k, v in sorted(self.rejected.items()) if v},
        }
