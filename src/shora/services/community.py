"""Several people's profiles on one node (``shora community``): the directory that
holds them, each a normal profile home beside the label its person chose, and the
node's own TLS certificate for the local network (docs/web.md, "Community mode").

The directory, and nothing else, is what the operator sees while the profiles are
locked: one folder per person, named at random, holding an encrypted profile and the
label typed at creation. Removing a person deletes their folder.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import os
import secrets
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from shora.errors import InvalidInput, NotFound
from shora.i18n import _, normalize_digits
from shora.kernel import crypto, profile
from shora.sync.lan import local_addresses as local_addresses

__all__ = [
    "CERT_FILE",
    "KEY_FILE",
    "MAX_LABEL",
    "OPEN_FILE",
    "Certificate",
    "Community",
    "Person",
    "certificate",
    "code_matches",
    "decoy_unlock",
    "local_addresses",
]

PEOPLE = "people"
LABEL_FILE = "label"
TLS = "tls"
CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
MAX_LABEL = 40
CODE_FILE = "signup-code"
OPEN_FILE = "open"  # written by the serving node: its process id, then the open profiles
CODE_DIGITS = 10
CERT_DAYS = 825


@dataclass(frozen=True)
class Person:
    """One person's place on the node: their folder (a profile home) and label."""

    key: str
    label: str
    home: Path

    def created(self) -> datetime.datetime:
        """When the profile was made (its label is written then and never again)."""
        stamp = (self.home / LABEL_FILE).stat().st_mtime
        return datetime.datetime.fromtimestamp(stamp, datetime.UTC)


def clean_label(label: str) -> str:
    """The label as kept and compared: NFC, spaces collapsed, no control characters."""
    label = " ".join(unicodedata.normalize("NFC", label).split())
    if not label:
        raise InvalidInput(_("Choose a name for your profile."))
    if len(label) > MAX_LABEL:
        raise InvalidInput(_("A name has at most {n} characters.").format(n=MAX_LABEL))
    if any(unicodedata.category(c).startswith("C") and c != "\u200c" for c in label):
        raise InvalidInput(_("A name cannot hold control characters."))
    return label


