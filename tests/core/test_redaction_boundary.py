"""One redaction boundary: every byte that leaves a run passes the same redactor.

Each test is a leak found on 0.1 (issue "one path for each job"), reproduced through the
CLI, then every file of the run and both output streams are searched for the secret in
every form the redactor promises to catch.
"""

from __future__ import annotations

import base64
import json
import string
from pathlib import Path
from urllib.parse import quote, quote_plus

from core_helpers import (
    PY,
    base_env,
    check_run,
    harness,
    latest,
    phase_rows,
    py_cmd,
    toml_list,
    write,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.redact import Redactor, is_secret_name


def encodings(secret: str) -> dict[str, str]:
    """The printed forms of ``secret`` the redactor masks (base64 at every alignment)."""
    raw = secret.encode()
    forms = {
        "plain": secret,
        "json": json.dumps(secret)[1:-1],
        "quote": quote(secret, safe=""),
        "quote_plus": quote_plus(secret),
        "base64": base64.b64encode(raw).decode(),
        "base64-in-basic-auth": base64.b64encode(b"user:" + raw).decode(),
        "urlsafe-base64": base64.urlsafe_b64encode(b"ab" + raw + b"!").decode(),
    }
    return forms


def leaked(folder: Path, texts: list[str], secret: str) -> list[str]:
    """Where ``secret`` (or a form holding it) appears: files under ``folder``, ``texts``."""
    needles = {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}
    needles.add(base64.b64encode(secret.encode()).decode().rstrip("="))
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".py" or path.name in ("harness.toml", "secret.txt", "secrets.json"):
            continue  # the test's own inputs
        data = path.read_bytes()
        found += [f"{path}: {n!r}" for n in needles if n.encode() in data]
    for i, text in enumerate(texts):
        found += [f"output {i}: {n!r}" for n in needles if n in text]
    return found


BAD_FIELD = """
from harness import PhaseResult, hookimpl

@hookimpl
def event_schemas():
    return {"bad.note": {"type": "object", "properties": {"count": {"type": "integer"}}}}

@hookimpl
def phase_run(phase, ctx):
    secret = open("secret.txt").read().strip()
    ctx.add_secret(secret)
    ctx.emit("bad.note", "wrongly typed", data={"count": secret})   # invalid: a string
    return PhaseResult.passed("ok", metrics={"x_" + secret: 1.0})
"""


def test_secret_in_invalid_event_field_and_metric_key(tmp_path: Path) -> None:
    secret = "plug-SECRET-value-42"
    write(tmp_path / "secret.txt", secret)
    write(tmp_path / "bad.py", BAD_FIELD)
    write(
        tmp_path / "harness.toml",
        '[harness]\nplugins = ["./bad.py"]\n[phases.a]\nplugin = "bad"\n',
    )
    result = harness("run", "-v", cwd=tmp_path)
    assert result.code == 0, result.output
    _, summary = check_run(latest(tmp_path))
    assert summary["plugin_errors"], "the invalid event is reported"
    assert "x_***" in phase_rows(summary)["a"]["metrics"]
    assert leaked(tmp_path, [result.stdout, result.stderr], secret) == []


def test_command_env_secret_never_leaves(tmp_path: Path) -> None:
    secret = "env-KEY-value-7781"
    printer = py_cmd("import os; print('key is', os.environ['EXCHANGE_KEY'])")
    write(
        tmp_path / "harness.toml",
        f"""
        [phases.cmd]
        plugin = "command"
        run = {printer}
        env = {{ EXCHANGE_KEY = "{secret}" }}
        """,
    )
    result = harness("run", "-v", "--junit-xml", "junit.xml", cwd=tmp_path)
    assert result.code == 0, result.output
    run_dir = latest(tmp_path)
    assert 'EXCHANGE_KEY = "***"' in (run_dir / "config.toml").read_text()
    events, _ = check_run(run_dir)
    assert "key is ***" in json.dumps(events)
    assert leaked(tmp_path, [result.stdout, result.stderr], secret) == []


def test_encoded_secrets_and_url_credentials_in_command_output(tmp_path: Path) -> None:
    secret = "s3cr3t/Value+With=Symbols&Co"
    lines = list(encodings(secret).values())
    lines += ["https://bob:hunter2-PASSWORD@db.example/x", "GET /v1/a?symbol=BTC&token=tok-ABCDEF"]
    code = "import sys\nfor line in sys.argv[1:]:\n    print(line)\nsys.exit(3)"
    argv = toml_list([PY, "-c", code, "https://bob:hunter2-PASSWORD@db.example/x", *lines])
    write(
        tmp_path / "harness.toml",
        f"""
        [phases.cmd]
        plugin = "command"
        run = {argv}
        """,
    )
    env = base_env(EXCHANGE_API_SECRET=secret)
    result = harness("run", "-v", "--junit-xml", "junit.xml", cwd=tmp_path, env=env)
    assert result.code == 1, result.output
    texts = [result.stdout, result.stderr]
    assert leaked(tmp_path, texts, secret) == []
    for text in ("hunter2-PASSWORD", "tok-ABCDEF"):
        assert leaked(tmp_path, texts, text) == []
    events, _ = check_run(latest(tmp_path))
    end = next(e for e in events if e["type"] == "phase_end")
    assert "https://bob:***@db.example/x" in end["data"]["result"]["argv"]
    assert "GET /v1/a?symbol=BTC&token=***" in end["data"]["result"]["stdout_tail"]
    junit = (tmp_path / "junit.xml").read_text()
    assert "&amp;token=***" in junit


CONFIGURE_LEAK = """
import os
from harness import hookimpl

@hookimpl
def configure(config):
    raise RuntimeError("cannot log in with " + os.environ["BROKER_API_KEY"])
"""

IMPORT_LEAK = """
import os
raise ImportError("no module for key " + os.environ["BROKER_API_KEY"])
"""


def test_exit_4_errors_are_masked(tmp_path: Path) -> None:
    secret = "broker-key-0123456789"
    env = base_env(BROKER_API_KEY=secret)
    for name, source in (("conf", CONFIGURE_LEAK), ("imp", IMPORT_LEAK)):
        write(tmp_path / f"{name}.py", source)
        write(tmp_path / "harness.toml", f'[harness]\nplugins = ["./{name}.py"]\n')
        result = harness("run", cwd=tmp_path, env=env)
        assert result.code == 4, result.output
        assert name in result.stderr
        assert "***" in result.stderr
        assert secret not in result.output
        check = harness("plugins", "--check", cwd=tmp_path, env=env)
        assert check.code == 4
        assert secret not in check.output
    assert not (tmp_path / "runs").exists()


def test_one_secret_name_rule() -> None:
    for name in (
        "EXCHANGE_KEY",
        "API_KEY",
        "api_key",
        "apiKey",
        "GITHUB_TOKEN",
        "DB_PASSWORD",
        "exchange_secret",
        "signature",
        "private_key",
    ):
        assert is_secret_name(name), name
    for name in (
        "key_env",
        "secret_env",
        "auth_header",
        "token_path",
        "PWD",
        "HOME",
        "TOKENIZERS_PARALLELISM",
        "GIT_AUTHOR_NAME",
        "AWS_ACCESS_KEY_ID",
    ):
        assert not is_secret_name(name), name


ALPHABET = string.ascii_letters + string.digits + "-_./+=&%:@!~*'()$,;"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.text(ALPHABET, min_size=6, max_size=40),
    prefix=st.text(string.ascii_letters + " :=", max_size=12),
    suffix=st.text(string.ascii_letters + " ,.", max_size=12),
)
def test_redactor_masks_every_promised_form(secret: str, prefix: str, suffix: str) -> None:
    redactor = Redactor([secret])
    for form, text in encodings(secret).items():
        if form in ("base64-in-basic-auth", "urlsafe-base64") and len(secret) < 8:
            continue  # unaligned base64 pins too few characters of a short secret (documented)
        masked = redactor.redact(prefix + text + suffix)
        assert secret not in masked, form
        if form.startswith(("base64", "urlsafe")):
            raw = base64.b64encode(secret.encode()).decode().rstrip("=")
            assert raw not in masked
        line = json.dumps({"message": prefix + text + suffix}).encode()
        assert redactor.found_in(line), form


