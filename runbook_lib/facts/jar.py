"""A jar's manifest (META-INF/MANIFEST.MF), read on a host without copying the
jar: zipfile reads the zip's central directory and the one entry through the
SFTP file object (a few KB of a jar of hundreds), as driver_class_on does for
the driver's service entry (META-INF/services/java.sql.Driver)."""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass
from typing import Protocol

from ..products import version_tuple

MANIFEST = "META-INF/MANIFEST.MF"


class SftpHost(Protocol):
    @property
    def sftp(self): ...  # noqa: ANN201 (paramiko SFTPClient)


def parse_manifest(text: str) -> dict[str, str]:
    """Main-section attributes of a manifest (JAR File Specification: `Name: value`
    lines, a line starting with one space continues the previous one; the main
    section ends at the first blank line)."""
    out: dict[str, str] = {}
    last = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line:
            break
        if line.startswith(" ") and last:
            out[last] += line[1:]
        elif ":" in line:
            last, _, value = line.partition(":")
            out[last] = value.strip()
    return out


def _read(z: zipfile.ZipFile) -> dict[str, str]:
    try:
        return parse_manifest(z.read(MANIFEST).decode("utf-8", "replace"))
    except KeyError:
        return {}


def manifest_of(jar: bytes) -> dict[str, str]:
    """The manifest of a jar's bytes ({} when it has none or is not a zip)."""
    try:
        with zipfile.ZipFile(io.BytesIO(jar)) as z:
            return _read(z)
    except zipfile.BadZipFile:
        return {}


def manifest_on(h: SftpHost, path: str) -> dict[str, str] | None:
    """The manifest of the jar at PATH on H; None when the file is missing, {}
    when it is not a jar or has no manifest."""
    try:
        with h.sftp.open(path, "rb") as f, zipfile.ZipFile(f) as z:
            return _read(z)
    except FileNotFoundError:
        return None
    except zipfile.BadZipFile:
        return {}


@dataclass(frozen=True)
class DriverJar:
    """What a JDBC driver jar says of itself."""

    name: str  # Bundle-SymbolicName or Implementation-Title ("" when the manifest says neither)
    version: str  # Bundle-Version or Implementation-Version ("" when unknown)

    @property
    def is_mariadb(self) -> bool:
        return "mariadb" in self.name.lower()

    @property
    def major(self) -> int | None:
        v = version_tuple(self.version.split("-")[0])
        return v[0] if v else None

    def __str__(self) -> str:
        what = "MariaDB Connector/J" if self.is_mariadb else (self.name or "a driver whose manifest names no product")
        return f"{what} {self.version or '(version not in its manifest)'}"


def driver_jar(manifest: dict[str, str]) -> DriverJar:
    """Connector/J 2.x (Debian's libmariadb-java) writes OSGi Bundle-* headers;
    Implementation-* are read too, for builds that write those instead."""
    name = manifest.get("Bundle-SymbolicName") or manifest.get("Implementation-Title") or ""
    version = manifest.get("Bundle-Version") or manifest.get("Implementation-Version") or ""
    return DriverJar(name.split(";")[0].strip(), version)


def _registered(z: zipfile.ZipFile) -> str | None:
    """The first class META-INF/services/java.sql.Driver names, if any."""
    try:
        lines = z.read("META-INF/services/java.sql.Driver").decode().splitlines()
    except KeyError:
        return None
    return next((ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")), None)


def _by_name(jar_path: str) -> str:
    return "org.mariadb.jdbc.Driver" if "mariadb" in posixpath.basename(jar_path) else "com.mysql.jdbc.Driver"


def driver_class(jar: bytes | None, jar_path: str) -> str:
    """The JDBC driver class the jar registers (META-INF/services/java.sql.Driver):
    MariaDB Connector/J is org.mariadb.jdbc.Driver, not the documents' com.mysql.jdbc.Driver."""
    if jar:
        try:
            with zipfile.ZipFile(io.BytesIO(jar)) as z:
                return _registered(z) or _by_name(jar_path)
        except zipfile.BadZipFile:
            pass
    return _by_name(jar_path)


def driver_class_on(h: SftpHost, jar_path: str) -> str:
    """driver_class of the jar on H's disk, reading only the zip's directory and
    that one entry over SFTP (a few KB of a jar of hundreds: on tens of hosts,
    whole jars were most of this step's time)."""
    try:
        with h.sftp.open(jar_path, "rb") as f, zipfile.ZipFile(f) as z:
            return _registered(z) or _by_name(jar_path)
    except (FileNotFoundError, zipfile.BadZipFile):
        return _by_name(jar_path)
