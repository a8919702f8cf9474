"""Where tasks run: an embedded local Ray (default), a Ray cluster (RAY_ADDRESS or `ray job submit`), or
one plain process (`execution.backend: local`, for debugging and for measuring Ray's overhead).

`Executor.map(fn, items, desc)` calls the module-level function `fn(*item)` for every item and returns the
results in item order, with a progress bar as tasks finish. Ray retries a task whose worker died
(`execution.max_retries`); task functions catch their own per-shard errors and return them as data, so an
exception that reaches `map` is a real failure of the run. Steps never see this module.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Sequence

from tqdm import tqdm

from core.config import ExecutionConfig
from core.errors import ConfigError, RunError


class Executor:
    def __init__(self, cfg: ExecutionConfig | None = None):
        self.cfg = cfg or ExecutionConfig()
        self.backend = self.cfg.backend
        self._ray = None
        if self.backend == "ray":
            import ray

            self._ray = ray
            if not ray.is_initialized():
                address = os.environ.get("RAY_ADDRESS")
                kwargs: dict[str, Any] = dict(
                    ignore_reinit_error=True,
                    logging_level="ERROR",
                    log_to_driver=True,
                )
                if address:
                    kwargs["address"] = address
                else:
                    kwargs.update(include_dashboard=False, num_cpus=self.cfg.num_cpus or os.cpu_count())
                try:
                    ray.init(**kwargs)
                except Exception as e:  # ray raises a bare Exception on a startup timeout
                    raise RunError(f"cannot start Ray ({address or 'embedded'}): {type(e).__name__}: "
                                   f"{str(e).splitlines()[0] if str(e) else ''} (execution.backend: local runs "
                                   f"without Ray)") from e

    @property
    def parallelism(self) -> int:
        if self._ray is None:
            return 1
        return max(1, int(self._ray.cluster_resources().get("CPU", 1) // self.cfg.cpus_per_task))

    def map(self, fn: Callable, items: Sequence[tuple], desc: str, *, cpus: float | None = None,
            on_result: Callable[[int, Any], None] | None = None) -> list:
        """`on_result(i, result)` runs in this process as each task finishes (uploads of finished shards)."""
        if not items:
            return []
        bar = tqdm(total=len(items), desc=desc, unit="task", file=sys.stderr, disable=None, dynamic_ncols=True)
        try:
            if self._ray is None:
                out = []
                for i, item in enumerate(items):
                    out.append(fn(*item))
                    if on_result is not None:
                        on_result(i, out[-1])
                    bar.update(1)
                return out
            ray = self._ray
            opts: dict[str, Any] = dict(num_cpus=cpus or self.cfg.cpus_per_task, max_retries=self.cfg.max_retries)
            if self.cfg.memory_per_task_mb:
                opts["memory"] = self.cfg.memory_per_task_mb * 1024 * 1024
            remote = ray.remote(fn).options(**opts)
            refs = [remote.remote(*item) for item in items]
            index = {ref: i for i, ref in enumerate(refs)}
            results: list[Any] = [None] * len(refs)
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        results[index[ref]] = ray.get(ref)
                    except ray.exceptions.RayTaskError as e:
                        if isinstance(e.cause, (RunError, ConfigError)):  # the task's own one-line verdict: the
                            raise type(e.cause)(str(e.cause)) from e   # same exit code as on the local backend
                        raise RunError(f"{desc}: task {_label(items[index[ref]])} failed: {e}") from e
                    except ray.exceptions.RayError as e:
                        raise RunError(f"{desc}: task {_label(items[index[ref]])} failed after retries: {e}") from e
                    if on_result is not None:
                        on_result(index[ref], results[index[ref]])
                    bar.update(1)
            return results
        finally:
            bar.close()

    def shutdown(self) -> None:
        if self._ray is not None and not os.environ.get("RAY_ADDRESS"):
            self._ray.shutdown()


def _label(item: tuple) -> str:
    """The first argument names the task (a shard path, a partition); the rest may be a whole JobConfig."""
    return repr(item[0])[:200] if item else "()"
