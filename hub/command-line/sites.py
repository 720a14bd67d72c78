"""`digitzoo space ...` and `digitzoo web ...`: the folders people publish, a Space (the Gradio demo hub,
or the static site) and the static site itself; `digitzoo space push` uploads a Space.

As in the rest of the command line, every stage is imported inside the command that needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from digitzoo.cli.common import require_torch
from digitzoo.hub.serving.errors import DigitzooError

space_app = typer.Typer(no_args_is_help=True, help="A ready-to-run Space: the Gradio demo hub, or (--static) the static site.")


@space_app.command("build")
def space_build(
    out_dir: str = typer.Argument(..., help="new folder to write the Space into"),
    hardware: str = typer.Option("cpu-basic", help="suggested Space hardware (cpu-basic, t4-small, a10g-small, ...)"),
    model_repo: Optional[str] = typer.Option(None, help="the model repository the Space's card links to"),
    playground: bool = typer.Option(False, help="include the Playground (its lessons train with CPU torch)"),
    static: bool = typer.Option(False, "--static", help="a static Space: the `digitzoo web build` site, models run in the browser"),
    vendor: bool = typer.Option(False, "--vendor", help="with --static: copy onnxruntime-web into the Space (needs `npm ci` in apps/web)"),
) -> None:
    """Write a self-contained Space folder: app.py, code, ONNX models, pinned requirements, README."""
    from digitzoo.hub.serving.manifest import exports_root
    from digitzoo.hub.publish.space import build_space

    if static:
        folder = _build_static_space(out_dir, model_repo, vendor, playground)
        print(f"static Space written to {folder}; try it: python -m http.server -d {folder} 8000")
        return
    if vendor:
        raise DigitzooError("--vendor goes with --static (a Gradio Space runs its models with onnxruntime in Python)")
    if playground:
        require_torch("digitzoo space build --playground")
    folder = build_space(out_dir, exports_root(), hardware, model_repo, playground)
    print(f"Space written to {folder}; try it: cd {folder} && pip install -r requirements.txt && python app.py")


def _build_static_space(out_dir, model_repo: str | None, vendor: bool, playground: bool) -> Path:
    """The static site of `digitzoo web build` plus the README a static Space needs."""
    from digitzoo.apps.web_build import build_site
    from digitzoo.hub.serving.manifest import exports_root
    from digitzoo.hub.publish.space import make_static_space

    if playground:
        raise DigitzooError("--playground needs a Gradio Space (its lessons train in Python): drop --static")
    return make_static_space(build_site(out_dir, exports_root(), vendor), model_repo)


@space_app.command("push")
def space_push(
    repo_id: str = typer.Argument(..., help="Space on the Hub, e.g. your-name/digitzoo"),
    folder: Optional[str] = typer.Option(None, "--dir", help="a folder from `digitzoo space build` (default: build one now)"),
    hardware: str = typer.Option("cpu-basic", help="Space hardware to request (cpu-basic, t4-small, ...)"),
    model_repo: Optional[str] = typer.Option(None, help="the model repository the Space's card links to"),
    private: bool = typer.Option(False, help="create the Space as private"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print what would be uploaded; no network"),
    static: bool = typer.Option(False, "--static", help="a static Space (`space build --static`): models run in the browser"),
    vendor: bool = typer.Option(False, "--vendor", help="with --static: copy onnxruntime-web into the Space"),
) -> None:
    """Create the Space if needed and upload the built folder in one commit."""
    import tempfile

    from digitzoo.hub.serving.manifest import exports_root
    from digitzoo.hub.publish.hfclient import check_repo_id, folder_files, push_files
    from digitzoo.hub.publish.space import build_space

    check_repo_id(repo_id)
    entry_file = "index.html" if static else "app.py"
    with tempfile.TemporaryDirectory() as tmp:
        if folder is None and static:
            built = _build_static_space(Path(tmp) / "space", model_repo, vendor, playground=False)
        elif folder is None:
            built = build_space(Path(tmp) / "space", exports_root(), hardware, model_repo)
        else:
            built = Path(folder)
            if not (built / entry_file).is_file() or not (built / "README.md").is_file():
                raise DigitzooError(f"{built} is not a {'static ' if static else ''}Space folder from "
                                    f"`digitzoo space build{' --static' if static else ''}` (no {entry_file}/README.md)")
        push_files(repo_id, folder_files(built), repo_type="space", private=private, revision=None,
                   message="digitzoo space push", dry_run=dry_run, out=print,
                   space_hardware=None if static else hardware, space_sdk="static" if static else "gradio")


web_app = typer.Typer(no_args_is_help=True, help="A static site: the models run in the visitor's browser.")


@web_app.command("build")
def web_build(
    out_dir: str = typer.Argument(..., help="new folder to write the site into"),
    vendor: bool = typer.Option(False, "--vendor", help="copy onnxruntime-web into the site (needs `npm ci` in apps/web) "
                                "instead of loading it from its pinned CDN URL"),
) -> None:
    """Write a static site (Draw, Latent space, GAN in the browser): page, verified ONNX files, models.json."""
    from digitzoo.apps.web_build import build_site
    from digitzoo.hub.serving.manifest import exports_root

    folder = build_site(out_dir, exports_root(), vendor)
    print(f"site written to {folder}; try it: python -m http.server -d {folder} 8000  (then open http://127.0.0.1:8000/)")
