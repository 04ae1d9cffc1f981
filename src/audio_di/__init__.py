"""Membership and dataset inference for audio generative models."""

__version__ = "0.1.0"
