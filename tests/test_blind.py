import numpy as np

from audio_di.blind import audio_statistics, shift_test
from audio_di.di.engine import DISettings, works_of
from audio_di.tables import BLIND_STATISTICS

SR = 16000


def tones(rng, n, gain=1.0):
    t = np.arange(SR) / SR
    freqs = rng.uniform(200, 2000, (n, 3, 1))
    audio = np.sin(2 * np.pi * freqs * t).sum(axis=1) / 3 + 0.05 * rng.normal(size=(n, SR))
    return (gain * audio).astype(np.float32)


def test_statistics_columns_and_values():
    rng = np.random.default_rng(0)
    audio = tones(rng, 4)
    audio[1] = 0.0
    stats = audio_statistics(audio, SR)
    assert list(stats.columns) == list(BLIND_STATISTICS) and len(stats) == 4
    assert np.isfinite(stats.to_numpy()).all()
    assert (stats["duration_s"] == 1.0).all()
    assert stats["silence_ratio"][1] == 1.0 and stats["silence_ratio"][0] == 0.0
    assert stats["power_db"][1] < stats["power_db"][0] - 50


def test_gain_shift_is_flagged_and_same_distribution_is_not():
    rng = np.random.default_rng(1)
    base = audio_statistics(tones(rng, 60), SR).to_numpy()
    same = audio_statistics(tones(rng, 60), SR).to_numpy()
    louder = audio_statistics(tones(rng, 60, gain=2.0), SR).to_numpy()
    works = np.repeat(np.arange(20), 3)  # three clips per work
    settings = DISettings(permutations=999)

    def p(suspect, validation):
        return shift_test(works_of(suspect, validation, works, works), settings).p

    assert p(louder, base) == 1 / 1000
    assert p(base, louder) == 1 / 1000  # quieter counts too
    assert p(same, base) > 0.05
