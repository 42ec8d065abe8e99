"""Run a test function in several gloo processes (CPU distributed tests).

``run_distributed(fn, world_size=2, *args)`` spawns ``world_size`` processes; each initialises a gloo process group on
a free localhost port (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT`` set, so mmengine's ``get_dist_info``
sees it) and calls ``fn(rank, world_size, *args)``. It returns the list of the values ``fn`` returned, by rank, and
raises ``RuntimeError`` with the worker's traceback if any worker fails. ``fn`` must be importable (module level).
"""
from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
import traceback

import torch.distributed as dist
import torch.multiprocessing as mp

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    """A currently free TCP port on localhost."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, out_dir: str, fn, args: tuple) -> None:
    import pickle

    if _REPO not in sys.path:
        sys.path.insert(0, _REPO)
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size), MASTER_ADDR='127.0.0.1',
                      MASTER_PORT=str(port), OMP_NUM_THREADS='1')
    result_path = os.path.join(out_dir, f'rank{rank}.pkl')
    try:
        dist.init_process_group('gloo', rank=rank, world_size=world_size, init_method=f'tcp://127.0.0.1:{port}')
        value = fn(rank, world_size, *args)
        with open(result_path, 'wb') as f:
            pickle.dump(('ok', value), f)
    except BaseException:  # report any failure to the parent, then fail the process
        with open(result_path, 'wb') as f:
            pickle.dump(('error', traceback.format_exc()), f)
        raise
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def run_distributed(fn, world_size: int = 2, *args, timeout: float = 300.0) -> list:
    """Call ``fn(rank, world_size, *args)`` in ``world_size`` gloo processes; return their results, raise on failure."""
    import pickle

    with tempfile.TemporaryDirectory() as out_dir:
        ctx = mp.start_processes(_worker, args=(world_size, free_port(), out_dir, fn, args), nprocs=world_size,
                                 join=False, start_method='spawn')
        errors = []
        deadline = time.monotonic() + timeout
        try:
            while not ctx.join(timeout=1.0):
                if time.monotonic() > deadline:
                    for proc in ctx.processes:  # only the workers started here
                        if proc.is_alive():
                            proc.terminate()
                    errors.append(f'timed out after {timeout:.0f} s')
                    break
        except Exception as e:  # torch raises ProcessRaisedException / ProcessExitedException
            errors.append(str(e))
        results = []
        for rank in range(world_size):
            path = os.path.join(out_dir, f'rank{rank}.pkl')
            if not os.path.exists(path):
                errors.append(f'rank {rank} produced no result')
                results.append(None)
                continue
            with open(path, 'rb') as f:
                status, value = pickle.load(f)
            if status != 'ok':
                errors.append(f'rank {rank} failed:\n{value}')
            results.append(value)
        if errors:
            raise RuntimeError('distributed test failed:\n' + '\n'.join(errors))
        return results
