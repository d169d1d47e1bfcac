"""The distributed layer: strategies runnable without GPUs, the data-parallel arithmetic, scope checks,
and local multi-worker jobs (chapter 4). ``tk.distribute`` is this package. The training itself is
``tk.fit_batch(..., strategy=)`` under ``MirroredStrategy`` and ``tk.train_minibatch`` /
``tk.train_online(..., strategy=)`` under either strategy."""

from toolkit.distributed.launch import JobResult, free_ports, kill_worker, launch
from toolkit.distributed.strategy import (
    check_fit_strategy,
    check_model_in_scope,
    check_strategy_scope,
    configure_cpu_replicas,
    describe,
    distribute_dataset,
    get_strategy,
    global_batch_size,
    multi_worker_strategy,
    scale_learning_rate,
    tf_config,
    writes_checkpoints,
)

__all__ = [
    "JobResult", "free_ports", "kill_worker", "launch", "check_fit_strategy", "check_model_in_scope",
    "check_strategy_scope", "configure_cpu_replicas", "describe", "distribute_dataset", "get_strategy",
    "global_batch_size", "multi_worker_strategy", "scale_learning_rate", "tf_config", "writes_checkpoints",
]
