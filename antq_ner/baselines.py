"""Two non-neural baselines to set the PhoBERT scores against.

- A CRF (sklearn-crfsuite) over syllables with hand-made features: the syllable's form, shape
  and affixes, its position inside the word a segmenter (pyvi by default) groups it into, and
  its neighbours at -2..+2. Trained on the same article splits as PhoBERT.
- underthesea's bundled NER model (a CRF trained on VLSP 2016), zero-shot. It knows PER, ORG,
  LOC and MISC; only PER → PERSON and ORG → ORG are comparable with this corpus's types, so its
  other tags become O and only PERSON and ORG are scored (`UNDERTHESEA_TYPES`).

Both return syllable IOB2 tags, one per input token, always well-formed.
"""

from __future__ import annotations

import difflib
import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bio import repair_tags
from .segment import word_spans as segment_word_spans

if TYPE_CHECKING:
    from .bio import Sentence

__all__ = [
    "CRF_NAME",
    "UNDERTHESEA_NAME",
    "UNDERTHESEA_TYPES",
    "CrfTagger",
    "align_underthesea",
    "check_crfsuite_file",
    "fit_crf",
    "syllable_features",
    "train_crf",
    "underthesea_predict",
]

CRF_NAME = "CRF (sklearn-crfsuite)"
UNDERTHESEA_NAME = "underthesea NER (zero-shot)"
UNDERTHESEA_TYPES = ("PERSON", "ORG")

# underthesea's NER labels → this corpus's types; every other label (LOC, MISC) becomes O.
_UNDERTHESEA_MAP = {"PER": "PERSON", "ORG": "ORG"}


# --------------------------------------------------------------------------------------------
# Features


def _is_punct_or_symbol(token: str) -> bool:
    return bool(token) and all(unicodedata.category(ch)[0] in "PS" for ch in token)


def _shape(token: str) -> str:
    """Character classes (X upper, x lower, d digit, punctuation kept), runs cut to two: `Xx`, `dd.ddd`→`dd.dd`."""
    out: list[str] = []
    for ch in token:
        if ch.isdigit():
            c = "d"
        elif ch.isalpha():
            c = "X" if ch.isupper() else "x"
        else:
            c = ch
        if len(out) >= 2 and out[-1] == c and out[-2] == c:
            continue
        out.append(c)
    return "".join(out)


def _has_diacritic(token: str) -> bool:
    """Vietnamese letters beyond ASCII (ă, ơ, tone marks, đ): tells Vietnamese syllables from acronyms."""
    return any(ord(ch) > 127 and ch.isalpha() for ch in token)


def _token_features(token: str) -> dict[str, Any]:
    lower = token.lower()
    return {
        "lower": lower,
        "shape": _shape(token),
        "is_title": token.istitle(),
        "is_upper": token.isupper(),
        "is_digit": token.isdigit(),
        "has_digit": any(ch.isdigit() for ch in token),
        "is_punct": _is_punct_or_symbol(token),
        "has_diacritic": _has_diacritic(token),
        "prefix1": lower[:1],
        "prefix2": lower[:2],
        "prefix3": lower[:3],
        "suffix1": lower[-1:],
        "suffix2": lower[-2:],
        "suffix3": lower[-3:],
    }


def syllable_features(tokens: Sequence[str], word_spans: Sequence[tuple[int, int]]) -> list[dict[str, object]]:
    """One feature dict per syllable; `word_spans` are the segmenter's words over syllable indices.

    A syllable outside every span counts as a one-syllable word. Pure: the inputs are not touched.
    """
    n = len(tokens)
    position = ["B"] * n
    word_len = [1] * n
    for start, end in word_spans:
        for i in range(max(start, 0), min(end, n)):
            position[i] = "B" if i == start else "I"
            word_len[i] = end - start
    base = [_token_features(t) for t in tokens]
    out: list[dict[str, object]] = []
    for i in range(n):
        feats: dict[str, object] = {"bias": 1.0, **base[i]}
        feats["word_pos"] = position[i]
        feats["word_len"] = str(min(word_len[i], 4))
        feats["word_pos_len"] = f"{position[i]}{min(word_len[i], 4)}"
        for off in (-2, -1, 1, 2):
            j = i + off
            if 0 <= j < n:
                nb = base[j]
                feats[f"{off:+d}:lower"] = nb["lower"]
                feats[f"{off:+d}:shape"] = nb["shape"]
                feats[f"{off:+d}:is_title"] = nb["is_title"]
                if abs(off) == 1:
                    feats[f"{off:+d}:word_pos"] = position[j]
            elif j == -1:
                feats[f"{off:+d}:BOS"] = True
            elif j == n:
                feats[f"{off:+d}:EOS"] = True
        if i == 0:
            feats["BOS"] = True
        if i == n - 1:
            feats["EOS"] = True
        if i > 0:
            feats["-1:lower|lower"] = f"{base[i - 1]['lower']}|{base[i]['lower']}"
        if i + 1 < n:
            feats["lower|+1:lower"] = f"{base[i]['lower']}|{base[i + 1]['lower']}"
        out.append(feats)
    return out


