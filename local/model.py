"""What the local runtime serves, read from the template: functions, routes, event sources, resources."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local import cfn

SERVERLESS_FUNCTION = "AWS::Serverless::Function"


@dataclass
class Function:
    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    memory: int
    runtime: str
    environment: dict[str, Any]  # unresolved: intrinsics stay until names are known
    layers: list[Any]
    reserved_concurrency: Any  # an int or a !Ref to a parameter (resolved by the runtime)
    public: bool


@dataclass
class Route:
    method: str  # upper case or ANY
    path: str  # template form: /api/prompts/{promptId}
    function: str
    regex: re.Pattern[str] = field(init=False)
    params: list[str] = field(init=False)

    def __post_init__(self) -> None:
        pattern = ""
        self.params = []
        for segment in self.path.strip("/").split("/") if self.path != "/" else []:
            pattern += "/"
            m = re.fullmatch(r"\{([A-Za-z0-9_]+)(\+?)\}", segment)
            if m:
                self.params.append(m.group(1))
                # a greedy variable also takes an empty rest: API Gateway sends `/console/` to `/console/{proxy+}`
                # (a route key cannot end with a slash, so that is the only route a trailing slash can reach)
                pattern += f"(?P<{m.group(1)}>.*)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)"
            else:
                pattern += re.escape(segment)
        self.regex = re.compile("^" + (pattern or "/") + "$")

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def specificity(self) -> tuple[int, int, int]:
        """API Gateway picks the most specific match: literal segments beat parameters beat greedy."""
        segments = self.path.strip("/").split("/")
        literal = sum(1 for s in segments if not s.startswith("{"))
        greedy = sum(1 for s in segments if s.endswith("+}"))
        return (literal, -greedy, len(segments))


@dataclass
class SqsSource:
    function: str
    queue: Any  # unresolved intrinsic → queue ARN
    batch_size: int
    batching_window: int
    report_failures: bool
    enabled: bool


@dataclass
class ScheduleSource:
    function: str
    expression: str
    input: Any
    enabled: bool
    name: str


@dataclass
class App:
    doc: dict[str, Any]
    functions: dict[str, Function]
    routes: list[Route]
    sqs_sources: list[SqsSource]
    schedules: list[ScheduleSource]
    cors: dict[str, Any] | None
    root: Path

    def resources_of(self, *types: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.doc["Resources"].items() if v.get("Type") in types}

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        best: tuple[Route, dict[str, str]] | None = None
        for route in self.routes:
            if route.method not in (method, "ANY"):
                continue
            m = route.regex.match(path)
            if m and (best is None or route.specificity > best[0].specificity):
                best = (route, m.groupdict())
        return best


def read(template: Path = cfn.TEMPLATE) -> App:
    doc = cfn.load(template)
    root = template.parent
    functions: dict[str, Function] = {}
    routes: list[Route] = []
    sqs: list[SqsSource] = []
    schedules: list[ScheduleSource] = []
    cors = None
    for logical_id, res in doc["Resources"].items():
        if res.get("Type") == "AWS::Serverless::HttpApi":
            cors = (res.get("Properties") or {}).get("CorsConfiguration")
        if res.get("Type") != SERVERLESS_FUNCTION:
            continue
        props = cfn.merge_globals(doc, "Function", res.get("Properties") or {})
        code_uri = props.get("CodeUri")
        if not isinstance(code_uri, str):
            raise ValueError(f"{logical_id}: the local runtime needs a local CodeUri")
        functions[logical_id] = Function(
            logical_id=logical_id,
            code_dir=(root / code_uri).resolve(),
            handler=props.get("Handler", "app.lambda_handler"),
            timeout=int(props.get("Timeout", 3)),
            memory=int(props.get("MemorySize", 128)),
            runtime=str(props.get("Runtime", "python3.12")),
            environment=dict((props.get("Environment") or {}).get("Variables") or {}),
            layers=list(props.get("Layers") or []),
            reserved_concurrency=props.get("ReservedConcurrentExecutions"),
            public=bool(((res.get("Metadata") or {}).get("evalgate") or {}).get("public")),
        )
        for event_name, event in (props.get("Events") or {}).items():
            kind = event.get("Type")
            ep = event.get("Properties") or {}
            if kind == "HttpApi":
                routes.append(
                    Route(
                        method=str(ep.get("Method", "ANY")).upper(),
                        path=ep.get("Path", "/$default"),
                        function=logical_id,
                    )
                )
            elif kind == "SQS":
                sqs.append(
                    SqsSource(
                        function=logical_id,
                        queue=ep["Queue"],
                        batch_size=int(ep.get("BatchSize", 10)),
                        batching_window=int(ep.get("MaximumBatchingWindowInSeconds", 0)),
                        report_failures="ReportBatchItemFailures" in (ep.get("FunctionResponseTypes") or []),
                        enabled=bool(ep.get("Enabled", True)),
                    )
                )
            elif kind in ("Schedule", "ScheduleV2"):
                schedules.append(
                    ScheduleSource(
                        function=logical_id,
                        expression=ep["Schedule"] if kind == "Schedule" else ep["ScheduleExpression"],
                        input=ep.get("Input"),
                        enabled=bool(ep.get("Enabled", ep.get("State", "ENABLED") != "DISABLED")),
                        name=f"{logical_id}{event_name}",
                    )
                )
    return App(doc=doc, functions=functions, routes=routes, sqs_sources=sqs, schedules=schedules, cors=cors, root=root)
