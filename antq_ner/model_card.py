"""The checkpoint's model card (README.md): data, labels, split, scores, intended use, limitations."""

from __future__ import annotations

from pathlib import Path

from .backbone import BUNDLED, bundled_name
from .config import Config
from .provenance import REPO

__all__ = ["base_model_licence", "model_card"]

_LICENCES = {"vinai/phobert-base": "MIT", "vinai/phobert-base-v2": "AGPL-3.0", "vinai/phobert-large": "MIT"}


def base_model_licence(name_or_path: str | None) -> tuple[str, str]:
    """(licence identifier for the card's metadata, sentence for its text)."""
    if name_or_path is None:
        return "mit", "MIT (no pre-trained weights: randomly initialised, trained on this project's corpus only)"
    if bundled_name(name_or_path) in BUNDLED:
        b = BUNDLED[bundled_name(name_or_path)]
        return b.licence.lower(), f"{b.licence}, inherited from {b.source} (weights shipped by the {b.package} package)"
    for name, licence in _LICENCES.items():
        if name_or_path.rstrip("/").endswith(name.split("/")[1]):
            return licence.lower(), f"{licence}, inherited from {name}"
    return "other", "that of the base model (vinai/phobert-base: MIT; vinai/phobert-base-v2: AGPL-3.0)"


def _input_sentence(cfg: Config) -> str:
    p = cfg.preprocessing
    if p.tokenizer_input == "segmented-words":
        tones = "old-style tone placement (`hoà`, `uỷ`)" if p.tone_normalization else "tone placement as written"
        return f"Input is word-segmented Vietnamese (`Bộ_Công_an`), NFC, {tones}, at most {p.max_subwords} subwords per call;"
    return f"Input is Vietnamese text as written (NFC; syllables, no word segmentation), at most {p.max_subwords} subwords per call;"


def shown_path(path: str | Path) -> str:
    """A path as the card shows it: relative to the repository when inside it, else its last two
    parts (the card travels; the training machine's folders mean nothing elsewhere)."""
    path = Path(path)
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return Path(*path.parts[-2:]).as_posix()


def _extra(cfg: Config, metrics: dict) -> str:
    dirs = cfg.data.extra_train_dirs
    reports = sum(len(list(d.glob("*.conll"))) for d in dirs)
    out = f" and the {reports} reports of {', '.join(shown_path(d) for d in dirs)}" if dirs else ""
    if metrics.get("augmented_train_sentences"):
        out += f", plus {metrics['augmented_train_sentences']} mention-replacement copies"
    return out


def _crf_note(cfg: Config) -> str:
    if cfg.model.crf_weight is None:
        return ""
    return (
        f"\n\nThis checkpoint pools the encoder with a CRF over syllable features and {cfg.model.crf_segmenter}'s "
        f"words (`crf.crfsuite`, weight "
        f"{cfg.model.crf_weight} in `ensemble.json`, trained on the same sentences): `predict.py` and "
        "`evaluate.py` use both; a plain `pipeline` below uses the encoder alone."
    )


def _example(cfg: Config) -> str:
    if cfg.preprocessing.tokenizer_input == "segmented-words":
        return "Bộ_trưởng Tô_Lâm dự hội_nghị của Bộ_Công_an"
    return "Bộ trưởng Tô Lâm dự hội nghị của Bộ Công an"


def _pipeline_use(cfg: Config) -> str:
    if cfg.preprocessing.tokenizer_input == "segmented-words":  # PhoBERT: a slow tokenizer, no word ids
        return f"""```python
from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline
model = AutoModelForTokenClassification.from_pretrained("<this folder>")
tokenizer = AutoTokenizer.from_pretrained("<this folder>")
ner = pipeline("token-classification", model=model, tokenizer=tokenizer)
ner("{_example(cfg)}")  # word-segmented input; its subwords are labelled one by one
```"""
    return f"""In `pipeline("token-classification")` give it the project's syllables, not raw text (the model
learnt one label per syllable, on its first subword; on raw text the pipeline's own grouping splits
names and numbers): `antq_ner.hf_pipeline.pipeline_entities` does this and returns predict.py's
entities, offsets into the text. It takes each syllable's most probable label where predict.py takes
the best valid sequence (and pools the CRF, where the checkpoint has one), so the two differ where
the model is unsure.

```python
from transformers import pipeline
from antq_ner.hf_pipeline import pipeline_entities  # pip install antq-ner: the syllable tokenizer
ner = pipeline("token-classification", model="<this folder>")
pipeline_entities(ner, "{_example(cfg)}")
```"""


def model_card(cfg: Config, labels: list[str], metrics: dict) -> str:
    split = metrics["split"]
    licence_id, licence_text = base_model_licence(cfg.model.name_or_path)
    base = cfg.model.name_or_path or "offline PhoBERT-architecture model (random init, "
    if bundled_name(base) in BUNDLED:
        b = BUNDLED[bundled_name(base)]
        base = f"{b.source} (`{base}`: the {b.package} package's 4-bit weights, dequantised; vocabulary trimmed)"
    if cfg.model.name_or_path is None:
        o = cfg.model.offline
        base += f"{o.num_hidden_layers} layers, hidden {o.hidden_size}, BPE vocabulary learned from the training articles)"
    rows = "\n".join(
        f"| {e['epoch']} | {e['precision']:.3f} | {e['recall']:.3f} | {e['f1']:.3f} |" for e in metrics["dev_per_epoch"]
    )
    return f"""---
language: vi
license: {licence_id}
pipeline_tag: token-classification
tags: [ner, {"phobert" if cfg.preprocessing.tokenizer_input == "segmented-words" else "xlm-r-vocabulary"}, vietnamese]
---

# {cfg.run_name}: Vietnamese NER for public-security news reports

A token classifier for {len(cfg.data.labels)} entity types in Vietnamese news reports on the movement
"Toàn dân bảo vệ an ninh Tổ quốc": {', '.join(cfg.data.labels)} (BIO tags: {', '.join(labels)}).

- Base model: {base}
- Licence: {licence_text}
- Training data: annotated articles {', '.join(split['train'])}{_extra(cfg, metrics)} ({metrics['sentences']['train']} sentences);
  best epoch chosen on {', '.join(split['dev'])}; held out for testing: {', '.join(split['test'])}.
- Split `{split['name']}` of `{shown_path(cfg.data.splits_file)}`; annotation rules in `annotations/GUIDELINES.md`.

## Scores
Best epoch {metrics['best_epoch']}, chosen on the dev scores of the {metrics['dev_system']}: {metrics['dev_metric']}: precision {metrics['best_dev']['precision']:.3f},
recall {metrics['best_dev']['recall']:.3f}, F1 {metrics['best_dev']['f1']:.3f}. Test scores: `evaluate.py --model <this folder>`.

| epoch | dev precision | dev recall | dev F1 |
|---|---|---|---|
{rows}

## Use
{_input_sentence(cfg)} `preprocessing.json` records the settings. The project's
`predict.py --model <this folder>` takes raw text and does all of this (sentence splitting,
segmentation with {cfg.preprocessing.segmenter}, windows), returning character offsets.{_crf_note(cfg)}

{_pipeline_use(cfg)}

## Intended use and limitations
For extracting people, ranks and titles, organisations, programmes and quantities from Vietnamese
public-security and mass-mobilisation news.
Trained on {metrics['sentences']['train']} sentences ({metrics['syllables_train']} syllables): expect errors on other genres, on names unseen in training, and on long organisation names. Scores on one
held-out article are noisy; `evaluate.py --cv` gives the cross-validated figure. Not for decisions
about individuals.
"""
