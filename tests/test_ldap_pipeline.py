"""The hand-encoded requests of the pipelined moves read back, through ldap3's own ASN.1 spec, as what was meant:
a DN with Unicode or an escaped comma keeps its RDN whole."""

from __future__ import annotations

from ldap3.protocol.rfc4511 import ModifyDNRequest, ModifyRequest
from pyasn1.codec.ber import decoder

from provisioning.ldap_pipeline import REPLACE, modify_dn_request, modify_request, split_rdn


def test_the_rdn_is_split_at_the_first_unescaped_comma() -> None:
    assert split_rdn("uid=lan.nt@gialai.gov.vn,ou=SKHCN,dc=gialai,dc=gov,dc=vn") == (
        "uid=lan.nt@gialai.gov.vn",
        "ou=SKHCN,dc=gialai,dc=gov,dc=vn",
    )
    assert split_rdn(r"cn=Nguyễn\, Văn,ou=X,dc=vn") == (r"cn=Nguyễn\, Văn", "ou=X,dc=vn")
    assert split_rdn("cn=a\\\\,ou=x") == ("cn=a\\\\", "ou=x")  # an escaped backslash, then a real comma
    assert split_rdn("dc=vn") == ("dc=vn", "")


def test_a_move_decodes_as_ldap3_would_have_sent_it() -> None:
    old = "uid=hoa.lt@gialai.gov.vn,ou=HDUCCO,dc=gialai,dc=gov,dc=vn"
    new = r"cn=Lê\, Thị Hoa,ou=XA-IA-GRAI,dc=gialai,dc=gov,dc=vn"  # an RDN holding an escaped comma
    raw = modify_dn_request(old, new)
    assert raw[0] == 0x6C  # [APPLICATION 12]
    request, rest = decoder.decode(raw, asn1Spec=ModifyDNRequest().subtype(implicitTag=ModifyDNRequest.tagSet[0]))
    assert rest == b""
    assert str(request["entry"]) == old
    assert str(request["newrdn"]) == r"cn=Lê\, Thị Hoa"
    assert bool(request["deleteoldrdn"]) is True
    assert str(request["newSuperior"]) == "ou=XA-IA-GRAI,dc=gialai,dc=gov,dc=vn"


def test_a_modify_carries_unicode_values_and_long_lengths() -> None:
    dn = "uid=an.nv@gialai.gov.vn,ou=SKHCN,dc=gialai,dc=gov,dc=vn"
    aliases = [f"bi-danh-{i}@xa-ia-grai.gialai.gov.vn" for i in range(40)]  # > 127 bytes: long-form lengths
    raw = modify_request(dn, {"cn": (REPLACE, ["Nguyễn Văn Ân"]), "congvuMailAlias": (REPLACE, aliases)})
    request, rest = decoder.decode(raw, asn1Spec=ModifyRequest().subtype(implicitTag=ModifyRequest.tagSet[0]))
    assert rest == b""
    assert str(request["object"]) == dn
    changes = {
        str(c["modification"]["type"]): (int(c["operation"]), [bytes(v).decode() for v in c["modification"]["vals"]])
        for c in request["changes"]
    }
    assert changes == {"cn": (REPLACE, ["Nguyễn Văn Ân"]), "congvuMailAlias": (REPLACE, aliases)}
