"""Read template.yaml: CloudFormation short-form tags, Globals, and the intrinsics the runtime needs."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _Loader(yaml.SafeLoader):
    pass


def _tag(name: str) -> Callable[[yaml.Loader, yaml.Node], Any]:
    def construct(loader: yaml.Loader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


for _short in ("Ref", "Condition"):
    _Loader.add_constructor(f"!{_short}", _tag(_short))
for _fn in (
    "GetAtt",
    "Sub",
    "Join",
    "Select",
    "Split",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "FindInMap",
    "ImportValue",
    "Base64",
    "GetAZs",
    "Cidr",
    "ToJsonString",
    "Length",
):
    _Loader.add_constructor(f"!{_fn}", _tag(f"Fn::{_fn}"))


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=_Loader)
    if not isinstance(doc, dict) or "Resources" not in doc:
        raise ValueError(f"{path} is not a CloudFormation template")
    return doc


def merge_globals(doc: Mapping[str, Any], kind: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """SAM Globals semantics: maps merge (resource wins), lists and scalars are replaced... except Layers."""
    base = dict((doc.get("Globals") or {}).get(kind) or {})
    out: dict[str, Any] = {}
    for key in set(base) | set(props):
        if key in base and key in props:
            g, p = base[key], props[key]
            if isinstance(g, dict) and isinstance(p, dict):
                out[key] = _deep_merge(g, p)
            elif isinstance(g, list) and isinstance(p, list) and key == "Layers":
                out[key] = g + p
            else:
                out[key] = p
        else:
            out[key] = props.get(key, base.get(key))
    return out


def _deep_merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


@dataclass
class Names:
    """Physical names and attributes of the locally created resources, for Ref / GetAtt / Sub."""

    region: str = "us-east-1"
    account: str = "123456789012"
    stack: str = "evalgate-local"
    refs: dict[str, Any] = field(default_factory=dict)
    attrs: dict[tuple[str, str], Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": "",
        }

    def ref(self, name: str) -> Any:
        pseudo = self.pseudo()
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"template references unknown {name!r}")

    def getatt(self, resource: str, attribute: str) -> Any:
        try:
            return self.attrs[(resource, attribute)]
        except KeyError:
            raise KeyError(f"template asks for {resource}.{attribute}, which the local runtime does not know") from None


_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


def resolve(value: Any, names: Names) -> Any:
    """Resolve the intrinsics used in environments, event sources and substitutions."""
    if isinstance(value, list):
        return [resolve(v, names) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return names.ref(arg)
        if key == "Fn::GetAtt":
            resource, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return names.getatt(resource, attribute)
        if key == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(arg[1], names))

            def sub(m: re.Match[str]) -> str:
                token = m.group(1)
                if token in extra:
                    return str(extra[token])
                if "." in token:
                    res, att = token.split(".", 1)
                    if (res, att) in names.attrs:
                        return str(names.getatt(res, att))
                return str(names.ref(token))

            return _SUB.sub(sub, text)
        if key == "Fn::Join":
            sep, parts = arg
            return sep.join(str(p) for p in resolve(parts, names))
        if key == "Fn::Select":
            index, items = arg
            return resolve(items, names)[int(index)]
        if key == "Fn::Split":
            sep, text = arg
            return str(resolve(text, names)).split(sep)
        if key == "Fn::ToJsonString":
            import json

            return json.dumps(resolve(arg, names))
    return {k: resolve(v, names) for k, v in value.items()}
