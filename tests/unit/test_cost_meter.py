"""The cost meter (workers/pipeline/cost.py): CPU, GPU and wall seconds per stage, energy
measured from RAPL counters (a fake powercap folder here: real sysfs is rarely readable) or
estimated from the per-device figures, and a batch's cost shared out by audio duration."""

from __future__ import annotations

import hashlib
import math
import os
import time
from pathlib import Path

import pytest

from workers.pipeline.cost import (
    ESTIMATED,
    GPU_STAGES,
    MEASURED_NVML,
    MEASURED_RAPL,
    CostMeter,
    DeviceFigures,
    EnergyPart,
    JobCost,
    NvmlCounter,
    RaplCounter,
    StageCost,
    merge,
    share,
)

FIGURES = DeviceFigures(cpu_watts_per_core=5.0, gpu_board_watts=200.0)
# The counter's range on a typical package (about 262 kJ).
MAX_RANGE_UJ = 262_143_328_850


def burn_cpu(seconds: float) -> None:
    """Work the CPU (hashing), not sleep, until this process has used `seconds` of CPU time
    (however long that takes on a busy machine)."""
    end = time.process_time() + seconds
    data = b"x" * 4096
    while time.process_time() < end:
        data = hashlib.sha256(data).digest() * 128


def package(root: Path, index: int, energy_uj: int, name: str | None = None, max_range_uj: int = MAX_RANGE_UJ) -> Path:
    """A powercap zone as the kernel lays it out: name, energy_uj, max_energy_range_uj."""
    zone = root / f"intel-rapl:{index}"
    zone.mkdir(parents=True)
    (zone / "name").write_text(f"{name or f'package-{index}'}\n")
    (zone / "energy_uj").write_text(f"{energy_uj}\n")
    (zone / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
    return zone


def set_energy(zone: Path, energy_uj: int) -> None:
    (zone / "energy_uj").write_text(f"{energy_uj}\n")


def test_a_stage_that_burns_cpu_records_cpu_and_wall_seconds_and_an_estimate(tmp_path):
    meter = CostMeter("cpu", FIGURES, rapl_root=tmp_path)  # no RAPL zones: estimated
    with meter.stage("transcribe"):
        burn_cpu(0.3)
    with meter.stage("store"):
        time.sleep(0.1)
    cost = meter.cost()
    transcribe, store = cost.stages["transcribe"], cost.stages["store"]
    assert transcribe.cpu_s >= 0.3
    # One thread burns: it took at least its CPU time (a little less for other threads' share),
    # and the process used at most the wall time on each core.
    assert transcribe.wall_s >= 0.25
    assert transcribe.cpu_s <= transcribe.wall_s * (os.cpu_count() or 1) + 0.05
    assert store.wall_s >= 0.1 and store.cpu_s < store.wall_s
    assert transcribe.gpu_s == store.gpu_s == 0.0, "no GPU seconds on a cpu device"
    assert set(cost.energy) == {"cpu"} and cost.energy_source == ESTIMATED
    cpu_s = transcribe.cpu_s + store.cpu_s
    assert cost.energy_wh == pytest.approx(cpu_s * FIGURES.cpu_watts_per_core / 3600)
    # Plausible: under the figure for every core busy the whole time, above nothing.
    cores = os.cpu_count() or 1
    assert 0 < cost.energy_wh <= cores * FIGURES.cpu_watts_per_core * (transcribe.wall_s + store.wall_s) / 3600 + 1e-4


def test_stages_follow_each_other_add_up_and_an_open_one_is_not_counted(tmp_path):
    meter = CostMeter("cpu", FIGURES, rapl_root=tmp_path)
    meter.begin("decode")
    time.sleep(0.05)
    meter.begin("transcribe")  # closes decode
    time.sleep(0.05)
    meter.end()
    with meter.stage("decode"):
        time.sleep(0.05)
    meter.begin("store")
    cost = meter.cost()
    assert list(cost.stages) == ["decode", "transcribe"], "store is still open"
    assert cost.stages["decode"].wall_s >= 0.1, "decode ran twice"
    meter.end()
    assert list(meter.cost().stages) == ["decode", "transcribe", "store"]
    assert CostMeter("cpu", rapl_root=tmp_path).cost().energy_wh == 0.0
    with pytest.raises(ValueError, match="device"):
        CostMeter("auto")


def test_rapl_packages_are_measured_whole(tmp_path):
    first = package(tmp_path, 0, 1_000_000)
    second = package(tmp_path, 1, 50_000_000)
    # A package's parts and the platform zone are not added again.
    core = tmp_path / "intel-rapl:0:0"
    core.mkdir()
    (core / "name").write_text("core\n")
    (core / "energy_uj").write_text("5\n")
    package(tmp_path, 2, 7, name="psys")
    meter = CostMeter("cpu", FIGURES, rapl_root=tmp_path)
    assert meter.measured == {"cpu": MEASURED_RAPL}
    with meter.stage("transcribe"):
        set_energy(first, 1_000_000 + 3_600_000)  # 3.6 J
        set_energy(second, 50_000_000 + 7_200_000)  # 7.2 J
        (core / "energy_uj").write_text("999999999\n")
    cost = meter.cost()
    assert cost.energy_source == MEASURED_RAPL
    assert cost.energy_wh == pytest.approx(10.8 / 3600)
    assert cost.stages["transcribe"].cpu_s >= 0
    # Between stages nothing is counted: the package's draw then is not the job's.
    set_energy(first, 1_000_000 + 3_600_000 + 360_000_000)
    with meter.stage("store"):
        set_energy(first, 1_000_000 + 3_600_000 + 360_000_000 + 3_600_000)
    assert meter.cost().energy_wh == pytest.approx(14.4 / 3600)


def test_a_rapl_counter_that_wraps_around_is_read_across_the_wrap(tmp_path):
    zone = package(tmp_path, 0, MAX_RANGE_UJ - 2_000_000)
    counter = RaplCounter.open(tmp_path)
    assert counter is not None
    set_energy(zone, 1_000_000)  # past the top: 2 J to the wrap, 1 J after it
    assert counter.read_j() == pytest.approx(3.0)
    set_energy(zone, 4_000_000)
    assert counter.read_j() == pytest.approx(6.0)
    # Through the meter as well.
    set_energy(zone, MAX_RANGE_UJ - 500_000)
    meter = CostMeter("cpu", FIGURES, rapl_root=tmp_path)
    with meter.stage("transcribe"):
        set_energy(zone, 250_000)
    assert meter.cost().energy_wh == pytest.approx(0.75 / 3600)


@pytest.mark.parametrize("broken", ["missing", "garbled", "directory"])
def test_an_unreadable_rapl_counter_falls_back_to_the_estimate(tmp_path, broken):
    zone = package(tmp_path, 0, 1_000)
    package(tmp_path, 1, 1_000)
    energy = zone / "energy_uj"
    if broken == "missing":
        energy.unlink()
    elif broken == "garbled":
        energy.write_text("n/a\n")
    else:
        energy.unlink()
        energy.mkdir()
    # One package unreadable: a sum over the others alone would undercount.
    assert RaplCounter.open(tmp_path) is None
    meter = CostMeter("cpu", FIGURES, rapl_root=tmp_path)
    assert meter.measured == {}
    with meter.stage("transcribe"):
        burn_cpu(0.05)
    cost = meter.cost()
    assert cost.energy_source == ESTIMATED
    assert cost.energy_wh == pytest.approx(cost.stages["transcribe"].cpu_s * FIGURES.cpu_watts_per_core / 3600)


def test_a_counter_that_fails_during_a_job_gives_the_estimate_for_the_whole_job(tmp_path):
    zone = package(tmp_path, 0, 1_000)
    meter = CostMeter("cpu", FIGURES, rapl_root=tmp_path)
    with meter.stage("decode"):
        set_energy(zone, 1_000 + 3_600_000_000)  # 1 Wh measured...
    with meter.stage("transcribe"):
        burn_cpu(0.05)
        (zone / "energy_uj").unlink()  # ...then the counter is gone
    cost = meter.cost()
    assert cost.energy_source == ESTIMATED
    cpu_s = sum(s.cpu_s for s in cost.stages.values())
    assert cost.energy_wh == pytest.approx(cpu_s * FIGURES.cpu_watts_per_core / 3600)


def test_without_nvml_a_cuda_job_estimates_gpu_energy_from_the_gpu_stages_wall_time(tmp_path):
    if NvmlCounter.open() is not None:
        pytest.skip("this machine has a GPU whose energy counter NVML reads")
    assert {"transcribe", "diarize"} == GPU_STAGES
    meter = CostMeter("cuda", FIGURES, rapl_root=tmp_path)
    assert meter.measured == {}
    with meter.stage("decode"):
        time.sleep(0.05)
    with meter.stage("transcribe"):
        time.sleep(0.1)
    with meter.stage("load_model", gpu=True):  # a stage may say it runs on the GPU
        time.sleep(0.05)
    cost = meter.cost()
    assert cost.stages["decode"].gpu_s == 0.0
    assert cost.stages["transcribe"].gpu_s == cost.stages["transcribe"].wall_s >= 0.1
    assert cost.stages["load_model"].gpu_s == cost.stages["load_model"].wall_s
    gpu_s = cost.stages["transcribe"].gpu_s + cost.stages["load_model"].gpu_s
    assert cost.energy["gpu"] == EnergyPart(pytest.approx(gpu_s * 200.0 / 3600), ESTIMATED)
    assert cost.energy_source == ESTIMATED
    record = cost.as_record()
    assert list(record["energy_by_device"]) == ["cpu", "gpu"]


def test_measured_and_estimated_parts_are_both_named():
    cost = JobCost(
        stages={"transcribe": StageCost(cpu_s=10.0, gpu_s=8.0, wall_s=8.0)},
        energy={"gpu": EnergyPart(0.5, MEASURED_NVML), "cpu": EnergyPart(0.01, MEASURED_RAPL)},
    )
    assert cost.energy_source == "measured_rapl+measured_nvml"
    mixed = JobCost(stages={}, energy={"cpu": EnergyPart(0.01, ESTIMATED), "gpu": EnergyPart(0.5, MEASURED_NVML)})
    assert mixed.energy_source == "estimated+measured_nvml"
    record = cost.as_record()
    assert record == {
        "stages": {"transcribe": {"cpu_s": 10.0, "gpu_s": 8.0, "wall_s": 8.0}},
        "energy_wh": 0.51,
        "energy_source": "measured_rapl+measured_nvml",
        "energy_by_device": {
            "cpu": {"energy_wh": 0.01, "source": MEASURED_RAPL},
            "gpu": {"energy_wh": 0.5, "source": MEASURED_NVML},
        },
    }
    assert JobCost.from_record(record).as_record() == record


def test_a_batch_is_shared_by_audio_duration():
    batch = JobCost(
        stages={"load_model": StageCost(2.0, 0.0, 1.0), "transcribe": StageCost(30.0, 12.0, 12.0)},
        energy={"cpu": EnergyPart(0.04, MEASURED_RAPL), "gpu": EnergyPart(0.6, ESTIMATED)},
    )
    durations = [3.0, 9.0, 0.0, 6.0]
    shares = share(batch, durations)
    assert len(shares) == 4
    for stage in ("load_model", "transcribe"):
        for unit in ("cpu_s", "gpu_s", "wall_s"):
            total = getattr(batch.stages[stage], unit)
            assert math.fsum(getattr(s.stages[stage], unit) for s in shares) == pytest.approx(total)
            for s, d in zip(shares, durations, strict=True):
                assert getattr(s.stages[stage], unit) == pytest.approx(total * d / 18.0)
    assert math.fsum(s.energy_wh for s in shares) == pytest.approx(batch.energy_wh)
    assert shares[1].energy_wh == pytest.approx(3 * shares[0].energy_wh)
    assert shares[2].energy_wh == 0.0, "no audio, no share"
    assert all(s.energy_source == "measured_rapl+estimated" for s in shares)
    # Nothing to weigh by: equal shares; a single job takes it all.
    assert [s.energy_wh for s in share(batch, [0.0, 0.0])] == pytest.approx([0.32, 0.32])
    assert share(batch, [5.0])[0].as_record() == batch.as_record()
    for bad in ([], [1.0, -1.0], [float("nan")]):
        with pytest.raises(ValueError):
            share(batch, bad)


def test_a_jobs_own_stages_merge_with_its_share_of_the_batch():
    own = JobCost(
        stages={"decode": StageCost(0.2, 0.0, 0.2), "store": StageCost(0.1, 0.0, 0.1)},
        energy={"cpu": EnergyPart(0.001, ESTIMATED)},
    )
    batch_share = JobCost(
        stages={"transcribe": StageCost(3.0, 1.0, 1.0)},
        energy={"cpu": EnergyPart(0.002, ESTIMATED), "gpu": EnergyPart(0.05, MEASURED_NVML)},
    )
    total = merge(own, batch_share)
    assert list(total.stages) == ["decode", "store", "transcribe"]
    assert total.energy_wh == pytest.approx(0.053)
    assert total.energy_source == "estimated+measured_nvml"
    again = merge(total, JobCost(stages={"store": StageCost(0.1, 0.0, 0.1)}, energy={"cpu": EnergyPart(0.001, MEASURED_RAPL)}))
    assert again.stages["store"] == StageCost(pytest.approx(0.2), 0.0, pytest.approx(0.2))
    assert again.energy["cpu"].source == ESTIMATED, "partly estimated is estimated"
