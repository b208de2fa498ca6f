"""Tagging syllable sentences with a saved checkpoint: batched by length, dynamic padding, no grad."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .checkpoint import load_crf, load_preprocessing
from .config import PreprocessingConfig
from .data import SentenceEncoder, assemble_word_predictions, decode_words, softmax

__all__ = ["PRECISIONS", "TaggedSentence", "Tagger", "plan_batches"]


@dataclass(frozen=True)
class TaggedSentence:
    tags: list[str]  # one per syllable token
    scores: list[float]  # probability of the predicted tag of the word each syllable belongs to



# Inference precisions (predict.py --precision; benchmarks/predict_speed.py measures each against fp32):
# bf16 casts the weights (fast where the CPU or GPU computes bf16 natively, e.g. AVX512-BF16/AMX);
# int8 runs the model on ONNX Runtime with int8 linear layers (`int8.int8_model`; CPU only).
PRECISIONS = ("fp32", "bf16", "int8")


def plan_batches(lengths: Sequence[int], batch_size: int, max_padding: float = 0.1) -> list[list[int]]:
    """Indices of `lengths` grouped into batches: longest first, at most `batch_size` per batch.

    A batch is closed early when padding to its longest input would exceed `max_padding` of its
    real tokens: sorting alone still pads 32 inputs of 150 down to 60 subwords to 150, and a
    PhoBERT-base-sized model's compute grows with the padded tokens.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    real = 0
    for i in order:
        if current and (
            len(current) >= batch_size or (len(current) + 1) * lengths[current[0]] > (1 + max_padding) * (real + lengths[i])
        ):
            batches.append(current)
            current, real = [], 0
        current.append(i)
        real += lengths[i]
    if current:
        batches.append(current)
    return batches



