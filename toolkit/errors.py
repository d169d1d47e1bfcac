"""Every exception the toolkit raises, in one hierarchy (chapters 1-6).

Each error derives from ``ToolkitError`` and from the built-in exception a user would catch, so
``except ValueError`` still catches a bad set-up and ``except FloatingPointError`` a NaN loss.
Messages name the problem and the fix.

>>> issubclass(LogitsMismatchError, ValueError), issubclass(NonFiniteLossError, FloatingPointError)
(True, True)
"""

from __future__ import annotations


class ToolkitError(Exception):
    """Base class of every toolkit error."""


class ArgumentError(ToolkitError, ValueError):
    """An argument has a value the function cannot use (an unknown name, a size out of range)."""


class TrainingSetupError(ToolkitError, ValueError):
    """The model, loss, optimizer or data cannot train together as given."""


class LogitsMismatchError(TrainingSetupError):
    """The model's output activation disagrees with the loss's ``from_logits``."""


class InputShapeError(TrainingSetupError):
    """The samples do not fit the model's input."""


class LabelError(TrainingSetupError):
    """The labels do not fit the model's output or the loss."""


class EmptyDataError(TrainingSetupError):
    """There is nothing to train or evaluate on."""


class NonFiniteInputError(TrainingSetupError):
    """Some samples hold NaN or inf values."""


class StreamError(TrainingSetupError):
    """A stream cannot be read as asked (mismatched arrays, an endless stream without a stop)."""


class UnsupportedDataError(TrainingSetupError, TypeError):
    """The data come in a type the toolkit cannot read."""


class OptimizerArgumentError(TrainingSetupError, TypeError):
    """A tf.keras 2 / Keras 2 optimizer argument that Keras 3 rejects or silently ignores."""


class DistributionSetupError(TrainingSetupError):
    """The model, optimizer or loop does not fit the tf.distribute strategy it is used with."""


class NonFiniteLossError(ToolkitError, FloatingPointError):
    """The loss became NaN or infinite; the message names the sample or batch and the last good state."""


class CheckpointExistsError(ToolkitError, FileExistsError):
    """A checkpoint directory already holds a run, and the call did not ask to resume it."""


class OverwriteRefusedError(ToolkitError, FileExistsError):
    """A file holds someone's work that writing would erase (a learner notebook with answers), and the call
    did not ask to overwrite it."""


class DatasetUnavailableError(ToolkitError, RuntimeError):
    """The requested data cannot be loaded here (for example, no network for the full MNIST)."""


class RuntimeConfigurationError(ToolkitError, RuntimeError):
    """A process-wide TensorFlow setting can no longer be changed (TensorFlow has already started)."""


class TuningError(ToolkitError, RuntimeError):
    """One or more trials of a search failed, so its best result is not to be trusted."""


class SubmissionError(ToolkitError, ValueError):
    """A submission cannot be graded as it is: the message names the problem and the fix."""


class GradingError(ToolkitError, RuntimeError):
    """The grader itself could not run a notebook (not a problem of the submission)."""


class CheckTamperedError(ToolkitError, RuntimeError):
    """A check cell cannot run: code run before it replaced ``print`` or the kernel's output stream."""


class KernelDiedError(ToolkitError, RuntimeError):
    """A notebook's kernel process ended while a cell was running (grading)."""


class NotebookRegressionError(ToolkitError, RuntimeError):
    """A re-executed notebook was not stored: a claim became false or a graded check's output changed."""


class SandboxWarning(ToolkitError, UserWarning):
    """Grading runs a learner's kernel without a sandbox here (no bubblewrap): a self-check only."""