# --------------------------------------------------------------------------------------------
# CRF


@dataclass
class CrfTagger:
    """A trained sklearn-crfsuite CRF and the segmenter its word-position features came from."""

    crf: Any
    segmenter: str = "pyvi"

    def features(self, tokens: Sequence[str]) -> list[dict[str, object]]:
        return syllable_features(tokens, segment_word_spans(list(tokens), self.segmenter))

    def save(self, path: Path) -> None:
        """The CRF's model file (crfsuite's own binary format), copied to `path`."""
        shutil.copyfile(self.crf.modelfile.name, path)

    @classmethod
    def load(cls, path: Path, segmenter: str = "pyvi") -> CrfTagger:
        import sklearn_crfsuite

        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: CRF model file not found")
        check_crfsuite_file(Path(path))
        crf = sklearn_crfsuite.CRF(model_filename=str(path))
        try:
            crf.tagger_  # noqa: B018 -- opens the file now, so a damaged one fails here, named
        except Exception as e:  # noqa: BLE001 -- crfsuite raises plain ValueError/OSError variants
            raise ValueError(f"{path}: not a readable CRF model ({e})") from None
        return cls(crf=crf, segmenter=segmenter)

    def marginals(self, tokens: Sequence[str]) -> list[dict[str, float]]:
        """Each syllable's probability of each label (forward-backward), one dict per token."""
        return self.crf.predict_marginals_single(self.features(tokens)) if tokens else []

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Syllable IOB2 tags, one list per sentence, one tag per token."""
        out: list[list[str]] = []
        for tokens in sentences:
            if not tokens:
                out.append([])
                continue
            tags = self.crf.predict_single(self.features(tokens))
            out.append(repair_tags(tags))
        return out


def check_crfsuite_file(path: Path) -> None:
    """Refuse a file that is not a whole crfsuite model before crfsuite opens it: its C reader trusts
    the header and crashes the process (segmentation fault) on a truncated file.

    The header: `lCRF`, the file's size (uint32, little-endian), `FOMC`, the version, three counts and
    five offsets into the file.
    """
    import struct

    data = path.read_bytes()
    fix = "copy the checkpoint again or retrain"
    if len(data) < 48 or data[:4] != b"lCRF" or data[8:12] != b"FOMC":
        raise ValueError(f"{path}: not a readable CRF model (no crfsuite header); {fix}")
    size, *offsets = struct.unpack_from("<I", data, 4) + struct.unpack_from("<5I", data, 28)
    if size != len(data):
        raise ValueError(f"{path}: not a readable CRF model (truncated: {len(data)} of {size} bytes); {fix}")
    if any(not 0 < off < size for off in offsets):
        raise ValueError(f"{path}: not a readable CRF model (damaged header); {fix}")


def train_crf(
    train: Sequence[Sentence],
    segmenter: str = "pyvi",
    c1: float = 0.05,
    c2: float = 0.05,
    max_iterations: int = 200,
) -> CrfTagger:
    """Train an L-BFGS CRF on syllable tags (deterministic: same data, same model)."""
    sentences = [s for s in train if s.tokens]
    if not sentences:
        raise ValueError("train_crf needs at least one non-empty sentence")
    tagger = CrfTagger(crf=None, segmenter=segmenter)
    tagger.crf = fit_crf([tagger.features(s.tokens) for s in sentences], [list(s.tags) for s in sentences],
                         c1, c2, max_iterations)
    return tagger


def fit_crf(features: Sequence[list[dict]], tags: Sequence[list[str]], c1: float = 0.05, c2: float = 0.05,
            max_iterations: int = 200):
    """An L-BFGS sklearn-crfsuite CRF fitted on feature dicts (`CrfTagger.features`): what `train_crf`
    trains, for callers that compute each sentence's features once (benchmarks/active_learning.py)."""
    import sklearn_crfsuite

    crf = sklearn_crfsuite.CRF(
        algorithm="lbfgs", c1=c1, c2=c2, max_iterations=max_iterations, all_possible_transitions=True
    )
    crf.fit(features, tags)
    return crf


