"""The k8smcp error tree, and the one JSON shape every front end reports errors in.

Each class carries how it surfaces: the CLI exit code, the HTTP status and a stable
machine-readable code::

    K8sMcpError                       exit  HTTP  code
    ├─ UsageError                       2   400   usage
    │  ├─ InvalidCommandError           2   400   invalid_command
    │  ├─ InvalidRequestError           2   400   invalid_request
    │  ├─ UnknownToolError              2   404   unknown_tool
    │  └─ RequestTooLargeError          2   413   request_too_large
    ├─ KubeconfigError                  3   400   invalid_kubeconfig
    │  ├─ KubeconfigMissingError        3   400   missing_kubeconfig
    │  └─ KubeconfigTooLargeError       3   413   kubeconfig_too_large
    ├─ PolicyDeniedError                4   403   denied
    ├─ AuthenticationError              6   401   unauthorized
    ├─ MisdirectedRequestError          2   421   host_not_allowed
    ├─ ForbiddenOriginError             2   403   origin_not_allowed
    ├─ BusyError                       75   429   busy
    ├─ BinaryNotFoundError            127   503   binary_not_found
    └─ ClientError (``k8smcp call``)    1    -    client_error
       ├─ ServerUnreachableError        5    -    server_unreachable
       └─ RemoteError                   7    -    remote_error

A command that ran is never an error of k8smcp, whatever its exit code: it is a result.
"""

from __future__ import annotations

from typing import Any, ClassVar


class K8sMcpError(Exception):
    """Root of every error k8smcp reports on purpose."""

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class UsageError(K8sMcpError):
    """The caller asked for something malformed."""

    exit_code = 2
    http_status = 400
    code = "usage"


class InvalidCommandError(UsageError):
    """The command string is empty or cannot be split (e.g. an unclosed quote)."""

    code = "invalid_command"


class InvalidRequestError(UsageError):
    """A request field is missing or out of range."""

    code = "invalid_request"


class UnknownToolError(UsageError):
    """No tool of that name is in the catalog."""

    http_status = 404
    code = "unknown_tool"


class RequestTooLargeError(UsageError):
    """The request body is over the configured cap."""

    http_status = 413
    code = "request_too_large"


class KubeconfigError(K8sMcpError):
    """The kubeconfig sent is not one we can use."""

    exit_code = 3
    http_status = 400
    code = "invalid_kubeconfig"


class KubeconfigMissingError(KubeconfigError):
    """No kubeconfig was sent and the server has no default to fall back on."""

    code = "missing_kubeconfig"


class KubeconfigTooLargeError(KubeconfigError):
    """The kubeconfig is over K8SMCP_MAX_KUBECONFIG_BYTES."""

    http_status = 413
    code = "kubeconfig_too_large"


class PolicyDeniedError(K8sMcpError):
    """The policy refuses this call."""

    exit_code = 4
    http_status = 403
    code = "denied"


class MisdirectedRequestError(K8sMcpError):
    """The Host header is not on K8SMCP_ALLOWED_HOSTS (a DNS-rebinding guard)."""

    exit_code = 2
    http_status = 421
    code = "host_not_allowed"


class ForbiddenOriginError(K8sMcpError):
    """The browser Origin is not on K8SMCP_ALLOWED_ORIGINS."""

    exit_code = 2
    http_status = 403
    code = "origin_not_allowed"


class BusyError(K8sMcpError):
    """Every execution slot is taken and the call could not wait for one."""

    exit_code = 75  # EX_TEMPFAIL: try again later
    http_status = 429
    code = "busy"


class BinaryNotFoundError(K8sMcpError):
    """The CLI this tool runs is not installed where k8smcp looks for it."""

    exit_code = 127
    http_status = 503
    code = "binary_not_found"


class ClientError(K8sMcpError):
    """Raised by ``k8smcp call`` about the server it talks to."""

    http_status = 502  # never served; the upstream is what failed
    code = "client_error"


class ServerUnreachableError(ClientError):
    """The server could not be reached at all."""

    exit_code = 5
    code = "server_unreachable"


class AuthenticationError(K8sMcpError):
    """No valid bearer token (the server answers 401; ``k8smcp call`` exits 6)."""

    exit_code = 6
    http_status = 401
    code = "unauthorized"


class RemoteError(ClientError):
    """The server answered with an error we have no closer class for."""

    exit_code = 7
    code = "remote_error"


def all_error_classes() -> list[type[K8sMcpError]]:
    """Every class of the tree, root first, in definition order."""
    found: list[type[K8sMcpError]] = []
    pending: list[type[K8sMcpError]] = [K8sMcpError]
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def error_class_for_code(code: str) -> type[K8sMcpError]:
    """The class whose ``code`` is ``code``; RemoteError when none is."""
    for cls in all_error_classes():
        if cls.code == code and cls is not K8sMcpError:
            return cls
    return RemoteError


def error_body(exc: K8sMcpError) -> dict[str, Any]:
    """The one JSON shape of an error, for REST bodies, MCP results and ``--json``."""
    return {
        "ok": False,
        "error": exc.code,
        "detail": exc.message,
        "status": exc.http_status,
        **exc.extra,
    }
