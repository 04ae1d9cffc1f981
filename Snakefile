# Was this artist's music used to train that model?
# corpus -> splits -> train -> features -> mia, di -> figures, metrics.json
import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.19")


# params.yaml is the study; --configfile and --config override it key by key (nested keys
# merge). A config file that is a whole study of its own says `standalone: true` and is used
# alone, so that a tiny test study does not inherit the full study's corpora and models.
if not config.get("standalone"):
    if not os.path.exists("params.yaml"):
        raise WorkflowError(
            f"no params.yaml in {os.getcwd()}: --config and --configfile override it; a whole "
            "study of its own says `standalone: true`"
        )

    configfile: "params.yaml"


# The report opens on this page: the headline table (results/summary/headline.csv).
report: "workflow/report/workflow.rst"


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


# Where the stages of dvc.yaml end: the corpora, then everything per model (up to its DI).
rule all_corpora:
    input:
        corpus_outputs(),


rule all_models:
    input:
        model_outputs(),
