"""The dial checks of mesh.addresses: which addresses a node dials, from which listen address."""

import pytest

from mesh.addresses import literal_refusal, route_refusal, split_address


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("127.0.0.1:7000", True),
        ("[::1]:7000", True),
        ("10.1.2.3:1", True),
        ("localhost:7000", False),  # a host name: a peer cannot make us resolve names
        ("seed.example.org:7000", False),
        ("127.0.0.1:0", False),
        ("127.0.0.1:65536", False),
        ("127.0.0.1:0007000", False),
        ("::1:7000", False),  # a v6 literal needs brackets
        ("127.0.0.1", False),
        ("", False),
        ("[::1]:", False),
    ],
)
def test_peer_named_addresses_must_be_ip_literals_with_a_port(address, ok):
    assert (literal_refusal(address) is None) == ok


@pytest.mark.parametrize(
    ("listen", "target", "ok"),
    [
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", "127.8.9.10", True),
        ("127.0.0.1", "::1", False),  # another family: would need a wildcard socket
        ("127.0.0.1", "10.0.0.5", False),  # a loopback node dials loopback only
        ("::1", "::1", True),
        ("::1", "127.0.0.1", False),
        ("::1", "::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::1", "2001:db8::1", False),
        ("10.0.0.1", "10.0.0.2", True),
        ("10.0.0.1", "192.168.1.9", True),
        ("10.0.0.1", "127.0.0.1", False),  # a non-loopback node never dials loopback
        ("10.0.0.1", "0.0.0.0", False),
        ("10.0.0.1", "224.0.0.1", False),
        ("10.0.0.1", "255.255.255.255", False),
        ("10.0.0.1", "240.0.0.1", False),
        ("10.0.0.1", "169.254.1.1", False),
        ("169.254.0.1", "169.254.1.1", True),
        ("0.0.0.0", "10.0.0.2", True),  # a wildcard listener dials its family
        ("0.0.0.0", "127.0.0.1", False),
        ("2001:db8::1", "2001:db8::2", True),
        ("2001:db8::1", "::", False),
        ("2001:db8::1", "fe80::1%eth0", False),
        ("fe80::1", "fe80::2%eth0", True),
    ],
)
def test_route_refusal(listen, target, ok):
    assert (route_refusal(listen, target) is None) == ok


def test_split_address():
    assert split_address("[::1]:9") == ("::1", 9)
    assert split_address("host:65535") == ("host", 65535)
    assert split_address("host:x") is None