class Community:
    """The people of one community node, found in its directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.people_dir = root / PEOPLE

    def people(self) -> list[Person]:
        """Everyone with a profile here, by label."""
        found: list[Person] = []
        if not self.people_dir.is_dir():
            return found
        for folder in self.people_dir.iterdir():
            label_file = folder / LABEL_FILE
            if not (folder.is_dir() and label_file.is_file() and profile.exists(folder)):
                continue
            label = label_file.read_text(encoding="utf-8").strip()
            found.append(Person(folder.name, label, folder))
        return sorted(found, key=lambda p: p.label.casefold())

    def find(self, label: str) -> Person | None:
        """The person with this label (compared without case), if any."""
        try:
            wanted = clean_label(label).casefold()
        except InvalidInput:
            return None
        return next((p for p in self.people() if p.label.casefold() == wanted), None)

    def person(self, key: str) -> Person:
        folder = self.people_dir / key
        label_file = folder / LABEL_FILE
        if not label_file.is_file():
            raise NotFound(_("No one named {name} has a profile here.").format(name=key))
        return Person(key, label_file.read_text(encoding="utf-8").strip(), folder)

    def add(self, label: str) -> Person:
        """A new, empty folder for a person (their profile is created in it next)."""
        label = clean_label(label)
        if self.find(label) is not None:
            raise InvalidInput(_("That name is taken on this node: choose another."))
        self.people_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_hex(8)
        folder = self.people_dir / key
        folder.mkdir(mode=0o700)
        (folder / LABEL_FILE).write_text(label + "\n", encoding="utf-8")
        return Person(key, label, folder)

    def discard(self, person: Person) -> None:
        """Delete a person's folder: their profile, keys and data (no copy is kept)."""
        if person.home.parent != self.people_dir:
            raise NotFound(_("No such profile."))
        shutil.rmtree(person.home, ignore_errors=True)

    def remove(self, label: str) -> Person:
        """Destroy the profile of the person with this label (shora community remove)."""
        found = self.find(label)
        if found is None:
            raise NotFound(_("No one named {name} has a profile here.").format(name=label))
        self.wipe(found)
        return found

    def wipe(self, person: Person) -> None:
        """Destroy a person's profile for good (the panic wipe: its keystore overwritten
        in place, then its files removed), then their folder; a node serving it notices
        within a second and ends its sessions."""
        if person.home.parent != self.people_dir:
            raise NotFound(_("No such profile."))
        profile.panic(person.home)
        shutil.rmtree(person.home, ignore_errors=True)

    def wipe_all(self) -> list[Person]:
        """Destroy every profile here (`wipe` each); the sign-up code, the certificate
        and the directory stay."""
        people = self.people()
        for person in people:
            self.wipe(person)
        for folder in self.abandoned():
            self.discard_folder(folder)
        return people

    def discard_folder(self, folder: Path) -> None:
        """Delete a folder under people/ (one found by `abandoned`)."""
        if folder.parent != self.people_dir:
            raise NotFound(_("No such profile."))
        shutil.rmtree(folder, ignore_errors=True)

    def open_now(self) -> set[str]:
        """The folders of the profiles a running node has open now (none if no node
        serves this directory)."""
        try:
            lines = (self.root / OPEN_FILE).read_text(encoding="ascii").split()
            os.kill(int(lines[0]), 0)  # the serving process still runs
        except (OSError, ValueError, IndexError, UnicodeDecodeError):
            return set()
        return set(lines[1:])

    def signup_code(self) -> str:
        """The code a newcomer types to create a profile here (made on first use; kept
        in the directory, readable by this user only)."""
        path = self.root / CODE_FILE
        try:
            code = path.read_text(encoding="ascii").strip()
        except (FileNotFoundError, UnicodeDecodeError):
            code = ""
        if len(code) == CODE_DIGITS and code.isdigit():
            return code
        return self.new_signup_code()

    def new_signup_code(self) -> str:
        """A new sign-up code; the old one stops working (at once on a running node)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        path = self.root / CODE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(code + "\n")
        os.replace(tmp, path)
        return code

    def abandoned(self) -> list[Path]:
        """Folders whose profile was never made (a creation cut short): safe to delete."""
        if not self.people_dir.is_dir():
            return []
        return [
            folder
            for folder in self.people_dir.iterdir()
            if folder.is_dir() and not profile.exists(folder)
        ]


def code_matches(typed: str, code: str) -> bool:
    """Whether `typed` is the sign-up `code` (spaces, dashes and the digits' script
    aside), compared in constant time."""
    digits = "".join(c for c in normalize_digits(typed) if c in "0123456789")
    return bool(code) and hmac.compare_digest(digits.encode(), code.encode())


def decoy_unlock(passphrase: str, *, weak_kdf: bool = False) -> None:
    """The key derivation an unlock of a real profile runs, for a name nobody holds: a
    wrong name then takes as long as a wrong passphrase, and tells no one it is free."""
    limits = profile.INSECURE_TEST_KDF if weak_kdf else (crypto.KDF_OPSLIMIT, crypto.KDF_MEMLIMIT)
    crypto.derive_key(passphrase.encode(), secrets.token_bytes(crypto.KDF_SALT_LEN), *limits)


@dataclass(frozen=True)
class Certificate:
    """The node's TLS certificate: its files, the names it covers, its fingerprint."""

    cert: Path
    key: Path
    names: tuple[str, ...]
    fingerprint: str  # SHA-256 of the DER certificate, as AA:BB:...


def fingerprint_of(der: bytes) -> str:
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def certificate(root: Path, names: list[str]) -> Certificate:
    """The node's certificate for `names` (addresses or host names) and localhost:
    the one kept in `root`/tls if it covers them all, else a new one (self-signed,
    ECDSA P-256), its private key readable by this user only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    wanted = tuple(dict.fromkeys(["localhost", "127.0.0.1", "::1", *names]))
    folder = root / TLS
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    if cert_path.is_file() and key_path.is_file():
        kept = x509.load_pem_x509_certificate(cert_path.read_bytes())
        covered = _names_of(kept)
        now = datetime.datetime.now(datetime.UTC)
        if set(wanted) <= set(covered) and kept.not_valid_after_utc > now:
            der = kept.public_bytes(serialization.Encoding.DER)
            return Certificate(cert_path, key_path, covered, fingerprint_of(der))
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Shora community node")])
    sans: list[x509.GeneralName] = []
    for name in wanted:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = key_path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem_key)
    os.replace(tmp, key_path)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    der = cert.public_bytes(serialization.Encoding.DER)
    return Certificate(cert_path, key_path, wanted, fingerprint_of(der))


def _names_of(cert: object) -> tuple[str, ...]:
    from cryptography import x509

    assert isinstance(cert, x509.Certificate)
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    ips = [str(a) for a in ext.get_values_for_type(x509.IPAddress)]
    return tuple(ext.get_values_for_type(x509.DNSName)) + tuple(ips)
