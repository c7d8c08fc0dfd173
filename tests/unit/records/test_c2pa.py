"""C2PA signing of PNGs with a throw-away test CA made here (no network, no real keys)."""

from __future__ import annotations

import datetime
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

c2pa = pytest.importorskip("c2pa", reason="optional: pip install 'c2pa-python==0.38.1'")
pytest.importorskip("cryptography")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

from pixelgen.records.c2pa import DIGITAL_SOURCE_TYPE, read_png_credentials, sign_png  # noqa: E402


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pixelgen test CA"),
        ]
    )


def _key_usage(*, signer: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signer,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signer,
        crl_sign=not signer,
        encipher_only=False,
        decipher_only=False,
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def test_pki() -> dict[str, bytes]:
    """A test root CA, a leaf it issued, and a self-signed leaf with the same key and profile."""
    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(days=1), now + datetime.timedelta(days=7))

    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("pixelgen test root"))
        .issuer_name(_name("pixelgen test root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(signer=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )

    leaf_key = ec.generate_private_key(ec.SECP256R1())

    def leaf(issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(_name("pixelgen test signer"))
            .issuer_name(issuer)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity[0])
            .not_valid_after(validity[1])
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signer=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256())
        )

    return {
        "root": _pem(root),
        "chain": _pem(leaf(root.subject, root_key)) + _pem(root),
        "self_signed": _pem(leaf(_name("pixelgen test signer"), leaf_key)),
        "key": leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    }


@pytest.fixture(scope="module")
def sprite_png() -> bytes:
    pixels = np.zeros((16, 16, 4), dtype=np.uint8)
    pixels[4:12, 4:12] = (200, 40, 40, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def test_leaf_issued_by_test_root_is_trusted(test_pki: dict[str, bytes], sprite_png: bytes) -> None:
    signed = sign_png(sprite_png, cert_pem=test_pki["chain"], key_pem=test_pki["key"], title="hero.png")
    report = read_png_credentials(signed, trust_anchors_pem=test_pki["root"])
    assert report["state"] == "Trusted"
    assert report["status_codes"] == []
    assert report["manifest"]["title"] == "hero.png"
    (actions,) = [a for a in report["manifest"]["assertions"] if a["label"].startswith("c2pa.actions")]
    assert actions["data"]["actions"] == [{"action": "c2pa.created", "digitalSourceType": DIGITAL_SOURCE_TYPE}]
    assert report["manifest"]["claim_generator_info"][0]["name"] == "pixelgen"
    # The pixels are untouched by signing.
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(signed))), np.asarray(Image.open(io.BytesIO(sprite_png))))


def test_self_signed_leaf_is_not_trusted(test_pki: dict[str, bytes], sprite_png: bytes) -> None:
    # c2pa-python 0.38.1 signs with a self-signed leaf without complaint; the
    # reader is what refuses to trust it under the studio's root.
    signed = sign_png(sprite_png, cert_pem=test_pki["self_signed"], key_pem=test_pki["key"], title="hero.png")
    report = read_png_credentials(signed, trust_anchors_pem=test_pki["root"])
    assert report["state"] != "Trusted"
    assert "signingCredential.untrusted" in report["status_codes"]


def test_without_trust_anchors_an_intact_file_is_valid_not_trusted(
    test_pki: dict[str, bytes], sprite_png: bytes
) -> None:
    signed = sign_png(sprite_png, cert_pem=test_pki["chain"], key_pem=test_pki["key"], title="hero.png")
    assert read_png_credentials(signed)["state"] == "Valid"


def _flip_first_idat_byte(png: bytes) -> bytes:
    """Change one byte of image data and fix the chunk CRC, as an editor saving new pixels would."""
    position = 8
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        if kind == b"IDAT":
            data = bytearray(png[position + 8 : position + 8 + length])
            data[-1] ^= 0xFF
            crc = struct.pack(">I", zlib.crc32(kind + bytes(data)) & 0xFFFFFFFF)
            return png[: position + 8] + bytes(data) + crc + png[position + 12 + length :]
        position += 12 + length
    raise AssertionError("no IDAT chunk")


def test_edited_pixels_break_the_credential(test_pki: dict[str, bytes], sprite_png: bytes) -> None:
    signed = sign_png(sprite_png, cert_pem=test_pki["chain"], key_pem=test_pki["key"], title="hero.png")
    report = read_png_credentials(_flip_first_idat_byte(signed), trust_anchors_pem=test_pki["root"])
    assert report["state"] == "Invalid"
    assert "assertion.dataHash.mismatch" in report["status_codes"]


def test_key_not_matching_certificate_is_refused(test_pki: dict[str, bytes], sprite_png: bytes) -> None:
    other_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # c2pa-python 0.38.1 checks the signature against the leaf before writing anything.
    with pytest.raises(ValueError, match="signature does not match"):
        sign_png(sprite_png, cert_pem=test_pki["chain"], key_pem=other_key, title="hero.png")


def test_rejects_non_png_and_unknown_algorithm(test_pki: dict[str, bytes], sprite_png: bytes) -> None:
    with pytest.raises(ValueError, match="not a PNG"):
        sign_png(b"GIF89a...", cert_pem=test_pki["chain"], key_pem=test_pki["key"], title="x")
    with pytest.raises(ValueError, match="signing algorithm"):
        sign_png(sprite_png, cert_pem=test_pki["chain"], key_pem=test_pki["key"], title="x", alg="md5")
    with pytest.raises(ValueError, match="no readable C2PA manifest"):
        read_png_credentials(sprite_png)
