"""Time of a refused sign-in for a known and an unknown user name (user enumeration check).

Usage: .venv/bin/python bench/login_timing.py [TRIES]
Prints the median of TRIES refused sign-ins each (after two warm-ups), through the real
Flask app (test client), with a scrypt hash as `finpulse dashboard --hash-password` makes.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# The repository first: bench/dashboard.py would otherwise shadow the dashboard package.
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
if sys.path[1:2] == [str(REPO / "bench")]:
    del sys.path[1]

from werkzeug.security import generate_password_hash  # noqa: E402

from dashboard import sample  # noqa: E402
from dashboard.app import create_app  # noqa: E402
from foundation.settings import load_settings  # noqa: E402
from foundation.store import Store  # noqa: E402


def main(tries: int = 9) -> None:
    url = f"sqlite:///{tempfile.mkdtemp()}/a.db"
    store = Store(url)
    sample.fill(store, datetime(2026, 3, 10, 18, tzinfo=UTC), hours=1, per_window=2)
    store.dispose()
    pw_hash = generate_password_hash("the-right-one")
    settings = load_settings(
        store={"url": url},
        model={"path": "baseline"},
        dashboard={
            "users": {"alice": pw_hash},
            "secret_key": "bench",
            "login_max_failures": 10_000,  # measuring refusals, not the lockout
            "login_max_failures_per_client": 10_000,
        },
    )
    client = create_app(settings).server.test_client()

    def refused(user: str) -> float:
        page = client.get("/login").data
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()  # type: ignore[union-attr]
        started = time.perf_counter()
        r = client.post("/login", data={"username": user, "password": "x", "csrf_token": token})
        assert r.status_code == 401
        return time.perf_counter() - started

    for _ in range(2):
        refused("alice"), refused("nobody")
    known = statistics.median(refused("alice") for _ in range(tries))
    unknown = statistics.median(refused("nobody") for _ in range(tries))
    print(f"hash {pw_hash.split('$')[0]}; median of {tries} refused sign-ins:")
    print(f"  known user, wrong password: {known:.3f} s")
    print(f"  unknown user:               {unknown:.3f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
