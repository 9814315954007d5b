"""The gpu queue's two lanes: which queue a job's ticket goes to, which lane a worker serves
by the queues it is told to consume, and a clear refusal of a queue that does not exist."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from workers.commands.worker import worker
from workers.store.db import Priority
from workers.tasks.names import BULK_QUEUE, GPU_QUEUE, LANE_QUEUES, gpu_lane, ticket_queue


def test_tickets_go_to_their_lanes_queue():
    assert ticket_queue(Priority.normal) == GPU_QUEUE
    assert ticket_queue(Priority.bulk) == BULK_QUEUE
    assert set(LANE_QUEUES["all"]) == {ticket_queue(p) for p in Priority}


@pytest.mark.parametrize(
    ("queues", "lane"),
    [
        (["gpu"], "all"),
        (["gpu", "cpu"], "all"),
        (["gpu-normal"], "normal"),
        (["gpu-bulk", "cpu"], "bulk"),
        (["gpu-normal", "gpu-bulk"], "all"),
        (["cpu"], None),
    ],
)
def test_a_worker_serves_the_lanes_of_the_queues_it_consumes(queues, lane):
    assert gpu_lane(queues) == lane


def test_an_unknown_queue_is_refused_with_the_names_that_exist():
    result = CliRunner().invoke(worker, ["--queues", "gpu-fast"])
    assert result.exit_code == 2
    assert "gpu-normal" in result.output and "gpu-fast" in result.output
