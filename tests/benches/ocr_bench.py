"""The OCR benchmark's driver (see ocr.sh): renders the images, runs the reference and the
host on them in turn, prints the numbers."""
import json
import os
import statistics
import subprocess
import sys
import urllib.request

from bench_http import concurrently, free_port, post, rss_kib, serve_files, timed, wait_loaded

from PIL import Image, ImageDraw, ImageFont
from rapidocr_onnxruntime import RapidOCR

HOST_BIN, WORK = sys.argv[1], sys.argv[2]
CONFIG = """<View><Image name="image" value="$ocr"/>
<Labels name="label" toName="image"><Label value="Text"/></Labels>
<Rectangle name="bbox" toName="image"/>
<TextArea name="transcription" toName="image" perRegion="true"/></View>"""
WORDS = ("invoice total amount paid date order number customer address street city "
         "payment due balance tax item quantity price account reference shipping").split()


def render_pages():
    """Six document-like pages, 900 x 1000 to 1240 x 1400, 8 to 14 lines each."""
    pages = {}
    for page in range(6):
        width, height = 900 + 68 * page, 1000 + 80 * page
        image = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(image)
        lines = 8 + page
        for row in range(lines):
            words = [WORDS[(page * 7 + row * 3 + k) % len(WORDS)] for k in range(3 + row % 3)]
            text = " ".join(words).capitalize() + f" {1000 + 37 * row + page}"
            size = 28 + 4 * (row % 3)
            draw.text((50, 60 + row * (height - 120) // lines), text, fill="black",
                      font=ImageFont.load_default(size=size))
        name = f"page{page}.png"
        image.save(os.path.join(WORK, name))
        pages[name] = os.path.join(WORK, name)
    return pages












def main():
    pages = render_pages()
    names = sorted(pages)

    # --- the reference, in-process, one intra-op thread per session -----------------------
    engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
    reference_text = {}
    for name in names:  # warm up, and what it reads
        result, _ = engine(pages[name])
        reference_text[name] = sorted(line[1] for line in (result or []))
    reference_times = {n: statistics.median(timed(lambda: engine(pages[n])) for _ in range(3)) for n in names}
    reference_rate = concurrently(lambda n: engine(pages[n]), names * 3)

    # --- the host -------------------------------------------------------------------------
    file_port, port = free_port(), free_port()
    serve_files(WORK, file_port)
    log = open(os.path.join(WORK, "host.log"), "w")
    host = subprocess.Popen(
        [HOST_BIN, "serve", "--models", os.path.join(WORK, "models"), "--data-dir", os.path.join(WORK, "data"),
         "--host", "127.0.0.1", "--port", str(port), "--no-watch", "--fetch-cache-mib", "0",
         "--label-studio-url", f"http://127.0.0.1:{file_port}", "--label-studio-api-key", "bench"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_loaded(port)
        idle_rss, _ = rss_kib(host.pid)

        def task(name):
            return {"id": 1, "data": {"ocr": f"http://127.0.0.1:{file_port}/{name}"}}

        def host_ocr(name):
            answer = post(port, "/models/ocr/predict", {"tasks": [task(name)], "label_config": CONFIG})
            result = answer["results"][0]["result"]
            return sorted(r["value"]["text"][0] for r in result if r["type"] == "textarea")

        host_text = {name: host_ocr(name) for name in names}  # warm up, and what it reads
        host_times = {n: statistics.median(timed(lambda: host_ocr(n)) for _ in range(3)) for n in names}
        host_rate = concurrently(host_ocr, names * 3)
        load_rss, peak_rss = rss_kib(host.pid)

        overhead = None
        if os.path.exists(os.path.join(WORK, "models", "probe.wasm")):
            spec = {"graph": "det", "inputs": [{"name": "x", "type": "FP32", "dims": [1, 3, 640, 640], "fill": 0.5}]}
            body = {"tasks": [{"id": 1, "data": {"nn": spec}}], "label_config": "<View/>"}
            post(port, "/models/probe/predict", body)
            samples = []
            for _ in range(15):
                before = graph_ms(port, "probe", "det")
                took = timed(lambda: post(port, "/models/probe/predict", body))
                samples.append(took - (graph_ms(port, "probe", "det") - before) / 1000)
            overhead = statistics.median(samples)
    finally:
        host.terminate()
        host.wait()

    same = sum(host_text[n] == reference_text[n] for n in names)
    print(f"images: {len(names)} rendered pages, {sum(len(t) for t in reference_text.values())} lines in all")
    print(f"{'image':<10} {'rapidocr (s)':>13} {'wasml ocr (s)':>14} {'ratio':>6}")
    for n in names:
        print(f"{n:<10} {reference_times[n]:>13.3f} {host_times[n]:>14.3f} {host_times[n] / reference_times[n]:>6.2f}")
    ref_median, host_median = statistics.median(reference_times.values()), statistics.median(host_times.values())
    print(f"median per image, 1 client: rapidocr {ref_median:.3f} s, wasml {host_median:.3f} s "
          f"(wasml/rapidocr = {host_median / ref_median:.2f})")
    print(f"4 concurrent clients: rapidocr {reference_rate:.2f} images/s, wasml {host_rate:.2f} images/s "
          f"(wasml/rapidocr = {host_rate / reference_rate:.2f})")
    print(f"same text on {same} of {len(names)} images")
    for n in names:
        if host_text[n] != reference_text[n]:
            print(f"  {n}: rapidocr {reference_text[n]}\n  {' ' * len(n)}  wasml    {host_text[n]}")
    print(f"host resident memory: idle with ocr loaded {idle_rss / 1024:.0f} MiB; after the 4-client run "
          f"{load_rss / 1024:.0f} MiB, peak {peak_rss / 1024:.0f} MiB")
    if overhead is not None:
        print(f"wasi:nn call overhead (1x3x640x640 f32 in, 1x1x640x640 out; whole request minus ONNX "
              f"Runtime's time): {overhead * 1000:.2f} ms")




def graph_ms(port, model, graph):
    models = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/models"))
    entry = next(m for m in models["models"] if m["name"] == model)
    return next(g for g in entry["nn"]["graphs"] if g["name"] == graph)["inference_ms"]


if __name__ == "__main__":
    main()
