"""The end-to-end fixtures (`new_server`, `local_server`) for every test in this folder."""
from tests.e2e.support import local_server, new_server  # noqa: F401  (pytest finds fixtures here)