PRINTER = """
import base64, json, sys
from urllib.parse import quote, quote_plus
from harness import PhaseResult, hookimpl

@hookimpl
def event_schemas():
    return {"printer.note": {"type": "object"}}

@hookimpl
def phase_run(phase, ctx):
    secrets = json.load(open("secrets.json"))
    for s in secrets:
        ctx.add_secret(s)
        raw = s.encode()
        forms = [s, json.dumps(s), quote(s, safe=""), quote_plus(s),
                 base64.b64encode(raw).decode(), base64.b64encode(b"u:" + raw).decode()]
        for f in forms:
            ctx.emit("printer.note", "form " + f, data={"form": f, f: f})
            ctx.metrics["m_" + f[:20]] = 1
    return PhaseResult.failed("last " + forms[-1], data={"forms": forms})

@hookimpl
def summarize(session):
    return {"printer": {"secrets": json.load(open("secrets.json"))}}
"""


@settings(
    max_examples=3,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),  # each example is a real run: no shrinking
)
@given(secrets=st.lists(st.text(ALPHABET, min_size=8, max_size=24), min_size=1, max_size=3))
def test_random_secrets_never_leave_a_run(secrets: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        (tmp / "secrets.json").write_text(json.dumps(secrets))
        write(tmp / "printer.py", PRINTER)
        code = (
            "import base64, json, sys\nfrom urllib.parse import quote\n"
            "for s in json.load(open('secrets.json')):\n"
            "    b = base64.b64encode(s.encode()).decode()\n"
            "    print(s, json.dumps(s), quote(s, safe=''), b)\n"
        )
        write(
            tmp / "harness.toml",
            f"""
            [harness]
            plugins = ["./printer.py"]
            on_failure = "continue"
            [phases.cmd]
            plugin = "command"
            run = {toml_list([PY, "-c", code])}
            [phases.p]
            plugin = "printer"
            """,
        )
        env = base_env(**{f"SWEEP_SECRET_{i}": s for i, s in enumerate(secrets)})
        result = harness("run", "-v", "--tb=long", "--junit-xml", "j.xml", cwd=tmp, env=env)
        assert result.code == 1, result.output
        for secret in secrets:
            assert leaked(tmp, [result.stdout, result.stderr], secret) == [], secret
