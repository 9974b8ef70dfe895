"""How common runtimes are told to trust the local CA: the lines ``mockserver ca`` prints."""

from __future__ import annotations

import shlex
from importlib import resources

#: variables naming a CA file, and who reads them. REQUESTS_CA_BUNDLE, SSL_CERT_FILE and
#: CURL_CA_BUNDLE replace the default roots (real hosts then fail); NODE_EXTRA_CA_CERTS adds.
VARIABLES = (
    ("REQUESTS_CA_BUNDLE", "Python requests"),
    ("SSL_CERT_FILE", "OpenSSL's own variable: Python's ssl, Go, Ruby"),
    ("NODE_EXTRA_CA_CERTS", "Node (added to its own roots)"),
    ("CURL_CA_BUNDLE", "curl"),
)


def environment(ca_path: str) -> list[str]:
    """``export`` lines for a POSIX shell (``eval "$(mockserver ca --env)"``)."""
    quoted = shlex.quote(ca_path)
    return [f"export {name}={quoted}" for name, _ in VARIABLES]


def instructions(ca_path: str) -> list[str]:
    """Every way the README lists, one runtime per line, ready to paste."""
    quoted = shlex.quote(ca_path)
    lines = [
        f"{line:<60}  # {who}"
        for line, (_, who) in zip(environment(ca_path), VARIABLES, strict=True)
    ]
    lines += [
        "# Node whose https module ignores HTTPS_PROXY (before NODE_USE_ENV_PROXY=1): preload",
        f"export NODE_OPTIONS='--require \"{node_preload()}\"'",  # Node's own quoting
        "# Java (9+): into the JDK's trust store (default password: changeit)",
        f"keytool -importcert -noprompt -trustcacerts -alias mockserver-ca -file {quoted} "
        "-cacerts -storepass changeit",
        "# Debian/Ubuntu system store (then every client on the machine trusts it)",
        f"sudo cp {quoted} /usr/local/share/ca-certificates/mockserver-ca.crt "
        "&& sudo update-ca-certificates",
    ]
    return lines


def node_preload():
    """The shipped preload that tunnels Node's ``https`` requests through HTTPS_PROXY."""
    return resources.files("mockserver") / "data" / "node" / "env-proxy.cjs"
