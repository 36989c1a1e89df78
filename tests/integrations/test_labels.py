"""The AI-generated label on every delivered image: XMP (IPTC digital source type) always, C2PA when configured."""
from __future__ import annotations

import datetime
import io
import json
import struct
import zipfile
import zlib

import c2pa
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.exceptions import ImproperlyConfigured
from PIL import Image

from integrations.delivery import DESTINATION_PRESETS
from teams import c2pa_signing
from teams.headshots import headshot_approve
from teams.labels import NS, PRODUCT, TRAINED_ALGORITHMIC_MEDIA, ai_label_xmp, parse_label, read_label
from teams.rendering import delivery_etag, render_headshot
from tests.factories import client_for
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db
MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


# Where each format keeps XMP, read from the raw bytes (not through Pillow) --------------------------------------


def jpeg_app1_xmp(data: bytes) -> bytes | None:
    header = b"http://ns.adobe.com/xap/1.0/\x00"
    position = 2
    while position < len(data) and data[position] == 0xFF and data[position + 1] != 0xDA:
        marker, length = data[position + 1], struct.unpack(">H", data[position + 2:position + 4])[0]
        body = data[position + 4:position + 2 + length]
        if marker == 0xE1 and body.startswith(header):
            return body[len(header):]
        position += 2 + length
    return None


def png_itxt_xmp(data: bytes) -> bytes | None:
    position = 8
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"iTXt" and body.startswith(b"XML:com.adobe.xmp\x00"):
            rest = body[len(b"XML:com.adobe.xmp\x00"):]
            compressed = rest[0]
            text = rest[2:].split(b"\x00", 2)[2]  # language tag and translated keyword, both empty
            return zlib.decompress(text) if compressed else text
        position += 12 + length
    return None


def webp_xmp_chunk(data: bytes) -> bytes | None:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    position = 12
    while position < len(data):
        kind, length = data[position:position + 4], struct.unpack("<I", data[position + 4:position + 8])[0]
        if kind == b"XMP ":
            return data[position + 8:position + 8 + length]
        position += 8 + length + (length & 1)
    return None


RAW_XMP = {"JPEG": jpeg_app1_xmp, "PNG": png_itxt_xmp, "WEBP": webp_xmp_chunk}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_label_sits_where_each_format_keeps_xmp_and_pillow_reads_it_back(headshot, fmt):
    delivered = render_headshot(headshot, size=320, fmt=fmt)
    raw = RAW_XMP[fmt](delivered.data)
    assert raw is not None, f"no XMP where {fmt} keeps it"
    with Image.open(io.BytesIO(delivered.data)) as image:
        assert image.info["xmp"] == raw
    label = parse_label(raw)
    assert label.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert label.creator_tool == PRODUCT and label.creators == (PRODUCT,)
    assert label.ai_system == f"{PRODUCT} (studio backend)"
    assert "AI-generated" in label.description


def test_label_is_namespace_correct_xml():
    from lxml import etree

    root = etree.fromstring(ai_label_xmp().split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0])
    description = root.find(f"{{{NS['rdf']}}}RDF/{{{NS['rdf']}}}Description")
    assert description.get(f"{{{NS['Iptc4xmpExt']}}}DigitalSourceType") == TRAINED_ALGORITHMIC_MEDIA
    assert description.get(f"{{{NS['xmp']}}}CreatorTool") == PRODUCT
    assert root.tag == f"{{{NS['x']}}}xmpmeta"


def test_the_reader_goes_by_namespace_not_by_prefix():
    """Another tool may write the same fields with other prefixes and as elements: still the same label."""
    packet = f"""<a:xmpmeta xmlns:a="adobe:ns:meta/"><r:RDF xmlns:r="{NS['rdf']}">
      <r:Description xmlns:ext="{NS['Iptc4xmpExt']}" xmlns:t="{NS['xmp']}">
        <ext:DigitalSourceType>{TRAINED_ALGORITHMIC_MEDIA}</ext:DigitalSourceType><t:CreatorTool>Other</t:CreatorTool>
      </r:Description></r:RDF></a:xmpmeta>""".encode()
    label = parse_label(packet)
    assert label.ai_generated and label.creator_tool == "Other"
    wrong = packet.replace(NS["Iptc4xmpExt"].encode(), b"http://example.com/not-iptc/")
    assert not parse_label(wrong).ai_generated


