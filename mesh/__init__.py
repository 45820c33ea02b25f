"""megabrain's mesh: a reusable peer-to-peer library (identity, frames, DHT, pub/sub, RPC)."""
