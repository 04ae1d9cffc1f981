"""Membership attacks: per-clip features computed through the model adapters. registry is the
table of attacks (torch-free); extraction runs them over clips."""
