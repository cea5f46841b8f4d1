"""The data values of literals, for the OWL 2 RL datatype rules the rule engine applies
(OWL 2 Profiles, section 4.3, Table 8: dt-type2, dt-eq, dt-diff, dt-not-type).

A literal's value is a hashable key: two literals denote the same data value exactly when
their keys are equal, and a literal whose lexical form is outside its datatype's lexical
space (or whose value is outside the datatype's range) has no value: it is ill-typed.
Only the datatypes below are known, with the value spaces OWL 2 gives them (numbers of
xsd:decimal and its subtypes are one space, owl:real's; xsd:float and xsd:double are two
more, disjoint from it and from each other; the string types are one space). The
caller refuses the other datatypes of OWL 2 RL's datatype map (dates, binaries, URIs, XML
literals) rather than guess. Datatypes outside the map (xsd:duration, xsd:date, custom
ones) have no OWL 2 RL datatype rule: a literal of one has no value OWL RL knows, and a
type triple naming one is a plain class membership."""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from rdflib import OWL, RDF, RDFS, XSD, Literal, URIRef

Value = tuple[object, ...]  # (space, ...): ("real", Fraction), ("float", bytes), ...

# OWL 2 RL's datatype map (OWL 2 Profiles, section 4.2), with RDF 1.1's rdf:langString (what
# RDF 1.1 makes of a literal with a language tag): the datatypes the dt-* rules are about.
OWL2_DATATYPES: frozenset[URIRef] = frozenset({
    RDF.PlainLiteral, RDF.XMLLiteral, RDF.langString, RDFS.Literal, OWL.real, OWL.rational,
    XSD.decimal, XSD.integer, XSD.nonNegativeInteger, XSD.nonPositiveInteger,
    XSD.positiveInteger, XSD.negativeInteger, XSD.long, XSD.int, XSD.short, XSD.byte,
    XSD.unsignedLong, XSD.unsignedInt, XSD.unsignedShort, XSD.unsignedByte, XSD.float,
    XSD.double, XSD.string, XSD.normalizedString, XSD.token, XSD.language, XSD.Name,
    XSD.NCName, XSD.NMTOKEN, XSD.boolean, XSD.hexBinary, XSD.base64Binary, XSD.anyURI,
    XSD.dateTime, XSD.dateTimeStamp})

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_RATIONAL = re.compile(r"[+-]?[0-9]+/0*[1-9][0-9]*")
_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([Ee][+-]?[0-9]+)?|[+-]?INF|NaN")
_LANGUAGE = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*")
# XML 1.0 (fifth edition) NameStartChar and NameChar, for xsd:Name, NCName and NMTOKEN.
_START = ("A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
          "\u200c-\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
          "\U00010000-\U000effff")
_CHAR = _START + r"\-.0-9\u00b7\u0300-\u036f\u203f-\u2040"
_NAME = re.compile(f"[:{_START}][:{_CHAR}]*")
_NCNAME = re.compile(f"[{_START}][{_CHAR}]*")
_NMTOKEN = re.compile(f"[:{_CHAR}]+")

_INTEGER_RANGES: dict[URIRef, tuple[int | None, int | None]] = {
    XSD.integer: (None, None), XSD.nonNegativeInteger: (0, None),
    XSD.positiveInteger: (1, None), XSD.nonPositiveInteger: (None, 0),
    XSD.negativeInteger: (None, -1), XSD.long: (-2**63, 2**63 - 1),
    XSD.int: (-2**31, 2**31 - 1), XSD.short: (-2**15, 2**15 - 1), XSD.byte: (-2**7, 2**7 - 1),
    XSD.unsignedLong: (0, 2**64 - 1), XSD.unsignedInt: (0, 2**32 - 1),
    XSD.unsignedShort: (0, 2**16 - 1), XSD.unsignedByte: (0, 2**8 - 1)}


def _normalized(s: str) -> bool:
    return not any(c in s for c in "\t\n\r")


def _token(s: str) -> bool:
    return _normalized(s) and s == s.strip(" ") and "  " not in s


def _string_in(check: Callable[[str], bool]) -> Callable[[Value], bool]:
    return lambda v: v[0] == "string" and check(str(v[1]))


def _integer_in(low: int | None, high: int | None) -> Callable[[Value], bool]:
    def member(v: Value) -> bool:
        if v[0] != "real" or not isinstance(v[1], Fraction) or v[1].denominator != 1:
            return False
        n = v[1].numerator
        return (low is None or n >= low) and (high is None or n <= high)
    return member


