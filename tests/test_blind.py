import numpy as np

from audio_di.blind import audio_statistics
from audio_di.di.engine import DISettings, shift_test, works_of
from audio_di.tables import BANDS, SHIFT_STATISTICS

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
    assert list(stats.columns) == list(SHIFT_STATISTICS) and len(stats) == 4
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


def noise(rng, n, seconds=1.0):
    return (0.1 * rng.normal(size=(n, int(SR * seconds)))).astype(np.float32)


def test_a_low_pass_moves_the_cutoff_and_the_top_bands_only():
    rng = np.random.default_rng(2)
    audio = noise(rng, 3)
    spectrum = np.fft.rfft(audio, axis=1)
    spectrum[:, np.fft.rfftfreq(SR, 1 / SR) > 4000] = 0  # a brick wall, as codecs cut
    filtered = np.fft.irfft(spectrum, SR, axis=1).astype(np.float32)
    before, after = audio_statistics(audio, SR), audio_statistics(filtered, SR)
    assert (before["cutoff_hz"] > 7900).all()
    assert (after["cutoff_hz"].between(4000, 4200)).all()
    top = [f"band{k}_db" for k in range(BANDS - 2, BANDS)]
    assert ((before[top] - after[top]) > 10).all(axis=None)
    assert (abs(before["band0_db"] - after["band0_db"]) < 0.5).all()


def test_a_gain_moves_every_band_level_by_its_decibels_and_leaves_flatness():
    rng = np.random.default_rng(3)
    audio = tones(rng, 3)
    before, after = audio_statistics(audio, SR), audio_statistics(audio * 10 ** (-6 / 20), SR)
    bands = [f"band{k}_db" for k in range(BANDS)]
    np.testing.assert_allclose(before[bands] - after[bands], 6.0, atol=0.2)
    np.testing.assert_allclose(before["flatness_db"], after["flatness_db"], atol=1e-6)


def test_flatness_tells_noise_from_tones():
    rng = np.random.default_rng(4)
    white, tonal = audio_statistics(noise(rng, 2), SR), audio_statistics(tones(rng, 2), SR)
    assert (white["flatness_db"] > -6).all() and (tonal["flatness_db"] < -15).all()


def test_a_low_passed_set_is_flagged_by_the_shift_statistics():
    rng = np.random.default_rng(5)
    base, masters = tones(rng, 60), tones(rng, 60)
    spectrum = np.fft.rfft(masters, axis=1)
    spectrum[:, np.fft.rfftfreq(SR, 1 / SR) > 6000] = 0
    released = np.fft.irfft(spectrum, SR, axis=1).astype(np.float32)
    works = np.repeat(np.arange(20), 3)
    stats = [audio_statistics(a, SR)[list(SHIFT_STATISTICS)].to_numpy() for a in (base, released)]
    p = shift_test(works_of(*stats, works, works), DISettings(permutations=999)).p
    assert p == 1 / 1000


def test_mp3_moves_the_cutoff_and_the_flatness_at_the_audits_rate():
    # LAME's band limit lies above 16 kHz: the statistics see it at 44.1 kHz (the audit's
    # clip rate), through the shift benchmark's own codec chain.
    from shift_guard import RELEASE_RATE, mp3

    rng = np.random.default_rng(6)
    t = np.arange(RELEASE_RATE) / RELEASE_RATE
    freqs = rng.uniform(200, 2000, (3, 3, 1))
    hiss = 0.01 * rng.normal(size=(3, RELEASE_RATE))
    audio = (0.5 * (np.sin(2 * np.pi * freqs * t).sum(axis=1) / 3 + hiss)).astype(np.float32)
    before = audio_statistics(audio, RELEASE_RATE)
    after = audio_statistics(mp3(audio, RELEASE_RATE, 128), RELEASE_RATE)
    assert (before["cutoff_hz"] > 22000).all() and (after["cutoff_hz"] < 20500).all()
    assert ((before["flatness_db"] - after["flatness_db"]) > 3).all()
