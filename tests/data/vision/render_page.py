#!/usr/bin/env python3
"""Renders a document page with known layout, for the layout and orientation tests: a JSON
spec on stdin,
    {"path": "page.png", "width": 1000, "height": 1400, "format": "PNG" | "JPEG",
     "seed": 7, "rotate": 0 | 90 | 180 | 270, "mode": "RGB" | "L" | "RGBA"}
writes the page, rotated clockwise by `rotate` degrees, and prints its regions as JSON,
    {"width": W, "height": H, "regions": [{"class": "title", "box": [x0, y0, x1, y1]}, ...]}
with boxes in the pixels of the unrotated page. The page has a title, paragraphs of
text, a table (ruled grid with cell text), a figure (a bar chart) with its caption, in an
order and with sizes drawn from `seed`. Uses Pillow's built-in scalable font (Pillow >= 10.1),
so no font file is needed."""
import json
import random
import sys

from PIL import Image, ImageDraw, ImageFont

WORDS = (
    "the of model label data image page table figure result method training sample "
    "annotation region score value report system document layout text study analysis "
    "section measure shows number during between each which other paper"
).split()


def sentence(rng, words):
    return " ".join(rng.choice(WORDS) for _ in range(words))


def paragraph(draw, rng, x, y, width, lines, size):
    font = ImageFont.load_default(size=size)
    line_height = int(size * 1.45)
    box = [x, y, x, y]
    for i in range(lines):
        text = sentence(rng, 40)
        # Trim to the column width, word by word.
        while draw.textlength(text, font=font) > width:
            text = text.rsplit(" ", 1)[0]
        if i == lines - 1:
            text = text.rsplit(" ", rng.randint(1, 4))[0]
        draw.text((x, y + i * line_height), text, fill=(0, 0, 0), font=font)
        x0, y0, x1, y1 = draw.textbbox((x, y + i * line_height), text, font=font)
        box = [min(box[0], x0), min(box[1], y0) if i else y0, max(box[2], x1), y1]
    return box, y + lines * line_height


def table(draw, rng, x, y, width, rows, cols, size):
    font = ImageFont.load_default(size=size)
    row_height = int(size * 2.0)
    col_width = width // cols
    for r in range(rows + 1):
        draw.line([(x, y + r * row_height), (x + cols * col_width, y + r * row_height)], fill=(0, 0, 0), width=2)
    for c in range(cols + 1):
        draw.line([(x + c * col_width, y), (x + c * col_width, y + rows * row_height)], fill=(0, 0, 0), width=2)
    for r in range(rows):
        for c in range(cols):
            text = f"{rng.randint(10, 9999)}" if r else rng.choice(WORDS).capitalize()
            draw.text((x + c * col_width + 8, y + r * row_height + size // 3), text, fill=(0, 0, 0), font=font)
    return [x, y, x + cols * col_width, y + rows * row_height], y + rows * row_height


def figure(draw, rng, x, y, width, height):
    draw.rectangle([x, y, x + width, y + height], outline=(0, 0, 0), width=2)
    bars = rng.randint(4, 8)
    step = (width - 40) // bars
    colours = [(70, 110, 190), (220, 120, 50), (80, 160, 90), (150, 80, 160)]
    for i in range(bars):
        top = y + rng.randint(20, height - 40)
        draw.rectangle([x + 20 + i * step + 6, top, x + 20 + (i + 1) * step - 6, y + height - 20], fill=colours[i % 4])
    draw.line([(x + 15, y + height - 20), (x + width - 15, y + height - 20)], fill=(0, 0, 0), width=2)
    return [x, y, x + width, y + height], y + height


def main():
    spec = json.load(sys.stdin)
    rng = random.Random(spec.get("seed", 0))
    width, height = spec.get("width", 1000), spec.get("height", 1400)
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    margin = width // 12
    column = width - 2 * margin
    regions = []
    y = margin

    # A title as papers set theirs: larger than the body, centred.
    title_size = width // 20
    font = ImageFont.load_default(size=title_size)
    title = " ".join(w.capitalize() for w in sentence(rng, rng.randint(3, 5)).split())
    x = (width - draw.textlength(title, font=font)) // 2
    draw.text((x, y), title, fill=(0, 0, 0), font=font)
    regions.append({"class": "title", "box": list(draw.textbbox((x, y), title, font=font))})
    y += int(title_size * 2.2)

    body = width // 45
    blocks = ["text", "table", "text", "figure", "text"]
    if rng.random() < 0.5:
        blocks[1], blocks[3] = blocks[3], blocks[1]
    for block in blocks:
        if y > height - margin - 6 * body:
            break
        if block == "text":
            box, y = paragraph(draw, rng, margin, y, column, rng.randint(3, 6), body)
            regions.append({"class": "text", "box": box})
        elif block == "table":
            box, y = table(draw, rng, margin, y, column, rng.randint(4, 6), rng.randint(3, 5), body)
            regions.append({"class": "table", "box": box})
        else:
            fig_height = min(height // 4, height - margin - y - 4 * body)
            box, y = figure(draw, rng, margin + column // 8, y, column * 3 // 4, fig_height)
            regions.append({"class": "figure", "box": box})
            y += body // 2
            caption = "Figure 1. " + sentence(rng, 6)
            cfont = ImageFont.load_default(size=body)
            draw.text((margin + column // 8, y), caption, fill=(0, 0, 0), font=cfont)
            regions.append({"class": "figure_caption", "box": list(draw.textbbox((margin + column // 8, y), caption, font=cfont))})
            y += int(body * 1.5)
        y += int(body * 1.8)

    rotate = spec.get("rotate", 0)
    if rotate:
        # PIL rotates counter-clockwise; the spec's angle is clockwise.
        image = image.rotate(-rotate, expand=True)
    mode = spec.get("mode", "RGB")
    if mode != "RGB":
        image = image.convert(mode)
    fmt = spec.get("format", "PNG")
    image.save(spec["path"], fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    json.dump({"width": width, "height": height, "regions": regions}, sys.stdout)


if __name__ == "__main__":
    main()
