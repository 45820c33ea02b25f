"""A deterministic discrete-event simulator of many sans-I/O mesh nodes (see network.py)."""

from mesh.sim.network import SimConfig, SimNode, Simulation

__all__ = ["SimConfig", "SimNode", "Simulation"]
