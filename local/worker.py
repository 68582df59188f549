"""One Lambda execution environment: imports a handler once, then serves invocations from its pipes.

Started by local.lambdas with exactly the function's environment. Requests arrive as JSON lines on
the fd named by EVALGATE_WORKER_IN, replies leave on EVALGATE_WORKER_OUT; stdout and stderr are the
function's log stream, as in Lambda.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    def __init__(self, spec: dict[str, Any], request_id: str, deadline_ms: int) -> None:
        self.function_name = spec["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec["function_arn"]
        self.memory_limit_in_mb = spec["memory"]
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec['function_name']}"
        self.log_stream_name = "local"
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _load_handler(code_dir: str, handler: str) -> Any:
    module_name, _, func_name = handler.rpartition(".")
    path = os.path.join(code_dir, *module_name.split(".")) + ".py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return getattr(module, func_name)


def main() -> None:
    spec = json.loads(os.environ.pop("EVALGATE_WORKER_SPEC"))
    fd_in = int(os.environ.pop("EVALGATE_WORKER_IN"))
    fd_out = int(os.environ.pop("EVALGATE_WORKER_OUT"))
    for path in reversed([spec["code_dir"], *spec["layer_dirs"]]):
        sys.path.insert(0, path)
    requests = os.fdopen(fd_in, "r", encoding="utf-8")
    replies = os.fdopen(fd_out, "w", encoding="utf-8")
    started = time.perf_counter()
    try:
        handler = _load_handler(spec["code_dir"], spec["handler"])
        replies.write(json.dumps({"ready": True, "initMs": (time.perf_counter() - started) * 1000}) + "\n")
    except Exception as exc:  # an init error is reported to the caller, as Lambda does
        replies.write(json.dumps({"ready": False, "error": _error(exc)}) + "\n")
        replies.flush()
        return
    replies.flush()
    for line in requests:
        msg = json.loads(line)
        context = LambdaContext(spec, msg["requestId"], msg["deadlineMs"])
        try:
            result = handler(msg["event"], context)
            reply = {"ok": True, "result": result}
            text = json.dumps(reply, default=str)
        except Exception as exc:  # the invocation fails; the environment lives on
            traceback.print_exc()
            text = json.dumps({"ok": False, "error": _error(exc)})
        sys.stdout.flush()
        sys.stderr.flush()
        replies.write(text + "\n")
        replies.flush()


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc)[-5:],
    }


if __name__ == "__main__":
    main()