def test_an_image_without_xmp_has_no_label():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    assert read_label(buffer.getvalue()) is None


# Wired in: the pull API's file endpoint and the ZIP export ------------------------------------------------------


def test_headshot_file_api_serves_the_labelled_image_with_an_etag_and_304(tenant, headshot):
    client = client_for(tenant.admin)
    url = tenant_url("headshot-file", tenant.org, headshot.pk)

    master = client.get(url)
    assert master.status_code == 200 and master["Content-Type"] == "image/png"
    data = b"".join(master.streaming_content)
    assert read_label(data).ai_generated
    assert Image.open(io.BytesIO(data)).size == (1024, 1280)
    assert master["ETag"] == delivery_etag(headshot, fmt="PNG")

    sized = client.get(url, {"size": 512})
    data = b"".join(sized.streaming_content)
    assert sized["Content-Type"] == "image/jpeg" and Image.open(io.BytesIO(data)).size == (512, 640)
    assert read_label(data).ai_generated

    again = client.get(url, {"size": 512}, HTTP_IF_NONE_MATCH=sized["ETag"])
    assert again.status_code == 304 and again["ETag"] == sized["ETag"]
    assert client.get(url, {"size": 256}, HTTP_IF_NONE_MATCH=sized["ETag"]).status_code == 200

    wrong = client.get(url, {"size": 300})
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_size"


def test_zip_export_images_carry_the_label(tenant, headshot):
    headshot_approve(headshot=headshot)
    response = client_for(tenant.admin).get(tenant_url("headshot-export", tenant.org))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    images = [name for name in archive.namelist() if name != "manifest.csv"]
    assert images
    for name in images:
        data = archive.read(name)
        assert read_label(data).ai_generated
        assert Image.open(io.BytesIO(data)).size == (1024, 1280)


# C2PA -----------------------------------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Headshot Platform tests")])


def _key_usage(**enabled) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
             "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{name: enabled.get(name, False) for name in names})


