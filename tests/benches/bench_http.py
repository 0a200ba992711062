"""What the benchmark drivers share: free ports, a local file server standing in for Label
Studio, JSON posts to the host, timing, and a released host's start."""
import concurrent.futures
import http.server
import json
import socket
import statistics
import threading
import time
import urllib.request


def free_port():
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_files(directory, port):
    """Serves `directory` over HTTP on `port`, in a background thread, quietly."""
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=directory, **k)
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def post(port, path, body, timeout=600):
    """POSTs `body` as JSON to the host on `port`; its JSON answer."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.load(answer)


def rss_kib(pid):
    """A process's resident memory and its peak, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def timed(fn):
    """Seconds `fn()` takes."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def concurrently(fn, items, clients=4):
    """Items per second when `clients` threads share `items`."""
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(fn, items))
    return len(items) / (time.perf_counter() - started)


def median_time(fn, items, repeats=3):
    """The median over `items` of each one's median time over `repeats` runs."""
    return statistics.median(statistics.median(timed(lambda: fn(i)) for _ in range(repeats)) for i in items)


def wait_loaded(port, timeout=120):
    """The host's /models once no model is loading any more."""
    deadline = time.monotonic() + timeout
    models = {"models": []}
    while time.monotonic() < deadline:
        try:
            models = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/models"))
            if models["models"] and all(m["state"] != "loading" for m in models["models"]):
                return models
        except OSError:
            pass
        time.sleep(0.1)
    return models
