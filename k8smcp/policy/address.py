"""The address policy: may the CLI connect to this URL or host?

Applies to kubeconfig ``server``/``proxy-url`` (and OIDC issuer URLs) and to URL
arguments (``-f https://...``, helm chart and repository URLs). Names are resolved and
every resolved address is checked; the resolver is ``Policy.resolver``.

Server level refuses by default: cloud metadata hosts and addresses, link-local
addresses, and the unspecified address. Both levels apply the operator's lists:
``denied_servers`` always refuses; a non-empty ``allowed_servers`` admits only hosts it
names or whose every address lies in one of its CIDRs. Loopback is refused when
``allow_loopback`` is off, which ``serve`` does when it listens beyond loopback; on
loopback only the host's own users can call, and the
clusters they test with often listen there. Private ranges (10/8, 172.16/12,
192.168/16, fc00::/7) pass by default: that is where API servers usually live (a VPC,
a pod network), so refusing them would refuse the main use; an operator names the
clusters a server may reach with ``allowed_servers`` (the Helm chart asks for them).

No DNS happens while checking: a name whose addresses matter goes to ``Lookups``, which
the caller resolves off its event loop and hands back (``Lookups.finish``).

Known limits: the CLI resolves the name again when it connects, so a DNS server that
changes its answer between our check and that connection (DNS rebinding) is not
stopped here; and a URL the CLI fetches (``-f https://...``, a chart) may redirect it
elsewhere. Confined children connect only through the egress proxy (``k8smcp.egress``),
which applies this check to each address it connects to, and that closes both.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterable, Mapping, Sequence

from k8smcp.errors import PolicyDeniedError
from k8smcp.policy.base import Policy, Resolver, deny, shown

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS DNS
        "fd00:ec2::254",  # AWS IPv6
        "fd00:ec2::23",
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud Classic
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

_URL = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)$", re.S
)
_AUTHORITY = re.compile(
    r"^(?:[^@\s\\]*@)?"  # userinfo, never checked or shown
    r"(?P<host>\[[0-9A-Fa-f:.]+(?:%25[A-Za-z0-9._~-]+)?\]|[A-Za-z0-9._~-]+)"
    r"(?::(?P<port>[0-9]{0,5}))?$"
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

HTTP_SCHEMES = ("http", "https")


def looks_like_url(value: str) -> bool:
    """True when ``value`` starts with ``scheme://``."""
    return bool(_SCHEME.match(value))


def url_host(url: str) -> tuple[str, str] | None:
    """``(scheme, host)`` of ``url`` (host without brackets or zone), or None if malformed.

    Deliberately stricter than Go's url.Parse, so no URL means one host to us and
    another to the CLI: no spaces, backslashes, control characters or percent signs in
    the host, at most one ``@``.
    """
    if any(not ch.isprintable() or ch.isspace() or ch == "\\" for ch in url):
        return None
    match = _URL.match(url)
    if match is None:
        return None
    authority = _AUTHORITY.match(match["authority"])
    if authority is None:
        return None
    host = authority["host"]
    if host.startswith("["):
        host = host[1:-1].split("%25", 1)[0]
    return match["scheme"].lower(), host


class Lookups:
    """Address checks waiting for host names to be resolved.

    The policy never resolves a name itself while it checks: it records which names it
    needs (``names``), the caller resolves them where blocking is harmless (a worker
    thread) and hands the addresses to ``finish``, which runs the checks in the order
    they were met. ``resolve`` does both with ``policy.resolver``, for callers that may block.
    """

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: list[tuple[Policy, str, str]] = []  # (policy, name, field)

    @property
    def names(self) -> tuple[str, ...]:
        """The host names to resolve, each once, in the order they were met."""
        return tuple(dict.fromkeys(name for _, name, _ in self._pending))

    def defer(self, policy: Policy, name: str, field: str) -> None:
        """Check ``name`` (from ``field``) once its addresses are known."""
        self._pending.append((policy, name, field))

    def finish(self, addresses: Mapping[str, Sequence[str]]) -> None:
        """Check every deferred name against ``addresses`` (name -> what it resolves to).

        A name missing from ``addresses`` or resolving to nothing is refused.

        Raises:
            PolicyDeniedError: the first address the policy refuses.
        """
        pending, self._pending = self._pending, []
        for policy, name, field in pending:
            parsed = [_ip(str(a).split("%", 1)[0]) for a in addresses.get(name, ())]
            found = [a for a in parsed if a is not None]
            if not found:
                raise deny(
                    "address",
                    field,
                    f"host {shown(name, 80)} does not resolve",
                    "use a name that resolves, or an IP address",
                )
            _check_addresses(policy, name, found, field)

    def resolve(self, resolver: Resolver) -> None:
        """Resolve every name with ``resolver`` (it may block) and ``finish``."""
        self.finish(resolve_names(resolver, self.names))


