"""The machine-readable "AI-generated" label (EU AI Act art. 50(2)) every delivered image carries, and its reader.

The label is an XMP packet with IPTC's digital source type `trainedAlgorithmicMedia` (the vocabulary C2PA, Google and
Meta read), embedded where each format keeps XMP: JPEG APP1, PNG iTXt `XML:com.adobe.xmp`, WebP `XMP ` chunk.
A C2PA manifest (teams.c2pa_signing) is added on top when a signing certificate is configured.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree
from PIL import Image, PngImagePlugin

# Part of every delivered image's ETag: bump it when the label's content changes, so caches fetch the new bytes.
LABEL_VERSION = 1
PRODUCT = "Headshot Platform"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
LABEL_DESCRIPTION = "AI-generated image: a headshot made by an AI system from the person's own photos."

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
_PNG_XMP_KEY = "XML:com.adobe.xmp"


def ai_label_xmp(*, ai_system: str | None = None) -> bytes:
    """The XMP packet: digital source type, creator tool, creator, a plain-language description, and the AI system.

    Deterministic (no dates, no random ids) so the same headshot and options always give the same bytes.
    """
    system = escape(ai_system or PRODUCT, {'"': "&quot;"})
    packet = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="{NS['x']}">
 <rdf:RDF xmlns:rdf="{NS['rdf']}">
  <rdf:Description rdf:about=""
    xmlns:Iptc4xmpExt="{NS['Iptc4xmpExt']}"
    xmlns:xmp="{NS['xmp']}"
    xmlns:dc="{NS['dc']}"
    Iptc4xmpExt:DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"
    Iptc4xmpExt:AISystemUsed="{system}"
    xmp:CreatorTool="{escape(PRODUCT)}">
   <dc:creator><rdf:Seq><rdf:li>{escape(PRODUCT)}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(LABEL_DESCRIPTION)}</rdf:li></rdf:Alt></dc:description>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"""
    return packet.encode("utf-8")


def xmp_save_params(fmt: str, xmp: bytes) -> dict:
    """Pillow save() keywords that embed the packet: `xmp=` for JPEG and WebP; PNG needs the iTXt chunk written."""
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        # Uncompressed, as the XMP spec asks, so tools scanning for the packet find it.
        info.add_itxt(_PNG_XMP_KEY, xmp.decode("utf-8"), zip=False)
        return {"pnginfo": info}
    return {"xmp": xmp}


@dataclass(frozen=True)
class Label:
    digital_source_type: str | None
    creator_tool: str | None
    creators: tuple[str, ...]
    ai_system: str | None
    description: str | None

    @property
    def ai_generated(self) -> bool:
        return self.digital_source_type == TRAINED_ALGORITHMIC_MEDIA


def read_xmp(data: bytes) -> bytes | None:
    """The XMP packet as Pillow reads it back from a JPEG, PNG or WebP file (None when there is none)."""
    with Image.open(io.BytesIO(data)) as image:
        xmp = image.info.get("xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    return xmp or None


def parse_label(xmp: bytes) -> Label:
    """Read the label's fields namespace-correctly (attribute or element form, as XMP allows either)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(xmp.strip(b"\x00"), parser)

    def value(prefix: str, name: str) -> str | None:
        tag = f"{{{NS[prefix]}}}{name}"
        for description in root.iter(f"{{{NS['rdf']}}}Description"):
            if (found := description.get(tag)) is not None:
                return found
            element = description.find(tag)
            if element is not None:
                items = element.findall(f".//{{{NS['rdf']}}}li")
                return (items[0].text if items else element.text or element.get(f"{{{NS['rdf']}}}resource"))
        return None

    creators = tuple(li.text or "" for li in root.iter(f"{{{NS['rdf']}}}li")
                     if li.getparent() is not None and li.getparent().getparent() is not None
                     and li.getparent().getparent().tag == f"{{{NS['dc']}}}creator")
    return Label(digital_source_type=value("Iptc4xmpExt", "DigitalSourceType"),
                 creator_tool=value("xmp", "CreatorTool"), creators=creators,
                 ai_system=value("Iptc4xmpExt", "AISystemUsed"), description=value("dc", "description"))


def read_label(data: bytes) -> Label | None:
    """The AI label of an image file, or None when it carries no XMP."""
    xmp = read_xmp(data)
    return parse_label(xmp) if xmp else None
