"""Feature extraction split into shards, one cluster job each, merged back into one table.

A shard is a run of whole feature batches: a clip meets the same batch neighbours whether its
model is scored in one job or in many, so merged shards equal an unsharded run bit for bit.
"""

from __future__ import annotations

import pandas as pd


def shard_clips(n_clips: int, batch_size: int, shards: int, shard: int) -> slice:
    """The clips (positions in the evaluated-clip order) that shard `shard` of `shards` scores.

    Batches are dealt out as evenly as they go; a shard left without a batch (more shards
    than batches) gets an empty slice.
    """
    if batch_size < 1 or shards < 1:
        raise ValueError(f"batch_size ({batch_size}) and shards ({shards}) must be at least 1")
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not one of 0..{shards - 1}")
    batches = -(-n_clips // batch_size)
    base, extra = divmod(batches, shards)
    first = shard * base + min(shard, extra)
    count = base + (shard < extra)
    return slice(min(first * batch_size, n_clips), min((first + count) * batch_size, n_clips))


def merge_shards(tables: list[pd.DataFrame], names: list[str]) -> pd.DataFrame:
    """Shard tables, given in shard order, as one table; `names` label them in errors.

    Empty shards are left out. Every other shard must have the same columns in the same order
    and no clip twice, or the shards come from different settings; the merged table keeps
    the first one's attrs (the member signs, which follow from the columns).
    """
    if len(tables) != len(names):
        raise ValueError(f"{len(tables)} tables for {len(names)} names")
    scored = [(t, n) for t, n in zip(tables, names, strict=True) if len(t)]
    if not scored:
        raise ValueError(f"no clip in any shard: {names}")
    columns = list(scored[0][0].columns)
    for table, name in scored[1:]:
        if list(table.columns) != columns:
            raise ValueError(
                f"{name}: columns {list(table.columns)} differ from {scored[0][1]}'s {columns}"
            )
    merged = pd.concat([t for t, _ in scored], ignore_index=True)
    repeated = merged["clip_id"][merged["clip_id"].duplicated()].tolist()
    if repeated:
        raise ValueError(f"clips in more than one shard of {names}: {repeated[:10]}")
    merged.attrs = dict(scored[0][0].attrs)
    return merged
