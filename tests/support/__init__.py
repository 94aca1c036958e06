"""What the in-process tests share (tests/e2e has its own support.py).

- `settings`: the fixed instant T0, the fake clock, the test secrets and `test_settings(...)`;
- `tokens`: staff bearer tokens (`staff_token(...)` and one constant per role the HTTP tests act as);
- `principals`: the `Principal`s the command-level tests act as, and `reporter(token)`;
- `builders`: `submit_command` / `verify_command`, the events they record (`submitted_event` /
  `verified_event`) with their deadlines, and the report bodies posted over HTTP;
- `api`: the JSON client over `chalice.test.Client`, the response helpers (`body_of`, `json_of`, `error_of`,
  `bilingual_error_of`) and `submit_report`;
- `stories`: `deterministic_handler`, the `Desk` that runs commands through it step by step, and `history`
  (hash-chained stored events for the pure folds).

tests/conftest.py builds its fixtures from these and re-exports the names it always had.
"""
