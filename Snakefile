# Was this artist's music used to train that model?
# corpus -> splits -> train -> features -> mia, di -> figures, metrics.json
from snakemake.utils import min_version

min_version("9.19")


# A config given on the command line replaces params.yaml instead of being merged into it,
# so that a tiny test study does not inherit the full study's models.
if not config:

    configfile: "params.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/corpus.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/mia.smk"
include: "workflow/rules/di.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        study_outputs(),
    default_target: True


# Where the stages of dvc.yaml end: the corpora, then everything up to the features.
rule all_corpora:
    input:
        corpus_outputs(),


rule all_features:
    input:
        feature_outputs(),