# --------------------------------------------------------------------------------------------
# underthesea


def _fold(text: str) -> tuple[str, list[int]]:
    """Lowercased letters without diacritics (đ → d) and no whitespace, and each character's source index.

    underthesea rewrites some tokens before tagging (tone placement hoà → hòa, `qui` → `quy`,
    `nghành` → `ngành`); folding makes most of these identical and the rest close.
    """
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        decomposed = unicodedata.normalize("NFD", ch)
        for c in decomposed:
            if unicodedata.combining(c):
                continue
            for f in c.lower().replace("đ", "d"):
                chars.append(f)
                index.append(i)
    return "".join(chars), index


def _align_chars(ours: str, theirs: str) -> list[int]:
    """For each character of `ours`, the index of the matching character of `theirs`, or -1."""
    if ours == theirs:
        return list(range(len(ours)))
    mapping = [-1] * len(ours)
    matcher = difflib.SequenceMatcher(None, ours, theirs, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            mapping[a + k] = b + k
    return mapping


def _word_entities(tags: Sequence[str]) -> list[tuple[int, str] | None]:
    """Per underthesea word: (entity id, our type) or None; LOC/MISC dropped, orphan I- starts an entity."""
    out: list[tuple[int, str] | None] = []
    prev: tuple[int, str] | None = None
    next_id = 0
    for tag in tags:
        prefix, _, label = tag.partition("-")
        typ = _UNDERTHESEA_MAP.get(label) if prefix in ("B", "I") else None
        if typ is None:
            cur = None
        elif prefix == "I" and prev is not None and prev[1] == typ:
            cur = prev
        else:
            cur = (next_id, typ)
            next_id += 1
        out.append(cur)
        prev = cur
    return out


def align_underthesea(tokens: Sequence[str], words: Sequence[str], tags: Sequence[str]) -> list[str]:
    """Project underthesea's word-level NER tags onto our syllable tokens, matching characters.

    Each token takes what covers most of its characters (an entity, or O; a tie is O); consecutive tokens
    of one entity get B-/I-, so the result is well-formed IOB2 with exactly one tag per token.
    """
    entities = _word_entities(tags)
    ours, our_index = _fold("\n".join(tokens))
    # which token each character of the joined text belongs to
    token_of_char: list[int] = []
    for t, tok in enumerate(tokens):
        token_of_char.extend([t] * (len(tok) + 1))
    theirs_chars: list[str] = []
    theirs_entity: list[tuple[int, str] | None] = []
    for word, ent in zip(words, entities):
        folded, _ = _fold(word)
        theirs_chars.append(folded)
        theirs_entity.extend([ent] * len(folded))
    mapping = _align_chars(ours, "".join(theirs_chars))
    votes: list[dict[tuple[int, str] | None, int]] = [{} for _ in tokens]
    for k, j in enumerate(mapping):
        ent = theirs_entity[j] if j >= 0 else None
        t = token_of_char[our_index[k]]
        votes[t][ent] = votes[t].get(ent, 0) + 1
    out: list[str] = []
    prev: tuple[int, str] | None = None
    for t in range(len(tokens)):
        # most characters wins; a tie goes to O, then to the earlier entity
        ranked = sorted(votes[t].items(), key=lambda kv: (-kv[1], kv[0] is not None, kv[0] or (0, "")))
        ent = ranked[0][0] if ranked else None
        if ent is None:
            out.append("O")
        elif ent == prev:
            out.append(f"I-{ent[1]}")
        else:
            out.append(f"B-{ent[1]}")
        prev = ent
    return out


def underthesea_predict(sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    """underthesea's bundled NER on each sentence, as PERSON/ORG syllable IOB2 tags (one per token)."""
    from underthesea import ner

    out: list[list[str]] = []
    for tokens in sentences:
        if not tokens:
            out.append([])
            continue
        result = ner(" ".join(tokens))
        words = [r[0] for r in result]
        tags = [r[-1] for r in result]
        out.append(align_underthesea(tokens, words, tags))
    return out
