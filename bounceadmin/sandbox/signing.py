"""The Signed Event Webhook's keys and signatures, as SendGrid makes them.

ECDSA on P-256 (prime256v1) with SHA-256. The public key is published as base64 of the DER
SubjectPublicKeyInfo (the body of a PEM `PUBLIC KEY` block, which is what SendGrid's API returns
and its libraries wrap in BEGIN/END lines); a signature is base64 of the DER `SEQUENCE{r, s}` over
the timestamp header's bytes followed by the raw request body.
"""

from __future__ import annotations

import base64
import functools

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def new_private_key() -> str:
    """A fresh P-256 key, as unencrypted PKCS#8 PEM (what the store keeps)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode("ascii")


@functools.lru_cache(maxsize=256)
def _load(private_pem: str) -> ec.EllipticCurvePrivateKey:
    # Parsing a PEM costs more than signing with it; a webhook signs every batch with one key.
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def public_key(private_pem: str) -> str:
    """The public half as SendGrid publishes it: base64 of the DER SubjectPublicKeyInfo."""
    der = (
        _load(private_pem)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(der).decode("ascii")


def sign(private_pem: str, timestamp: str, body: bytes) -> str:
    """The `X-Twilio-Email-Event-Webhook-Signature` value for one delivery attempt."""
    signature = _load(private_pem).sign(timestamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode("ascii")
