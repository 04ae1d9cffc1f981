"""Dataset inference: aggregate weak per-clip features over an artist's works, and test them
exactly.

engine: works, their features and the exact permutation test of each procedure; designs: the
resampled curves, nulls and contamination ablation built on it; verdict: the outcome in words.
"""
