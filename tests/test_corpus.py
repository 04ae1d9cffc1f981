"""The embedded corpus: music21 scores rendered to clips, listed in a manifest."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf
from music21 import midi

from audio_di.audio import audio_sha256
from audio_di.corpus import music21_render
from audio_di.corpus.artists import ARTISTS
from audio_di.corpus.music21_render import list_works, render_artist, selection_order
from audio_di.tables import CORPUS_MANIFEST, FAILURES

SR = 16000


def render(out_dir, artist="essen_kinder", works=2, clip_seconds=2.0, max_clips=2, seed=0):
    return render_artist(artist, works, clip_seconds, SR, max_clips, seed, out_dir)


def work(work_id):
    artist = work_id.split("/")[0]
    return next(w for w in list_works(artist) if w.work_id == work_id)


def tone(seconds, freq):
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def midi_events(midi_bytes):
    mf = midi.MidiFile()
    mf.readstr(midi_bytes)
    return [event for track in mf.tracks for event in track.events]


@pytest.mark.parametrize("artist", sorted(ARTISTS))
def test_every_artist_lists_distinct_safe_works(artist):
    works = list_works(artist)
    assert len(works) >= 8
    assert works == list_works(artist)
    ids = [w.work_id for w in works]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith(f"{artist}/") for i in ids)
    assert all(re.fullmatch(r"[A-Za-z0-9.-]+", w.slug) for w in works)
    assert len({w.slug for w in works}) == len(works)


def test_listing_drops_second_transcriptions_of_one_tune():
    ids = {w.work_id for w in list_works("oneills1850")}
    # Tunes 732-758 are in two files by two transcribers: one work each.
    assert "oneills1850/0732-0758_bs#732" in ids
    assert "oneills1850/0732-0758_mh#732" not in ids
    assert "monteverdi/madrigal.3.1_old" not in {w.work_id for w in list_works("monteverdi")}


def test_selection_order_is_a_seeded_permutation():
    catalogue = list_works("essen_kinder")
    first = selection_order("essen_kinder", 0)
    assert first == selection_order("essen_kinder", 0)
    assert sorted(w.work_id for w in first) == sorted(w.work_id for w in catalogue)
    assert first != selection_order("essen_kinder", 1)


def test_unknown_artist_names_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match="unknown artist 'mozart'.*bach.*essen_han"):
        render(tmp_path, artist="mozart")
    with pytest.raises(ValueError, match="known artists"):
        list_works("mozart")


def test_rendering_is_deterministic_and_the_manifest_is_complete(tmp_path):
    first, failures = render(tmp_path / "a")
    second, _ = render(tmp_path / "b")

    assert list(first.columns) == list(CORPUS_MANIFEST.columns)
    assert list(failures.columns) == list(FAILURES.columns)
    assert failures.empty
    assert first.equals(second)
    assert first["work_id"].nunique() == 2
    assert first["clip_id"].is_unique and first["sha256"].is_unique
    assert (first.groupby("work_id").size() <= 2).all()
    assert set(first["caption"]) == {"German children's song, piano"}
    for row in first.itertuples():
        assert re.fullmatch(r"essen_kinder__[A-Za-z0-9.-]+__\d{3}", row.clip_id)
        assert row.path == f"essen_kinder/{row.clip_id}.flac"
        audio, sr = sf.read(tmp_path / "a" / row.path, dtype="float32")
        assert sr == SR == row.sample_rate
        assert audio.ndim == 1 and len(audio) == 2 * SR and row.seconds == 2.0
        assert audio_sha256(tmp_path / "a" / row.path) == row.sha256
        assert (tmp_path / "a" / row.path).read_bytes() == (tmp_path / "b" / row.path).read_bytes()


def test_parts_play_the_artist_programs_and_default_tempo():
    bach = ARTISTS["bach"]
    events = midi_events(
        music21_render.score_to_midi(music21_render.parse_work(work("bach/bwv10.7")), bach, 5.0)
    )
    programs = {e.data for e in events if e.type == midi.ChannelVoiceMessages.PROGRAM_CHANGE}
    assert programs == {19}
    # The chorale gives no tempo: the default, in microseconds per quarter note.
    tempos = [e for e in events if e.type == midi.MetaEvents.SET_TEMPO]
    assert [midi.getNumber(e.data, 3)[0] for e in tempos] == [round(60e6 / bach.default_bpm)]


def test_only_the_needed_seconds_are_rendered():
    # A Palestrina movement lasts minutes; six seconds are asked for.
    score = music21_render.parse_work(work("palestrina/Agnus_01"))
    audio = music21_render.render_midi(
        music21_render.score_to_midi(score, ARTISTS["palestrina"], 6.0), SR
    )
    assert 5.0 * SR < len(audio) < 9.0 * SR
    assert np.isclose(np.abs(audio).max(), music21_render.PEAK)


@pytest.mark.parametrize("work_id", ["palestrina/Agnus_01", "palestrina/Kyrie_10"])
def test_a_humdrum_opening_plays_as_the_whole_file(work_id, monkeypatch):
    """The opening alone gives the MIDI bytes of the whole file's parse, without parsing
    the whole file."""
    palestrina, piece = ARTISTS["palestrina"], work(work_id)
    whole = music21_render.score_to_midi(music21_render.parse_work(piece), palestrina, 12.0)

    def unread(w):
        raise AssertionError("the whole file was parsed")

    monkeypatch.setattr(music21_render, "parse_work", unread)
    assert music21_render.opening_midi(piece, palestrina, 12.0) == whole


def test_an_opening_too_short_for_the_seconds_asked_falls_back_to_the_whole_file(monkeypatch):
    # Agnus_01's 16 opening measures of 4/2 last 64 s at 120 bpm, its 37 measures 148 s.
    palestrina, piece = ARTISTS["palestrina"], work("palestrina/Agnus_01")
    parse, parsed = music21_render.parse_work, []
    whole = music21_render.score_to_midi(parse(piece), palestrina, 100.0)

    def counted(w):
        parsed.append(w)
        return parse(w)

    monkeypatch.setattr(music21_render, "parse_work", counted)
    assert music21_render.opening_midi(piece, palestrina, 100.0) == whole
    assert parsed == [piece]


def test_only_a_plain_humdrum_file_is_cut_to_its_opening():
    spines = "**kern\t**kern\n*M2/2\t*M2/2\n"
    measures = "".join(f"={i}\t={i}\n2c\t2e\n2d\t2f\n" for i in range(1, 6))
    plain = spines + measures + "*-\t*-\n!!!COM: someone\n"
    head = music21_render.humdrum_head(plain, 3)
    assert head == spines + measures.split("=4")[0] + "*-\t*-\n!!!COM: someone\n"
    assert music21_render.humdrum_head(plain, 5) is None  # nothing to cut
    later = {
        "a tempo": "*MM60\t*MM60\n",
        "a split spine": "*\t*^\n",
        "a repeat": "=:|!\t=:|!\n",
        "a section expansion": "*>A\t*>A\n",
    }
    for name, line in later.items():
        text = plain.replace("=5\t=5\n", line + "=5\t=5\n")
        assert music21_render.humdrum_head(text, 3) is None, name


def test_a_malformed_work_is_reported_and_replaced(tmp_path, monkeypatch):
    # This reel's repeat signs do not pair up; music21 cannot expand them.
    bad, good = work("ryans_mammoth/BoyneHuntReel"), work("ryans_mammoth/AcaciaReel")
    monkeypatch.setattr(music21_render, "selection_order", lambda artist, seed: [bad, good])
    manifest, failures = render(tmp_path, artist="ryans_mammoth", works=1)
    assert set(manifest["work_id"]) == {good.work_id}
    assert failures["work_id"].tolist() == [bad.work_id]
    assert failures["reason"].str.startswith("ExpanderException").all()


def test_a_work_that_fails_to_parse_is_replaced_by_the_next(tmp_path, monkeypatch):
    order = selection_order("essen_kinder", 0)
    parse = music21_render.parse_work

    def parse_but_first(w):
        if w == order[0]:
            raise OSError("unreadable")
        return parse(w)

    monkeypatch.setattr(music21_render, "parse_work", parse_but_first)
    manifest, failures = render(tmp_path)
    assert failures.to_dict("records") == [
        {"artist": "essen_kinder", "work_id": order[0].work_id, "reason": "OSError: unreadable"}
    ]
    assert set(manifest["work_id"]) == {order[1].work_id, order[2].work_id}


def test_asking_more_works_than_the_corpus_holds_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="josquin: 9 works asked, but the corpus holds only 8"):
        render(tmp_path, artist="josquin", works=9)


def test_too_few_renderable_works_is_an_error(tmp_path, monkeypatch):
    two = selection_order("essen_kinder", 0)[:2]
    monkeypatch.setattr(music21_render, "selection_order", lambda artist, seed: two)
    with pytest.raises(RuntimeError, match=r"essen_kinder: 2 works asked.*0 of the 2.*too short"):
        render(tmp_path, clip_seconds=1000.0)


def test_silent_and_repeated_clips_are_dropped(tmp_path, monkeypatch):
    # Rest, then the same second of sound twice: one clip of it survives.
    audio = np.concatenate([np.zeros(SR, np.float32), tone(1.0, 440), tone(1.0, 440)])
    first = selection_order("essen_kinder", 0)[:1]
    monkeypatch.setattr(music21_render, "render_midi", lambda midi_bytes, sr: audio.copy())
    monkeypatch.setattr(music21_render, "selection_order", lambda artist, seed: first)
    manifest, _ = render(tmp_path, works=1, clip_seconds=1.0, max_clips=3)
    assert len(manifest) == 1
    clip, _ = sf.read(tmp_path / manifest["path"][0], dtype="float32")
    assert np.abs(clip).max() > 0.4


def test_a_work_that_sounds_like_an_earlier_one_is_replaced(tmp_path, monkeypatch):
    sounds = iter([tone(2.0, 440), tone(2.0, 440), tone(2.0, 660)])
    monkeypatch.setattr(music21_render, "render_midi", lambda midi_bytes, sr: next(sounds))
    manifest, failures = render(tmp_path, max_clips=1)
    order = selection_order("essen_kinder", 0)
    assert manifest["work_id"].tolist() == [order[0].work_id, order[2].work_id]
    assert failures["work_id"].tolist() == [order[1].work_id]
    assert failures["reason"].str.startswith("duplicate audio").all()
    kept = {p.name for p in (tmp_path / "essen_kinder").iterdir()}
    assert kept == {f"{clip_id}.flac" for clip_id in manifest["clip_id"]}
