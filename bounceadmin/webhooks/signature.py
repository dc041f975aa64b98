"""Checking a delivery's signature, as SendGrid's own helper does (sendgrid-python's
`EventWebhook.verify_signature`): ECDSA on P-256 with SHA-256 over the timestamp header followed
by the raw body bytes, the signature base64 of an ASN.1 DER SEQUENCE{r, s}, the key base64 of a
DER SubjectPublicKeyInfo (the body of a PEM PUBLIC KEY). The curve is `cryptography`'s."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


class InvalidKey(ValueError):
    """The stored public key is not a P-256 public key."""


@lru_cache(maxsize=256)
def load_public_key(public_key: str) -> ec.EllipticCurvePublicKey:
    """SendGrid's base64 key as a P-256 public key; InvalidKey otherwise."""
    try:
        key = load_der_public_key(base64.b64decode(public_key, validate=True))
    except (ValueError, binascii.Error, TypeError) as exc:
        raise InvalidKey("not a base64 DER public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise InvalidKey("not a P-256 (secp256r1) public key")
    return key


def signature_valid(*, public_key: str, signature: str, timestamp: str, body: bytes) -> bool:
    """True when `signature` is the key's over `timestamp` + `body` (the raw bytes, as sent)."""
    try:
        der = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        load_public_key(public_key).verify(
            der, timestamp.encode() + body, ec.ECDSA(hashes.SHA256())
        )
    except (InvalidSignature, ValueError):
        return False
    return True