# Each known datatype's value space, as a test on a value.
_MEMBER: dict[URIRef, Callable[[Value], bool]] = {
    RDFS.Literal: lambda v: True,
    RDF.PlainLiteral: lambda v: v[0] in ("string", "lang"),
    RDF.langString: lambda v: v[0] == "lang",
    OWL.real: lambda v: v[0] == "real",
    OWL.rational: lambda v: v[0] == "real",
    XSD.decimal: lambda v: v[0] == "real",  # every real a literal can write is a decimal
    XSD.float: lambda v: v[0] == "float",
    XSD.double: lambda v: v[0] == "double",
    XSD.boolean: lambda v: v[0] == "boolean",
    XSD.string: _string_in(lambda s: True),
    XSD.normalizedString: _string_in(_normalized),
    XSD.token: _string_in(_token),
    XSD.language: _string_in(lambda s: _LANGUAGE.fullmatch(s) is not None),
    XSD.Name: _string_in(lambda s: _NAME.fullmatch(s) is not None),
    XSD.NCName: _string_in(lambda s: _NCNAME.fullmatch(s) is not None),
    XSD.NMTOKEN: _string_in(lambda s: _NMTOKEN.fullmatch(s) is not None),
    **{d: _integer_in(lo, hi) for d, (lo, hi) in _INTEGER_RANGES.items()},
}
KNOWN: frozenset[URIRef] = frozenset(_MEMBER)


def is_datatype(node: object) -> bool:
    """Whether ``node`` is in OWL 2 RL's datatype map (so typing a literal with it is
    checked, dt-not-type)."""
    return node in OWL2_DATATYPES


def datatype(lit: Literal) -> URIRef:
    """The literal's datatype as RDF 1.1 gives it (a plain literal is an xsd:string)."""
    if lit.language:
        return RDF.langString
    return URIRef(lit.datatype) if lit.datatype else XSD.string


def _binary(lexical: str, fmt: str) -> Value | None:
    space = "float" if fmt == ">f" else "double"
    if lexical == "NaN":
        return (space, "NaN")
    if lexical.lstrip("+-") == "INF":
        return (space, "-INF" if lexical.startswith("-") else "INF")
    exact = Decimal(lexical)
    try:
        packed = struct.pack(fmt, float(exact))
    except OverflowError:
        return None  # beyond the largest finite xsd:float: outside its value space
    rounded = struct.unpack(fmt, packed)[0]
    if rounded in (float("inf"), float("-inf")) or (rounded == 0 and exact != 0):
        return None  # beyond IEEE 754's range, or below its smallest denormal
    return (space, packed)


def _lexical(lexical: str, dt: URIRef) -> Value | None:
    if dt in _INTEGER_RANGES:
        return ("real", Fraction(int(lexical))) if _INTEGER.fullmatch(lexical) else None
    if dt == XSD.decimal:
        return ("real", Fraction(Decimal(lexical))) if _DECIMAL.fullmatch(lexical) else None
    if dt == OWL.rational:
        return ("real", Fraction(lexical)) if _RATIONAL.fullmatch(lexical) else None
    if dt in (XSD.float, XSD.double):
        if not _FLOAT.fullmatch(lexical):
            return None
        return _binary(lexical, ">f" if dt == XSD.float else ">d")
    if dt == XSD.boolean:
        if lexical not in ("true", "false", "1", "0"):
            return None
        return ("boolean", lexical in ("true", "1"))
    if dt == RDF.PlainLiteral:
        text, at, tag = lexical.rpartition("@")
        if not at:
            return None
        if not tag:
            return ("string", text)
        return ("lang", text, tag.lower()) if _LANGUAGE.fullmatch(tag) else None
    return ("string", lexical)  # the string types: their own facets are checked below


# Datatypes whose literals this module can read (owl:real has no literals: every literal
# typed with it is ill-typed; rdfs:Literal names no lexical space). Not xsd:token nor
# xsd:normalizedString: rdflib rewrites their whitespace as it parses them (XSD's
# whiteSpace facet), so the lexical form OWL 2 judges is lost; their value spaces are known.
READABLE: frozenset[URIRef] = frozenset(
    (KNOWN - {RDFS.Literal, XSD.token, XSD.normalizedString}) | {OWL.rational})


def value(lit: Literal) -> Value | None:
    """The data value ``lit`` denotes, or None when it is ill-typed. Its datatype must be
    in ``READABLE``."""
    dt = datatype(lit)
    if dt == RDF.langString:
        return ("lang", str(lit), str(lit.language).lower())
    if dt == OWL.real:
        return None
    try:
        v = _lexical(str(lit), dt)
    except (InvalidOperation, ValueError, ZeroDivisionError):
        return None
    return v if v is not None and _MEMBER[dt](v) else None


def member(v: Value, dt: URIRef) -> bool:
    """Whether the value ``v`` is in the value space of ``dt`` (one of ``KNOWN``)."""
    return _MEMBER[dt](v)


def datatypes_of(v: Value) -> frozenset[URIRef]:
    """Every known datatype whose value space holds ``v`` (the rule dt-type2)."""
    return frozenset(d for d, test in _MEMBER.items() if test(v))
