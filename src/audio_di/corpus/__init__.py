"""Corpora of clips: real scores from the music21 corpus rendered to audio."""

from audio_di.corpus.music21_render import (
    ARTISTS,
    FAILURE_COLUMNS,
    MANIFEST_COLUMNS,
    Artist,
    Work,
    list_works,
    render_artist,
    selection_order,
)

__all__ = [
    "ARTISTS",
    "FAILURE_COLUMNS",
    "MANIFEST_COLUMNS",
    "Artist",
    "Work",
    "list_works",
    "render_artist",
    "selection_order",
]
