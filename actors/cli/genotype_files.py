"""Where a command's GENOTYPE argument comes from: one resolution for ``show`` and ``run``.

``GENOTYPE`` is a file -- the JSON export (``megabrain evolve --json`` writes
``X.champion.json``) or the canonical msgpack encoding (``megabrain genotype seed -o X.mbg``),
told apart by content (:func:`actors.cli.genotype_cmd.read_agent_file`) -- or, with ``--store
PATH``, an agent id of that genotype store or ``champion`` (the champion of the last
checkpoint of the first population that has one).
Anything that cannot be read or is not a genotype raises :class:`~actors.cli.UsageError`
with one line naming the problem (the command exits 2).
"""

from __future__ import annotations

from actors.cli import UsageError
from actors.genotype import Agent

__all__ = ["load_genotype"]


def load_genotype(genotype: str, store: str | None = None) -> Agent:
    """The agent ``genotype`` names (see the module docstring)."""
    if store:
        return _from_store(genotype, store)
    from actors.cli.genotype_cmd import read_agent_file

    return read_agent_file(
        genotype, store_hint=f"pass --store {genotype} and an agent id or 'champion'"
    )


def _from_store(genotype: str, store: str) -> Agent:
    from actors.cli.stores import open_existing_store
    from actors.evolution.checkpoint import state_from_json
    from actors.evolution.errors import EvolutionError
    from actors.genotype import StoreError

    try:
        with open_existing_store(store) as db:
            if genotype != "champion":
                agent = db.get_agent(genotype)
                if agent is None:
                    raise UsageError(f"no agent {genotype!r} in {store}")
                return agent
            for pop in db.list_populations():
                cp = db.last_checkpoint(pop)
                if cp is not None:
                    _, _, state = state_from_json(cp.state)
                    if state.champion is not None:
                        return state.champion
            raise UsageError(f"{store} holds no champion")
    except (StoreError, EvolutionError) as exc:
        raise UsageError(f"{store}: {exc}") from exc
