"""C2PA Content Credentials for generated PNGs (optional; needs the ``c2pa-python`` package).

A signed PNG carries a manifest stating it was created by a trained model
(action ``c2pa.created`` with IPTC digital source type
``trainedAlgorithmicMedia``), bound to the image bytes by a hash and signed with
the studio's certificate. Any later change to the pixels breaks the binding.

Signing is offline: no timestamp authority is contacted, so a signature is only
as long-lived as the certificate's validity period.

Trust is decided by the reader, not the signer: c2pa-python 0.38 signs with a
self-signed leaf as readily as with a CA-issued one; :func:`read_png_credentials`
reports ``Trusted`` only when the leaf chains to one of the given trust anchors.
"""

from __future__ import annotations

import io
import json
from typing import Any

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
SIGNING_ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_png(png_bytes: bytes) -> None:
    if not isinstance(png_bytes, (bytes, bytearray)):
        raise TypeError(f"png_bytes must be bytes, got {type(png_bytes).__name__}")
    if not bytes(png_bytes[:8]) == _PNG_SIGNATURE:
        raise ValueError("png_bytes is not a PNG file (missing the PNG signature); sign the encoded PNG file bytes")


def sign_png(
    png_bytes: bytes,
    *,
    cert_pem: bytes,
    key_pem: bytes,
    title: str,
    alg: str = "es256",
    generator_name: str = "pixelgen",
    generator_version: str | None = None,
) -> bytes:
    """Return ``png_bytes`` with an embedded, signed C2PA manifest.

    ``cert_pem``: the signing certificate chain, leaf first, then
    intermediates (the root may be included). ``key_pem``: the leaf's private
    key (PKCS#8 PEM). ``alg`` must match the key (``es256`` for EC P-256).
    No thumbnail is embedded: a JPEG preview of a sprite is lossy and usually
    larger than the sprite itself.
    """
    import c2pa

    _check_png(png_bytes)
    if alg not in SIGNING_ALGORITHMS:
        raise ValueError(f"signing algorithm {alg!r} is not one of {', '.join(SIGNING_ALGORITHMS)}")
    if generator_version is None:
        from pixelgen import __version__ as generator_version
    manifest = {
        "claim_generator_info": [{"name": generator_name, "version": str(generator_version)}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": DIGITAL_SOURCE_TYPE}]},
            }
        ],
    }
    context = c2pa.Context(settings=c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg.encode(), cert_pem, key_pem, None))
        builder = c2pa.Builder(json.dumps(manifest), context=context)
        signed = io.BytesIO()
        builder.sign(signer, "image/png", io.BytesIO(bytes(png_bytes)), signed)
    except c2pa.C2paError as error:
        raise ValueError(
            f"C2PA signing of {title!r} failed: {error}; check that cert_pem is a PEM chain "
            f"(leaf first) whose leaf matches key_pem and the {alg} algorithm"
        ) from error
    return signed.getvalue()


def read_png_credentials(png_bytes: bytes, *, trust_anchors_pem: bytes | None = None) -> dict[str, Any]:
    """Read and validate the C2PA manifest of a PNG.

    Returns ``{"state", "status_codes", "manifest"}``: ``state`` is c2pa's
    validation state (``"Invalid"``, ``"Valid"``: intact but signer not
    trusted, ``"Trusted"``: intact and chained to ``trust_anchors_pem``);
    ``status_codes`` the c2pa failure codes (e.g.
    ``assertion.dataHash.mismatch`` for edited pixels); ``manifest`` the active
    manifest. Raises ``ValueError`` when the PNG carries no manifest.
    """
    import c2pa

    _check_png(png_bytes)
    settings: dict[str, Any] = {"verify": {"verify_trust": trust_anchors_pem is not None}}
    if trust_anchors_pem is not None:
        settings["trust"] = {"trust_anchors": trust_anchors_pem.decode("ascii")}
    context = c2pa.Context(settings=c2pa.Settings.from_dict(settings))
    try:
        reader = c2pa.Reader("image/png", io.BytesIO(bytes(png_bytes)), context=context)
        report = json.loads(reader.json())
        state = reader.get_validation_state()
    except c2pa.C2paError as error:
        raise ValueError(f"PNG has no readable C2PA manifest: {error}") from error
    return {
        "state": state,
        "status_codes": [status["code"] for status in report.get("validation_status", [])],
        "manifest": report["manifests"][report["active_manifest"]],
    }
