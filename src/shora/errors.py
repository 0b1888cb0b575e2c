"""The one exception tree of Shora.

Errors are split by blame, as h11 does:

    ShoraError
    ├── LocalError            our caller asked for something that cannot be done
    │   ├── ProfileError          no profile, profile exists, wrong passphrase
    │   ├── NotFound              an unknown council, member, request ...
    │   ├── NotAllowed            the council's rules do not let this person do this
    │   └── InvalidInput          a value the caller gave is out of range or malformed
    └── RemoteError           bytes that came from elsewhere are unacceptable
        ├── MalformedEvent        cannot be decoded into its schema
        ├── OversizedEvent        larger than the hard limit
        ├── BadSignature          a signature does not verify, or an id does not match
        ├── WrongEpoch            encrypted or claimed under the wrong key epoch
        ├── UnknownKind           a kind this version does not know
        ├── NotAMember            written by a key that is not (or no longer) a member
        ├── BadClock              claims a time earlier than its parents'
        ├── FromTheFuture         dated more than an hour after the receiver's clock
        ├── TooManyWaiting        a bound on envelopes waiting (for parents, a key, an
        │                         admission) or on welcomes per hint is reached
        └── BundleDamaged         a bundle file that is truncated or tampered with

Every decoder raises only RemoteError subclasses for bad input, never anything else.
"""

from __future__ import annotations


class ShoraError(Exception):
    """Base of every error Shora raises on purpose."""


class LocalError(ShoraError):
    """The caller misused Shora."""


class ProfileError(LocalError):
    """The profile is missing, already exists, or the passphrase is wrong."""


class NotFound(LocalError):
    """The thing named does not exist here."""


class NotAllowed(LocalError):
    """The council's rules forbid this action for this person."""


class InvalidInput(LocalError):
    """A value given by the caller is malformed or out of range."""


class RemoteError(ShoraError):
    """Data received from a peer, relay or file is unacceptable."""


class MalformedEvent(RemoteError):
    """The bytes do not decode into the expected schema."""


class OversizedEvent(RemoteError):
    """The data exceeds a hard size limit."""


class BadSignature(RemoteError):
    """A signature or content hash does not verify."""


class WrongEpoch(RemoteError):
    """The event is encrypted or claimed under a key epoch it may not use."""


class UnknownKind(RemoteError):
    """The event kind is not known to this version."""


class NotAMember(RemoteError):
    """The author is not, or is no longer, a member allowed to write this."""


class BadClock(RemoteError):
    """The event claims a time earlier than one of its parents claims."""


class FromTheFuture(RemoteError):
    """The envelope is dated more than the allowed skew after the receiver's clock."""


class TooManyWaiting(RemoteError):
    """Taking the envelope in would pass a bound on what this node keeps waiting."""


class BundleDamaged(RemoteError):
    """A bundle is truncated or has been tampered with."""

    records_read: int = 0
