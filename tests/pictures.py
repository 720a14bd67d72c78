"""Pictures the API and tool tests send: a drawn "1" and a PNG as a data: URL (one copy for both)."""

from __future__ import annotations

import base64
import io

from PIL import Image, ImageDraw


def png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def drawn_one() -> Image.Image:
    """A "1" as a person draws it on a pad: one thick dark stroke on white."""
    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).rectangle([125, 40, 155, 240], fill=0)
    return image
