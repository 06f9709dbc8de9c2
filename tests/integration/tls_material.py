"""Certificates the TLS tests make with ``openssl``: self-signed leaves and a small CA with one leaf.

They stand in for what cannot be reached from a test (Let's Encrypt) or must be ours (the HTTPS listener
of the Pebble ACME server the lan test runs). ECDSA P-256 keys: fast to make, what ACME issues anyway.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-sha256"]


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


def _san(names: Sequence[str]) -> str:
    entries = []
    for name in names:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            entries.append(f"DNS:{name}")
        else:
            entries.append(f"IP:{name}")
    return "subjectAltName=" + ",".join(entries)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def self_signed(workdir: Path, stem: str, names: Sequence[str], *, days: int = 7) -> CertFiles:
    """A self-signed certificate naming every one of ``names`` (DNS names and IP addresses)."""
    files = CertFiles(workdir / f"{stem}.crt", workdir / f"{stem}.key")
    _openssl(
        "req", "-x509", *_EC, "-days", str(days), "-subj", f"/CN={names[0]}", "-addext", _san(names),
        "-keyout", str(files.key), "-out", str(files.cert),
    )  # fmt: skip
    return files


def ca_with_leaf(workdir: Path, stem: str, names: Sequence[str]) -> tuple[Path, CertFiles]:
    """A throw-away CA (its certificate's path) and a leaf it signed for ``names``."""
    ca = CertFiles(workdir / f"{stem}-ca.crt", workdir / f"{stem}-ca.key")
    _openssl(
        "req", "-x509", *_EC, "-days", "7", "-subj", f"/CN={stem} test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
        "-keyout", str(ca.key), "-out", str(ca.cert),
    )  # fmt: skip
    leaf = CertFiles(workdir / f"{stem}.crt", workdir / f"{stem}.key")
    request = workdir / f"{stem}.csr"
    _openssl(
        "req", "-new", *_EC, "-subj", f"/CN={names[0]}", "-keyout", str(leaf.key), "-out", str(request),
    )  # fmt: skip
    extensions = workdir / f"{stem}.ext"
    extensions.write_text(_san(names) + "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    _openssl(
        "x509", "-req", "-in", str(request), "-CA", str(ca.cert), "-CAkey", str(ca.key),
        "-CAcreateserial", "-days", "7", "-extfile", str(extensions), "-out", str(leaf.cert),
    )  # fmt: skip
    return ca.cert, leaf
