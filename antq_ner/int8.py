"""`--precision int8`: the checkpoint exported to ONNX and run by ONNX Runtime, its linear layers int8.

The recipe, chosen by measurement (docs/inference.md, "Reduced precision"): ONNX Runtime's dynamic int8 (one
scale per weight tensor, activations quantised per batch) for every matrix product with a weight
except the FFN output projections (the products that read the GELU); those, the most sensitive,
are block-wise int8 (`MatMulNBits`: 8-bit weights and activations with one scale per block of 128
inputs), which follows the GELU's outliers. ONNX Runtime's int8 kernels use the CPU's integer
dot-product instructions (VNNI) where torch's dynamic quantisation gained little.
`benchmarks/int8_candidates.py` compares this recipe with the alternatives built from the same parts.

Made once: `antq-ner export --precision int8 CKPT` writes `CKPT/onnx/` as Optimum lays ONNX models
out (`model.onnx`, the quantised `model_quantized.onnx`) with `export.json`, which records the hash
of the weights it was made from; loading it takes a second or two. Without it the files are made in
a temporary folder at every load (12 s for the default checkpoint, 21 s at PhoBERT-base size on 2
cores) and deleted once the session has read them. A folder made from other weights (the run was
trained again) is refused by name.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

__all__ = [
    "ONNX_DIR", "OnnxTokenClassifier", "export_int8", "export_onnx", "exported_int8", "ffn_output_products",
    "int8_model", "onnx_session", "quantize_blockwise_int8", "quantize_dynamic_int8", "quantize_onnx",
]

ONNX_DIR = "onnx"  # inside the checkpoint, as Optimum names it
QUANTIZED_FILE = "model_quantized.onnx"
EXPORT_RECORD = "export.json"

GELU_OPS = ("Gelu", "BiasGelu", "FastGelu")


def _import_onnx():
    try:
        import onnx
        import onnxruntime
    except ImportError as e:
        raise ValueError(
            f"--precision int8 runs on ONNX Runtime, which is not installed ({e.name} is missing): "
            "pip install 'antq-ner[int8]' (or use --precision bf16)"
        ) from None
    return onnx, onnxruntime


def export_onnx(model, path: Path) -> None:
    """`model` (a token classifier, eval mode) as ONNX, dynamic in batch size and sequence length."""
    import torch

    ids = torch.ones(2, 16, dtype=torch.long)  # any shape: both axes are exported as dynamic
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    # The exporter reports its steps on stdout and its registry on the log: stdout is predict.py's
    # output, so both are kept quiet.
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onnx_log.setLevel(logging.ERROR)
        try:
            program = torch.onnx.export(
                model.eval(), (), kwargs={"input_ids": ids, "attention_mask": torch.ones_like(ids)},
                dynamo=True, verbose=False, input_names=["input_ids", "attention_mask"], output_names=["logits"],
                dynamic_shapes={"input_ids": {0: batch, 1: sequence}, "attention_mask": {0: batch, 1: sequence}},
            )
        finally:
            onnx_log.setLevel(level)
    program.save(str(path))


def ffn_output_products(graph) -> list[str]:
    """Names of the MatMul nodes that read a GELU (each layer's FFN output projection), in graph order."""
    producer = {out: node for node in graph.node for out in node.output}
    return [
        node.name for node in graph.node
        if node.op_type == "MatMul" and node.input[0] in producer and producer[node.input[0]].op_type in GELU_OPS
    ]


@contextlib.contextmanager
def _quantisers():
    """ONNX Runtime's quantisers, quiet. One of their modules calls logging.basicConfig(level=INFO)
    when imported and they log on the root logger, which would print their every step and every
    later INFO record of other libraries: the root logger is put back as it was afterwards."""
    handlers, level = logging.root.handlers[:], logging.root.level
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        logging.root.setLevel(logging.ERROR)
        yield quantize_dynamic, QuantType, MatMulNBitsQuantizer
    finally:
        logging.root.handlers[:] = handlers
        logging.root.setLevel(level)


def quantize_dynamic_int8(src: Path, dst: Path, exclude: Sequence[str] = ()) -> None:
    """`src` with every matrix product that has a weight, except the nodes named in `exclude`, dynamic
    int8 (one scale per weight tensor; activations quantised per call, one scale per tensor)."""
    onnx, _ = _import_onnx()
    with _quantisers() as (quantize_dynamic, QuantType, _):
        quantize_dynamic(
            str(src), str(dst), weight_type=QuantType.QInt8, nodes_to_exclude=list(exclude),
            # MatMulConstBOnly: only products with a weight (the attention's activation × activation
            # products stay fp32); DefaultTensorType: exporter outputs shape inference cannot type are float.
            extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT},
        )


def quantize_blockwise_int8(src: Path, dst: Path, include: Sequence[str] | None = None) -> None:
    """`src` with the fp32 products that have a weight (only those named in `include`, if given)
    block-wise int8: `MatMulNBits`, 8-bit weights, and at accuracy level 4 activations quantised to
    int8 with one scale per block of 128 inputs rather than per tensor."""
    onnx, _ = _import_onnx()
    with _quantisers() as (_, _, MatMulNBitsQuantizer):
        quantizer = MatMulNBitsQuantizer(onnx.load(str(src)), bits=8, block_size=128, is_symmetric=True,
                                         accuracy_level=4, nodes_to_include=None if include is None else list(include))
        quantizer.process()
        quantizer.model.save_model_to_file(str(dst), use_external_data_format=False)


