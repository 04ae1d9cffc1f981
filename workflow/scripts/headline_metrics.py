from audio_di.io import log_to, read_table, write_json
from audio_di.steps.reporting import headline
from audio_di.tables import CALIBRATION, COLLECTION_AUC, MIA_METRICS, PVALUE_VS_N, VERDICTS

with log_to(snakemake.log[0]):
    write_json(
        headline(
            read_table(snakemake.input.mia, MIA_METRICS),
            read_table(snakemake.input.verdicts, VERDICTS),
            read_table(snakemake.input.curves, PVALUE_VS_N),
            read_table(snakemake.input.calibration, CALIBRATION),
            read_table(snakemake.input.collection_auc, COLLECTION_AUC),
            snakemake.params.references,
            frozenset(snakemake.params.controls),
            snakemake.params.methods,
        ),
        snakemake.output[0],
    )
