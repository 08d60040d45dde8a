"""The XMP packet: the IPTC AI label and the record written as RDF, merged into another tool's packet, read back."""

from __future__ import annotations

import re
from collections.abc import Iterable
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from .container import EmbedMode
from .record import SOFTWARE, SOFTWARE_NAME, GenerationRecord

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
"""IPTC's term for media made by a generative model (the machine-readable AI label)."""

_NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_NS_XMP = "http://ns.adobe.com/xap/1.0/"
_NS_DC = "http://purl.org/dc/elements/1.1/"
_NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
_NS_SEEDREAM = "urn:seedream-widgets:xmp:1/"

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return escape(_XML_INVALID.sub("\ufffd", text))


def _xml_attr(text: str) -> str:
    return escape(_XML_INVALID.sub("\ufffd", text), {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


_XMP_MARK = "<!-- seedream-widgets: this description is replaced when the image is embedded again -->"
_OUR_DESCRIPTION = re.compile(r"[ \t]*" + re.escape(_XMP_MARK) + r".*?</rdf:Description>\n?", re.DOTALL)


def _xmp_description(record: GenerationRecord, mode: EmbedMode, taken: Iterable[str] = ()) -> str:
    """Our ``rdf:Description``; properties named in ``taken`` (local names) are left to the packet that has them."""
    attributes = [("Iptc4xmpExt:DigitalSourceType", DIGITAL_SOURCE_TYPE), ("Iptc4xmpExt:AISystemUsed", record.model)]
    if record.version:
        attributes.append(("Iptc4xmpExt:AISystemVersionUsed", record.version))
    attributes.append(("xmp:CreatorTool", record.software))
    elements = []
    if mode == "full":
        if record.created_at:
            attributes.append(("xmp:CreateDate", record.created_at))
        if record.prediction_id:
            attributes.append(("dc:identifier", record.prediction_id))
        elements = [
            ("AIPromptInformation", f"   <Iptc4xmpExt:AIPromptInformation>{_xml_text(record.prompt)}"
                                    "</Iptc4xmpExt:AIPromptInformation>"),
            ("description", "   <dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">"
                            f"{_xml_text(record.prompt)}</rdf:li></rdf:Alt></dc:description>"),
            ("record", f"   <seedream:record>{_xml_text(record.to_json())}</seedream:record>"),
        ]
    skip = set(taken)
    attributes = [(name, value) for name, value in attributes if name.partition(":")[2] not in skip]
    elements = [(name, text) for name, text in elements if name not in skip]
    namespaces = [("Iptc4xmpExt", _NS_IPTC_EXT), ("xmp", _NS_XMP)]
    if mode == "full":
        namespaces += [("dc", _NS_DC), ("seedream", _NS_SEEDREAM)]
    head = "\n    ".join([f'xmlns:{p}="{uri}"' for p, uri in namespaces]
                         + [f'{name}="{_xml_attr(value)}"' for name, value in attributes])
    body = "".join(text + "\n" for _, text in elements)
    return f"  {_XMP_MARK}\n  <rdf:Description rdf:about=\"\"\n    {head}>\n{body}  </rdf:Description>\n"


def xmp_packet(record: GenerationRecord, mode: EmbedMode, existing: str | None = None) -> tuple[str, str]:
    """The XMP packet to write, and a note when the image had one.

    A packet of ours (an image embedded before) is replaced. Another tool's packet is kept and
    our description added to it, without the properties it already has (an XMP property is
    written once: its own DigitalSourceType or CreatorTool stays).
    """
    if existing and f'x:xmptk="{SOFTWARE_NAME}' in existing:
        existing = None  # a packet we made: replaced whole
    elif existing:
        existing = _OUR_DESCRIPTION.sub("", existing)  # ours, added to another tool's packet before
    if existing and "</rdf:RDF>" in existing:
        theirs = xmp_values(existing)
        at = existing.rindex("</rdf:RDF>")
        kept = sorted(set(theirs) - {"record"})
        note = "the image already had an XMP packet: ours was added to it" + (
            f" (its own {', '.join(kept)} kept)" if kept else "")
        return existing[:at] + _xmp_description(record, mode, theirs) + existing[at:], note
    ours = _xmp_description(record, mode)
    note = "the image's XMP packet could not be read: it was replaced" if existing else ""
    packet = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
              f'<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="{SOFTWARE}">\n'
              f' <rdf:RDF xmlns:rdf="{_NS_RDF}">\n{ours} </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end="w"?>')
    return packet, note


def xmp_values(packet: str) -> dict[str, str]:
    """The properties this package reads from an XMP packet (attributes or simple elements), by local name."""
    if "<!DOCTYPE" in packet or "<!ENTITY" in packet:
        return {}  # no DTDs in XMP; refusing them keeps entity expansion out of the parser
    body = packet[packet.find("<x:xmpmeta"):] if "<x:xmpmeta" in packet else packet
    body = body[:body.rfind(">") + 1] if "?xpacket end" not in body else body[:body.find("<?xpacket end")]
    try:
        root = ElementTree.fromstring(body.strip())
    except ElementTree.ParseError:
        return {}
    wanted = {f"{{{_NS_IPTC_EXT}}}DigitalSourceType": "DigitalSourceType",
              f"{{{_NS_IPTC_EXT}}}AISystemUsed": "AISystemUsed",
              f"{{{_NS_IPTC_EXT}}}AISystemVersionUsed": "AISystemVersionUsed",
              f"{{{_NS_IPTC_EXT}}}AIPromptInformation": "AIPromptInformation",
              f"{{{_NS_XMP}}}CreatorTool": "CreatorTool", f"{{{_NS_XMP}}}CreateDate": "CreateDate",
              f"{{{_NS_DC}}}identifier": "identifier", f"{{{_NS_DC}}}description": "description",
              f"{{{_NS_SEEDREAM}}}record": "record"}
    values: dict[str, str] = {}
    for description in root.iter(f"{{{_NS_RDF}}}Description"):
        for name, value in description.attrib.items():
            if name in wanted:
                values.setdefault(wanted[name], value)
        for child in description:
            if child.tag in wanted:
                leaf = next((li for li in child.iter(f"{{{_NS_RDF}}}li")), child)
                values.setdefault(wanted[child.tag], leaf.text or "")
    return values
