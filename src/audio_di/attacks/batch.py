"""What extraction hands every attack of a batch: one dict under the private settings key
BATCH, holding the reference model (BATCH["reference"]) and whatever the attacks cache there."""

from __future__ import annotations

from audio_di.models.base import Adapter

BATCH = "_batch"


def reference_of(settings: dict, adapter: Adapter, kind: type[Adapter], attack: str) -> Adapter:
    """The batch's reference model, checked: of the attack's family, at the target's rate."""
    ref = (settings.get(BATCH) or {}).get("reference")
    if ref is None:
        raise ValueError(
            f"attack {attack!r} needs a reference model: "
            f"call extract_features(..., reference=<{kind.__name__}>)"
        )
    if not isinstance(ref, kind):
        raise ValueError(
            f"the reference model must be of kind {kind.__name__}, not {type(ref).__name__}"
        )
    if ref.sample_rate != adapter.sample_rate:
        raise ValueError(
            f"the reference model runs at {ref.sample_rate} Hz but the audio is at "
            f"{adapter.sample_rate} Hz (the target model's rate)"
        )
    return ref
