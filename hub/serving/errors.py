"""One exception type for problems a user can fix; the CLI prints its message on one line."""


class DigitzooError(Exception):
    """A user-facing error: bad input, missing data, a refused file.

    The CLI prints ``str(error)`` without a traceback and exits with status 2.
    """


class DataUnavailable(DigitzooError):
    """MNIST is not on disk and could not be downloaded."""


class CheckpointError(DigitzooError):
    """A checkpoint is missing, incomplete, corrupted or does not match its card."""


class SketchError(DigitzooError):
    """A drawing that cannot be turned into a model input (blank, too small, wrong type)."""


class EmptySketch(SketchError):
    """Nothing is drawn yet (or the pad was cleared): live views reset instead of showing an error."""
