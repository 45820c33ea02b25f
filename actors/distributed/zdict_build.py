"""Build the preset zlib dictionary of the ``zlib-d1`` envelope codec (``zdict_v1.bin``).

Run ``python -m actors.distributed.zdict_build`` to print the size and SHA-256 of the
dictionary this code builds and whether it matches the checked-in file; ``--write`` writes
it. The checked-in ``zdict_v1.bin`` is pinned by the codec name and by the SHA-256 constant
in :mod:`actors.distributed.envelope`, and must never change: once genotype code changes
what these agents encode to, this script builds a different dictionary, which belongs to a
new codec name (``zlib-d2``) next to the old one, never to ``zlib-d1``.

How the dictionary is built (deterministic; no clock, no global RNG):

1. **Samples.** For each morphology of :data:`MORPHOLOGIES` and each seed of :data:`SEEDS`, a
   default agent (``construct_agent`` under ``build_constraint(morphology,
   EvolutionConfig())``, population ``"<morphology>-<seed>"``, specie ``"s1"``) and
   :data:`GENERATIONS` rounds of ``offspring`` from ``random.Random(seed)``, then a fitness
   from the same RNG: a champion of a few generations, canonically encoded.
2. **Common material.** A :data:`K`-byte substring is *common* if it occurs in at least two
   samples. Random ids and weights occur in one sample only; key names, the constraint map,
   mutation operator lists, function names and the msgpack framing around them are common.
3. **Base.** The sample of :data:`BASE` (first seed) goes last, whole: zlib codes nearer
   matches in fewer bits, so the most typical material belongs at the end.
4. **Fragments.** For every other morphology (first seed, in :data:`MORPHOLOGIES` order),
   the regions of its sample whose common ``K``-byte substrings are absent from the base,
   widened by :data:`CONTEXT` bytes on each side, go before the base: the morphology's
   names, sensor and actuator records and its network shapes.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import random
import sys
from collections import Counter
from importlib import resources

from actors.evolution.config import EvolutionConfig
from actors.evolution.setup import build_constraint, morphology_spec
from actors.genotype import construct_agent, encode_agent, offspring
from morphologies import get_morphology

__all__ = ["build_dictionary", "main", "samples"]

#: The built-in morphologies when ``zlib-d1`` was built.
MORPHOLOGIES = ("discrete_tmaze", "dpnv", "dpv", "single_pole", "single_pole_nv", "xor")
BASE = "dpnv"
SEEDS = (1, 2, 3)
GENERATIONS = 3
K = 8
CONTEXT = 8
FILE = "zdict_v1.bin"


def sample(morphology: str, seed: int) -> bytes:
    """The canonical encoding of ``morphology``'s sample agent of ``seed`` (step 1)."""
    rng = random.Random(seed)
    agent = construct_agent(
        morphology_spec(get_morphology(morphology)),
        build_constraint(morphology, EvolutionConfig()),
        rng,
        population_id=f"{morphology}-{seed}",
        specie_id="s1",
    )
    for _ in range(GENERATIONS):
        agent = offspring(agent, rng)
    return encode_agent(dataclasses.replace(agent, fitness=rng.random()))


def samples() -> dict[tuple[str, int], bytes]:
    return {(m, s): sample(m, s) for m in MORPHOLOGIES for s in SEEDS}


def _grams(data: bytes) -> set[bytes]:
    return {data[i : i + K] for i in range(len(data) - K + 1)}


def _fragments(data: bytes, base: set[bytes], common: set[bytes]) -> list[bytes]:
    mark = bytearray(len(data))
    for i in range(len(data) - K + 1):
        gram = data[i : i + K]
        if gram in common and gram not in base:
            lo, hi = max(0, i - CONTEXT), min(len(data), i + K + CONTEXT)
            mark[lo:hi] = b"\x01" * (hi - lo)
    out: list[bytes] = []
    i = 0
    while i < len(data):
        if not mark[i]:
            i += 1
            continue
        j = i
        while j < len(data) and mark[j]:
            j += 1
        out.append(data[i:j])
        i = j
    return out


def build_dictionary() -> bytes:
    """The dictionary described in the module docstring."""
    encoded = samples()
    counts: Counter[bytes] = Counter()
    for data in encoded.values():
        counts.update(_grams(data))
    common = {g for g, n in counts.items() if n >= 2}
    base = encoded[(BASE, SEEDS[0])]
    base_grams = _grams(base)
    parts: list[bytes] = []
    for m in MORPHOLOGIES:
        if m != BASE:
            parts.extend(_fragments(encoded[(m, SEEDS[0])], base_grams, common))
    out = b"".join([*parts, base])
    if len(out) > 32_768:
        raise ValueError(f"dictionary of {len(out)} bytes: zlib uses at most 32 KB")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--write", action="store_true", help=f"overwrite the checked-in {FILE}")
    args = parser.parse_args(argv)
    built = build_dictionary()
    path = resources.files("actors.distributed").joinpath(FILE)
    current = path.read_bytes() if path.is_file() else b""
    print(f"built {len(built)} bytes, sha256 {hashlib.sha256(built).hexdigest()}")
    print(f"{FILE}: {len(current)} bytes, sha256 {hashlib.sha256(current).hexdigest()}")
    print("identical" if built == current else "different")
    if args.write:
        with resources.as_file(path) as target:
            target.write_bytes(built)
        print(f"wrote {FILE}")
    return 0 if built == current or args.write else 1


if __name__ == "__main__":
    sys.exit(main())
