"""gfd-kg: the OECD GfD 2008 Tunis seminar on partnerships for e-government as a
knowledge graph."""

__version__ = "0.1.0"
