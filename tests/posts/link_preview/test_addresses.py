"""SSRF guards: schemes, credentials and every non-public address are refused before connecting."""

import ipaddress

import pytest

from posts.link_preview.addresses import is_public_address, resolve
from posts.link_preview.errors import PreviewError
from posts.link_preview.fetching import fetch_preview


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.1:8000/admin/",
        "http://localhost/",
        "http://LocalHost:8000/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://10.0.0.1/",
        "http://10.255.255.254:9200/_cat/indices",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",  # shared address space (carrier-grade NAT)
        "http://224.0.0.1/",  # multicast
        "http://240.0.0.1/",  # reserved
        "http://[fe80::1]/",  # link-local
        "http://[fc00::1]/",  # unique local
        "http://[ff02::1]/",  # multicast
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "http://[::ffff:169.254.169.254]/",
        "http://[::127.0.0.1]/",  # IPv4-compatible
        "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0x7f.1/",  # 127.0.0.1 in hex, short form
        "http://017700000001/",  # 127.0.0.1 in octal
        "https://127.0.0.1/",
    ],
)
def test_non_public_addresses_are_refused(url):
    with pytest.raises(PreviewError) as refused:
        fetch_preview(url)
    assert refused.value.reason == "private_address"


def test_a_hostname_resolving_to_loopback_is_refused(fake_dns):
    lookups = fake_dns({"innocent.example": ["127.0.0.1"]})
    with pytest.raises(PreviewError) as refused:
        fetch_preview("http://innocent.example/page")
    assert refused.value.reason == "private_address"
    assert lookups == ["innocent.example"]


@pytest.mark.parametrize("private", ["10.1.2.3", "::1", "::ffff:192.168.0.1", "169.254.169.254"])
def test_one_private_answer_among_public_ones_is_enough_to_refuse(fake_dns, private):
    fake_dns({"mixed.example": ["93.184.216.34", private, "2606:2800:220:1:248:1893:25c8:1946"]})
    with pytest.raises(PreviewError) as refused:
        fetch_preview("https://mixed.example/")
    assert refused.value.reason == "private_address"


def test_a_name_that_does_not_resolve_is_a_dns_error(fake_dns):
    import socket

    def fail():
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    fake_dns({"nowhere.example": fail})
    with pytest.raises(PreviewError) as refused:
        fetch_preview("http://nowhere.example/")
    assert refused.value.reason == "dns"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme"),
        ("ftp://example.com/file.html", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("data:text/html,<title>x</title>", "scheme"),
        ("gopher://example.com:70/", "scheme"),
        ("//example.com/", "scheme"),
        ("http://user:secret@example.com/", "credentials"),
        ("http:///path-only", "bad_url"),
        ("http://example.com:99999/", "bad_url"),
        ("", "bad_url"),
        ("http://example.com/" + "a" * 2100, "bad_url"),
    ],
)
def test_other_schemes_and_malformed_urls_are_refused(url, reason):
    with pytest.raises(PreviewError) as refused:
        fetch_preview(url)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("8.8.8.8", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("2002:5db8:d822::1", True),  # 6to4 of a public address
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:8.8.8.8", False),  # IPv4-mapped: never a real answer, refused whatever it maps
        ("64:ff9b::808:808", False),  # NAT64 sits in the reserved ::/8
        ("64:ff9b::c0a8:1", False),  # NAT64 of 192.168.0.1
        ("192.0.2.1", False),  # documentation
        ("198.18.0.1", False),  # benchmarking
        ("255.255.255.255", False),
    ],
)
def test_is_public_address(address, public):
    assert is_public_address(address) is public
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_the_allow_list_lets_only_the_listed_addresses_through(fake_dns):
    fake_dns({"two.example": ["127.0.0.1", "10.0.0.5"]})
    with pytest.raises(PreviewError):
        resolve("two.example", 80, allow_private=["127.0.0.1"])
    assert resolve("two.example", 80, allow_private=["127.0.0.1", "10.0.0.5"]) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("10.0.0.5"),
    ]
    assert resolve("two.example", 80, allow_private=True)
