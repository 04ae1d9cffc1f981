rule split:
    input:
        manifest=lambda wc: manifest_of(wc.corpus),
    output:
        "results/splits/{corpus}.csv",
    params:
        members=lambda wc: config["splits"][wc.corpus]["members"],
        heldout_fraction=lambda wc: config["splits"][wc.corpus]["heldout_fraction"],
        filler_artists=lambda wc: CORPORA[wc.corpus].get("filler_artists", []),
        min_works=MIN_WORKS,
        seed=config["seed"],
        code=code("split.py"),
    conda:
        STUDY_ENV
    log:
        "results/logs/split/{corpus}.log",
    script:
        "../scripts/split.py"


# The splits as one model sees them: a shadow model sees only the shadow artists (as its
# members) and filler, any other model all but the shadow artists (splits.model_view); a
# regime with `member_works` trains on only some of each member artist's train works, and
# the others leave that model's evaluation.
rule model_splits:
    input:
        lambda wc: f"results/splits/{model_corpus(wc)}.csv",
    output:
        "results/splits/models/{model}.csv",
    params:
        shadow_artists=lambda wc: shadow_artists(model_corpus(wc)),
        shadow=lambda wc: wc.model in SHADOWS,
        member_works=lambda wc: member_works(wc.model),
        min_works=MIN_WORKS,
        seed=config["seed"],
        code=code("model_splits.py"),
    priority: chain_priority
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/split/models/{model}.log",
    script:
        "../scripts/model_splits.py"
