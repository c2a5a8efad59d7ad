"""Rewrite OSM files whose object ids OSRM cannot store.

OSRM packs OSM node ids into 40 bits and reads them unsigned, so the negative ids that
editors and extract tools give to new objects (``id="-102458"``) make ``osrm-extract``
abort ("exceeds the 40-bit packed storage limit"). The shared Portland extract has them.
:func:`renumber_negative_ids` writes a copy where every negative id ``-k`` of a type
becomes ``max_positive_id + k`` of that type, with way node lists and relation members
remapped to match. Files without negative ids never pass through here.
"""

from __future__ import annotations

from pathlib import Path

import osmium

__all__ = ["renumber_negative_ids"]


def renumber_negative_ids(source: Path, target: Path) -> int:
    """Copy ``source`` to ``target`` with non-negative ids; returns how many were changed."""
    max_id = {"n": 0, "w": 0, "r": 0}
    for obj in osmium.FileProcessor(str(source)):
        kind = obj.type_str()
        max_id[kind] = max(max_id[kind], obj.id)

    def remap(kind: str, ref: int) -> int:
        return ref if ref >= 0 else max_id[kind] - ref

    changed = 0
    writer = osmium.SimpleWriter(str(target), overwrite=True)
    try:
        for obj in osmium.FileProcessor(str(source)):
            kind = obj.type_str()
            new_id = remap(kind, obj.id)
            changed += new_id != obj.id
            if kind == "n":
                writer.add_node(obj.replace(id=new_id))
            elif kind == "w":
                nodes = [remap("n", ref.ref) for ref in obj.nodes]
                writer.add_way(obj.replace(id=new_id, nodes=nodes))
            else:
                members = [(m.type, remap(m.type, m.ref), m.role) for m in obj.members]
                writer.add_relation(obj.replace(id=new_id, members=members))
    finally:
        writer.close()
    return changed
