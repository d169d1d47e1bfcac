"""Subprocess for the kill-and-resume test: an online run that can SIGKILL itself mid-stream.

    python tests/resume_worker.py OUT.npz CKPT_DIR [--kill-at N] [--resume]

With ``--kill-at N`` the process kills itself (SIGKILL, no clean-up) when the stream is
asked for samples past position N, i.e. after the checkpoint before N and some unsaved work.
"""

from __future__ import annotations

import argparse
import json
import os
import signal


def killing(stream, kill_at: int):
    """The same stream, except that reading past ``kill_at`` kills this process."""
    import toolkit as tk

    def read(start: int, size: int):
        position = start
        for block in stream.read(start, size):
            if position >= kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            yield block
            position += len(block[0])

    return tk.Stream(read, stream.length, stream.drifts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("checkpoint_dir")
    parser.add_argument("--kill-at", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--label-delay", type=int, default=0)
    args = parser.parse_args()

    import keras
    import numpy as np

    import toolkit as tk

    tk.seed_everything(0)
    data = tk.load_mnist("subset")
    stream = tk.Stream.from_arrays(data.x_train, data.y_train, seed=0, endless=True)
    stream = stream.drift(tk.LabelPermutation(at=1500))
    if args.kill_at is not None:
        stream = killing(stream, args.kill_at)
    model = tk.models.mlp(seed=0)
    history = tk.train_online(model, stream, optimizer=keras.optimizers.Adam(1e-3), max_samples=3000,
                              label_delay=args.label_delay, log_every=250, checkpoint_dir=args.checkpoint_dir,
                              resume=args.resume, verbose=0)
    np.savez(args.out, *model.get_weights(), history=json.dumps(history.history))


if __name__ == "__main__":
    main()
