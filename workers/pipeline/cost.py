"""What a job cost: CPU, GPU and wall seconds per stage, and the energy it took in Wh.

A `CostMeter` is held around each stage of a job (`with meter.stage("transcribe"): ...`, or
`meter.begin(name)` from a stage hook, the next `begin` or `end` closing it) and gives the job's
`JobCost` at the end:

- wall_s: `time.perf_counter` across the stage.
- cpu_s: `time.process_time` across the stage: the CPU time of the whole process, every thread
  (CTranslate2's and torch's worker threads included, also while they spin waiting for work).
  A gpu worker runs one job per process at a time, so that is the job's.
- gpu_s: on a cuda device, the wall time of the stages that run on the GPU (GPU_STAGES, or
  `gpu=True`), counted as if the GPU were busy for all of it: an upper bound, since the GPU idles
  while the CPU prepares features or the beam search waits; 0 on a cpu device.
- energy, per device, measured where the host has a counter, else estimated:
  - CPU: Intel RAPL through powercap (/sys/class/powercap/intel-rapl:N/energy_uj, the processor
    packages; AMD processors report there too on recent kernels), label `measured_rapl`. RAPL
    counts the whole package: every process on it and its idle draw, not this job alone. Since
    Linux 5.10 only root may read it, so a worker running as a user gets the estimate.
  - GPU: the board's own energy counter through NVML (`nvmlDeviceGetTotalEnergyConsumption`,
    Volta and newer; needs the `pynvml` module of the nvidia-ml-py package and the driver),
    label `measured_nvml`. It counts the whole board, other processes on the GPU included.
  - Else `estimated` from DeviceFigures: cpu_s x watts per busy core, gpu_s x board watts.
  Counters are read at each stage's start and end only, so time between stages (waiting for
  the database, queueing) is not counted. The job's `energy_source` names the sources of its
  parts, CPU first, joined by "+" ("estimated", "measured_rapl+measured_nvml",
  "measured_rapl+estimated", ...).

`share` divides one batch's cost among the jobs decoded together in it by their audio
durations; `merge` adds a job's own stages to its share.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import math
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

logger = logging.getLogger(__name__)

MEASURED_RAPL = "measured_rapl"
MEASURED_NVML = "measured_nvml"
ESTIMATED = "estimated"
SOURCES = (MEASURED_RAPL, MEASURED_NVML, ESTIMATED)

RAPL_ROOT = Path("/sys/class/powercap")
# Stages that compute on the GPU when the model runs on one. Loading the model is mostly reading
# weights from disk, decoding audio, redaction and storing are CPU work.
GPU_STAGES = frozenset({"transcribe", "diarize"})
DEVICES = ("cpu", "cuda")
# While a stage is open, the counters are read this often as well: a RAPL package counter
# wraps at max_energy_range_uj (about 262 kJ, some 20 minutes at 200 W), and a wrap can be
# told from a reading only if at most one happened since the last.
SAMPLE_INTERVAL_S = 30.0
J_PER_WH = 3600.0


@dataclass(frozen=True)
class DeviceFigures:
    """Power figures for the estimate, where the host exposes no energy counter.

    cpu_watts_per_core: watts one busy logical CPU draws, per CPU-second of the process.
    gpu_board_watts: watts the GPU board draws while a stage runs on it.
    (docs/benchmarks.md, "Energy", says where the defaults come from.)
    """

    cpu_watts_per_core: float = 4.0
    gpu_board_watts: float = 150.0


@dataclass(frozen=True)
class StageCost:
    cpu_s: float = 0.0
    gpu_s: float = 0.0
    wall_s: float = 0.0

    def scaled(self, fraction: float) -> StageCost:
        return StageCost(self.cpu_s * fraction, self.gpu_s * fraction, self.wall_s * fraction)

    def plus(self, other: StageCost) -> StageCost:
        return StageCost(self.cpu_s + other.cpu_s, self.gpu_s + other.gpu_s, self.wall_s + other.wall_s)


@dataclass(frozen=True)
class EnergyPart:
    """One device's energy in Wh and where the figure comes from (one of SOURCES)."""

    energy_wh: float
    source: str


