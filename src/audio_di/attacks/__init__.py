"""Membership attacks: per-clip features computed through the model adapters."""

from audio_di.attacks.registry import ATTACKS, Attack, extract_features, feature_sign

__all__ = ["ATTACKS", "Attack", "extract_features", "feature_sign"]