@pytest.fixture(scope="module")
def signing_chain(tmp_path_factory):
    """A throwaway root CA and an end-entity signing certificate with what C2PA asks of one: not self-signed,
    CA:false, digitalSignature key usage, an allowed EKU (emailProtection), key identifiers."""
    now = datetime.datetime.now(datetime.UTC)
    root_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = (x509.CertificateBuilder().subject_name(_name("Test Root CA")).issuer_name(_name("Test Root CA"))
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    signer = (x509.CertificateBuilder().subject_name(_name("Headshot signer")).issuer_name(root.subject)
              .public_key(signer_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(_key_usage(digital_signature=True), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
              .sign(root_key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("c2pa")
    pem = serialization.Encoding.PEM
    (folder / "chain.pem").write_bytes(signer.public_bytes(pem) + root.public_bytes(pem))
    (folder / "signer.key").write_bytes(signer_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                                 serialization.NoEncryption()))
    return {"cert": str(folder / "chain.pem"), "key": str(folder / "signer.key"),
            "root": root.public_bytes(pem).decode()}


@pytest.fixture
def signing(settings, signing_chain):
    settings.C2PA_SIGN_CERT, settings.C2PA_SIGN_KEY = signing_chain["cert"], signing_chain["key"]
    settings.C2PA_SIGN_ALG, settings.C2PA_TSA_URL = "es256", ""
    return signing_chain


def read_trusting(data: bytes, fmt: str, root_pem: str) -> dict:
    """Read the manifest as a validator that trusts our test root would (production trusts a real CA)."""
    context = c2pa.Context.from_dict({"trust": {"trust_anchors": root_pem}, "verify": {"verify_trust": True}})
    with c2pa.Reader(MIME[fmt], io.BytesIO(data), context=context) as reader:
        return {"state": reader.get_validation_state(), "manifest": reader.get_active_manifest(),
                "results": reader.get_validation_results()}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_c2pa_manifest_round_trip_says_created_by_a_trained_algorithm(headshot, signing, fmt):
    delivered = render_headshot(headshot, size=512, square=True, fmt=fmt)
    read = read_trusting(delivered.data, fmt, signing["root"])

    assert read["state"] == "Trusted", json.dumps(read["results"])
    manifest = read["manifest"]
    actions = [a for assertion in manifest["assertions"] if assertion["label"].startswith("c2pa.actions")
               for a in assertion["data"]["actions"]]
    assert [a["action"] for a in actions] == ["c2pa.created"]
    assert actions[0]["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert manifest["claim_generator_info"][0]["name"] == PRODUCT
    assert manifest["signature_info"]["common_name"] == "Headshot signer"
    # The XMP label is still there, and the image is what was asked for.
    assert read_label(delivered.data).ai_generated
    with Image.open(io.BytesIO(delivered.data)) as image:
        assert image.size == (512, 512) and image.format == fmt


def test_c2pa_signed_bytes_fail_validation_when_tampered_with(headshot, signing):
    data = bytearray(render_headshot(headshot, size=256, square=True).data)
    data[-200] ^= 0xFF  # a bit of the image data, after the manifest
    read = read_trusting(bytes(data), "JPEG", signing["root"])
    assert read["state"] == "Invalid"


def test_c2pa_signing_respects_byte_limits_and_makes_the_etag_weak(headshot, signing):
    preset = DESTINATION_PRESETS["microsoft365"]
    delivered = preset.render(headshot)
    assert len(delivered.data) <= preset.max_bytes
    assert c2pa_signing.read_manifest(delivered.data, "JPEG")["manifest"] is not None

    plain = render_headshot(headshot, size=1024, square=True)
    limit = len(plain.data) // 3
    small = render_headshot(headshot, size=1024, square=True, max_bytes=limit)
    assert len(small.data) <= limit and c2pa_signing.read_manifest(small.data, "JPEG") is not None
    # Random salts in the manifest: equivalent, not identical bytes, so the tag is weak (and 304s still work).
    assert plain.etag.startswith('W/"') and plain.etag == delivery_etag(headshot, size=1024, square=True)


def test_etag_changes_when_the_signing_certificate_is_configured(headshot, settings, signing_chain):
    unsigned = delivery_etag(headshot, size=512)
    settings.C2PA_SIGN_CERT, settings.C2PA_SIGN_KEY = signing_chain["cert"], signing_chain["key"]
    assert delivery_etag(headshot, size=512) != unsigned


def test_without_a_certificate_there_is_no_manifest_but_the_xmp_label_stays(headshot, settings):
    settings.C2PA_SIGN_CERT = settings.C2PA_SIGN_KEY = ""
    delivered = render_headshot(headshot, size=256, square=True, fmt="PNG")
    assert c2pa_signing.read_manifest(delivered.data, "PNG") is None
    assert read_label(delivered.data).ai_generated
    assert delivered.etag.startswith('"')


def test_half_configured_signing_fails_loudly(headshot, settings, signing_chain):
    settings.C2PA_SIGN_CERT, settings.C2PA_SIGN_KEY = signing_chain["cert"], ""
    with pytest.raises(ImproperlyConfigured, match="both C2PA_SIGN_CERT and C2PA_SIGN_KEY"):
        render_headshot(headshot, size=256)
    settings.C2PA_SIGN_KEY, settings.C2PA_SIGN_ALG = signing_chain["key"], "md5"
    with pytest.raises(ImproperlyConfigured, match="C2PA_SIGN_ALG"):
        render_headshot(headshot, size=256)
    settings.C2PA_SIGN_ALG, settings.C2PA_SIGN_CERT = "es256", "/nonexistent/chain.pem"
    with pytest.raises(ImproperlyConfigured, match="can't be read"):
        delivery_etag(headshot, size=256)
