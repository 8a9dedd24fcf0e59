"""A real OpenLDAP ``slapd`` on loopback with a tiny directory, for the sign-in tests.

The directory (``dc=docent,dc=test``): a service account that searches, people with
passwords, nested ``groupOfNames`` (``legal`` inside ``staff`` inside ``everyone``, and
two groups that contain each other), and ``carol``, disabled the way a site's user filter
sees it: her ``employeeType`` is ``disabled`` and ``FILTER`` leaves her out, as an Active
Directory filter on ``userAccountControl`` leaves out a disabled account. The server
listens for ``ldap://`` (StartTLS offered) and ``ldaps://`` with a certificate for
127.0.0.1 made here, signed by a CA made here. Changes during a test go through
``ldapmodify`` (ldap-utils), a client other than the one under test.
"""

from __future__ import annotations

import datetime
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from tests import system

SLAPD = Path("/usr/sbin/slapd")
SUFFIX = "dc=docent,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-secret-1"
SERVICE_DN = f"cn=docent,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-secret-1"
PASSWORDS = {"alice": "alice-pass-1", "bob": "bob-pass-1", "carol": "carol-pass-1"}
PASSWORDS |= {"dave": "dave-pass-1", "erin": "erin-pass-1"}
FILTER = "(&(objectClass=inetOrgPerson)(!(employeeType=disabled)))"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"


def person(uid: str) -> str:
    """The DN of a person of the test directory."""
    return f"uid={uid},{PEOPLE}"


def group(cn: str) -> str:
    """The DN of a group of the test directory."""
    return f"cn={cn},{GROUPS}"


def _entries() -> str:
    people = "".join(
        f"dn: {person(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid.title()}\n"
        f"sn: {uid.title()}\nuserPassword: {password}\n"
        + ("employeeType: disabled\n" if uid == "carol" else "")
        + "\n"
        for uid, password in PASSWORDS.items()
    )
    groups = {
        "legal": [person("alice"), person("carol")],
        "staff": [group("legal"), person("bob")],
        "everyone": [group("staff")],
        "Board Members": [person("dave")],
        "loop-a": [group("loop-b"), person("erin")],
        "loop-b": [group("loop-a")],
    }
    return (
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: docent\n"
        f"o: Docent test\n\n"
        + "".join(
            f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n\n"
            for ou in ("people", "groups", "services")
        )
        + f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject"
        f"\ncn: docent\nuserPassword: {SERVICE_PASSWORD}\n\n"
        + people
        + "".join(
            f"dn: {group(cn)}\nobjectClass: groupOfNames\ncn: {cn}\n"
            + "".join(f"member: {m}\n" for m in members)
            + "\n"
            for cn, members in groups.items()
        )
    )


def _config(folder: Path, tls: bool, size_limit: int | None = None) -> str:
    schema = "/etc/ldap/schema"
    lines = [
        *(f"include {schema}/{name}.schema" for name in ("core", "cosine", "inetorgperson")),
        "modulepath /usr/lib/ldap",
        "moduleload back_mdb",
        f"pidfile {folder}/slapd.pid",
    ]
    if tls:
        lines += [
            f"TLSCACertificateFile {folder}/ca.pem",
            f"TLSCertificateFile {folder}/server.pem",
            f"TLSCertificateKeyFile {folder}/server.key",
        ]
    if size_limit is not None:  # entries a search returns to anyone but the root
        lines.append(f"sizelimit {size_limit}")
    lines += [
        # Passwords are read by binding only; the service account and the root read the rest.
        "access to attrs=userPassword by self write by anonymous auth by * none",
        f'access to * by dn.exact="{SERVICE_DN}" read by self read by * none',
        "database mdb",
        f'suffix "{SUFFIX}"',
        f'rootdn "{ROOT_DN}"',
        f"rootpw {ROOT_PASSWORD}",
        f"directory {folder}/db",
        "maxsize 10485760",
    ]
    return "\n".join(lines) + "\n"


def make_certificates(folder: Path) -> Path:
    """A CA and a server certificate for 127.0.0.1 signed by it; returns the CA's PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def made(subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, object]) -> bytes:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[0])])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )
        if subject == issuer[0]:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        else:
            san = x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))])
            builder = builder.add_extension(san, False)
        certificate = builder.sign(issuer[1], hashes.SHA256())  # type: ignore[arg-type]
        return certificate.public_bytes(serialization.Encoding.PEM)

    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = made("Docent test CA", ca_key, ("Docent test CA", ca_key))
    (folder / "ca.pem").write_bytes(ca)
    (folder / "server.pem").write_bytes(made("127.0.0.1", server_key, ("Docent test CA", ca_key)))
    key = server_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (folder / "server.key").write_bytes(key)
    return folder / "ca.pem"


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Slapd:
    """A running test directory: where it listens and the CA its certificate is signed by."""

    folder: Path
    port: int
    tls_port: int
    ca_file: Path

    @property
    def url(self) -> str:
        """The ``ldap://`` address (StartTLS)."""
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        """The ``ldaps://`` address (TLS from the first byte)."""
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def modify(self, ldif: str) -> None:
        """Apply an LDIF change as the directory's root, with ``ldapmodify`` over StartTLS."""
        env = os.environ | {"LDAPTLS_CACERT": str(self.ca_file), "LDAPTLS_REQCERT": "demand"}
        subprocess.run(
            ["ldapmodify", "-x", "-ZZ", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
            input=ldif,
            text=True,
            env=env,
            check=True,
            capture_output=True,
            timeout=30,
        )

    def disable(self, uid: str) -> None:
        """Mark a person disabled, as the user filter sees it."""
        self.modify(f"dn: {person(uid)}\nchangetype: modify\nadd: employeeType\n"
                    "employeeType: disabled\n")  # fmt: skip

    def remove(self, uid: str) -> None:
        """Delete a person from the directory."""
        self.modify(f"dn: {person(uid)}\nchangetype: delete\n")


def require_slapd() -> None:
    """Skip the calling test unless OpenLDAP's server and client tools are installed."""
    system.require(SLAPD, "slapd")
    system.require("ldapmodify", "ldap-utils")


@contextmanager
def slapd(
    folder: Path, *, tls: bool = True, timeout: float = 30.0, size_limit: int | None = None
) -> Iterator[Slapd]:
    """Run a test directory in ``folder`` until the block ends (``size_limit``: the
    server's limit on the entries one search returns, as slapd's default 500 does)."""
    require_slapd()
    (folder / "db").mkdir(parents=True)
    ca_file = make_certificates(folder)
    config = folder / "slapd.conf"
    config.write_text(_config(folder, tls, size_limit), encoding="utf-8")
    (folder / "data.ldif").write_text(_entries(), encoding="utf-8")
    subprocess.run(
        ["/usr/sbin/slapadd", "-f", str(config), "-l", str(folder / "data.ldif")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    port, tls_port = free_port(), free_port()
    urls = f"ldap://127.0.0.1:{port}/" + (f" ldaps://127.0.0.1:{tls_port}/" if tls else "")
    log = (folder / "slapd.log").open("wb")
    # -d 0: stay in the foreground (a child of the test), logging nothing but errors.
    process = subprocess.Popen(
        [str(SLAPD), "-d", "0", "-f", str(config), "-h", urls], stdout=log, stderr=log
    )
    try:
        _wait(port, process, timeout)
        yield Slapd(folder, port, tls_port, ca_file)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"slapd exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("slapd did not start listening")