class Tagger:
    """Predicts syllable BIO tags with a token-classification checkpoint.

    Each sentence's words are decoded as the best valid IOB2 sequence (`decoding.viterbi_iob2`). A
    checkpoint with a CRF (`ensemble.json`) pools the encoder's and the CRF's per-syllable label
    probabilities first (`ensemble.pooled_sentence`); `decode` is the encoder alone.
    """

    def __init__(self, model, tokenizer, prep: PreprocessingConfig, batch_size: int = 32, crf=None,
                 crf_weight: float = 0.0):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.id2label = {int(k): v for k, v in model.config.id2label.items()}
        self.labels = [self.id2label[i] for i in range(len(self.id2label))]
        self.encoder = SentenceEncoder(tokenizer, self.labels, prep)
        self.batch_size = batch_size
        self.crf = crf
        self.crf_weight = crf_weight

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, batch_size: int = 32, precision: str = "fp32",
                        device=None) -> Tagger:
        """Load a checkpoint folder onto `device` (default: the CPU) in `precision` (`PRECISIONS`)."""
        import torch
        from transformers import AutoModelForTokenClassification

        from .modeling import load_tokenizer

        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
        if precision == "int8" and device is not None and torch.device(device).type != "cpu":
            raise ValueError(f"precision int8 runs on the CPU (ONNX Runtime), not on {device}; use bf16 there")
        model_dir = Path(model_dir)
        if not (model_dir / "config.json").is_file():
            raise FileNotFoundError(f"{model_dir}: no config.json; pass a folder written by train.py")
        prep = load_preprocessing(model_dir)
        weights = model_dir / "model.safetensors"
        if not weights.is_file():
            raise FileNotFoundError(f"{weights}: missing; the checkpoint is incomplete: copy it again or retrain")
        model = None
        if precision == "int8":  # made once by `antq-ner export --precision int8`: no torch weights to load
            from transformers import AutoConfig

            from .int8 import exported_int8

            try:
                config = AutoConfig.from_pretrained(str(model_dir))
            except Exception as e:  # noqa: BLE001 -- json and transformers raise their own kinds
                raise ValueError(f"{model_dir}: cannot read config.json ({type(e).__name__}: {e}); copy the "
                                 "checkpoint again or retrain") from None
            model = exported_int8(model_dir, config)
        try:
            if model is None:
                model = AutoModelForTokenClassification.from_pretrained(str(model_dir))
        except Exception as e:  # noqa: BLE001 -- safetensors, json and torch each raise their own kinds
            raise ValueError(
                f"{model_dir}: cannot load the model ({type(e).__name__}: {e}); config.json or {weights.name} "
                "is damaged (a truncated copy?): copy the checkpoint again or retrain"
            ) from None
        try:
            tokenizer = load_tokenizer(model_dir)
        except Exception as e:  # noqa: BLE001 -- each tokenizer class fails its own way on a missing file
            present = sorted(p.name for p in model_dir.iterdir() if "token" in p.name or p.suffix in (".txt", ".codes"))
            raise ValueError(
                f"{model_dir}: cannot load the tokenizer ({type(e).__name__}: {e}); its files here: "
                f"{', '.join(present) or 'none'} (PhoBERT needs vocab.txt and bpe.codes, other models "
                "tokenizer.json): copy the checkpoint again or retrain"
            ) from None
        if precision == "int8":
            from .int8 import OnnxTokenClassifier, int8_model

            if not isinstance(model, OnnxTokenClassifier):
                model = int8_model(model)  # made at this load (seconds); `antq-ner export` makes it once
        else:
            model = model.to(torch.bfloat16 if precision == "bf16" else torch.float32)
            if device is not None:
                model = model.to(device)
        crf, crf_weight = load_crf(model_dir)
        return cls(model, tokenizer, prep, batch_size, crf, crf_weight)

    def word_distributions(self, sentences: Sequence[Sequence[str]]) -> list[tuple[np.ndarray, list[tuple[int, int]]]]:
        """Per sentence: each word's probabilities over the labels (words × labels), and the word spans."""
        import torch

        features, spans = [], []
        for index, tokens in enumerate(sentences):
            feats, sp = self.encoder.encode(list(tokens))
            spans.append(sp)
            features.extend((index, f) for f in feats)
        word_probs = [np.zeros((len(sp), len(self.id2label)), dtype=np.float32) for sp in spans]
        pad, device = self.tokenizer.pad_token_id, self.model.device
        with torch.inference_mode():
            for indices in plan_batches([len(f.input_ids) for _, f in features], self.batch_size):
                batch = [features[i] for i in indices]
                width = max(len(f.input_ids) for _, f in batch)
                ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, (_, f) in enumerate(batch):
                    ids[row, : len(f.input_ids)] = torch.tensor(f.input_ids)
                    mask[row, : len(f.input_ids)] = 1
                logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float().cpu().numpy()
                assemble_word_predictions([i for i, _ in batch], [f.first_word for _, f in batch],
                                          [f.word_positions for _, f in batch], softmax(logits), out=word_probs)
        return list(zip(word_probs, spans))

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[TaggedSentence]:
        """Tags for each sentence of syllable tokens; every syllable gets exactly one prediction."""
        distributions = self.word_distributions(sentences)
        return self.decode(distributions) if self.crf is None else self.pool(sentences, distributions)

    def pool(self, sentences: Sequence[Sequence[str]], distributions) -> list[TaggedSentence]:
        """`word_distributions`' output pooled with the checkpoint's CRF (`ensemble.pooled_sentence`)."""
        from .ensemble import pooled_sentence

        return [
            TaggedSentence(*pooled_sentence(list(tokens), probs, spans, self.crf, self.labels, self.crf_weight))
            for tokens, (probs, spans) in zip(sentences, distributions)
        ]

    def decode(self, distributions: Sequence[tuple[np.ndarray, list[tuple[int, int]]]]) -> list[TaggedSentence]:
        """`word_distributions`' output as syllable tags, each with its word's probability."""
        return [TaggedSentence(*decode_words(probs, sp, self.labels)) for probs, sp in distributions]
