"""Kademlia DHT (Maymounkov & Mazieres, 2002), one module per section of the paper.

* :mod:`mesh.dht.routing` -- XOR metric and k-buckets (sections 2.1, 2.2, 2.4, 4.1).
* :mod:`mesh.dht.lookup` -- the iterative node / value lookup (section 2.3).
* :mod:`mesh.dht.storage` -- STORE with TTL, expiry, signed multi-author records (2.5).
* :mod:`mesh.dht.records` -- record kinds and key derivation (service, subscription, genotype).
* :mod:`mesh.dht.protocol` -- the RPCs (PING, FIND_NODE, STORE, FIND_VALUE) on a node core.
"""
