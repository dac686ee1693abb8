"""The expression vocabulary, the one definition, and the mapping from each dataset's names.

Every module that names expressions (datasets, the web app, the evaluation, the command
line) takes them from here.
"""

from __future__ import annotations

from pixelfes.exceptions import DatasetError

__all__ = ["BASIC_EXPRESSIONS", "EMOTIONS", "EXPRESSIONS", "normalise_expression"]

#: The six basic emotions (every expression but neutral), in a fixed order.
EMOTIONS = ("happy", "sad", "surprise", "anger", "disgust", "fear")
#: Neutral plus the six basic expressions, in a fixed order.
BASIC_EXPRESSIONS = ("neutral", *EMOTIONS)
#: Every canonical name: the basic ones plus contempt (only CK+ has it).
EXPRESSIONS = (*BASIC_EXPRESSIONS, "contempt")

_ALIASES = {
    # neutral
    "neutral": "neutral",
    "calm": "neutral",
    # happy (London calls it "smiling", CK+ "happiness")
    "happy": "happy",
    "happiness": "happy",
    "smiling": "happy",
    "smile": "happy",
    # sad
    "sad": "sad",
    "sadness": "sad",
    # surprise
    "surprise": "surprise",
    "surprised": "surprise",
    # anger
    "anger": "anger",
    "angry": "anger",
    # disgust
    "disgust": "disgust",
    "disgusted": "disgust",
    # fear
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    # contempt (CK+ only)
    "contempt": "contempt",
    # Taiwanese database letter codes (5th character of PPTVESS.jpg)
    "a": "neutral",
    "b": "happy",
    "c": "sad",
    "d": "anger",
    "e": "disgust",
    "f": "fear",
    "g": "surprise",
}


def normalise_expression(label: str) -> str:
    """Return the canonical name (one of :data:`EXPRESSIONS`) of a dataset's label.

    Case and surrounding white space are ignored. Accepts the canonical names, the
    adjective/noun variants the datasets use (``happiness``, ``smiling``, ``sadness``,
    ``surprised``, ``angry``, ``disgusted``, ``fearful``), CK+'s folder names and the
    Taiwanese database's letter codes ``a``..``g``.

    Raises
    ------
    DatasetError
        For an unknown label; the message lists the valid names.
    """
    if not isinstance(label, str):
        raise DatasetError(f"expression label must be a string, got {type(label).__name__}")
    key = label.strip().lower()
    try:
        return _ALIASES[key]
    except KeyError:
        aliases = sorted(set(_ALIASES) - set(EXPRESSIONS))
        raise DatasetError(
            f"unknown expression label {label!r}; valid names: {', '.join(EXPRESSIONS)} "
            f"(also accepted: {', '.join(aliases)})"
        ) from None
