"""Endpoints with a configurable certs.d root, Go's TLS error wording, and the challenge that
says a bearer token is invalid (worth one fresh token) rather than short of scope."""

from __future__ import annotations

import ssl
from pathlib import Path

from sangja.distribution.auth import token_refused
from sangja.distribution.client import _tls_alert, x509_message
from sangja.distribution.endpoint import endpoint_for


def test_loopback_is_plain_http_unless_a_certs_dir_is_configured(tmp_path: Path) -> None:
    assert endpoint_for("127.0.0.1:5000", (), [tmp_path]).base_url == "http://127.0.0.1:5000"
    (tmp_path / "127.0.0.1:5000").mkdir()
    with_dir = endpoint_for("127.0.0.1:5000", (), [tmp_path])
    assert with_dir.base_url == "https://127.0.0.1:5000"
    assert isinstance(with_dir.ssl, ssl.SSLContext)
    # Another port of the same host has no directory: still plain HTTP.
    assert endpoint_for("127.0.0.1:5001", (), [tmp_path]).base_url == "http://127.0.0.1:5001"
    assert endpoint_for("registry.example:443", (), [tmp_path]).base_url == "https://registry.example:443"


def test_go_wording_of_tls_failures() -> None:
    err = ssl.SSLCertVerificationError(1, "certificate verify failed")
    err.verify_code = 20
    err.verify_message = "unable to get local issuer certificate"
    assert x509_message(err) == "x509: certificate signed by unknown authority"
    err.verify_code = 10
    assert x509_message(err) == "x509: certificate has expired or is not yet valid"
    alert = OSError(1, "[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate (_ssl.c:2546)")
    assert _tls_alert(alert) == "remote error: tls: bad certificate"
    assert _tls_alert(ConnectionResetError(104, "Connection reset by peer")) == ""


def test_only_an_invalid_token_is_worth_a_fresh_one() -> None:
    realm = 'Bearer realm="http://127.0.0.1:1/token",service="reg",scope="repository:a:pull"'
    assert token_refused(realm + ',error="invalid_token"')
    assert not token_refused(realm + ',error="insufficient_scope"')
    assert not token_refused(realm)
    assert not token_refused('Basic realm="x"')
