"""megabrain's mesh: a reusable peer-to-peer library (identity, frames, DHT, pub/sub, RPC).

The protocol core is sans-I/O: :class:`mesh.core.MeshCore` is fed frames, peers and ``now``
and returns frames to send, connections to open, timers and events. See docs/mesh.md.
"""
