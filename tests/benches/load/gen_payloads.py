#!/usr/bin/env python3
# (Copied from the project's shared bench harness, shared/bench/; kept as it is there, so its
# numbers compare with the ones quoted in issues. Used by tests/benches/predict.sh.)
"""Generate the JSON request bodies used by predict_load.sh.

Deterministic (fixed seed), stdlib only. Writes into ./payloads next to this file:
  setup.json                    POST /setup body (as Label Studio sends it)
  predict_1.json                POST /predict body with 1 task
  predict_100.json              POST /predict body with 100 tasks
  webhook_annotation_created.json  POST /webhook body (ANNOTATION_CREATED event)
"""
import json
import os
import random

LABEL_CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="sentiment" toName="text">'
    '<Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>'
    '</Choices></View>'
)
PROJECT = "1.1700000000"

WORDS = (
    "the service was great terrible fine slow fast delivery product quality price support "
    "I would not recommend this to anyone everyone really loved hated it okay average "
    "package arrived late early damaged perfect condition staff friendly rude helpful"
).split()


def text(rng, i):
    n = rng.randint(18, 30)  # ~100-200 chars, a typical short review
    return f"Review {i}: " + " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def predict_body(rng, n):
    return {
        "tasks": [{"id": i + 1, "data": {"text": text(rng, i + 1)}} for i in range(n)],
        "project": PROJECT,
        "label_config": LABEL_CONFIG,
        "params": {"context": None},
    }


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "payloads")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(42)
    files = {
        "setup.json": {
            "project": PROJECT,
            "schema": LABEL_CONFIG,
            "hostname": "http://localhost:8080",
            "access_token": "0" * 40,
            "model_version": None,
            "extra_params": None,
        },
        "predict_1.json": predict_body(rng, 1),
        "predict_100.json": predict_body(rng, 100),
        "webhook_annotation_created.json": {
            "action": "ANNOTATION_CREATED",
            "annotation": {
                "id": 1,
                "result": [{
                    "id": "vgzE336-a8",
                    "type": "choices",
                    "value": {"choices": ["Positive"]},
                    "origin": "manual",
                    "to_name": "text",
                    "from_name": "sentiment",
                }],
                "task": 1,
                "project": 1,
                "completed_by": 1,
                "was_cancelled": False,
                "ground_truth": False,
                "lead_time": 4.2,
                "created_at": "2024-01-01T00:00:00.000000Z",
                "updated_at": "2024-01-01T00:00:00.000000Z",
            },
            "task": {
                "id": 1,
                "data": {"text": text(rng, 1)},
                "project": 1,
                "is_labeled": True,
                "total_annotations": 1,
                "created_at": "2024-01-01T00:00:00.000000Z",
                "updated_at": "2024-01-01T00:00:00.000000Z",
            },
            "project": {
                "id": 1,
                "title": "bench",
                "label_config": LABEL_CONFIG,
                "created_at": "2023-11-14T22:13:20.000000Z",
                "updated_at": "2024-01-01T00:00:00.000000Z",
            },
        },
    }
    for name, body in files.items():
        with open(os.path.join(out, name), "w") as f:
            json.dump(body, f, separators=(",", ":"))
            f.write("\n")
        print(name, os.path.getsize(os.path.join(out, name)), "bytes")


if __name__ == "__main__":
    main()
