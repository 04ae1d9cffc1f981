rule split:
    input:
        manifest=lambda wc: manifest_of(wc.corpus),
    output:
        "results/splits/{corpus}.csv",
    params:
        members=lambda wc: config["splits"][wc.corpus]["members"],
        heldout_fraction=lambda wc: config["splits"][wc.corpus]["heldout_fraction"],
        filler_artists=lambda wc: CORPORA[wc.corpus].get("filler_artists", []),
        min_works=min_works(config["di"]["methods"]),
        seed=config["seed"],
    conda:
        STUDY_ENV
    log:
        "results/logs/split/{corpus}.log",
    script:
        "../scripts/split.py"
