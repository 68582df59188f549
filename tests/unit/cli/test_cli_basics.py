"""evalgate CLI: help, version, connection settings, HTTP errors, the API key never written out."""

from __future__ import annotations

import socket
from typing import NoReturn

import pytest

import evalgate
from evalgate.cli import main
from evalgate.cli.client import MAX_ATTEMPTS, parse_retry_after
from tests.unit.cli.conftest import KEY, Answer, Cli, Recorded, Stub


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--help"], ["gate", "runs", "EVALGATE_URL", "exit codes"]),
        (["gate", "--help"], ["check"]),
        (["runs", "--help"], ["submit"]),
        (["gate", "check", "--help"], ["--prompt", "--allow-inconclusive", "--junit"]),
        (["runs", "submit", "--help"], ["--batch-size", "--state-file", "--restart", "Idempotency-Key"]),
    ],
)
def test_help_exits_0(cli: Cli, argv: list[str], expected: list[str]) -> None:
    # Given a help request / When run / Then it prints the help and exits 0, sending nothing
    outcome = cli(*argv)
    assert outcome.code == 0
    for text in expected:
        assert text in outcome.out
    assert cli.stub.requests == []


def test_version(cli: Cli) -> None:
    outcome = cli("--version")
    assert outcome.code == 0
    assert outcome.out.strip() == f"evalgate {evalgate.__version__}"


def test_console_script_main_reads_sys_argv(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    # Given the console script's entry point evalgate.cli:main (still the function once evalgate.cli.main is loaded)
    monkeypatch.setattr("sys.argv", ["evalgate", "--version"])
    # When called without arguments / Then it parses sys.argv
    assert main() == 0
    assert evalgate.__version__ in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "COMMAND"),
        (["gate"], "check"),
        (["runs"], "submit"),
        (["gate", "check"], "the following arguments are required: --prompt"),
        (["gate", "check", "--prompt", "p", "--bogus"], "unrecognized arguments: --bogus"),
        (["runs", "submit", "r1"], "required"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_3(cli: Cli, argv: list[str], message: str) -> None:
    # Given an incomplete or wrong command line / When run / Then exit 3 with the usage on stderr
    outcome = cli(*argv)
    assert outcome.code == 3
    assert message in outcome.err
    assert "usage:" in outcome.err


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EVALGATE_URL": ""}, "no service URL: pass --url or set EVALGATE_URL"),
        ({"EVALGATE_API_KEY": ""}, "no API key: set EVALGATE_API_KEY or pass --key"),
        ({"EVALGATE_URL": "ftp://example.com"}, "must be an http:// or https:// URL"),
    ],
)
def test_missing_or_bad_connection_settings_exit_3(cli: Cli, env: dict[str, str], message: str) -> None:
    outcome = cli("gate", "check", "--prompt", "p1", env=env)
    assert outcome.code == 3
    assert message in outcome.err
    assert cli.stub.requests == []


def test_flags_win_over_environment(cli: Cli, stub: Stub) -> None:
    # Given an environment naming a dead server and another key
    env = {"EVALGATE_URL": "http://127.0.0.1:9", "EVALGATE_API_KEY": "eg_env_key"}
    # When --url and --key are given (before or after the subcommand)
    first = cli("--url", stub.url, "gate", "check", "--prompt", "p1", "--key", KEY, env=env)
    second = cli("gate", "check", "--prompt", "p1", "--url", stub.url, "--key", KEY, env=env)
    # Then the flags are used, the key as a Bearer token
    assert first.code == second.code == 0
    assert [r.headers["authorization"] for r in stub.requests] == [f"Bearer {KEY}"] * 2


