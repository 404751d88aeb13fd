"""Where the hub may POST a webhook (SSRF): http or https only, to a host
whose every address is public. Checked at registration and again at each
delivery (a name can be pointed elsewhere after it was registered): before
connecting, and by the resolver the delivery's connections use, so the
address checked is the address connected to.

``allow_private`` (``HUB_WEBHOOK_ALLOW_PRIVATE=on``) lifts the address rule,
never the scheme rule.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2048

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """The URL is not one the hub may call; the message says why."""


def is_public(address: Address) -> bool:
    """Not private, loopback, link-local, multicast, reserved or unspecified
    (an IPv4 address mapped into IPv6 is judged as the IPv4 one)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL the hub may call, address rule aside."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"The URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"Not a valid URL: {exc}") from exc
    if parts.scheme not in SCHEMES:
        raise UnsafeUrl("Only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host")
    if any(c.isspace() for c in url):
        raise UnsafeUrl("The URL contains white space")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def check_url(url: str, allow_private: bool) -> None:
    """Raise UnsafeUrl unless the hub may POST to ``url`` now: a private
    address (literal, or any address the host resolves to) is refused unless
    ``allow_private``; so is a host that does not resolve."""
    _, host, port = parse(url)
    if allow_private:
        return
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError) as exc:
            raise UnsafeUrl(f"The host {host} does not resolve") from exc
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise UnsafeUrl(f"The host {host} does not resolve")
    for address in addresses:
        if not is_public(address):
            raise UnsafeUrl(
                f"The host {host} resolves to {address}, a private, loopback, link-local,"
                " multicast or reserved address"
            )


class PublicResolver(AbstractResolver):
    """aiohttp's resolver, less every non-public address (and the host with
    them, when none is left): what a delivery connects to is checked too."""

    def __init__(self) -> None:
        self._resolver = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        public = [r for r in results if is_public(ipaddress.ip_address(r["host"]))]
        if not public:
            raise OSError(f"{host} resolves to no public address")
        return public

    async def close(self) -> None:
        await self._resolver.close()


def resolver(allow_private: bool) -> Any:
    """The resolver for delivery connections (None: aiohttp's default)."""
    return None if allow_private else PublicResolver()
