"""What the browser does in S3 mode (static/js/upload-progress.js), done with a test client and
`requests`: ask for an upload, send the bytes to the bucket (a presigned POST, or the parts of a
multipart upload), report it complete. The S3 server is the `s3` fixture's moto server."""

import json
import math

import requests
from django.urls import reverse


def start(client, name: str, size: int):
    return client.post(reverse("direct_upload_start"), json.dumps({"name": name, "size": size}),
                       content_type="application/json")


def send_bytes(answer: dict, data: bytes, *, skip_parts=()) -> None:
    if "post" in answer:
        response = requests.post(answer["post"]["url"], data=answer["post"]["fields"],
                                 files={"file": ("blob", data)}, timeout=30)
        assert response.status_code < 300, response.text
        return
    size = answer["part_size"]
    assert len(answer["parts"]) == math.ceil(len(data) / size)
    for index, url in enumerate(answer["parts"]):
        if index + 1 in skip_parts:
            continue
        response = requests.put(url, data=data[index * size:(index + 1) * size], timeout=30)
        assert response.status_code < 300, response.text


def complete(client, answer: dict):
    return client.post(answer["complete_url"])


def upload(client, name: str, data: bytes) -> str:
    """The whole round; returns the token the form sends in place of the file."""
    response = start(client, name, len(data))
    assert response.status_code == 201, response.content
    answer = response.json()
    send_bytes(answer, data)
    done = complete(client, answer)
    assert done.status_code == 200, done.content
    return answer["token"]