def test_plain_http_to_a_remote_host_warns(cli: Cli) -> None:
    # Given a plain-http URL to a host that is not loopback by name (nothing listens there)
    outcome = cli("gate", "check", "--prompt", "p1", env={"EVALGATE_URL": f"http://0.0.0.0:{_closed_port()}"})
    # Then a warning about the unencrypted key precedes the connection error
    assert "the API key is sent unencrypted over plain http to 0.0.0.0" in outcome.err
    assert outcome.code == 3


def test_unresolvable_host_fails_at_once(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a host name that does not resolve
    def no_such_host(*args: object, **kwargs: object) -> NoReturn:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    # When a gate check runs / Then exit 3 at once (a typo is not worth retrying)
    outcome = cli("gate", "check", "--prompt", "p1", env={"EVALGATE_URL": "https://evalgate.invalid"})
    assert outcome.code == 3
    assert "cannot resolve the host of https://evalgate.invalid" in outcome.err
    assert outcome.waits == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_retries_then_exits_3(cli: Cli) -> None:
    # Given nothing listening / When a gate check runs / Then it retries with backoff, then exits 3
    url = f"http://127.0.0.1:{_closed_port()}"
    outcome = cli("gate", "check", "--prompt", "p1", env={"EVALGATE_URL": url})
    assert outcome.code == 3
    assert f"cannot reach {url}" in outcome.err
    assert f"gave up after {MAX_ATTEMPTS} attempts" in outcome.err
    assert len(outcome.waits) == MAX_ATTEMPTS - 1
    assert outcome.waits == sorted(outcome.waits)  # exponential: 0.5-1, 1-2, 2-4, 4-8, 8-16 s


@pytest.mark.parametrize(
    ("status", "code", "message", "hint"),
    [
        (401, "unauthorized", "invalid or revoked API key", "check the API key"),
        (403, "forbidden", "insufficient role for this operation", "lacks the role"),
        (404, "not_found", "prompt p1 not found", "check the ids"),
    ],
)
def test_auth_and_not_found_errors_print_the_server_message(
    cli: Cli, stub: Stub, status: int, code: str, message: str, hint: str
) -> None:
    # Given the server refuses the request / When a gate check runs
    stub.queue(status, {"error": {"code": code, "message": message, "field": None}})
    outcome = cli("gate", "check", "--prompt", "p1")
    # Then exit 3 with the status, the server's message and a hint, without retrying
    assert outcome.code == 3
    assert f"{status} {code}: {message}" in outcome.err
    assert hint in outcome.err
    assert len(stub.requests) == 1


def test_error_without_json_body_is_still_readable(cli: Cli, stub: Stub) -> None:
    stub.queue(400, None)
    outcome = cli("gate", "check", "--prompt", "p1")
    assert outcome.code == 3
    assert "400 Bad Request: (empty response)" in outcome.err


def test_redirects_are_not_followed(cli: Cli, stub: Stub) -> None:
    # Given a server redirecting elsewhere / When a gate check runs
    stub.queue(307, None, {"Location": "http://elsewhere.invalid/api"})
    outcome = cli("gate", "check", "--prompt", "p1")
    # Then the key is not carried there: exit 3, naming the target
    assert outcome.code == 3
    assert "redirects are not followed" in outcome.err
    assert "http://elsewhere.invalid/api" in outcome.err
    assert len(stub.requests) == 1


def test_the_key_is_redacted_even_when_the_server_echoes_it(cli: Cli, stub: Stub) -> None:
    # Given a server that puts the Authorization header in its error message
    def echo(request: Recorded, number: int) -> Answer:
        auth = request.headers["authorization"]
        return Answer(400, {"error": {"code": "invalid_input", "message": f"bad header {auth}", "field": None}})

    stub.responder = echo
    # When a gate check runs (the helper asserts the key appears in no output)
    outcome = cli("gate", "check", "--prompt", "p1", "--key", KEY)
    # Then the message is shown with the key masked
    assert outcome.code == 3
    assert "bad header Bearer ***" in outcome.err


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412470.0) == 10.0
    assert parse_retry_after("-3") == 0.0
