"""A local certificate authority, made once per directory, and the leaf it signs for the emulator.

Clients keep trusting one CA certificate (``ca.pem``) across runs, so it is generated once and
reused; the leaf the emulator serves is re-signed whenever the names it must cover change (a
vendor's host names come from the descriptors), it nears its end, or the CA changed. The
CA's private key is written only here, readable by its owner alone, and only the process
that signs leaves reads it. Certificates face real clients' clocks: their validity uses the
wall clock, never the emulator's.

Keys are ECDSA P-256: every runtime the README lists (OpenSSL, Node, Java, Go, .NET)
accepts them, and making one is instant.
"""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
LEAF_CERT = "leaf.pem"  # the leaf, then the CA: the chain the server presents
LEAF_KEY = "leaf-key.pem"

CA_YEARS = 10
#: within the 398 days browsers and Apple platforms accept for a server certificate
LEAF_DAYS = 397
#: a leaf with less left than this is signed again at start
LEAF_RENEW_DAYS = 30
#: names every leaf covers, before the vendors' hosts: a client on this machine
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Leaf:
    """The files ``serve --tls`` hands to the server: the chain and its key."""

    cert_path: str
    key_path: str
    names: tuple[str, ...]


def leaf_names(hosts: Iterable[str], extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The names a leaf covers: this machine, the vendors' hosts, and ``extra`` (e.g. the bind
    address), each once, in that order."""
    names: list[str] = []
    for name in (*LOCAL_NAMES, *hosts, *extra):
        name = name.strip().strip("[]").rstrip(".").lower()
        if name and name not in names and name not in ("0.0.0.0", "::"):
            names.append(name)
    return tuple(names)


class Authority:
    """The CA kept in ``directory`` (created on first use)."""

    def __init__(self, directory: str) -> None:
        self.directory = os.path.abspath(directory)
        self.cert_path = os.path.join(self.directory, CA_CERT)
        self.key_path = os.path.join(self.directory, CA_KEY)

    def ensure(self) -> bool:
        """Make the CA if there is none yet; True when it was made now."""
        with self._locked():
            return self._ensure_ca()

    def leaf(self, names: Iterable[str]) -> Leaf:
        """The leaf for exactly ``names``, signed again unless the one on disk still fits."""
        names = tuple(names)
        with self._locked():
            self._ensure_ca()
            ca_cert = _load_cert(self.cert_path)
            cert_path = os.path.join(self.directory, LEAF_CERT)
            key_path = os.path.join(self.directory, LEAF_KEY)
            if not _leaf_fits(cert_path, key_path, names, ca_cert):
                _write_key(key_path, key := ec.generate_private_key(ec.SECP256R1()))
                leaf = _sign_leaf(key, names, ca_cert, _load_key(self.key_path))
                _write_public(cert_path, _pem(leaf) + _pem(ca_cert))
            return Leaf(cert_path, key_path, names)

    def certificate(self) -> x509.Certificate:
        return _load_cert(self.cert_path)

    def _ensure_ca(self) -> bool:
        if os.path.exists(self.cert_path) and os.path.exists(self.key_path):
            _owner_only(self.key_path)
            return False
        key = ec.generate_private_key(ec.SECP256R1())
        _write_key(self.key_path, key)
        _write_public(self.cert_path, _pem(_sign_ca(key)))
        return True

    @contextmanager
    def _locked(self):
        """One process at a time makes or re-signs (``serve`` and ``mockserver ca`` may race)."""
        os.makedirs(self.directory, exist_ok=True)
        handle = os.open(os.path.join(self.directory, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _sign_ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    serial = x509.random_serial_number()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mockserver"),
            # a CA of its own per directory: the serial tells two apart in a trust store
            x509.NameAttribute(NameOID.COMMON_NAME, f"mockserver local CA {serial % 10**8:08d}"),
        ]
    )
    public = key.public_key()
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(serial)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _sign_leaf(
    key: ec.EllipticCurvePrivateKey,
    names: tuple[str, ...],
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    now = _now()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(min(now + datetime.timedelta(days=LEAF_DAYS), ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _leaf_fits(
    cert_path: str, key_path: str, names: tuple[str, ...], ca_cert: x509.Certificate
) -> bool:
    """The leaf on disk covers exactly ``names``, is the CA's, and has a while left."""
    if not (os.path.exists(cert_path) and os.path.exists(key_path)):
        return False
    try:
        leaf = _load_cert(cert_path)
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        leaf.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    covered = {str(n.value) for n in san}
    left = leaf.not_valid_after_utc - _now()
    return covered == set(names) and left > datetime.timedelta(days=LEAF_RENEW_DAYS)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _load_cert(path: str) -> x509.Certificate:
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificates(handle.read())[0]


def _load_key(path: str) -> ec.EllipticCurvePrivateKey:
    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def _write_key(path: str, key: ec.EllipticCurvePrivateKey) -> None:
    """Written owner-only from its first byte (never a moment world-readable), then moved in."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _replace(path, pem, 0o600)


def _write_public(path: str, pem: bytes) -> None:
    _replace(path, pem, 0o644)


def _replace(path: str, content: bytes, mode: int) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as out:
        os.fchmod(out.fileno(), mode)  # the umask may have taken bits away, an old file kept more
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def _owner_only(path: str) -> None:
    """A key readable by others (copied in, or an umask at work) is made owner-only again."""
    if os.stat(path).st_mode & 0o077:
        os.chmod(path, 0o600)