def quantize_onnx(src: Path, dst: Path, layers: int) -> None:
    """int8 copy of `src` at `dst`, the recipe in the module's doc: dynamic int8 everywhere but the
    FFN output projections, which are block-wise."""
    onnx, _ = _import_onnx()
    ffn_out = ffn_output_products(onnx.load(str(src)).graph)
    if len(ffn_out) != layers:
        raise ValueError(
            f"int8: expected one FFN output projection (a MatMul reading a GELU) per layer, {layers}, found "
            f"{len(ffn_out)} in the exported graph; this architecture is not supported: use --precision bf16"
        )
    dynamic = dst.with_name(dst.stem + "-dynamic.onnx")
    quantize_dynamic_int8(src, dynamic, exclude=ffn_out)
    quantize_blockwise_int8(dynamic, dst, include=ffn_out)


class OnnxTokenClassifier:
    """An ONNX Runtime session that the Tagger calls like the transformers model it was made from."""

    def __init__(self, session, config):
        import torch

        self.session = session
        self.config = config
        self.device = torch.device("cpu")

    def eval(self) -> OnnxTokenClassifier:
        return self

    def forward(self, input_ids, attention_mask):
        import torch

        (logits,) = self.session.run(["logits"], {"input_ids": input_ids.cpu().numpy(),
                                                  "attention_mask": attention_mask.cpu().numpy()})
        return SimpleNamespace(logits=torch.from_numpy(logits))

    def __call__(self, input_ids, attention_mask):
        return self.forward(input_ids=input_ids, attention_mask=attention_mask)


def onnx_session(path: Path):
    """An ONNX Runtime CPU session of the model at `path`, with torch's thread count (predict.py --threads)."""
    import torch

    _, ort = _import_onnx()
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def int8_model(model) -> OnnxTokenClassifier:
    """`model` exported, quantised (`quantize_onnx`) and loaded by ONNX Runtime."""
    _import_onnx()
    with tempfile.TemporaryDirectory(prefix="antq-ner-int8-") as tmp:
        fp32, int8 = Path(tmp) / "model.onnx", Path(tmp) / "model-int8.onnx"
        export_onnx(model, fp32)
        quantize_onnx(fp32, int8, model.config.num_hidden_layers)
        session = onnx_session(int8)  # the session holds the model: the files can go
    return OnnxTokenClassifier(session, model.config)


def _weights_sha256(model_dir: Path) -> str:
    from .provenance import file_sha256

    return file_sha256(model_dir / "model.safetensors")


def export_int8(model_dir: Path) -> Path:
    """Write `model_dir/onnx/` (`model.onnx`, `model_quantized.onnx`, `export.json`), built beside its
    place and renamed into it: an interrupted export leaves the checkpoint as it was."""
    import json
    import shutil

    from transformers import AutoModelForTokenClassification

    from .io_utils import current_umask

    _import_onnx()
    model_dir = Path(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(str(model_dir)).eval()
    target = model_dir / ONNX_DIR
    staging = Path(tempfile.mkdtemp(prefix=".onnx-", dir=model_dir))
    try:
        export_onnx(model, staging / "model.onnx")
        quantize_onnx(staging / "model.onnx", staging / QUANTIZED_FILE, model.config.num_hidden_layers)
        for extra in staging.glob("*-dynamic.onnx"):  # the recipe's intermediate step
            extra.unlink()
        (staging / EXPORT_RECORD).write_text(json.dumps({
            "precision": "int8", "quantized": QUANTIZED_FILE, "weights_sha256": _weights_sha256(model_dir),
            "recipe": "dynamic int8, FFN output projections block-wise (antq_ner/int8.py)",
        }, indent=2) + "\n", encoding="utf-8")
        staging.chmod(0o777 & ~current_umask())
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def exported_int8(model_dir: Path, config) -> OnnxTokenClassifier | None:
    """The checkpoint's `onnx/` int8 model, loaded, or None where there is none; one made from other
    weights is an error naming the fix."""
    import json

    record = Path(model_dir) / ONNX_DIR / EXPORT_RECORD
    if not record.is_file():
        return None
    try:
        made_from = json.loads(record.read_text(encoding="utf-8"))["weights_sha256"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{record}: damaged ({e}); run antq-ner export --precision int8 {model_dir} again") from None
    if made_from != _weights_sha256(Path(model_dir)):
        raise ValueError(f"{record.parent}: made from other weights than {Path(model_dir) / 'model.safetensors'} "
                         f"(trained again?); run antq-ner export --precision int8 {model_dir} again, or delete it")
    try:
        session = onnx_session(record.parent / QUANTIZED_FILE)
    except Exception as e:  # noqa: BLE001 -- ONNX Runtime raises its own kinds for a missing or damaged file
        raise ValueError(f"{record.parent / QUANTIZED_FILE}: cannot be loaded ({type(e).__name__}); run "
                         f"antq-ner export --precision int8 {model_dir} again") from None
    return OnnxTokenClassifier(session, config)
