"""The local CA: made once per directory, its key owner-only, and the leaf signed again only
when what it must cover changes; ``mockserver ca`` says where it is and how to trust it."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

from click.testing import CliRunner
from cryptography import x509

from mockserver.cli import main
from mockserver.net.authority import Authority, leaf_names

HOSTS = ("app.parkpow.com", "api.platerecognizer.com")


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def test_mockserver_ca_makes_the_ca_once_and_prints_how_to_trust_it(tmp_path):
    data_dir = str(tmp_path / "data")
    first = CliRunner().invoke(main, ["ca", "--data-dir", data_dir])
    assert first.exit_code == 0, first.output
    ca_path = os.path.join(data_dir, "ca", "ca.pem")
    assert first.output.splitlines()[0] == ca_path and "(made now)" in first.output
    for line in (
        f"export REQUESTS_CA_BUNDLE={ca_path}",
        f"export SSL_CERT_FILE={ca_path}",
        f"export NODE_EXTRA_CA_CERTS={ca_path}",
        f"export CURL_CA_BUNDLE={ca_path}",
        f"keytool -importcert -noprompt -trustcacerts -alias mockserver-ca -file {ca_path}",
        "update-ca-certificates",
    ):
        assert line in first.output
    certificate = read(ca_path)
    again = CliRunner().invoke(main, ["ca", "--data-dir", data_dir])
    assert "(existing)" in again.output and read(ca_path) == certificate
    key = os.path.join(data_dir, "ca", "ca-key.pem")
    assert mode(key) == 0o600 and "PRIVATE KEY" not in first.output + again.output


def test_ca_env_lines_survive_a_shell_with_a_space_in_the_path(tmp_path):
    ca_dir = str(tmp_path / "a dir" / "ca")
    script = f'eval "$({sys.executable} -m mockserver.cli ca --env --ca-dir "$1")"; '
    script += 'printf "%s|%s" "$NODE_EXTRA_CA_CERTS" "$REQUESTS_CA_BUNDLE"'
    result = subprocess.run(
        ["sh", "-c", script, "sh", ca_dir], capture_output=True, text=True, timeout=60
    )
    path = os.path.join(ca_dir, "ca.pem")
    assert result.stdout == f"{path}|{path}", result.stderr
    assert x509.load_pem_x509_certificate(read(path)).extensions  # a real certificate


def test_a_loose_ca_key_is_made_owner_only_again(tmp_path):
    authority = Authority(str(tmp_path / "ca"))
    authority.ensure()
    os.chmod(authority.key_path, 0o644)
    assert authority.ensure() is False  # kept, not replaced
    assert mode(authority.key_path) == 0o600


def test_the_leaf_is_signed_again_only_when_its_names_or_its_ca_change(tmp_path):
    authority = Authority(str(tmp_path / "ca"))
    names = leaf_names(HOSTS)
    assert names == ("localhost", "127.0.0.1", "::1", *HOSTS)
    leaf = authority.leaf(names)
    assert mode(leaf.key_path) == 0o600
    signed = read(leaf.cert_path)
    assert read(authority.leaf(names).cert_path) == signed  # the same names: kept

    more = leaf_names(HOSTS, extra=["emulator.test"])
    assert read(authority.leaf(more).cert_path) != signed
    sans = _sans(authority.leaf(more).cert_path)
    assert sans == {"localhost", "127.0.0.1", "::1", *HOSTS, "emulator.test"}

    kept = read(leaf.cert_path)
    for name in ("ca.pem", "ca-key.pem"):  # another CA in this directory
        os.remove(os.path.join(authority.directory, name))
    authority.leaf(more)
    assert read(leaf.cert_path) != kept
    new_leaf = x509.load_pem_x509_certificates(read(leaf.cert_path))[0]
    new_leaf.verify_directly_issued_by(authority.certificate())


def test_a_copied_ca_directory_keeps_its_leaf_valid(tmp_path):
    """The CA travels with its directory (e.g. --ca-dir shared by several hosts)."""
    authority = Authority(str(tmp_path / "one"))
    leaf = authority.leaf(leaf_names(HOSTS))
    copy = shutil.copytree(authority.directory, str(tmp_path / "two"))
    assert read(Authority(copy).leaf(leaf_names(HOSTS)).cert_path) == read(leaf.cert_path)


def _sans(path: str) -> set[str]:
    certificate = x509.load_pem_x509_certificates(read(path))[0]
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name.value) for name in names}
