"""What the workflow scripts call, grouped by what they do: `features` (training and
membership features, the GPU part), `analysis` (a model's DI and its calibration),
`membership` (the per-clip MIA) and `reporting` (the claim check, headline numbers and
verdict sentence). dvc.yaml's models stage runs the first two, its analysis stage the
others; the corpus stage calls audio_di.corpus directly, and the audit (audio_di.audit) runs
them all on one catalogue.
"""