@dataclass(frozen=True)
class JobCost:
    """Seconds per stage and energy per device ("cpu", and "gpu" on a cuda device)."""

    stages: Mapping[str, StageCost]
    energy: Mapping[str, EnergyPart]

    @property
    def energy_wh(self) -> float:
        return sum(part.energy_wh for part in self.energy.values())

    @property
    def energy_source(self) -> str:
        sources = [self.energy[device].source for device in _ordered(self.energy)]
        return "+".join(dict.fromkeys(sources)) or ESTIMATED

    def as_record(self) -> dict[str, Any]:
        """The stored form (jobs.cost, the job's JSON, the webhook): seconds to the millisecond,
        energy in Wh to 6 decimals (a short clip takes a few mWh)."""
        return {
            "stages": {
                name: {"cpu_s": round(s.cpu_s, 3), "gpu_s": round(s.gpu_s, 3), "wall_s": round(s.wall_s, 3)}
                for name, s in self.stages.items()
            },
            "energy_wh": round(self.energy_wh, 6),
            "energy_source": self.energy_source,
            "energy_by_device": {
                device: {"energy_wh": round(self.energy[device].energy_wh, 6), "source": self.energy[device].source}
                for device in _ordered(self.energy)
            },
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> JobCost:
        stages = {
            str(name): StageCost(float(s.get("cpu_s", 0.0)), float(s.get("gpu_s", 0.0)), float(s.get("wall_s", 0.0)))
            for name, s in (record.get("stages") or {}).items()
        }
        parts = record.get("energy_by_device")
        if parts:
            energy = {str(d): EnergyPart(float(p["energy_wh"]), str(p["source"])) for d, p in parts.items()}
        else:
            energy = {"cpu": EnergyPart(float(record.get("energy_wh", 0.0)), str(record.get("energy_source", ESTIMATED)))}
        return cls(stages=stages, energy=energy)


def _ordered(parts: Mapping[str, object]) -> list[str]:
    return sorted(parts, key=lambda device: (device != "cpu", device))


def share(cost: JobCost, weights: Sequence[float]) -> list[JobCost]:
    """`cost` divided among jobs in proportion to `weights` (their audio seconds): the shares
    add up to `cost`, each keeps its energy's source. All weights 0: equal shares."""
    if not weights:
        raise ValueError("share needs at least one weight")
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError(f"weights must be finite and not negative: {list(weights)}")
    total = float(sum(weights))
    fractions = [w / total for w in weights] if total > 0 else [1.0 / len(weights)] * len(weights)
    return [
        JobCost(
            stages={name: s.scaled(f) for name, s in cost.stages.items()},
            energy={d: EnergyPart(p.energy_wh * f, p.source) for d, p in cost.energy.items()},
        )
        for f in fractions
    ]


def merge(*costs: JobCost) -> JobCost:
    """The costs added up: stages by name, energy by device. A device whose parts come from
    different sources is labelled `estimated` (its figure is no longer wholly measured)."""
    stages: dict[str, StageCost] = {}
    energy: dict[str, EnergyPart] = {}
    for cost in costs:
        for name, s in cost.stages.items():
            stages[name] = stages[name].plus(s) if name in stages else s
        for device, part in cost.energy.items():
            if device in energy:
                known = energy[device]
                source = known.source if known.source == part.source else ESTIMATED
                energy[device] = EnergyPart(known.energy_wh + part.energy_wh, source)
            else:
                energy[device] = part
    return JobCost(stages=stages, energy=energy)


class EnergyCounter(Protocol):
    source: str

    def read_j(self) -> float:
        """Joules counted since the counter was opened; raises OSError when it cannot be read."""
        ...


@dataclass
class _RaplZone:
    energy_path: Path
    max_range_uj: int
    last_uj: int


class RaplCounter:
    """The processor packages' energy (RAPL, through powercap), summed over every package.

    Sub-zones (core, uncore, dram) are parts of a package, and `psys` covers the platform
    around the packages, so only the top-level `package-N` zones are added up."""

    source = MEASURED_RAPL

    def __init__(self, zones: list[_RaplZone]):
        self._zones = zones
        self._total_uj = 0

    @classmethod
    def open(cls, root: Path = RAPL_ROOT) -> RaplCounter | None:
        """The counter over `root`'s packages; None when there is none or one cannot be read
        (a partial sum would be worse than the estimate)."""
        zones: list[_RaplZone] = []
        for zone in sorted(root.glob("intel-rapl:*")):
            if zone.name.count(":") != 1:
                continue
            try:
                if not (zone / "name").read_text(encoding="ascii").strip().startswith("package"):
                    continue
                energy = int((zone / "energy_uj").read_text(encoding="ascii"))
                max_range = int((zone / "max_energy_range_uj").read_text(encoding="ascii"))
            except (OSError, ValueError) as e:
                logger.debug("RAPL zone %s not readable (%s): energy is estimated", zone, e)
                return None
            zones.append(_RaplZone(zone / "energy_uj", max_range, energy))
        return cls(zones) if zones else None

    def read_j(self) -> float:
        for zone in self._zones:
            try:
                now = int(zone.energy_path.read_text(encoding="ascii"))
            except ValueError as e:
                raise OSError(f"{zone.energy_path}: {e}") from e
            # The counter runs from 0 to max_energy_range_uj and starts again at 0.
            delta = now - zone.last_uj if now >= zone.last_uj else now + zone.max_range_uj - zone.last_uj
            self._total_uj += delta
            zone.last_uj = now
        return self._total_uj / 1e6


@functools.lru_cache(maxsize=1)
def _nvml() -> ModuleType | None:
    """pynvml, initialised once per process; None without the module or a driver."""
    try:
        # Imported by name: optional (nvidia-ml-py), and not typed.
        nvml = importlib.import_module("pynvml")
    except ImportError:
        return None
    try:
        nvml.nvmlInit()
    except Exception as e:  # noqa: BLE001 - NVMLError's many subclasses (no driver, no library)
        logger.debug("NVML not available (%s): GPU energy is estimated", e)
        return None
    return nvml


class NvmlCounter:
    """The GPU board's energy counter (millijoules since the driver loaded)."""

    source = MEASURED_NVML

    def __init__(self, nvml: ModuleType, handle: object, start_mj: int):
        self._nvml, self._handle, self._start_mj = nvml, handle, start_mj

    @classmethod
    def open(cls, gpu_index: int = 0) -> NvmlCounter | None:
        """The counter of CUDA device `gpu_index`; None without NVML, or a GPU without the counter."""
        nvml = _nvml()
        if nvml is None:
            return None
        try:
            handle = _nvml_handle(nvml, gpu_index)
            return cls(nvml, handle, int(nvml.nvmlDeviceGetTotalEnergyConsumption(handle)))
        except Exception as e:  # noqa: BLE001 - NVMLError (not supported, no such GPU)
            logger.debug("GPU %s has no readable energy counter (%s): GPU energy is estimated", gpu_index, e)
            return None

    def read_j(self) -> float:
        try:
            now = int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))
        except Exception as e:  # noqa: BLE001 - NVMLError (GPU lost, driver reset)
            raise OSError(f"NVML energy counter: {e}") from e
        return (now - self._start_mj) / 1000


