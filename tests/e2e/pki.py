"""Throwaway TLS certificates made with the openssl command, for tests against real TLS servers (mosquitto)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.realparts import require_program


@dataclass(frozen=True)
class Pki:
    """A throwaway CA, the broker's certificate (for 127.0.0.1), a client certificate, and a CA nobody used."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def make_pki(folder: Path) -> Pki:
    binary = require_program("openssl", "openssl")
    folder.mkdir()

    def openssl(*args: str) -> None:
        subprocess.run([binary, *args], cwd=folder, check=True, capture_output=True, timeout=60)

    def ca(name: str) -> None:
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN=facedaemon test {name}",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(name: str, usage: str, san: str = "") -> None:
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=facedaemon test {name}")
        (folder / f"{name}.ext").write_text(f"basicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n"
                                           "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n" + san)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext")

    ca("ca")
    ca("other-ca")
    leaf("server", "serverAuth", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    leaf("client", "clientAuth")
    return Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "client.pem",
               folder / "client.key", folder / "other-ca.pem")
