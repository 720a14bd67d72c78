"""Gradio settings made before Gradio is imported: start-up time and per-request bookkeeping.

1. Skip the type-stub writer that runs on every `import gradio`.

Every Gradio component class is created by `gradio.component_meta.ComponentMeta`, which calls
`create_or_modify_pyi`: it re-reads the component's source, parses it with `ast`, renders a
`.pyi` stub with Jinja and compares it with the one on disk. That is a development-time aid
(the stubs already ship in the wheel), yet it runs on every import: on this 2-core machine it
is 2.1 s of the 4.4 s `import gradio` takes, and `digitzoo serve` should answer within 5 s.

`skip_gradio_stub_writer()` wraps the loader of `gradio.component_meta` so that, right after
the module runs, its `create_or_modify_pyi` becomes a no-op. It must run before the first
`import gradio` (the `apps` package does it on import); afterwards it does nothing. Nothing
else in Gradio changes. It reaches into Gradio's internals, so it runs only on the Gradio
releases it was written and tested for (`TESTED_GRADIO`: the Gradio releases CI runs on);
on any other the app starts without it (about 2 s slower) and logs one line saying so.

2. Bound the queue's analytics (`limit_gradio_analytics`). Gradio records every event for its
monitoring page (10,000 by default) and, after every event, rebuilds a pandas summary of all of
them: per-request CPU that grows with the number of requests served.
"""

from __future__ import annotations

import importlib.abc
import importlib.metadata
import importlib.util
import logging
import os
import sys

STUB_WRITER_MODULE = "gradio.component_meta"
# [lowest, highest): the Gradio releases the stub-writer patch was written and tested on.
TESTED_GRADIO = ((6, 29), (6, 32))  # CI's oldest (6.29.1) and newest (6.31.0)

log = logging.getLogger("digitzoo.apps")


def gradio_version() -> tuple[int, ...] | None:
    """The installed Gradio's (major, minor, ...), read without importing it; None if unknown."""
    try:
        text = importlib.metadata.version("gradio")
    except importlib.metadata.PackageNotFoundError:
        return None
    numbers = []
    for piece in text.split("."):
        digits = "".join(c for c in piece if c.isdigit())
        if not digits or digits != piece:
            break
        numbers.append(int(digits))
    return tuple(numbers) or None


def patch_applies(version: tuple[int, ...] | None) -> bool:
    lowest, highest = TESTED_GRADIO
    return version is not None and lowest <= version[:2] < highest


def _no_stubs(*_args, **_kwargs) -> None:
    return None


class _PatchAfterExec(importlib.abc.Loader):
    def __init__(self, real: importlib.abc.Loader):
        self.real = real

    def create_module(self, spec):
        return self.real.create_module(spec)

    def exec_module(self, module) -> None:
        self.real.exec_module(module)
        if hasattr(module, "create_or_modify_pyi"):
            module.create_or_modify_pyi = _no_stubs


class _StubWriterFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != STUB_WRITER_MODULE:
            return None
        sys.meta_path.remove(self)  # one shot; also keeps find_spec below from finding us
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchAfterExec(spec.loader)
        return spec


def skip_gradio_stub_writer(version: tuple[int, ...] | None = None) -> bool:
    """Install the patch if the installed Gradio is one it was written for; True when it is active."""
    version = version or gradio_version()
    if not patch_applies(version):
        shown = ".".join(map(str, version)) if version else "unknown"
        log.warning("digitzoo: Gradio %s is outside the range the start-up patch was written for (%s to %s): "
                    "not applied, so the app starts about 2 s slower", shown,
                    ".".join(map(str, TESTED_GRADIO[0])), ".".join(map(str, TESTED_GRADIO[1])))
        return False
    if STUB_WRITER_MODULE in sys.modules or any(isinstance(f, _StubWriterFinder) for f in sys.meta_path):
        return any(isinstance(f, _StubWriterFinder) for f in sys.meta_path) or _already_patched()
    sys.meta_path.insert(0, _StubWriterFinder())
    return True


def _already_patched() -> bool:
    module = sys.modules.get(STUB_WRITER_MODULE)
    return getattr(module, "create_or_modify_pyi", None) is _no_stubs


# Read by gradio.queueing.Queue when the app's queue is created; a user's own setting wins.
ANALYTICS_LIMITS = {"GRADIO_ANALYTICS_MAX_EVENTS": "1000", "GRADIO_ANALYTICS_CACHE_FREQUENCY": "100"}


def limit_gradio_analytics() -> None:
    for name, value in ANALYTICS_LIMITS.items():
        os.environ.setdefault(name, value)
