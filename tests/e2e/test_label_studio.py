"""End-to-end test: the wasml host behind a real Label Studio (1.23.2).

Started by `tests/e2e/run`, which brings up both servers and passes their addresses in the
environment. Label Studio is driven only through its public REST API, the calls its front end
makes when a user clicks: create a project, connect a model, import tasks, "Retrieve
Predictions", label a span with interactive pre-annotation on, submit / fix / delete
annotations, "Start Training". The host is only read (`GET /models`, `GET /models/<name>/jobs`)
to see what Label Studio made it do.

Each test uses its own project, so they are independent; the steps inside a test build on each
other and stop at the first failed check.
"""

import array
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

LS_URL = os.environ.get("E2E_LS_URL", "http://127.0.0.1:8080")
LS_TOKEN = os.environ.get("E2E_LS_TOKEN", "")
WASML_URL = os.environ.get("E2E_WASML_URL", "http://127.0.0.1:9090")
# How long to wait for anything that should happen within a second (the machine may be busy).
DEADLINE = float(os.environ.get("E2E_DEADLINE_SECS", "60"))

# The repository, for the test-input generators under tests/data.
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Models the test needs, all built from example-models/rust.
MODELS = ("dummy", "substring-matching", "text-classifier", "ocr", "layout", "speech")

CHOICES_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
  </Choices>
</View>"""

# The same classification, over texts that are files: Label Studio shows the file the task's
# value points to, and the model gets the text because the host fetches it.
# Label Studio's OCR template (Computer Vision > Optical Character Recognition).
OCR_CONFIG = """<View>
  <Image name="image" value="$ocr"/>
  <Labels name="label" toName="image">
    <Label value="Text" background="green"/>
    <Label value="Handwriting" background="blue"/>
  </Labels>
  <Rectangle name="bbox" toName="image" strokeWidth="3"/>
  <Polygon name="poly" toName="image" strokeWidth="3"/>
  <TextArea name="transcription" toName="image" editable="true" perRegion="true" required="true"
            maxSubmissions="1" rows="5" placeholder="Recognized Text" displayMode="region-list"/>
</View>"""
# A document layout project: the labels named the project's way, the model's classes mapped
# by value or predicted_values.
LAYOUT_CONFIG = """<View>
  <Image name="page" value="$image"/>
  <RectangleLabels name="layout" toName="page">
    <Label value="Paragraph" predicted_values="text" background="green"/>
    <Label value="Title" background="red"/>
    <Label value="Table" background="blue"/>
    <Label value="Figure" background="orange"/>
  </RectangleLabels>
</View>"""

# Label Studio's voice activity template (Audio/Speech Processing > Voice Activity Detection).
SPEECH_CONFIG = """<View>
  <Labels name="label" toName="audio" zoom="true">
    <Label value="Speech" background="red"/>
    <Label value="Noise" background="grey"/>
  </Labels>
  <Audio name="audio" value="$audio"/>
</View>"""

URL_CHOICES_CONFIG = """<View>
  <Text name="text" value="$text" valueType="url"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
  </Choices>
</View>"""

# Label Studio's local files document root (LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT).
LOCAL_FILES = os.environ.get("E2E_LOCAL_FILES", "")

NER_CONFIG = """<View>
  <Labels name="label" toName="text">
    <Label value="ORG"/>
    <Label value="PER"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""


def say(message):
    print(message, flush=True)


def step(message):
    say(f"  - {message}")


def poll(what, probe, timeout=DEADLINE, interval=0.25):
    """Calls `probe()` until it returns `(True, value)`; returns the value. `probe` returns
    `(False, observed)` while waiting; the last observation is in the failure message."""
    deadline = time.monotonic() + timeout
    while True:
        done, observed = probe()
        if done:
            return observed
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last seen: {observed!r}")
        time.sleep(interval)


def utf16_offsets(text, needle):
    """Every non-overlapping occurrence of `needle` in `text`, as (start, end) in UTF-16 code
    units: the offsets Label Studio's front end counts."""
    def units(s):
        return len(s.encode("utf-16-le")) // 2

    found, at = [], text.find(needle)
    while at >= 0:
        start = units(text[:at])
        found.append((start, start + units(needle)))
        at = text.find(needle, at + len(needle))
    return found


