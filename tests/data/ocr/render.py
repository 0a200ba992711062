#!/usr/bin/env python3
"""Renders lines of known text into an image, for the OCR tests: a JSON spec on stdin,
    {"path": "page.png", "width": 900, "height": 400, "format": "PNG" | "JPEG",
     "background": [255, 255, 255], "color": [0, 0, 0], "mode": "RGB" | "L" | "RGBA",
     "lines": [{"text": "Invoice 2041", "x": 40, "y": 30, "size": 40}]}
writes the image and prints the pixel box [x0, y0, x1, y1] of each line's ink as JSON.
Uses Pillow's built-in scalable font (Pillow >= 10.1 bundles one), so no font file is needed."""
import json
import sys

from PIL import Image, ImageDraw, ImageFont


def main():
    spec = json.load(sys.stdin)
    mode = spec.get("mode", "RGB")
    background = tuple(spec.get("background", [255, 255, 255]))
    color = tuple(spec.get("color", [0, 0, 0]))
    image = Image.new("RGB", (spec["width"], spec["height"]), background)
    draw = ImageDraw.Draw(image)
    boxes = []
    for line in spec["lines"]:
        font = ImageFont.load_default(size=line.get("size", 40))
        position = (line["x"], line["y"])
        draw.text(position, line["text"], fill=color, font=font)
        boxes.append(list(draw.textbbox(position, line["text"], font=font)))
    if mode == "L":
        image = image.convert("L")
    elif mode == "RGBA":
        image = image.convert("RGBA")
    image.save(spec["path"], spec.get("format", "PNG"), **({"quality": 90} if spec.get("format") == "JPEG" else {}))
    json.dump(boxes, sys.stdout)


if __name__ == "__main__":
    main()
