"""Which addresses a preview may be fetched from: public unicast ones only, every address a host
resolves to checked (private, loopback, link-local, multicast, reserved, unspecified, shared, and
IPv6 forms that embed such an IPv4 address: IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64)."""

import ipaddress
import socket

from django.conf import settings

from posts.link_preview.errors import PreviewError

# IPv6 ranges that carry an IPv4 address in their last 32 bits.
NAT64_NETWORKS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def allow_private_default():
    """LINK_PREVIEW_ALLOW_PRIVATE: off (the default), True, or a list of addresses let through.

    Only tests turn it on, to fetch pages from a server on 127.0.0.1.
    """
    return getattr(settings, "LINK_PREVIEW_ALLOW_PRIVATE", False)


def _allowed_anyway(ip, allow_private):
    if allow_private is True:
        return True
    if not allow_private or isinstance(allow_private, str):
        return False
    return str(ip) in {str(item) for item in allow_private}


def _embedded_ipv4(ip):
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in network for network in NAT64_NETWORKS) or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public_address(address):
    """Whether `address` (a string or an ipaddress object) is a public unicast address."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global  # also shared (100.64/10), benchmarking, documentation ranges
    ):
        return False
    if ip.version == 6:
        return all(is_public_address(inner) for inner in _embedded_ipv4(ip))
    return True


def resolve(host, port, *, allow_private=False):
    """The host's addresses, in resolver order, after checking every one of them."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise PreviewError("dns", str(exc)) from exc
    addresses = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            ip = ipaddress.ip_address(sockaddr[0])
        except ValueError as exc:  # an IPv6 scope id, or something stranger: refuse
            raise PreviewError("private_address", str(sockaddr[0])) from exc
        if not is_public_address(ip) and not _allowed_anyway(ip, allow_private):
            raise PreviewError("private_address", str(ip))
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise PreviewError("dns", f"no address for {host}")
    return addresses
