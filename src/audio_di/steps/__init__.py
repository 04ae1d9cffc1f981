"""What the workflow scripts call, one module per DVC stage, so that each stage depends on its
own step: `features` (training and membership features, the GPU part) and `analysis` (MIA,
DI, calibration, the claim check and headline numbers). The corpus stage calls
audio_di.corpus directly, and the audit (audio_di.audit) runs both steps on one catalogue.
"""
