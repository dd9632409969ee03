"""The security regression suite (issue 14, docs/security.md).

- `inventory.py`: every URL pattern, walked from the URL configuration, and the one table
  that classifies it. A new URL fails `test_inventory.py` until it is classified there.
- `matrix.py`: for each private or staff-only URL, the objects it is probed with and who
  must be refused. A new private URL fails `test_access_matrix.py` until it has a case.
- `world.py`: the people (two parties, a stranger, a private listing's recipient, staff with
  and without the second factor) and their private objects, built through the project's
  services and test helpers; `DbWatcher` proves a refused request changed no row.
- `samples.py`: one real request for every URL (for the CSRF, NUL-byte and cache sweeps).
- the tests: the access matrix, staff step-up, CSRF, XSS, uploads, production mode
  (headers, cookies, error pages, Cache-Control) and NUL bytes.

Run it alone: `python -m pytest marketplace/tests/security`. It prints its sizes at the end.
"""