class Http:
    """A JSON client that fails with the request, the status and the body."""

    def __init__(self, base, headers=None):
        self.base = base.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(headers or {})

    def call(self, method, path, expect=(200, 201), **kwargs):
        url = self.base + path
        response = self.session.request(method, url, timeout=120, **kwargs)
        if response.status_code not in expect:
            raise AssertionError(
                f"{method} {url} answered {response.status_code}, expected {expect}: {response.text[:2000]}"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as err:
            raise AssertionError(f"{method} {url} answered non-JSON ({err}): {response.text[:500]}") from None

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.call("POST", path, **kwargs)


LS = Http(LS_URL, {"Authorization": f"Token {LS_TOKEN}"})
HOST = Http(WASML_URL)


# --- Label Studio, as the front end drives it ----------------------------------------------


def create_project(title, label_config):
    project = LS.post("/api/projects", json={"title": title, "label_config": label_config})
    step(f"created project {project['id']} '{title}'")
    return project["id"]


def connect_model(test, project, model, interactive=False):
    """Settings -> Model -> Connect Model; returns the backend as Label Studio shows it."""
    url = f"{WASML_URL}/models/{model}"
    created = LS.post(
        "/api/ml",
        json={"url": url, "project": project, "title": model, "is_interactive": interactive},
    )
    backend = LS.get(f"/api/ml/{created['id']}")
    step(
        f"connected {url} as ML backend {backend['id']}: state {backend['state']} "
        f"({backend['readable_state']}), model_version {backend['model_version']!r}"
    )
    test.assertEqual(backend["state"], "CO", f"Label Studio does not show the model connected: {backend}")
    test.assertEqual(backend["readable_state"], "Connected")
    test.assertFalse(backend["error_message"], backend)
    test.assertEqual(backend["is_interactive"], interactive)
    test.assertTrue(backend["model_version"], f"Label Studio stored no model version from /setup: {backend}")
    listed = LS.get(f"/api/ml?project={project}")
    test.assertEqual([b["id"] for b in listed], [backend["id"]], listed)
    test.assertEqual(listed[0]["state"], "CO", listed)
    return backend


def backend_state(backend_id):
    """`GET /api/ml/<id>`: Label Studio calls /health and /setup, so `model_version` is what the
    model's /setup answers now."""
    return LS.get(f"/api/ml/{backend_id}")


def task_ids(project):
    answer = LS.get(f"/api/tasks?project={project}&page_size=1000")
    return sorted(task["id"] for task in answer["tasks"])


def import_tasks(test, project, texts):
    before = set(task_ids(project))
    answer = LS.post(f"/api/projects/{project}/import", json=[{"text": text} for text in texts])
    test.assertEqual(answer["task_count"], len(texts), answer)
    new = [task for task in task_ids(project) if task not in before]
    test.assertEqual(len(new), len(texts), f"imported {len(texts)} tasks, found {new}")
    step(f"imported {len(texts)} tasks: {new}")
    return dict(zip(new, texts))


def retrieve_predictions(project, tasks=None):
    """Data Manager -> select tasks -> Actions -> Retrieve Predictions."""
    if tasks is None:
        selected = {"all": True, "excluded": []}
    else:
        selected = {"all": False, "included": list(tasks)}
    answer = LS.post(
        f"/api/dm/actions?id=retrieve_tasks_predictions&project={project}",
        json={"selectedItems": selected, "ordering": [], "filters": {"conjunction": "and", "items": []}},
    )
    step(f"Retrieve Predictions on {'all tasks' if tasks is None else list(tasks)}: {answer}")
    return answer


def predictions(project):
    """Every prediction Label Studio stores for the project."""
    return LS.get(f"/api/predictions?project={project}")


def by_task(preds):
    grouped = {}
    for prediction in preds:
        grouped.setdefault(prediction["task"], []).append(prediction)
    return grouped


def annotate(project, task, choice):
    """Submit an annotation with one choice, as the labeling stream's Submit button does."""
    annotation = LS.post(
        f"/api/tasks/{task}/annotations?project={project}",
        json={
            "result": [
                {
                    "from_name": "sentiment",
                    "to_name": "text",
                    "type": "choices",
                    "value": {"choices": [choice]},
                    "origin": "manual",
                }
            ],
            "lead_time": 2.5,
            "was_cancelled": False,
            "ground_truth": False,
        },
    )
    return annotation["id"]


class WebhookRecorder:
    """A second webhook on a project, next to the one Label Studio creates for the model: it
    records every body Label Studio sends, to show exactly what the model received."""

    def __init__(self):
        self.bodies = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    recorder.bodies.append(json.loads(body))
                except ValueError:
                    recorder.bodies.append({"unparsable": body.decode("utf-8", "replace")})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def attach(self, project):
        LS.post(
            "/api/webhooks",
            json={"project": project, "url": self.url, "send_payload": True, "send_for_all_actions": True},
        )

    def sent(self, action):
        return [body for body in self.bodies if body.get("action") == action]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def shape(body):
    """The top-level keys of a webhook body, with the type (and length) of each value."""
    described = {}
    for key, value in body.items():
        if isinstance(value, list):
            described[key] = f"list of {len(value)}"
        else:
            described[key] = type(value).__name__
    return described


# --- the wasml host -------------------------------------------------------------------------


def host_models():
    return {model["name"]: model for model in HOST.get("/models")["models"]}


def host_models_listing():
    """The host's whole `GET /models` answer."""
    return HOST.get("/models")


def host_jobs(model, project):
    """The host's jobs for one Label Studio project, oldest first."""
    jobs = HOST.get(f"/models/{model}/jobs")["jobs"]
    return sorted((job for job in jobs if job["project"] == str(project)), key=lambda job: job["id"])


def wait_for_job(test, model, project, after_id, event, annotation=None):
    """Waits until the host has finished a job for `event` newer than `after_id`; returns it."""

    def probe():
        jobs = [job for job in host_jobs(model, project) if job["id"] > after_id and job["event"] == event]
        if not jobs:
            return False, f"no {event} job yet for project {project} (jobs: {host_jobs(model, project)})"
        job = jobs[-1]
        return job["state"] in ("done", "failed"), job

    job = poll(f"the webhook {event} to reach {model}'s fit", probe)
    test.assertEqual(job["state"], "done", f"fit failed for {event}: {job}")
    step(
        f"host ran {model}'s fit for {event}"
        + (f" (annotation {annotation})" if annotation else "")
        + f": job {job['id']}, trained={job['trained']}, version {job['model_version']}, result {job['result']}"
    )
    return job


def last_job_id(model, project):
    jobs = host_jobs(model, project)
    return jobs[-1]["id"] if jobs else 0


class LabelStudioEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        say(f"Label Studio at {LS_URL}, wasml at {WASML_URL}")
        version = LS.get("/api/version")
        say(f"Label Studio version {version.get('release')}")
        user = LS.get("/api/current-user/whoami")
        say(f"authenticated as {user['email']} (legacy API token)")

        def models_ready():
            models = host_models()
            states = {name: models.get(name, {}).get("state") for name in MODELS}
            return all(state == "ready" for state in states.values()), states

        states = poll("the host to load the example models", models_ready, timeout=max(DEADLINE, 180))
        say(f"wasml models ready: {states}")

    def setUp(self):
        say(f"\n== {self._testMethodName}: {self.shortDescription()}")

    def test_1_dummy_retrieve_predictions(self):
        """connect, Retrieve Predictions, model versions, no duplicates (dummy)"""
        project = create_project("e2e dummy", CHOICES_CONFIG)
        backend = connect_model(self, project, "dummy")
        host_version = host_models()["dummy"]["version"]
        self.assertEqual(
            backend["model_version"],
            host_version,
            "Label Studio's model_version (from /setup) differs from the host's version of the model",
        )

        tasks = import_tasks(self, project, ["first task", "second task", "third task"])
        answer = retrieve_predictions(project)
        self.assertEqual(answer.get("processed_items"), len(tasks), answer)
        stored = by_task(predictions(project))
        for task in tasks:
            preds = stored.get(task, [])
            self.assertEqual(len(preds), 1, f"task {task} must have exactly one prediction: {preds}")
            (prediction,) = preds
            self.assertEqual(prediction["model_version"], backend["model_version"], prediction)
            self.assertEqual(prediction["score"], 0.5, prediction)
            self.assertEqual(len(prediction["result"]), 1, prediction)
            region = prediction["result"][0]
            self.assertEqual(
                (region["from_name"], region["to_name"], region["type"], region["value"]),
                ("sentiment", "text", "choices", {"choices": ["Positive"]}),
                prediction,
            )
        step(f"one prediction per task, model_version {backend['model_version']}, first choice 'Positive'")

        retrieve_predictions(project)
        again = predictions(project)
        self.assertEqual(len(again), len(tasks), f"a second retrieval created duplicates: {by_task(again)}")
        step(f"second Retrieve Predictions: still {len(again)} predictions (no duplicates)")

        new = import_tasks(self, project, ["a fourth task"])
        retrieve_predictions(project, tasks=list(new))
        stored = by_task(predictions(project))
        self.assertEqual(sorted(stored), sorted([*tasks, *new]), stored)
        self.assertTrue(all(len(preds) == 1 for preds in stored.values()), stored)
        step("Retrieve Predictions on a new task: one prediction for it, none added elsewhere")

        # Opening a task that has no prediction in the labeling view: Label Studio asks the
        # model for it ("show predictions to annotators" is on by default).
        (opened,) = import_tasks(self, project, ["a task opened in the labeling view"])
        task = LS.get(f"/api/tasks/{opened}")
        shown = task.get("predictions", [])
        self.assertEqual(len(shown), 1, f"opening task {opened} did not fetch its prediction: {task}")
        self.assertEqual(shown[0]["model_version"], backend["model_version"], shown)
        self.assertEqual(len(by_task(predictions(project))[opened]), 1)
        LS.get(f"/api/tasks/{opened}")
        self.assertEqual(len(by_task(predictions(project))[opened]), 1, "opening the task again added a prediction")
        step(f"opening task {opened}: Label Studio fetched and stored its one prediction")

        # Settings -> Model -> "Send Test Request".
        sent = LS.post(f"/api/ml/{backend['id']}/predict/test?random=true")
        self.assertEqual(sent["status"], 200, sent)
        self.assertFalse(sent["error_message"], sent)
        self.assertEqual(len(sent["response"]), 1, sent)
        self.assertEqual(sent["response"][0]["model_version"], backend["model_version"], sent)
        step(f"Send Test Request: the model answered {sent['response']}")

        # The model's version list, from the host's /versions: an untrained model has the one
        # version /setup reported, and no "Upgrade your ML backend" message.
        versions = LS.get(f"/api/ml/{backend['id']}/versions")
        self.assertEqual(versions.get("versions"), [backend["model_version"]], versions)
        self.assertNotIn("message", versions, versions)
        step(f"model versions as Label Studio lists them: {versions}")

    def test_2_substring_matching_interactive(self):
        """interactive pre-annotation: every occurrence of a labeled span (substring-matching)"""
        project = create_project("e2e substring matching", NER_CONFIG)
        backend = connect_model(self, project, "substring-matching", interactive=True)
        version = backend["model_version"]
        self.assertEqual(version, host_models()["substring-matching"]["version"])

        text = "Apple makes phones. Café owners love Apple; apple pie \N{RED APPLE} Apple, 🍏 Apple!"
        other = "Nothing to see here."
        tasks = import_tasks(self, project, [text, other])
        task = next(iter(tasks))

        retrieve_predictions(project)
        stored = by_task(predictions(project))
        self.assertEqual(sorted(stored), sorted(tasks), stored)
        for tid, preds in stored.items():
            self.assertEqual(len(preds), 1, f"task {tid}: {preds}")
            self.assertEqual(preds[0]["model_version"], version, preds)
            self.assertEqual(preds[0]["result"], [], f"without a context there is nothing to match: {preds}")
        retrieve_predictions(project)
        self.assertEqual(len(predictions(project)), len(tasks), "a second retrieval created duplicates")
        step("Retrieve Predictions: one (empty) prediction per task; the second retrieval adds none")

        # The user selects "Apple" (the first five characters) and gives it the label ORG, with
        # "Auto-Annotation" on: the front end posts the new region as the context.
        context = {
            "annotation_id": None,
            "draft_id": 0,
            "user_id": LS.get("/api/current-user/whoami")["id"],
            "result": [
                {
                    "id": "e2e-region-1",
                    "from_name": "label",
                    "to_name": "text",
                    "type": "labels",
                    "origin": "manual",
                    "value": {"start": 0, "end": 5, "text": "Apple", "labels": ["ORG"]},
                }
            ],
        }
        answer = LS.post(f"/api/ml/{backend['id']}/interactive-annotating", json={"task": task, "context": context})
        self.assertNotIn("errors", answer, f"Label Studio reports an error from the model: {answer}")
        self.assertIn("data", answer, answer)
        data = answer["data"]
        expected = utf16_offsets(text, "Apple")
        self.assertEqual(len(expected), 4)  # "apple" (lower case) is not a match
        got = sorted((r["value"]["start"], r["value"]["end"]) for r in data["result"])
        self.assertEqual(got, expected, f"interactive answer does not hold every occurrence of 'Apple': {data}")
        for region in data["result"]:
            self.assertEqual(
                (region["from_name"], region["to_name"], region["type"]), ("label", "text", "labels"), region
            )
            self.assertEqual(region["value"]["labels"], ["ORG"], region)
            self.assertEqual(region["value"]["text"], "Apple", region)
        self.assertEqual(data.get("model_version"), version, data)
        step(f"interactive-annotating on task {task}: every 'Apple' labeled ORG at UTF-16 offsets {got}")

        self.assertEqual(len(predictions(project)), len(tasks), "interactive pre-annotation must not be stored")

    def test_3_text_classifier_training(self):
        """annotation webhooks reach fit, Start Training, predictions follow the annotations (text-classifier)"""
        project = create_project("e2e text classifier", CHOICES_CONFIG)
        backend = connect_model(self, project, "text-classifier")
        initial = backend["model_version"]
        self.assertEqual(initial, host_models()["text-classifier"]["version"])
        webhooks = LS.get(f"/api/webhooks?project={project}")
        step(f"webhooks of the project: {[(w['url'], w['send_for_all_actions']) for w in webhooks]}")
        self.assertIn(
            f"{WASML_URL}/models/text-classifier/webhook",
            [w["url"] for w in webhooks],
            "Label Studio did not create the ML backend's webhook",
        )
        recorder = WebhookRecorder()
        self.addCleanup(recorder.close)
        recorder.attach(project)
        step(f"recording what Label Studio sends with a second webhook at {recorder.url}")

        positive = [
            "I love this phone, the screen is wonderful and the battery is great",
            "Wonderful service and friendly staff, I love it",
            "Great value, works perfectly, I highly recommend it",
            "Excellent quality and a great design, love it",
        ]
        negative = [
            "Terrible product, it broke after one day, awful",
            "Awful customer service, rude staff, a terrible experience",
            "A waste of money, broken and useless, very disappointed",
            "Horrible quality and an awful design, do not buy",
        ]
        training = import_tasks(self, project, positive + negative)
        labels = {task: ("Positive" if text in positive else "Negative") for task, text in training.items()}

        # Before any annotation the classifier has nothing to say, but says it for every task.
        retrieve_predictions(project)
        stored = by_task(predictions(project))
        self.assertEqual(sorted(stored), sorted(training), stored)
        for tid, preds in stored.items():
            self.assertEqual(len(preds), 1, f"task {tid}: {preds}")
            self.assertEqual((preds[0]["model_version"], preds[0]["result"]), (initial, []), preds)
        step(f"before training: one empty prediction per task, model_version {initial}")

        # Annotations: each submit sends ANNOTATION_CREATED to <model url>/webhook.
        first_task = next(iter(training))
        wrong = "Negative" if labels[first_task] == "Positive" else "Positive"
        since = last_job_id("text-classifier", project)
        first_annotation = annotate(project, first_task, wrong)
        job = wait_for_job(self, "text-classifier", project, since, "ANNOTATION_CREATED", first_annotation)
        self.assertTrue(job["trained"], job)
        self.assertEqual(job["result"]["added"], 1, job)
        for task, label in labels.items():
            if task == first_task:
                continue
            since = job["id"]
            annotation = annotate(project, task, label)
            job = wait_for_job(self, "text-classifier", project, since, "ANNOTATION_CREATED", annotation)
            self.assertTrue(job["trained"], job)
            self.assertEqual(job["result"]["added"], 1, job)

        # The annotator fixes the first annotation: ANNOTATION_UPDATED replaces its example.
        since = job["id"]
        fixed = LS.call(
            "PATCH",
            f"/api/annotations/{first_annotation}",
            json={
                "result": [
                    {
                        "from_name": "sentiment",
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": [labels[first_task]]},
                        "origin": "manual",
                    }
                ]
            },
        )
        self.assertEqual(fixed["result"][0]["value"]["choices"], [labels[first_task]], fixed)
        job = wait_for_job(self, "text-classifier", project, since, "ANNOTATION_UPDATED", first_annotation)
        self.assertEqual(job["result"]["replaced"], 1, job)
        self.assertTrue(job["trained"], job)

        # A stray annotation, deleted again: ANNOTATIONS_DELETED removes its example.
        stray_task = next(iter(import_tasks(self, project, ["Ambiguous text about nothing in particular"])))
        since = job["id"]
        stray = annotate(project, stray_task, "Positive")
        job = wait_for_job(self, "text-classifier", project, since, "ANNOTATION_CREATED", stray)
        since = job["id"]
        LS.call("DELETE", f"/api/annotations/{stray}", expect=(204,))
        job = wait_for_job(self, "text-classifier", project, since, "ANNOTATIONS_DELETED", stray)
        self.assertEqual(job["result"]["removed"], 1, job)
        self.assertEqual(job["result"]["documents"], len(training), job)
        self.assertEqual(job["result"]["labels"], {"Positive": len(positive), "Negative": len(negative)}, job)
        trained_version = job["model_version"]
        self.assertNotEqual(trained_version, initial)

        now = backend_state(backend["id"])
        self.assertEqual(
            now["model_version"],
            trained_version,
            "Label Studio's model_version (from /setup) is not the version of the last training",
        )
        step(f"Label Studio now shows model_version {now['model_version']} (was {initial})")

        # Start Training: POST <model url>/webhook with START_TRAINING.
        since = job["id"]
        LS.post(f"/api/ml/{backend['id']}/train", expect=(200,))
        job = wait_for_job(self, "text-classifier", project, since, "START_TRAINING")
        self.assertTrue(job["result"]["rebuilt"], job)
        self.assertEqual(job["result"]["documents"], len(training), job)
        now = backend_state(backend["id"])
        self.assertEqual(now["state"], "CO", f"after Start Training: {now}")
        self.assertFalse(now["error_message"], now)
        self.assertEqual(now["model_version"], job["model_version"], now)
        version = now["model_version"]

        # Label Studio's model-version picker: the trained version first, the untrained one
        # still listed (its predictions are kept).
        versions = LS.get(f"/api/ml/{backend['id']}/versions")
        self.assertEqual(versions.get("versions", [None])[0], version, versions)
        self.assertIn(initial, versions["versions"], versions)
        self.assertEqual(len(versions["versions"]), len(set(versions["versions"])), versions)
        step(f"model versions as Label Studio lists them: {versions['versions']}")

        # New tasks: the trained model's predictions follow the annotations.
        unseen = {
            "I love the wonderful screen, great quality": "Positive",
            "Excellent and friendly, highly recommend": "Positive",
            "Awful and broken, a terrible waste of money": "Negative",
            "Rude staff and horrible service, very disappointed": "Negative",
        }
        fresh = import_tasks(self, project, list(unseen))
        retrieve_predictions(project, tasks=list(fresh))
        stored = by_task(predictions(project))
        for task, text in fresh.items():
            preds = stored.get(task, [])
            self.assertEqual(len(preds), 1, f"task {task}: {preds}")
            (prediction,) = preds
            self.assertEqual(prediction["model_version"], version, prediction)
            self.assertEqual(len(prediction["result"]), 1, prediction)
            region = prediction["result"][0]
            self.assertEqual((region["from_name"], region["to_name"], region["type"]), ("sentiment", "text", "choices"))
            self.assertEqual(
                region["value"]["choices"], [unseen[text]], f"'{text}' was predicted {region['value']['choices']}"
            )
            self.assertGreater(prediction["score"], 0.5, prediction)
            step(f"'{text}' -> {region['value']['choices'][0]} ({prediction['score']:.3f})")

        # Retrieving for everything adds the new version's prediction to the older tasks,
        # once: each task ends with exactly one prediction per model version.
        retrieve_predictions(project)
        retrieve_predictions(project)
        stored = by_task(predictions(project))
        for task, preds in stored.items():
            versions = [p["model_version"] for p in preds]
            self.assertEqual(len(versions), len(set(versions)), f"task {task} has duplicate predictions: {preds}")
            self.assertIn(version, versions, f"task {task} has no prediction of {version}: {preds}")
        for task, label in labels.items():
            (current,) = [p for p in stored[task] if p["model_version"] == version]
            self.assertEqual(current["result"][0]["value"]["choices"], [label], current)
        step("retrieving twice for all tasks: one prediction per task and version, training texts predicted right")

        # Data Manager -> Actions -> "Create Annotations From Predictions" on the new tasks: the
        # user accepts the model's answers. Label Studio sends one ANNOTATIONS_CREATED webhook.
        since = last_job_id("text-classifier", project)
        answer = LS.post(
            f"/api/dm/actions?id=predictions_to_annotations&project={project}",
            json={"selectedItems": {"all": False, "included": list(fresh)}, "model_version": version},
        )
        step(f"Create Annotations From Predictions on {list(fresh)}: {answer}")
        job = wait_for_job(self, "text-classifier", project, since, "ANNOTATIONS_CREATED")
        sent = recorder.sent("ANNOTATIONS_CREATED")
        self.assertEqual(len(sent), 1, f"Label Studio sent {len(sent)} ANNOTATIONS_CREATED webhooks")
        body = sent[0]
        step(f"Label Studio sent ANNOTATIONS_CREATED with {shape(body)}")
        self.assertEqual(
            job["result"]["added"],
            len(fresh),
            f"text-classifier's fit did not learn the {len(fresh)} annotations of ANNOTATIONS_CREATED. "
            f"Label Studio {LS.get('/api/version').get('release')} sent the body {shape(body)} "
            f"(annotations under 'annotation', their tasks under 'task'; first annotation: "
            f"{json.dumps((body.get('annotation') or [None])[0])[:600]}); "
            f"the model answered {job['result']} (trained={job['trained']})",
        )
        self.assertEqual(job["result"]["documents"], len(training) + len(fresh), job)

    def test_4_texts_in_local_storage(self):
        """tasks whose texts are files in Label Studio's local storage: the host fetches them with the /setup token (text-classifier)"""
        self.assertTrue(LOCAL_FILES and os.path.isdir(LOCAL_FILES), "tests/e2e/run sets E2E_LOCAL_FILES")
        folder = os.path.join(LOCAL_FILES, "reviews")
        os.makedirs(folder, exist_ok=True)
        texts = {
            "p1.txt": ("I love this phone, the screen is wonderful and the battery is great", "Positive"),
            "p2.txt": ("Wonderful service and friendly staff, I love it", "Positive"),
            "n1.txt": ("Terrible product, it broke after one day, awful", "Negative"),
            "n2.txt": ("Awful customer service, rude staff, a terrible experience", "Negative"),
        }
        for name, (text, _) in texts.items():
            with open(os.path.join(folder, name), "w", encoding="utf-8") as file:
                file.write(text)
        project = create_project("e2e texts in local storage", URL_CHOICES_CONFIG)
        connect_model(self, project, "text-classifier")
        # Settings -> Cloud Storage -> Add Source Storage -> Local files, "treat every file as a
        # source file" (blob URLs), then Sync: one task per file, its value a local-files URL.
        storage = LS.post(
            "/api/storages/localfiles",
            json={"project": project, "path": folder, "title": "reviews", "use_blob_urls": True,
                  "regex_filter": ".*txt"},
        )
        LS.post(f"/api/storages/localfiles/{storage['id']}/sync")
        tasks = poll(
            "Label Studio to create one task per file",
            lambda: (
                len(answer := LS.get(f"/api/tasks?project={project}&page_size=100")["tasks"]) == len(texts),
                answer,
            ),
        )
        refs = {task["id"]: task["data"]["text"] for task in tasks}
        step(f"local storage synced: {refs}")
        # Label Studio writes its HOST in front when it has one (http://<LS>/data/local-files/...):
        # an http URL of Label Studio's origin, which the host fetches with the token.
        for ref in refs.values():
            self.assertIn("/data/local-files/?d=reviews/", ref)
        labels = {tid: texts[os.path.basename(ref.split("?d=", 1)[1])][1] for tid, ref in refs.items()}

        # Each annotation's fit reads the text behind its task's URL.
        job = None
        for task, label in labels.items():
            since = last_job_id("text-classifier", project)
            annotation = annotate(project, task, label)
            job = wait_for_job(self, "text-classifier", project, since, "ANNOTATION_CREATED", annotation)
            self.assertEqual(job["state"], "done", job)
            self.assertEqual(job["result"]["added"], 1, job)
        step(f"trained on {len(labels)} files: {job['result']}")

        retrieve_predictions(project)
        stored = by_task(predictions(project))
        for task, label in labels.items():
            latest = [p for p in stored.get(task, []) if p["model_version"] == job["model_version"]]
            self.assertEqual(len(latest), 1, f"task {task}: {stored.get(task)}")
            self.assertEqual(latest[0]["result"][0]["value"]["choices"], [label], latest)
        cache = host_models_listing()["task_data"]["cache"]
        self.assertGreater(cache["misses"] + cache["hits"], 0, cache)
        step(f"predictions from the files' texts, right for each; the host's fetch cache: {cache}")


    def test_5_ocr_on_uploaded_images(self):
        """images uploaded through Label Studio's import API: the host fetches them, ocr reads their text on ONNX Runtime"""
        from PIL import Image, ImageDraw, ImageFont

        pages = {
            "receipt.png": ["Coffee beans 12.50", "Paid by card"],
            "label.png": ["Fragile handle with care"],
        }
        uploads = []
        for name, lines in pages.items():
            image = Image.new("RGB", (720, 80 + 90 * len(lines)), "white")
            draw = ImageDraw.Draw(image)
            for row, text in enumerate(lines):
                draw.text((36, 40 + 90 * row), text, fill="black", font=ImageFont.load_default(size=40))
            buffer = io.BytesIO()
            image.save(buffer, "PNG")
            # One form field per file, as the import dialog sends them (one name per file).
            uploads.append((name, (name, buffer.getvalue(), "image/png")))
        project = create_project("e2e ocr", OCR_CONFIG)
        connect_model(self, project, "ocr")
        # Data Manager -> Import -> Upload Files: Label Studio stores each file and makes a task
        # whose `ocr` value is its /data/upload/<project>/<file> URL.
        answer = LS.post(f"/api/projects/{project}/import", files=uploads)
        self.assertEqual(answer["task_count"], len(pages), answer)
        tasks = LS.get(f"/api/tasks?project={project}&page_size=100")["tasks"]
        refs = {task["id"]: task["data"]["ocr"] for task in tasks}
        step(f"uploaded {len(pages)} images: {refs}")
        for ref in refs.values():
            self.assertIn(f"/data/upload/{project}/", ref)

        retrieve_predictions(project)
        stored = by_task(predictions(project))
        for task, ref in refs.items():
            name = next(n for n in pages if ref.endswith(n))
            self.assertEqual(len(stored.get(task, [])), 1, f"task {task}: {stored.get(task)}")
            result = stored[task][0]["result"]
            # Spaces aside: PP-OCRv4's recogniser often drops those between English words, as
            # rapidocr does with the same graphs.
            texts = sorted(r["value"]["text"][0].replace(" ", "") for r in result if r["type"] == "textarea")
            self.assertEqual(texts, sorted(t.replace(" ", "") for t in pages[name]), f"{name}: {result}")
            boxes = [r for r in result if r["type"] == "rectangle"]
            self.assertEqual(len(boxes), len(pages[name]), result)
            for box in boxes:
                self.assertEqual(box["from_name"], "bbox")
                self.assertTrue(0 <= box["value"]["x"] < 100 and 0 < box["value"]["width"] <= 100, box)
                partner = [r for r in result if r["id"] == box["id"]]
                self.assertEqual(sorted(r["type"] for r in partner), ["labels", "rectangle", "textarea"])
            step(f"{name}: read {texts}")
        graphs = {g["name"]: g for g in host_models()["ocr"]["nn"]["graphs"]}
        self.assertGreaterEqual(graphs["det"]["inferences"], len(pages), graphs["det"])

    def test_6_layout_on_uploaded_pages(self):
        """document pages uploaded through Label Studio: layout finds their regions on ONNX Runtime"""
        render = os.path.join(REPO, "tests", "data", "vision", "render_page.py")
        drawn, uploads = {}, []
        with tempfile.TemporaryDirectory() as tmp:
            for seed, name in ((3, "report.png"), (7, "paper.png")):
                path = os.path.join(tmp, name)
                spec = json.dumps({"path": path, "seed": seed, "width": 900, "height": 1260})
                out = subprocess.run([sys.executable, render], input=spec, capture_output=True, text=True, check=True)
                drawn[name] = json.loads(out.stdout)
                with open(path, "rb") as f:
                    uploads.append((name, (name, f.read(), "image/png")))
        project = create_project("e2e layout", LAYOUT_CONFIG)
        connect_model(self, project, "layout")
        answer = LS.post(f"/api/projects/{project}/import", files=uploads)
        self.assertEqual(answer["task_count"], len(uploads), answer)
        tasks = LS.get(f"/api/tasks?project={project}&page_size=100")["tasks"]
        refs = {task["id"]: task["data"]["image"] for task in tasks}
        step(f"uploaded {len(uploads)} pages: {refs}")

        retrieve_predictions(project)
        stored = by_task(predictions(project))
        labels = {"text": "Paragraph", "title": "Title", "table": "Table", "figure": "Figure"}
        for task, ref in refs.items():
            name = next(n for n in drawn if ref.endswith(n))
            self.assertEqual(len(stored.get(task, [])), 1, f"task {task}: {stored.get(task)}")
            result = stored[task][0]["result"]
            page = drawn[name]
            w, h = page["width"], page["height"]
            found = [
                (r["value"]["rectanglelabels"][0],
                 [r["value"]["x"] * w / 100, r["value"]["y"] * h / 100,
                  (r["value"]["x"] + r["value"]["width"]) * w / 100, (r["value"]["y"] + r["value"]["height"]) * h / 100])
                for r in result
            ]
            for r in result:
                self.assertEqual((r["from_name"], r["to_name"], r["type"]), ("layout", "page", "rectanglelabels"), r)
                self.assertIn(r["value"]["rectanglelabels"][0], labels.values(), r)
            for region in page["regions"]:
                if region["class"] not in ("text", "table", "figure"):
                    continue
                best = max([iou(b, region["box"]) for label, b in found if label == labels[region["class"]]] or [0])
                self.assertGreater(best, 0.5, f"{name}: the {region['class']} at {region['box']} in {result}")
            step(f"{name}: {sorted(label for label, _ in found)}")
        graphs = {g["name"]: g for g in host_models()["layout"]["nn"]["graphs"]}
        self.assertGreaterEqual(graphs["layout"]["inferences"], len(uploads), graphs)

    def test_7_speech_on_uploaded_audio(self):
        """recordings uploaded through Label Studio: speech finds each phrase with Silero VAD on ONNX Runtime"""
        phrases = ["Please label this recording.", "It has three phrases.", "Thank you."]
        gaps = [0.8, 1.2, 1.0, 0.7]
        with tempfile.TemporaryDirectory() as tmp:
            pieces, truth, t = [], [], 0.0
            for gap, text in zip(gaps, phrases + [None]):
                pieces.append(array.array("h", bytes(2 * int(gap * 22050))))
                t += gap
                if text is None:
                    break
                path = os.path.join(tmp, "phrase.wav")
                subprocess.run(["espeak-ng", "-w", path, text], check=True)
                with wave.open(path) as w:
                    self.assertEqual((w.getframerate(), w.getsampwidth(), w.getnchannels()), (22050, 2, 1))
                    voice = array.array("h", w.readframes(w.getnframes()))
                loud = [i for i, v in enumerate(voice) if abs(v) > 655]
                voice = voice[loud[0]:loud[-1] + 1]
                pieces.append(voice)
                truth.append((t, t + len(voice) / 22050))
                t += len(voice) / 22050
            buffer = io.BytesIO()
            with wave.open(buffer, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(22050)
                for piece in pieces:
                    w.writeframes(piece.tobytes())
        project = create_project("e2e speech", SPEECH_CONFIG)
        connect_model(self, project, "speech")
        answer = LS.post(f"/api/projects/{project}/import", files=[("talk.wav", ("talk.wav", buffer.getvalue(), "audio/wav"))])
        self.assertEqual(answer["task_count"], 1, answer)
        tasks = LS.get(f"/api/tasks?project={project}&page_size=100")["tasks"]
        ref = tasks[0]["data"]["audio"]
        self.assertIn(f"/data/upload/{project}/", ref)
        step(f"uploaded a recording of {t:.2f} s: {ref}")

        retrieve_predictions(project)
        stored = by_task(predictions(project))
        self.assertEqual(len(stored.get(tasks[0]["id"], [])), 1, stored)
        result = stored[tasks[0]["id"]][0]["result"]
        self.assertEqual(len(result), len(truth), result)
        for region, (start, end) in zip(result, truth):
            self.assertEqual((region["from_name"], region["to_name"], region["type"]), ("label", "audio", "labels"), region)
            self.assertEqual(region["value"]["labels"], ["Speech"], region)
            self.assertLess(abs(region["value"]["start"] - start), 0.3, (region, start))
            self.assertLess(abs(region["value"]["end"] - end), 0.3, (region, end))
        step(f"segments {[(r['value']['start'], r['value']['end']) for r in result]} for phrases at {truth}")


def iou(a, b):
    """Intersection over union of two [x0, y0, x1, y1] boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])
    return inter / (area(a) + area(b) - inter)


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False, failfast=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
