"""Seal Thespian's TCP frames: an HMAC on every frame, checked before anything is unpickled.

Thespian 4.0.1's TCP transport (``thespian.system.transport.TCPTransport``) sends each
message as one frame, ``b"<length>>" + pickle.dumps((sender, message))``
(``streamBuffer.toSendBuffer``), answers each frame with an ``ACK`` (or ``ACK+DATAERR``)
frame, and unpickles every complete frame it reads (``ReceiveBuffer.completed``),
whoever connected: a pickled ``__reduce__`` payload sent to any of its listeners runs
code as the user running the system. Loopback-only listeners
(:mod:`actors.runtime.loopback`) keep other hosts out, not other users of this host.

:func:`use` seals that transport, process-wide, with a key:

* the body of every frame it sends -- messages and both acks -- is
  ``HMAC-SHA256(key, pickle) || pickle``, ``pickle`` being Thespian's own bytes;
* the tag of every frame it reads is checked (``hmac.compare_digest``) before
  ``pickle.loads`` sees a byte of the frame. A frame whose tag is missing or wrong is
  dropped unread and counted (:func:`rejected`; a warning is logged at the 1st, 2nd,
  4th, 8th... drop). On a listener, Thespian's bad-frame path then answers
  ``ACK+DATAERR`` and closes the connection; on the sending side an ack whose tag is
  wrong is a corrupted ack (Thespian retries, then gives up on that message). The
  process carries on.

The hook replaces three names in ``TCPTransport``'s module namespace, which the
transport looks up at every use: ``serializer`` (``dumps`` seals, ``loads`` unseals
first), ``ReceiveBuffer`` (:class:`SealedReceiveBuffer`, whose ``completed`` unseals)
and the two prebuilt ack frames ``ackMsg`` and ``ackDataErrMsg``. Framing and the rest
of the protocol stay Thespian's.

Keys. A ``local`` system uses this process's own key: 32 bytes from
``secrets.token_bytes``, drawn on first use and held in this module only (no
environment variable, no file). The Admin and every actor are forked from the driver,
or from a process forked from it, and inherit the hook and the key; :func:`require_fork`
refuses any other start method, under which they would start unsealed. A ``cluster``
system uses the secret its members share (:func:`read_secret_file`). All systems one
process runs at the same time use one key: a cluster secret is refused while a system
sealed with another key runs in this process (:class:`SealError`), and a ``local``
system started while a cluster system runs shares the cluster's secret. Once no system
uses it, the next ``local`` system goes back to the process's own key.

What it does not do: encrypt (whoever can read the traffic reads the messages;
loopback traffic is visible to root only), stop a captured frame from being replayed
(a replay carries one of the system's own messages, never new code), or keep out a
process of the same user (it can read the key from the driver's memory, e.g. with
ptrace or ``/proc/PID/mem``), or anyone holding a cluster secret.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import multiprocessing
import os
import pickle
import secrets
import stat
from collections.abc import Mapping
from typing import Any

from thespian.system.transport import TCPTransport, streamBuffer

from actors.runtime.errors import BadSeal, SealError

__all__ = [
    "KEY_SIZE",
    "START_METHOD",
    "TAG_SIZE",
    "SealedReceiveBuffer",
    "check_secret",
    "fingerprint",
    "installed",
    "read_secret_file",
    "rejected",
    "release",
    "require_fork",
    "seal",
    "unseal",
    "use",
    "write_secret_file",
]

#: Bytes of HMAC-SHA256 tag in front of every frame body.
TAG_SIZE = 32
#: Bytes of a process's own key, and the least a cluster secret may have.
KEY_SIZE = 32
#: The Thespian capability that chooses how the Admin and actors are started.
START_METHOD = "Process Startup Method"
_MAX_SECRET_FILE = 4096

log = logging.getLogger(__name__)

_own: bytes | None = None  # this process's own key (local systems), drawn on first use
_key: bytes | None = None  # the key frames are sealed with now
_users = 0  # systems of this process sealed with _key that have not shut down
_rejected = 0  # frames dropped for a missing or wrong tag, in this process


def seal(body: bytes, key: bytes | None = None) -> bytes:
    """``HMAC-SHA256(key, body) || body``; ``key`` defaults to the key in use."""
    return hmac.digest(_current() if key is None else key, body, "sha256") + body


def unseal(frame: bytes) -> bytes:
    """The body of a sealed frame; :class:`BadSeal` if its tag is missing or wrong."""
    body = frame[TAG_SIZE:]
    expected = hmac.digest(_current(), body, "sha256")
    if len(frame) < TAG_SIZE or not hmac.compare_digest(frame[:TAG_SIZE], expected):
        raise BadSeal(f"a frame of {len(frame)} bytes without a valid seal")
    return body


def _current() -> bytes:
    if _key is None:
        raise SealError("the Thespian transport is not sealed in this process (seal.use)")
    return _key


class _SealedPickle:
    """Stands in for the ``pickle`` module as ``TCPTransport.serializer``."""

    @staticmethod
    def dumps(obj: Any) -> bytes:
        return seal(pickle.dumps(obj))

    @staticmethod
    def loads(frame: bytes) -> Any:
        return pickle.loads(unseal(frame))


class SealedReceiveBuffer(streamBuffer.ReceiveBuffer):
    """Thespian's frame reassembly; a complete frame is unpickled only if its tag
    verifies, else it is counted and ``completed()`` answers None, which Thespian
    treats as a corrupted frame. The deserializer Thespian passes is not used."""

    def __init__(self, serializer: Any = None) -> None:
        super().__init__(pickle.loads)

    def completed(self) -> tuple[Any, bytes] | None:
        if self._size is None or self._blen != self._size:
            return None
        try:
            body = unseal(self._buf)
        except BadSeal:
            _count_rejection()
            return None
        return pickle.loads(body), self._extra


def _count_rejection() -> None:
    global _rejected
    _rejected += 1
    if _rejected & (_rejected - 1) == 0:
        log.warning(
            "dropped a Thespian frame without a valid seal (%d so far in pid %d)",
            _rejected,
            os.getpid(),
        )


def _forked() -> None:
    global _rejected
    _rejected = 0  # a forked process counts its own drops


def _install_hook() -> None:
    if TCPTransport.ReceiveBuffer is not SealedReceiveBuffer:
        os.register_at_fork(after_in_child=_forked)
        if (
            TCPTransport.ReceiveBuffer is not streamBuffer.ReceiveBuffer
            or TCPTransport.serializer is not pickle
        ):
            raise SealError("Thespian's TCP transport is not the one this seal wraps (4.0.1)")
        TCPTransport.serializer = _SealedPickle
        TCPTransport.ReceiveBuffer = SealedReceiveBuffer
    TCPTransport.ackMsg = streamBuffer.toSendBuffer(streamBuffer.ackPacket, _SealedPickle.dumps)
    TCPTransport.ackDataErrMsg = streamBuffer.toSendBuffer(
        streamBuffer.ackDataErrPacket, _SealedPickle.dumps
    )


def check_secret(secret: object, where: str = "secret") -> bytes:
    """``secret`` as bytes; :class:`SealError` unless it is bytes of at least
    :data:`KEY_SIZE`."""
    if not isinstance(secret, bytes | bytearray) or len(secret) < KEY_SIZE:
        raise SealError(f"the cluster {where} must be at least {KEY_SIZE} bytes")
    return bytes(secret)


def use(secret: bytes | None = None) -> None:
    """Seal this process's Thespian TCP transport for one more system, from now on:
    with ``secret`` (a cluster's), or with the process's own key (None). Call it in
    the driver before the system starts; pair it with :func:`release` once the
    system is shut down. :class:`SealError` for a secret shorter than
    :data:`KEY_SIZE`, or for a secret other than the one a running system uses."""
    global _own, _key, _users
    want = None if secret is None else check_secret(secret)
    if _own is None:
        _own = secrets.token_bytes(KEY_SIZE)
    key = _own if want is None else want
    if _users and key != _key:
        if want is not None:
            raise SealError(
                "another actor system of this process runs sealed with another key: "
                "shut it down first, or give every system of this process the same secret"
            )
        key = _current()  # a local system next to a running cluster system shares its secret
    _key = key
    _install_hook()
    _users += 1


def release() -> None:
    """One system sealed by :func:`use` has shut down. The hook stays installed."""
    global _users
    _users = max(0, _users - 1)


def installed() -> bool:
    """Whether this process's Thespian TCP transport seals and checks its frames."""
    return _key is not None and TCPTransport.ReceiveBuffer is SealedReceiveBuffer


def fingerprint() -> str | None:
    """A short digest of the key in use (None if unsealed): equal in every process of
    a system, and it gives nothing away about the key."""
    if _key is None:
        return None
    return hashlib.sha256(b"megabrain seal fingerprint\0" + _key).hexdigest()[:16]


def rejected() -> int:
    """Frames this process dropped for a missing or wrong tag."""
    return _rejected


def require_fork(capabilities: Mapping[str, Any]) -> None:
    """:class:`SealError` unless Thespian will fork the Admin and actors: the seal and
    its key reach them only through fork (Thespian's default on Linux, capability
    :data:`START_METHOD`); a ``spawn`` or ``forkserver`` child would start unsealed."""
    method = capabilities.get(START_METHOD, "fork")
    if method != "fork":
        raise SealError(
            f"capability {START_METHOD!r} is {method!r}: the transport seal reaches the "
            "Admin and actors only through fork; leave it unset or set it to 'fork'"
        )
    if "fork" not in multiprocessing.get_all_start_methods():
        raise SealError("this platform cannot fork: the transport seal needs fork")


def read_secret_file(path: str | os.PathLike[str]) -> bytes:
    """The cluster secret in ``path``: at least 64 hex digits (32 bytes), whitespace
    around them ignored, in a regular file of this user that no other user can read
    or write (mode 0600 or 0400). :class:`SealError` naming what is wrong otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise SealError(f"cannot open cluster secret file {path}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SealError(f"cluster secret file {path} is not a regular file")
        if st.st_uid != os.geteuid():
            raise SealError(
                f"cluster secret file {path} belongs to uid {st.st_uid}, not to this user"
            )
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise SealError(
                f"cluster secret file {path} has mode {mode:04o}: other users can read or "
                f"change it; it must be 0600 (chmod 600 {path})"
            )
        data = os.read(fd, _MAX_SECRET_FILE + 1)
    finally:
        os.close(fd)
    try:
        if len(data) > _MAX_SECRET_FILE:
            raise ValueError
        secret = bytes.fromhex(data.decode("ascii").strip())
    except ValueError:
        raise SealError(
            f"cluster secret file {path} must hold hex digits only (at least {2 * KEY_SIZE})"
        ) from None
    return check_secret(secret, f"secret in {path}")


def write_secret_file(path: str | os.PathLike[str]) -> None:
    """Create ``path`` (mode 0600, refused if it exists) holding a new random secret
    of :data:`KEY_SIZE` bytes in hex, for :func:`read_secret_file`."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise SealError(
            f"cannot create cluster secret file {path}: {exc.strerror or exc}"
        ) from None
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secrets.token_hex(KEY_SIZE) + "\n").encode("ascii"))
    finally:
        os.close(fd)