def _nvml_handle(nvml: ModuleType, gpu_index: int) -> object:
    """NVML numbers GPUs as the machine does; CUDA (and so CTranslate2) only those in
    CUDA_VISIBLE_DEVICES, by index or by UUID."""
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    if gpu_index < len(visible):
        chosen = visible[gpu_index]
        if chosen.isdigit():
            return nvml.nvmlDeviceGetHandleByIndex(int(chosen))
        return nvml.nvmlDeviceGetHandleByUUID(chosen)
    return nvml.nvmlDeviceGetHandleByIndex(gpu_index)


@dataclass
class _OpenStage:
    name: str
    uses_gpu: bool
    wall_start: float
    cpu_start: float
    energy_start: dict[str, float]


class CostMeter:
    """Meters a job's stages on `device` ("cpu" or "cuda"), measuring energy where the host can
    (RAPL under `rapl_root`, NVML for CUDA device `gpu_index`), else estimating it from `figures`.

    Stages do not nest: `begin` closes the stage that is open. A stage run twice adds up."""

    def __init__(
        self,
        device: str,
        figures: DeviceFigures = DeviceFigures(),
        rapl_root: Path = RAPL_ROOT,
        gpu_index: int = 0,
    ):
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, not {device!r}")
        self.device, self.figures = device, figures
        self._counters: dict[str, EnergyCounter] = {}
        rapl = RaplCounter.open(rapl_root)
        if rapl is not None:
            self._counters["cpu"] = rapl
        if device == "cuda":
            gpu = NvmlCounter.open(gpu_index)
            if gpu is not None:
                self._counters["gpu"] = gpu
        self._measured_j = dict.fromkeys(self._counters, 0.0)
        self._stages: dict[str, StageCost] = {}
        self._open: _OpenStage | None = None
        self._lock = threading.Lock()
        self._sampler: threading.Thread | None = None
        self._stop_sampling = threading.Event()

    @property
    def measured(self) -> dict[str, str]:
        """Which devices' energy is measured, and by what ({"cpu": "measured_rapl"}, ...)."""
        return {device: counter.source for device, counter in self._counters.items()}

    def begin(self, name: str, gpu: bool | None = None) -> None:
        """Start stage `name` (closing the open one). `gpu`: whether it runs on the GPU;
        None: it does when it is one of GPU_STAGES and the device is cuda."""
        uses_gpu = self.device == "cuda" and (name in GPU_STAGES if gpu is None else gpu)
        with self._lock:
            self._close()
            self._open = _OpenStage(name, uses_gpu, time.perf_counter(), time.process_time(), self._read_counters())
        if self._counters and self._sampler is None:
            self._stop_sampling.clear()
            self._sampler = threading.Thread(target=self._sample, name="cost-meter", daemon=True)
            self._sampler.start()

    def end(self) -> None:
        """Close the open stage, if any."""
        with self._lock:
            self._close()
        if self._sampler is not None:
            self._stop_sampling.set()
            self._sampler.join(timeout=5)
            self._sampler = None

    @contextlib.contextmanager
    def stage(self, name: str, gpu: bool | None = None) -> Iterator[None]:
        self.begin(name, gpu)
        try:
            yield
        finally:
            self.end()

    def cost(self) -> JobCost:
        """The closed stages' cost so far (an open stage is not included)."""
        with self._lock:
            stages = dict(self._stages)
            measured = {device: self._measured_j[device] for device in self._counters}
        cpu_s = sum(s.cpu_s for s in stages.values())
        gpu_s = sum(s.gpu_s for s in stages.values())
        energy = {"cpu": self._part("cpu", measured, cpu_s * self.figures.cpu_watts_per_core)}
        if self.device == "cuda":
            energy["gpu"] = self._part("gpu", measured, gpu_s * self.figures.gpu_board_watts)
        return JobCost(stages=stages, energy=energy)

    def _part(self, device: str, measured: dict[str, float], estimate_j: float) -> EnergyPart:
        if device in measured:
            return EnergyPart(measured[device] / J_PER_WH, self._counters[device].source)
        return EnergyPart(estimate_j / J_PER_WH, ESTIMATED)

    def _close(self) -> None:
        """Close the open stage; the caller holds the lock."""
        stage, self._open = self._open, None
        if stage is None:
            return
        wall_s = time.perf_counter() - stage.wall_start
        cost = StageCost(cpu_s=time.process_time() - stage.cpu_start, gpu_s=wall_s if stage.uses_gpu else 0.0, wall_s=wall_s)
        self._stages[stage.name] = self._stages[stage.name].plus(cost) if stage.name in self._stages else cost
        for device, now in self._read_counters().items():
            if device in stage.energy_start:
                self._measured_j[device] += now - stage.energy_start[device]

    def _read_counters(self) -> dict[str, float]:
        """Each counter's reading; a counter that fails is dropped, and its device's energy is
        estimated for the whole job from then on (a partly measured figure would mislead)."""
        readings: dict[str, float] = {}
        for device, counter in list(self._counters.items()):
            try:
                readings[device] = counter.read_j()
            except OSError as e:
                logger.warning("%s energy counter failed (%s): estimating this job's %s energy", device, e, device)
                del self._counters[device]
                del self._measured_j[device]
        return readings

    def _sample(self) -> None:
        while not self._stop_sampling.wait(SAMPLE_INTERVAL_S):
            with self._lock:
                self._read_counters()
