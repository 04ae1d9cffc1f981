"""Member / held-out splits made by work, never by clip, with leakage checks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from audio_di.seeding import named_rng
from audio_di.tables import SPLITS


class LeakageError(ValueError):
    """The same work or the same audio sits on both sides of the split."""


def make_splits(
    manifest: pd.DataFrame,
    members: list[str],
    heldout_fraction: float,
    seed: int,
    filler_artists: list[str] = (),
) -> pd.DataFrame:
    """One row per clip: artist_status (member / nonmember) and role (train / heldout).

    Every evaluated artist keeps works on both sides, so that member artists have a suspect
    set (train works) and a validation set (held-out works), and non-member artists run
    through the same procedure as a null control. Filler artists are extra training data:
    all their works are train, and they are never evaluated.

    Where the manifest has a `role` column (a user's catalogue, where the user knows what
    went into training), an artist whose clips all have a role keeps those roles; an artist
    whose clips have none gets the seeded split.
    """
    present = set(manifest["artist"])
    missing = sorted(set(members) - present)
    if missing:
        raise ValueError(f"splits: member artists {missing} have no clips in the manifest")
    if not 0 < heldout_fraction < 1:
        raise ValueError(f"splits: heldout_fraction must lie in (0, 1), got {heldout_fraction}")

    rows = []
    for artist, clips in manifest.groupby("artist", sort=True):
        works = sorted(clips["work_id"].unique())
        filler = artist in filler_artists
        roles = None if filler else _explicit_roles(artist, clips)
        if roles is None:
            if filler:
                heldout = set()
            else:
                if len(works) < 2:
                    raise ValueError(
                        f"splits: artist {artist!r} has {len(works)} work(s); "
                        "at least 2 are needed to hold one out"
                    )
                n_heldout = min(len(works) - 1, max(1, round(heldout_fraction * len(works))))
                # Seeded per artist, so that adding an artist does not reshuffle the others.
                order = named_rng(seed, artist).permutation(len(works))
                heldout = {works[i] for i in order[:n_heldout]}
            roles = np.where(clips["work_id"].isin(heldout), "heldout", "train")
        status = "member" if (filler or artist in members) else "nonmember"
        for clip_id, work_id, role in zip(clips["clip_id"], clips["work_id"], roles, strict=True):
            rows.append((clip_id, artist, work_id, status, role, filler))
    splits = pd.DataFrame(rows, columns=list(SPLITS.columns)).sort_values(
        "clip_id", ignore_index=True
    )
    check_leakage(splits, manifest)
    return splits


def _explicit_roles(artist: str, clips: pd.DataFrame) -> pd.Series | None:
    """The artist's `role` column where every clip has one, None where no clip has one."""
    if "role" not in clips.columns:
        return None
    roles = clips["role"].fillna("").astype(str)
    if (roles == "").all():
        return None
    if (roles == "").any():
        blank = clips.loc[roles == "", "clip_id"].tolist()
        raise ValueError(
            f"splits: artist {artist!r} has a role on some clips but not on {blank[:5]}; "
            "give every clip of the artist a role, or none"
        )
    bad = sorted(set(roles) - {"train", "heldout"})
    if bad:
        raise ValueError(f"splits: artist {artist!r} has role(s) {bad}; use train or heldout")
    return roles


def check_set_sizes(splits: pd.DataFrame, min_works: int) -> None:
    """Raise ValueError when an evaluated artist's suspect or validation set has fewer works
    than dataset inference needs, naming every short set with the number it has."""
    short = []
    for artist, group in evaluation_sets(splits).groupby("artist", sort=True):
        for suspect, name in ((True, "suspect"), (False, "validation")):
            works = group.loc[group["suspect"] == suspect, "work_id"].nunique()
            if works < min_works:
                short.append(f"{artist} {name} set: {works}")
    if short:
        raise ValueError(
            f"dataset inference needs at least {min_works} works in each set; too few in "
            + ", ".join(short)
        )


