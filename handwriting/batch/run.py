"""Read a batch with the model loaded once per worker: in this process, in worker processes on
this machine, or on the workers of a Dask cluster.

Dask rather than Ray: its workers are plain Python processes that a scheduler address reaches,
it installs in seconds without native wheels, and `distributed.LocalCluster` runs the same code
on one machine for the tests. Inputs go out in chunks, a few per worker at a time, so memory
stays bounded however long the batch, and results come back as they are read, in no set order.

Dask's nanny starts each worker with MALLOC_TRIM_THRESHOLD_=65536 by default; that pins glibc's
mmap threshold at 128 KiB, so every image-sized array is mapped and faulted in afresh, and a read
costs 15-30 % more than in a plain process (one worker, 100 stress images, three runs each).
Each worker also samples its running thread's stack every 10 ms for Dask's profile page, which
left a 2-worker cluster 15-29 % behind two plain worker processes on 1,000 images (0-9 % without).
DASK_WORKER_CONFIG leaves the variable unset and the profiler off; a real cluster's workers need
the same settings.
"""
import multiprocessing
from concurrent import futures
from itertools import islice

from handwriting.batch import inputs, output
from handwriting.engine import decoding
from handwriting.engine.limits import TooComplex

CHUNK = 8  # inputs per task: a task's overhead (a few ms) stays small beside eight reads
WINDOW = 3  # tasks in flight per worker: one reading, the next ones already sent

DASK_WORKER_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,  # None: left unset
    "distributed.worker.profile.enabled": False,
}

_engines = {}  # this process's Recognizers by model path, each loaded on first use


def _engine(model):
    key = str(model or "")
    if key not in _engines:
        from handwriting.engine.recognition import Recognizer

        _engines[key] = Recognizer(model or None)
    return _engines[key]


def read(item, model=None):
    """One input's result record: a reading, or the reason there is none; never an exception."""
    try:
        data = inputs.load(item)
    except OSError as error:
        return output.record(item.name, error=("unreadable_file", error.strerror or str(error)))
    except decoding.DecodeError as error:
        return output.record(item.name, error=(error.code, str(error)))
    try:
        reading = _engine(model).read(data)
    except (decoding.DecodeError, TooComplex) as error:
        return output.record(item.name, error=(error.code, str(error)))
    return output.record(item.name, reading.to_dict())


def read_chunk(items, model=None):
    return [read(item, model) for item in items]


def _chunks(items):
    it = iter(items)
    while chunk := list(islice(it, CHUNK)):
        yield chunk


def _loaded(item):
    """The input with its bytes, for a worker that may not see this machine's files."""
    if item.data is not None or item.error:
        return item
    try:
        return inputs.Input(item.name, data=item.path.read_bytes())
    except OSError as error:
        return inputs.Input(item.name, error=("unreadable_file", error.strerror or str(error)))


def _streamed(submit, wait, items, slots):
    """Results of read_chunk over `items` as tasks finish, with at most `slots` tasks in flight;
    `wait` is concurrent.futures' or Dask's, which take and answer the same."""
    chunks = _chunks(items)
    pending = {submit(chunk) for chunk in islice(chunks, slots)}
    while pending:
        finished, pending = wait(pending, return_when="FIRST_COMPLETED")
        for future in finished:
            yield from future.result()
            if (chunk := next(chunks, None)) is not None:
                pending.add(submit(chunk))


def results(items, model=None, workers=1, cluster=None):
    """Result records of every item; `workers` processes here, or the Dask scheduler at `cluster`."""
    if cluster:
        yield from _on_cluster(cluster, items, model)
    elif workers <= 1:
        for item in items:
            yield read(item, model)
    else:
        context = multiprocessing.get_context("spawn")  # a fork would copy a loaded runtime's threads
        with futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_engine, initargs=(model,)) as pool:
            yield from _streamed(lambda chunk: pool.submit(read_chunk, chunk, model), futures.wait, items, WINDOW * workers)


def local_cluster(workers):
    """A Dask cluster of `workers` one-thread processes on this machine, their nanny set as a real
    cluster's should be (DASK_WORKER_CONFIG)."""
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set(DASK_WORKER_CONFIG):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)


def _on_cluster(address, items, model):
    from dask.distributed import Client, wait

    with Client(address) as client:
        slots = WINDOW * max(1, len(client.scheduler_info(n_workers=-1)["workers"]))

        def submit(chunk):
            return client.submit(read_chunk, [_loaded(item) for item in chunk], model, pure=False)

        yield from _streamed(submit, wait, items, slots)
