"""The box a learner's kernel runs in while it is graded (chapters 1-6).

Learner code is untrusted: it can redefine ``print``, read files, start processes and write
anywhere its user may. So the grader (pytest with nbval, which compares the outputs and writes the
results) runs outside, and only the kernel runs inside a bubblewrap sandbox, in the way
PrairieLearn's Python autograder runs student code apart, as another user:

- it sees a read-only system (``/usr``, ``/etc``, Python and its packages), a read-only copy of the
  toolkit and its data made for this submission (``/course``), and empty, private ``/tmp`` and
  ``/home/learner`` (its working folder). The course folder, the key with its expected outputs, the
  solutions and the results channel are not mounted, so they cannot be read or written;
- its environment is rebuilt from a short list (no ``PYTHONPATH`` into the course, no results
  channel);
- it runs in its own PID namespace and session, and dies with the grader: when the kernel stops,
  every process it started stops too;
- when the grader runs as root, the kernel also drops to an unprivileged user (``nobody``, or
  ``TOOLKIT_SANDBOX_USER``).

Where bubblewrap is missing or cannot run (Colab, some containers), the kernel runs unboxed in a
scratch folder, with one warning: learners grading themselves there can only fool themselves.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from toolkit.course.checks import DEFAULT_SEED, SEED_ENV
from toolkit.errors import SandboxWarning

__all__ = ["DEFAULT_SEED", "SEED_ENV", "Sandbox", "bubblewrap_works", "make_sandbox", "sandbox_user"]

USER_ENV = "TOOLKIT_SANDBOX_USER"
COURSE = "/course"
WORK = "/home/learner"
CONNECTION = "/run/toolkit/kernel.json"  # where the box sees its kernel's connection file (read-only)
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/sys")
UNBOXED = ("grading without a sandbox (bubblewrap is missing or cannot run here): learner code runs as you and "
           "can reach the course. Install it: apt-get install bubblewrap")
# Run as the kernel's first step, as root inside the box: hand the connection file to the unprivileged user.
HAND_OVER = ('cp "$1" /tmp/kernel.json && chown "$2" /tmp/kernel.json && chmod 600 /tmp/kernel.json '
             '&& shift 2 && exec "$@"')
# The unboxed fallback: start the kernel in its scratch folder (the kernel's own cwd is the notebook's).
CHDIR_EXEC = "import os, sys; os.chdir(sys.argv[1]); os.execv(sys.argv[2], sys.argv[2:])"


@functools.cache
def bubblewrap_works() -> bool:
    """Whether ``bwrap`` is installed and can make a box here (namespaces may be forbidden)."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    try:
        trial = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "--dev", "/dev",
                                "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return trial.returncode == 0


def sandbox_user() -> tuple[int, int] | None:
    """``(uid, gid)`` the kernel drops to: only when the grader is root (else it already runs as a user)."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(os.environ.get(USER_ENV, "nobody"))
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


@dataclass(frozen=True)
class Sandbox:
    """One submission's box: ``course`` holds its read-only toolkit and data copy, ``scratch`` is the
    unboxed fallback's working folder, ``seed`` is the check seed the kernel sees."""

    course: Path
    scratch: Path
    seed: int
    boxed: bool

    def environment(self) -> dict[str, str]:
        """The kernel's whole environment."""
        keep = {name: os.environ[name] for name in ("LANG", "LC_ALL", "TZ") if name in os.environ}
        keep["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # the grader's PATH may name the course folder
        home = "/tmp" if self.boxed else str(self.scratch)
        course = COURSE if self.boxed else str(self.course)
        return {**keep, "HOME": home, "PYTHONPATH": course, "TOOLKIT_DATA_DIR": f"{course}/data",
                "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{home}/.matplotlib",
                "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONNOUSERSITE": "1", SEED_ENV: str(self.seed)}

    def kernel_argv(self) -> list[str]:
        """The command that starts the kernel (``{connection_file}`` is filled in by jupyter_client)."""
        python = sys.executable
        kernel = [python, "-m", "ipykernel_launcher", "-f"]
        if not self.boxed:
            return [python, "-c", CHDIR_EXEC, str(self.scratch), python, "-m", "ipykernel_launcher", "-f",
                    "{connection_file}"]
        command = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc",
                   "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
        for path in SYSTEM:
            if Path(path).is_symlink():
                command += ["--symlink", os.readlink(path), path]
            elif Path(path).exists():
                command += ["--ro-bind", path, path]
        # The private /tmp first: Python may live under /tmp (a clone there with its virtual environment),
        # and a later tmpfs would hide it.
        command += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm", "--perms", "1777",
                    "--tmpfs", "/tmp"]
        pythons = sorted({sys.base_prefix, sys.prefix, str(Path(python).resolve().parent.parent)})
        for parent in sorted({str(p) for path in [*pythons, CONNECTION] for p in Path(path).parents} - {"/", "/tmp"}):
            command += ["--perms", "0755", "--dir", parent]  # reachable by the unprivileged user (/root is 0700)
        for path in pythons:
            command += ["--ro-bind", path, path]
        command += ["--ro-bind", str(self.course), COURSE, "--ro-bind", "{connection_file}", CONNECTION,
                    "--perms", "0777", "--tmpfs", WORK, "--chdir", WORK, "--clearenv"]
        for name, value in self.environment().items():
            command += ["--setenv", name, value]
        user = sandbox_user()
        if user is None:
            return [*command, "--", *kernel, CONNECTION]
        uid, gid = user
        drop = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--"]
        return [*command, "--", "/bin/sh", "-c", HAND_OVER, "hand-over", CONNECTION, f"{uid}:{gid}",
                *drop, *kernel, "/tmp/kernel.json"]


def make_sandbox(root: Path, seed: int) -> Sandbox:
    """Copy the toolkit and its data into ``root/course`` (fresh for each submission, read-only in the box)
    and describe the box; warns once when no box can be made here."""
    import toolkit
    from toolkit.data import data_dir

    package = Path(toolkit.__file__).resolve().parent
    course, scratch = root / "course", root / "scratch"
    shutil.copytree(package, course / "toolkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "mistakes"))
    shutil.copytree(data_dir(), course / "data", ignore=shutil.ignore_patterns("*.py"))
    scratch.mkdir()
    boxed = bubblewrap_works()
    if not boxed:
        warnings.warn(UNBOXED, SandboxWarning, stacklevel=2)
    return Sandbox(course, scratch, seed, boxed)
