import os

import pytest

from handwriting import config
from handwriting.batch import inputs, run
from helpers import MODEL, compose, png

LABELS = ((7, 2, 1), (4, 0, 9), (3, 5), (8, 6, 2, 1), (1,), (9, 9, 0), (5, 3, 7), (2, 4), (6, 0), (1, 8))


@pytest.fixture(scope="module")
def batch(mnist, tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    for i, labels in enumerate(LABELS):
        (folder / f"{i:02d}.png").write_bytes(png(compose(mnist, labels)))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return inputs.expand([folder], config.settings())


def _by_name(records):
    return {record["file"]: record for record in records}


def test_in_this_process_each_input_is_the_engines_reading_and_a_bad_file_its_error(batch, recognizer):
    records = _by_name(run.results(batch, MODEL))
    assert len(records) == len(batch)
    broken = records.pop(next(name for name in records if name.endswith("broken.png")))
    assert broken["success"] is False and broken["error"]["code"] == "corrupt_image"
    for name, record in records.items():
        assert record == {"file": name, "success": True, **recognizer.read(open(name, "rb").read()).to_dict()}
    assert sum(record["count"] > 0 for record in records.values()) == len(LABELS)


@pytest.mark.slow
def test_two_worker_processes_read_exactly_what_one_process_reads(batch):
    assert _by_name(run.results(batch, MODEL, workers=2)) == _by_name(run.results(batch, MODEL))


@pytest.mark.slow
def test_a_local_dask_cluster_of_two_workers_reads_exactly_the_same(batch):
    with run.local_cluster(2) as cluster:
        on_cluster = _by_name(run.results(batch, MODEL, cluster=cluster.scheduler_address))
    assert on_cluster == _by_name(run.results(batch, MODEL))


@pytest.mark.slow
def test_the_local_clusters_workers_keep_glibcs_own_mmap_threshold_and_no_profiler():
    import dask
    from dask.distributed import Client

    with run.local_cluster(2) as cluster, Client(cluster.scheduler_address) as client:
        trim = client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
        profiling = client.run(dask.config.get, "distributed.worker.profile.enabled")
    assert len(trim) == 2 and set(trim.values()) == {None}
    assert len(profiling) == 2 and set(profiling.values()) == {False}
