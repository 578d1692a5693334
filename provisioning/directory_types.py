"""Where the directory is (:class:`DirectoryConfig`) and what its answers mean to the caller: down (retry
later), refused (this entry), or taken."""

from __future__ import annotations

from dataclasses import dataclass

from ldap3.core.exceptions import (
    LDAPCommunicationError,
    LDAPSessionTerminatedByServerError,
    LDAPSocketOpenError,
    LDAPSocketReceiveError,
    LDAPSocketSendError,
)

# Only a broken or refused connection means slapd is down. A refusal (an entry that exists already, a
# constraint) is an answer from a working server and concerns one entry, not the whole run.
UNAVAILABLE = (
    LDAPCommunicationError,
    LDAPSessionTerminatedByServerError,
    LDAPSocketOpenError,
    LDAPSocketReceiveError,
    LDAPSocketSendError,
)


class DirectoryError(RuntimeError):
    """The directory refused an operation; the message names the entry."""


class DirectoryUnavailable(DirectoryError):
    """slapd cannot be reached; the change stays pending and is retried."""


class EntryExists(DirectoryError):
    """slapd refused an add or a move: an entry already has that DN (another worker may have written it)."""


@dataclass(frozen=True)
class DirectoryConfig:
    url: str
    base_dn: str
    bind_dn: str
    bind_password: str
    timeout_seconds: int = 5