def check_leakage(splits: pd.DataFrame, manifest: pd.DataFrame) -> None:
    """Raise LeakageError naming the clips when a work or a sha256 is on both sides."""
    duplicated = splits["clip_id"][splits["clip_id"].duplicated()]
    if len(duplicated):
        raise LeakageError(f"duplicate clip_id in splits: {sorted(set(duplicated))[:10]}")

    roles = splits.groupby("work_id")["role"].nunique()
    split_works = roles[roles > 1].index
    if len(split_works):
        clips = splits[splits["work_id"].isin(split_works)]
        raise LeakageError(
            f"works on both sides of the split: {list(split_works)[:10]}; "
            f"clips: {clips['clip_id'].tolist()[:20]}"
        )

    merged = splits.merge(manifest[["clip_id", "sha256"]], on="clip_id", how="left", validate="1:1")
    if merged["sha256"].isna().any():
        unknown = merged.loc[merged["sha256"].isna(), "clip_id"].tolist()[:10]
        raise LeakageError(f"clips in splits but not in the manifest: {unknown}")
    sides = merged.groupby("sha256")["role"].nunique()
    shared = sides[sides > 1].index
    if len(shared):
        clips = merged[merged["sha256"].isin(shared)].sort_values("sha256")
        pairs = [
            f"{digest[:12]}: " + ", ".join(group["clip_id"] + " (" + group["role"] + ")")
            for digest, group in clips.groupby("sha256")
        ]
        raise LeakageError(
            "identical audio (same sha256) on both sides of the split: " + "; ".join(pairs[:10])
        )


def evaluation_sets(splits: pd.DataFrame) -> pd.DataFrame:
    """The evaluated clips (filler excluded), with a `suspect` flag.

    Suspect = train works (offered to training for member artists); validation = held-out works.
    """
    evaluated = splits[~splits["filler"].astype(bool)].copy()
    evaluated["suspect"] = evaluated["role"] == "train"
    return evaluated


def model_view(splits: pd.DataFrame, shadow_artists: list[str], shadow: bool) -> pd.DataFrame:
    """The corpus splits as a target model (`shadow` false) or a shadow model sees them.

    Shadow artists are works the auditor owns, there to train shadow models (di.weights): a
    target model neither trains on them nor is evaluated on them. A shadow model trains on
    their train works, as its members, and on filler, and is evaluated on them alone."""
    own = splits["artist"].isin(shadow_artists)
    if not shadow:
        return splits[~own].reset_index(drop=True)
    if not own.any():
        raise ValueError(f"splits: no clip of the shadow artists {list(shadow_artists)}")
    view = splits[own | splits["filler"].astype(bool)].copy()
    view.loc[own, "artist_status"] = "member"
    return view.reset_index(drop=True)


def trained_works(splits: pd.DataFrame, member_works: int | None, seed: int) -> pd.DataFrame:
    """The splits as a model trained on `member_works` of each member artist's train works
    sees them: the member artists' other train works are dropped, since they were neither
    trained on nor held out. None keeps every row.

    The works are a seeded draw per artist, so a larger `member_works` sees a superset.
    """
    if member_works is None:
        return splits
    offered = (splits["role"] == "train") & (splits["artist_status"] == "member")
    offered &= ~splits["filler"].astype(bool)
    dropped = []
    for artist, clips in splits[offered].groupby("artist", sort=True):
        works = sorted(clips["work_id"].unique())
        order = named_rng(seed, artist, "member_works").permutation(len(works))
        dropped += [works[i] for i in order[member_works:]]
    return splits[~(offered & splits["work_id"].isin(dropped))].reset_index(drop=True)


def training_clips(
    splits: pd.DataFrame, filler_clips: int, seed: int, members: bool = True
) -> pd.DataFrame:
    """The clips a model is trained on: member artists' train works (unless `members` is
    false, as for a reference model that must not see any evaluated clip) plus
    `filler_clips` filler clips.

    The filler subset is a seeded draw, so regimes that ask for more filler see a superset.
    """
    train = splits[splits["role"] == "train"]
    core = train[(train["artist_status"] == "member") & ~train["filler"].astype(bool)]
    core = core if members else core.iloc[:0]
    filler = train[train["filler"].astype(bool)].sort_values("clip_id")
    if filler_clips > len(filler):
        raise ValueError(
            f"regime asks for {filler_clips} filler clips but the corpus has {len(filler)}; "
            "raise filler_works_per_artist or lower filler_clips"
        )
    order = np.random.default_rng(seed).permutation(len(filler))
    chosen = filler.iloc[np.sort(order[:filler_clips])]
    return pd.concat([core, chosen]).sort_values("clip_id", ignore_index=True)
