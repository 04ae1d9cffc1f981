"""What the workflow scripts call, grouped by DVC stage, so that each stage depends on its own
steps: `features` (training and membership features, the GPU part) and `analysis` (analysis:
MIA, DI and calibration; reporting: the claim check, headline numbers and verdict sentence).
The corpus stage calls audio_di.corpus directly, and the audit (audio_di.audit) runs both
stages' steps on one catalogue.
"""
