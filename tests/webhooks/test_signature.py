"""The signature check against SendGrid's documented sample and keys made by `cryptography`."""

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bounceadmin.webhooks.signature import InvalidKey, load_public_key, signature_valid
from tests.support.webhooks import SigningKey

# SendGrid's own test vector (sendgrid-python, test/unit/test_eventwebhook.py).
SAMPLE_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw"
    "+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
SAMPLE_SIGNATURE = (
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtE"
    "ZtM="
)
SAMPLE_TIMESTAMP = "1600112502"
SAMPLE_BODY = (
    json.dumps(
        [
            {
                "email": "hello@world.com",
                "event": "dropped",
                "reason": "Bounced Address",
                "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-"
                "5F5FC76C-9.0",
                "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                "timestamp": 1600112492,
            }
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    + "\r\n"
).encode()


def test_sendgrids_documented_sample_verifies():
    assert signature_valid(
        public_key=SAMPLE_KEY, signature=SAMPLE_SIGNATURE, timestamp=SAMPLE_TIMESTAMP,
        body=SAMPLE_BODY,
    )  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [
        {"body": SAMPLE_BODY.rstrip(b"\r\n")},  # the raw bytes, trailing CRLF included
        {"body": SAMPLE_BODY.replace(b"hello@", b"hallo@")},
        {"timestamp": "1600112503"},
        {"signature": SAMPLE_SIGNATURE[:-8] + "AAAAAAA="},
        {"signature": "not base64 at all!"},
        {"signature": ""},
    ],
)
def test_any_change_to_the_sample_fails(change):
    args = {"public_key": SAMPLE_KEY, "signature": SAMPLE_SIGNATURE,
            "timestamp": SAMPLE_TIMESTAMP, "body": SAMPLE_BODY}  # fmt: skip
    assert not signature_valid(**(args | change))


def test_another_key_fails():
    assert not signature_valid(
        public_key=SigningKey().public_key, signature=SAMPLE_SIGNATURE,
        timestamp=SAMPLE_TIMESTAMP, body=SAMPLE_BODY,
    )  # fmt: skip


def test_keys_made_by_cryptography_verify_their_own_signatures_only():
    key, other = SigningKey(), SigningKey()
    body = b'[{"email":"a@example.com"}]\r\n'
    signature = key.sign(body, "1700000000")
    assert signature_valid(
        public_key=key.public_key, signature=signature, timestamp="1700000000", body=body
    )
    assert not signature_valid(
        public_key=other.public_key, signature=signature, timestamp="1700000000", body=body
    )


def test_a_key_not_on_p256_is_refused():
    import base64

    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    der = p384.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InvalidKey):
        load_public_key(base64.b64encode(der).decode())
    with pytest.raises(InvalidKey):
        load_public_key("bm90IGEga2V5")