def resolve_names(resolver: Resolver, names: Iterable[str]) -> dict[str, list[str]]:
    """What each name resolves to; a name that fails to resolve maps to nothing."""
    found: dict[str, list[str]] = {}
    for name in names:
        try:
            found[name] = [str(a) for a in resolver(name)]
        except (OSError, UnicodeError, ValueError):
            found[name] = []
    return found


class Answers:
    """What names resolved to, used again for ``ttl`` seconds: a server's DNS answers.

    An agent's calls name the same API server again and again, and each lookup ran in a
    worker thread whose wait cost a call about 3 ms (bench/README.md, "Cost of
    confinement"). The policy's check of a kubeconfig and the egress proxy's check of
    each connection share one ``Answers``; each still checks the addresses with its own
    call's policy. A name that did not resolve is not remembered. Safe across threads
    (single dictionary operations).
    """

    __slots__ = ("_found", "_most", "_ttl")

    def __init__(self, ttl: float = 5.0, most: int = 1024) -> None:
        self._ttl = ttl
        self._most = most
        # (resolver, name) -> (when, addresses)
        self._found: dict[tuple[Resolver, str], tuple[float, tuple[str, ...]]] = {}

    def known(self, resolver: Resolver, names: Sequence[str]) -> dict[str, tuple[str, ...]] | None:
        """Every name's remembered addresses, or None if one of them must be asked."""
        now = time.monotonic()
        found: dict[str, tuple[str, ...]] = {}
        for name in names:
            answer = self._found.get((resolver, name))
            if answer is None or now - answer[0] >= self._ttl:
                return None
            found[name] = answer[1]
        return found

    def resolve(self, resolver: Resolver, names: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """``resolve_names``, remembering each name that resolved (it may block)."""
        found = {name: tuple(a) for name, a in resolve_names(resolver, names).items()}
        now = time.monotonic()
        for name, addresses in found.items():
            if addresses:
                if len(self._found) >= self._most:
                    self._found.clear()
                self._found[(resolver, name)] = (now, addresses)
        return found


def check_url(
    policy: Policy,
    url: str,
    *,
    field: str,
    schemes: tuple[str, ...] = HTTP_SCHEMES,
    lookups: Lookups | None = None,
) -> None:
    """Refuse ``url`` unless its scheme is one of ``schemes`` and its host passes.

    Args:
        policy: the policy in force.
        url: the URL as given (never quoted back: it may carry credentials).
        field: where it came from, for the message (``-f``, ``clusters[0].cluster.server``).
        schemes: the schemes this place accepts.
        lookups: where to defer the checks that need DNS; None resolves right away
            with ``policy.resolver`` (it may block).

    Raises:
        PolicyDeniedError: rule ``url`` (shape, scheme) or ``address`` (host).
    """
    parsed = url_host(url)
    if parsed is None:
        raise deny(
            "url",
            field,
            "is not a well-formed URL with a host",
            "give scheme://host[:port]/path without spaces, backslashes or escapes in the host",
        )
    scheme, host = parsed
    if scheme not in schemes:
        raise deny(
            "url",
            field,
            f"URL scheme {shown(scheme)!r} is not accepted here",
            f"use one of: {', '.join(schemes)}",
        )
    check_host(policy, host, field=field, lookups=lookups)


def check_host(policy: Policy, host: str, *, field: str, lookups: Lookups | None = None) -> None:
    """Refuse ``host`` (a name or an IP literal) if the address policy forbids it.

    Everything that needs no DNS is decided now; a name whose addresses matter is
    deferred to ``lookups`` (or, without it, resolved now with ``policy.resolver``).
    """
    name = host.lower().rstrip(".")
    server = policy.is_server
    if not name:
        raise deny("address", field, "has an empty host", "name the host to connect to")
    if server and name in METADATA_HOSTS:
        raise _refused(field, name, "is a cloud metadata service")
    if _name_matches(name, _split(policy.denied_servers)[0]):
        raise _refused(field, name, "is on the operator's deny list (K8SMCP_DENIED_SERVERS)")
    literal = _ip(name)
    if literal is not None:
        _check_addresses(policy, name, [literal], field)
    elif server or policy.denied_servers or policy.allowed_servers or not policy.allow_loopback:
        if lookups is not None:
            lookups.defer(policy, name, field)
        else:
            single = Lookups()
            single.defer(policy, name, field)
            single.resolve(policy.resolver)
    # local level with no lists: nothing to check, so no DNS either


def _check_addresses(policy: Policy, name: str, addresses: list[IPAddress], field: str) -> None:
    denied_names, denied_nets = _split(policy.denied_servers)
    allowed_names, allowed_nets = _split(policy.allowed_servers)
    allowed_by_name = _name_matches(name, allowed_names)
    for address in addresses:
        _check_address(policy, name, address, field, allowed_by_name, allowed_nets, denied_nets)


def _check_address(
    policy: Policy,
    name: str,
    address: IPAddress,
    field: str,
    allowed_by_name: bool,
    allowed_nets: list[IPNetwork],
    denied_nets: list[IPNetwork],
) -> None:
    where = name if str(address) == name else f"{name} ({address})"
    candidates = [address, *_embedded(address)]
    for candidate in candidates:
        if policy.is_server and candidate in METADATA_ADDRESSES:
            raise _refused(field, where, "is a cloud metadata address")
        if policy.is_server and candidate.is_unspecified:
            raise _refused(field, where, "is the unspecified address")
        if any(candidate in net for net in denied_nets if net.version == candidate.version):
            raise _refused(field, where, "is on the operator's deny list (K8SMCP_DENIED_SERVERS)")
    explicitly_allowed = any(
        address in net for net in allowed_nets if net.version == address.version
    )
    if policy.is_server and not explicitly_allowed:
        if any(c.is_link_local for c in candidates):
            raise _refused(field, where, "is a link-local address")
    if not policy.allow_loopback and not (explicitly_allowed or allowed_by_name):
        if any(c.is_loopback for c in candidates):
            raise _refused(
                field,
                where,
                "is a loopback address, and this server listens beyond loopback",
            )
    if policy.allowed_servers and not (allowed_by_name or explicitly_allowed):
        raise _refused(field, where, "is not on the operator's allow list (K8SMCP_ALLOWED_SERVERS)")


def _refused(field: str, where: str, why: str) -> PolicyDeniedError:
    return deny(
        "address",
        field,
        f"host {shown(where, 80)} {why}",
        "point it at a Kubernetes API server or repository the operator allows",
    )


def _embedded(address: IPAddress) -> list[IPAddress]:
    """IPv4 addresses carried inside an IPv6 one (mapped, compatible, NAT64, 6to4)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[IPAddress] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    packed = address.packed
    if address in _NAT64 or (packed[:12] == bytes(12) and packed[12:] != bytes(4)):
        found.append(ipaddress.IPv4Address(packed[12:]))
    return found


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _split(entries: tuple[str, ...]) -> tuple[list[str], list[IPNetwork]]:
    names: list[str] = []
    nets: list[IPNetwork] = []
    for entry in entries:
        text = entry.strip().lower().rstrip(".")
        if not text:
            continue
        try:
            nets.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            names.append(text)
    return names, nets


def _name_matches(name: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if pattern.startswith("*."):
            if name.endswith(pattern[1:]) and len(name) > len(pattern) - 1:
                return True
        elif name == pattern:
            return True
    return False
