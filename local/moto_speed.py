"""What moto pays per request that answers nothing: three fixes, same answers (issue 18 items 3 and 5).

Profiled on one DynamoDB GetItem of a 200-byte item (moto 5.2.5, in-process): 1.9 ms, and a Query of 50 such
items: 29 ms, of which 80 % is moto's *response serializer* walking the botocore output shape once per
attribute (``get_possible_keys`` alone is called ~13,000 times for 50 items). In server mode every request
also lists moto's package directory (``list_of_moto_modules``: one ``listdir`` and ~56 ``stat`` calls) to
find the backend, and every action looks its method up with ``inspect.getmembers`` over the handler class.

1. **DynamoDB item operations answer with ``json.dumps``.** For DynamoDB's JSON protocol the shape walk turns
   the handler's result into the same JSON it already is: keys are the wire names, attribute values are
   ``{"S": ...}`` maps, numbers are strings, counts are ints. The only conversion it does on these
   operations' outputs is binary → base64 (``B``/``BS`` values, which moto keeps as bytes), and it drops
   ``None`` members and the keys its output shape does not name (moto adds ``ConsumedCapacityUnits`` here
   and there). The fast path does exactly that, for the successful results of the item operations in
   ``FAST_OPERATIONS`` only; errors and every other operation keep moto's serializer.
   ``tests/integration/test_local_moto_speed.py`` checks both serializers give the same bytes' meaning over
   every attribute type, return-value option, projection, page and batch shape.
2. **The backend lookup's module list is computed once** (it is a directory listing of the installed moto).
3. **An action's method names are computed once per handler class** (a class's functions do not change).
4. **A transaction saves the items it names, not the whole table.** Before each TransactWriteItems moto
   deep-copies *every table the transaction touches* so that it can roll back: a transaction's cost grows
   with everything stored (py-spy on the runtime during an OTLP + auto-eval test after two other test files:
   two thirds of all samples in ``DynamoType.__deepcopy__`` under ``transact_write_items``; the test took
   13 s on a fresh runtime and 42 s after). Here the transaction keeps a copy of each item it names (at most
   100) and puts them back if it raises; moto's own table copy is skipped (its deepcopy is handed back the
   table itself, during the transaction only). Rolling back on *any* error, not only the ones moto rolls
   back on, is what DynamoDB does: a transaction applies all or nothing.

5. **Step Functions tasks reuse their boto3 clients.** moto's state machine interpreter builds a new boto3
   client for every Lambda task it runs (``boto_client_for``: ~15 ms of CPU under the moto server's GIL, a
   new urllib3 pool and a new connection, so a new server thread, per task). The clients are cached by
   region, service and endpoint (boto3 clients are thread-safe; the settings are moto's own).

7. **A state machine's definition is parsed once, not at every execution.** moto's interpreter runs the ANTLR
   parser over the whole ASL text for each execution (py-spy during identical suite re-runs: 44 % of the Step
   Functions samples of the runtime process in ``AmazonStateLanguageParser.parse``). The parse tree of a
   definition is kept (an ANTLR tree is read, never changed, by the preprocessor) and each execution still gets
   its own evaluation components from ``Preprocessor().visit(tree)``, so no state is shared between executions.
   A definition that fails to parse is not kept (its error is raised each time, as before).

6. **PartiQL ``INSERT`` in ``BatchExecuteStatement`` has DynamoDB's semantics, at an item's cost.** The layer
   claims result ids with batches of ``INSERT`` statements (a put refused with ``DuplicateItem`` when the key
   exists). moto's PartiQL copies every item of every table into its query engine for *each statement* and
   overwrites an existing item instead of refusing it; a batch made only of parameterised ``INSERT``
   statements (``INSERT INTO "t" VALUE {'a': ?, ...}``, the layer's only use) is answered here: per statement,
   ``DuplicateItem`` if the key exists, else the item is put (moto's ``put_item``: its size and key checks).
   Any other batch goes to moto. ``tests/integration/test_local_moto_speed.py`` checks it against conditional
   ``PutItem`` on the same items.

8. **Step Functions copies state data with a JSON copy, and parses each JSONPath once.** The interpreter deep-copies
   the state's input, result and stack at every state (``copy.deepcopy``: a memo dict and a dispatch per value), and
   parses every JSONPath expression again with jsonpath_ng's PLY parser at every use (py-spy on the runtime during
   identical suite re-runs: ~30 % of the Step Functions samples in ``deepcopy``, ~10 % in ``jsonpath_ng`` parsing).
   Those values are JSON (dicts, lists, strings, numbers, booleans, None): they are copied by a recursion over
   exactly those types, and any value holding anything else is handed whole to ``copy.deepcopy`` (so shared
   objects inside it stay shared in the copy). Parsed JSONPath expressions are kept by their text (a parsed path is
   only read by ``find`` and ``update_or_create``).

9. **DynamoDB requests skip the service lookup and Flask.** A request of DynamoDB's JSON protocol (``POST /`` with
   ``X-Amz-Target: DynamoDB_20120810.*``) always reaches the same view: moto's Flask app for DynamoDB calls
   ``DynamoHandler.dispatch`` through ``convert_to_flask_response``. Profiled on GetItem against the moto server:
   ~35 % of the server's time per request was the host lookup (``DomainDispatcherApplication``) and Flask's request
   dispatch around that one call, against ~15 % in the handler and backend. ``dynamodb_lane`` makes the same call
   with the same request class and answers with the same response class; anything else (another path or method,
   a browser's request with an ``Origin`` for CORS) goes the usual way.

10. **DynamoDB results are turned into plain data in one pass over plain types.** Every item read is converted by
    moto's ``dynamo_to_dict`` (an ``isinstance`` chain and a ``hasattr(to_json)`` probe per value) before it is
    serialized; py-spy (``--gil``) on the runtime during cached suite re-runs put ~9 % of its CPU there, mostly under
    BatchGetItem (cases, model-cache entries, counter items). ``fast_dynamo_to_dict`` dispatches on the exact type
    of dicts, lists, scalars and ``DynamoType`` values and hands anything else (a datetime, an object with
    ``to_json``, a subclass) to moto's own function, so its answer is the same value.

11. **An item is built in linear time.** moto's ``Item`` checks the 400 KB limit each time it adds an attribute by
    summing the sizes of every attribute already there (``LimitedSizeDict.__setitem__``), so building an item of n
    attributes costs n²/2 size computations: py-spy on the runtime during ``bench.ingest_profile`` (issue 18 item 3,
    third pass) found 20 % of the runtime's CPU in ``Item.__init__``. Here the sizes are summed once, as the
    attributes are added: each check sees the same total moto's would (the keys are distinct, nothing stored
    changes size meanwhile), so the same item is refused with the same error at the same attribute.
12. **A plain UpdateItem skips moto's expression machinery.** An update whose expression is only ``ADD #n :v``
    (numbers), ``SET #n = :v`` (a scalar) and ``REMOVE #n`` actions on top-level attributes named by placeholders
    (the counters', rate windows' and guards' updates) is applied directly: moto parsed, deep-copied and walked the
    expression's tree ~10 times per update (``UpdateExpressionValidator``: ~10 ms of a counter update's ~14 ms).
    The key lookup, the condition (moto's own parser and evaluator), the item moto creates for a missing key, the
    number arithmetic (``DynamoType.__add__``) and the stream record stay moto's. Anything else (another action,
    a path, a function, a set or document value, a key attribute, an ADD onto a non-number, two actions on one
    attribute, an unknown placeholder, an update that could reach the size limit) goes to moto as before.
    ``tests/integration/test_local_moto_speed.py`` runs the same updates through both and compares answers and items.
    Before that, moto's request handler parses the update expression only to list the placeholders it uses (the
    tree is read, never changed, there: ``find_clauses``); that parse tree is kept per expression text (a counter
    update's text depends only on how many figures it adds), as for state machine definitions (item 7).

13. **An item operation's request is parsed by ``json.loads``.** moto parses every request by walking the
    operation's botocore input shape over the JSON (``RequestParser``): py-spy on the runtime during ingestion put
    ~12 % of its CPU there (a claim request is 25 statements of ~10 attribute values). For DynamoDB's JSON protocol
    that walk returns the JSON it was given, except that it decodes blobs (``B``/``BS``), converts timestamps and
    drops null or unmodelled members; the item operations in ``FAST_OPERATIONS`` have no timestamp members, a
    botocore client sends no null or unmodelled member, and a body that names a ``B`` or ``BS`` value anywhere is
    left to moto's parser. ``tests/integration/test_local_moto_speed.py`` compares both parses on every request of
    the serializer scenario.
14. **DynamoDB items are not tracked.** moto appends every instance of a model class to the class's
    ``instances_tracked`` list (for its server dashboard; only a reset empties it), DynamoDB items included: every
    item written, and every copy a Query or GetItem hands back. A runtime is never reset, so that list held every
    item it ever built: ``bench.runtime_memory`` grew +17-19 % over its second half with each round's results
    deleted (~1,150 items a round kept, found by following a deleted result's referrers). Items are built
    without it; other models (few, and S3 keys, whose reset disposes them through it) still are.

The local runtime installs this at start; the in-process test suite installs it in ``tests/conftest.py``.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
import threading
from typing import Any

from botocore.exceptions import ClientError

FAST_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
        "BatchExecuteStatement",
    }
)


def _plain(value: Any) -> Any:
    """``value`` as moto's JSON serializer writes it: ``None`` members dropped, bytes in base64."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return value


def dynamodb_body(result: dict[str, Any], members: frozenset[str]) -> str:
    """The JSON body of a successful DynamoDB item operation's result (see the module docstring): only the
    output shape's ``members`` are written (moto's results carry a few extra keys its serializer drops)."""
    return json.dumps(_plain({key: value for key, value in result.items() if key in members}))


_in_transaction = threading.local()


class _CopyShim:
    """``copy`` for moto's DynamoDB models module: a table is "copied" as itself during a transaction (moto
    deep-copies an item on every update too, so the table class is resolved once, not per call)."""

    def __init__(self, table_class: type) -> None:
        self.table_class = table_class

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if getattr(_in_transaction, "active", False) and isinstance(value, self.table_class):
            return value
        return copy.deepcopy(value, memo)


def _touched(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash key, range key, a copy of the item or None) for each item the transaction writes."""
    from moto.dynamodb.models.dynamo_type import DynamoType  # lazy: as above

    saved = []
    for entry in transact_items:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue
        op_type, op = next(iter(entry.items()))
        if op_type not in ("Put", "Update", "Delete") or not isinstance(op, dict):
            continue
        table = backend.tables.get(op.get("TableName"))
        key = op.get("Item") if op_type == "Put" else op.get("Key")
        if table is None or not isinstance(key, dict) or table.hash_key_attr not in key:
            continue
        try:
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            current = table.get_item(hash_key, range_key)
        except Exception:  # a malformed key: moto refuses the transaction before writing anything
            continue
        saved.append((table, hash_key, range_key, copy.deepcopy(current)))
    return saved


def _restore(saved: list[tuple[Any, Any, Any, Any]]) -> None:
    from local import moto_index  # its sorted sort keys of a partition are rebuilt after a write

    for table, hash_key, range_key, item in reversed(saved):
        moto_index.touched(table, hash_key)
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        elif item is None:
            table.items.get(hash_key, {}).pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item


_SFN_CLIENT_MODULES = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported",
)


_SFN_COPY_MODULES = (
    "moto.stepfunctions.parser.asl.eval.states",
    "moto.stepfunctions.parser.asl.eval.environment",
    "moto.stepfunctions.parser.asl.eval.event.event_manager",
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
    "moto.stepfunctions.parser.asl.component.common.path.result_path",
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service",
)
_JSON_SCALARS = (str, int, float, bool, type(None))


class _NotJson(Exception):
    pass


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (dict, list, str, int, float, bool, None); raises _NotJson on anything else."""
    kind = type(value)
    if kind is dict:
        return {k: json_copy(v) for k, v in value.items()}
    if kind is list:
        return [json_copy(v) for v in value]
    if kind in _JSON_SCALARS:
        return value
    raise _NotJson


class _JsonCopyShim:
    """``copy`` for the Step Functions interpreter's modules: JSON data copied by ``json_copy``, the rest by
    ``copy.deepcopy`` (whole, so that what it shares stays shared)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if memo is None:
            try:
                return json_copy(value)
            except (_NotJson, RecursionError):
                pass
        return copy.deepcopy(value, memo)


def _fast_sfn_data() -> None:
    import importlib

    from moto.stepfunctions.parser.asl.component.common.path import result_path  # lazy: as in install()
    from moto.stepfunctions.parser.asl.utils import json_path

    shim = _JsonCopyShim()
    for name in _SFN_COPY_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "copy", None) is copy:
            module.copy = shim  # type: ignore[attr-defined]
    for module in (json_path, result_path):
        original = module.parse
        cached = functools.lru_cache(maxsize=512)(original)
        cached._evalgate_original = original  # type: ignore[attr-defined]  # for the test
        module.parse = cached  # type: ignore[attr-defined]


def _untracked_items() -> None:
    from moto.dynamodb.models.dynamo_type import Item  # lazy: as in install()

    def new(cls: type, *_args: Any, **_kwargs: Any) -> Any:
        return object.__new__(cls)  # BaseModel.__new__ without its append to cls.instances_tracked

    Item.__new__ = staticmethod(new)  # type: ignore[method-assign]


def _fast_dynamo_results() -> None:
    from moto.dynamodb import responses  # lazy: as in install()
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    original = responses.dynamo_to_dict
    plain = (str, int, float, bool, type(None))
    mappings = (dict, LimitedSizeDict)  # an item's attributes: a dict subclass with no `to_json` of its own
    assert not hasattr(LimitedSizeDict, "to_json")

    def fast(obj: Any) -> Any:
        kind = type(obj)
        if kind in mappings:
            return {k: fast(v) for k, v in obj.items()}
        if kind is list:
            return [fast(v) for v in obj]
        if kind in plain:
            return obj
        if kind is DynamoType and obj.type not in ("B", "BS"):
            return {obj.type: fast(obj.value)}
        return original(obj)

    fast._evalgate_original = original  # type: ignore[attr-defined]  # for the test
    responses.dynamo_to_dict = fast


def _cache_asl_parse() -> None:
    from moto.stepfunctions.parser.asl.parse import asl_parser  # lazy: as in install()

    parser = asl_parser.AmazonStateLanguageParser
    original = parser.parse
    trees: dict[str, Any] = {}
    lock = threading.Lock()

    def parse(definition: str) -> tuple[Any, Any]:
        tree = trees.get(definition)
        if tree is None:
            program, tree = original(definition)
            with lock:
                if len(trees) >= 64:
                    trees.clear()
                trees[definition] = tree
            return program, tree
        return asl_parser.Preprocessor().visit(tree), tree

    parse._evalgate_original = original  # type: ignore[attr-defined]  # for the test
    parser.parse = staticmethod(parse)  # type: ignore[method-assign]


def _cache_sfn_clients() -> None:
    import importlib

    from moto.core.models import botocore_stubber  # lazy: as above
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    lock = threading.Lock()
    clients: dict[tuple[str, str, bool, str], Any] = {}

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service, bool(botocore_stubber.enabled), str(moto_server_port()))
        with lock:
            if key not in clients:
                clients[key] = original(region, service, state_credentials)
            return clients[key]

    boto_client.boto_client_for = boto_client_for
    for name in _SFN_CLIENT_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = boto_client_for  # type: ignore[attr-defined]


_INSERT = re.compile(r'\s*INSERT\s+INTO\s+"([^"]+)"\s+VALUE\s+\{(.*)\}\s*', re.S | re.I)
_TUPLE = re.compile(r"\s*'((?:[^']|'')*)'\s*:\s*\?\s*(?:,|$)")


def parse_insert(statement: str, parameters: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """(table, item) of a parameterised PartiQL INSERT (`INSERT INTO "t" VALUE {'a': ?, 'b': ?}`), else None."""
    shape = _insert_shape(statement)
    if shape is None or len(shape[1]) != len(parameters):
        return None
    return shape[0], dict(zip(shape[1], parameters, strict=True))


@functools.lru_cache(maxsize=256)
def _insert_shape(statement: str) -> tuple[str, tuple[str, ...]] | None:
    """(table, attribute names) of a parameterised INSERT's text: a claim batch repeats one text 25 times, and
    every batch of a table the same text, so it is parsed once (and its regexes run once)."""
    match = _INSERT.fullmatch(statement)
    if not match:
        return None
    body, names, at = match.group(2), [], 0
    while at < len(body):
        part = _TUPLE.match(body, at)
        if not part or part.end() == at:
            return None
        names.append(part.group(1).replace("''", "'"))
        at = part.end()
    if len(set(names)) != len(names):
        return None
    return match.group(1), tuple(names)


def _batch_inserts(backend: Any, parsed: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """BatchExecuteStatement of INSERTs as DynamoDB answers it: each statement on its own."""
    from moto.dynamodb.models.dynamo_type import DynamoType  # lazy: as in install()

    responses: list[dict[str, Any]] = []
    for table_name, attrs in parsed:
        table = backend.tables.get(table_name)
        if table is None:
            responses.append({"Error": {"Code": "ResourceNotFound", "Message": "Requested resource not found"}})
            continue
        keys_ = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
        if any(k not in attrs for k in keys_):
            message = "One or more parameter values were invalid: Missing the key in the item"
            responses.append({"TableName": table_name, "Error": {"Code": "ValidationError", "Message": message}})
            continue
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
        if table.get_item(hash_key, range_key) is not None:
            message = "Duplicate primary key exists in table"
            responses.append({"TableName": table_name, "Error": {"Code": "DuplicateItem", "Message": message}})
            continue
        try:
            table.put_item(attrs)
        except Exception as exc:  # moto's checks (item size, key types): DynamoDB reports them per statement
            message = str(getattr(exc, "message", exc))
            responses.append({"TableName": table_name, "Error": {"Code": "ValidationError", "Message": message}})
            continue
        responses.append({"TableName": table_name})
    return responses


MAX_ITEM_BYTES = 405000  # moto's limit (LimitedSizeDict): "between 409 and 410KB" measured, 400 KB documented


def _fast_item_init() -> None:
    """``Item.__init__`` with one running size total (item 11 of the module docstring)."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge  # lazy: as in install()
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize

    item_class = dynamo_type.Item
    dynamo = dynamo_type.DynamoType
    limited = dynamo_type.LimitedSizeDict
    original = item_class.__init__

    def item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        out = limited()
        total = 0
        for key, value in attrs.items():
            converted = dynamo(value)
            # moto: the size of every attribute already added (keys as str(key)), plus this one's
            total += bytesize(str(key)) + converted.size()
            if total > MAX_ITEM_BYTES:
                raise ItemSizeTooLarge
            dict.__setitem__(out, key, converted)
        self.attrs = out

    item_init._evalgate_original = original  # type: ignore[attr-defined]  # for the test
    item_class.__init__ = item_init  # type: ignore[method-assign]


_PLACEHOLDER = r"[A-Za-z0-9_]+"
_SECTION = re.compile(r"\s*(SET|ADD|REMOVE)\s+", re.I)
_ACTIONS = {
    "ADD": re.compile(rf"\s*#({_PLACEHOLDER})\s+:({_PLACEHOLDER})\s*"),
    "SET": re.compile(rf"\s*#({_PLACEHOLDER})\s*=\s*:({_PLACEHOLDER})\s*"),
    "REMOVE": re.compile(rf"\s*#({_PLACEHOLDER})\s*"),
}
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_SCALARS = ("S", "N", "BOOL", "NULL")


def plain_update(
    expression: str, names: dict[str, str] | None, values: dict[str, Any] | None
) -> list[tuple[str, str, dict[str, Any] | None]] | None:
    """The actions of a plain update expression (item 12 of the module docstring): [(SET|ADD|REMOVE, attribute
    name, value)], or None when moto must handle it."""
    names, values = names or {}, values or {}
    actions: list[tuple[str, str, dict[str, Any] | None]] = []
    seen_sections: set[str] = set()
    at = 0
    text = expression or ""
    if not text.strip():
        return None
    while at < len(text):
        section = _SECTION.match(text, at)
        if section is None:
            return None
        keyword = section.group(1).upper()
        if keyword in seen_sections:
            return None
        seen_sections.add(keyword)
        at = section.end()
        pattern = _ACTIONS[keyword]
        while True:
            action = pattern.match(text, at)
            if action is None:
                return None
            name = names.get(f"#{action.group(1)}")
            if not isinstance(name, str) or not name:
                return None
            value: dict[str, Any] | None = None
            if keyword != "REMOVE":
                value = values.get(f":{action.group(2)}")
                if not isinstance(value, dict) or len(value) != 1:
                    return None
                ((kind, raw),) = value.items()
                if kind not in (("N",) if keyword == "ADD" else _SCALARS):
                    return None
                if kind == "N" and not (isinstance(raw, str) and _NUMBER.fullmatch(raw)):
                    return None
                if kind == "S" and not isinstance(raw, str):
                    return None
                if kind in ("BOOL", "NULL") and not isinstance(raw, bool):
                    return None
            actions.append((keyword, name, value))
            at = action.end()
            if at < len(text) and text[at] == ",":
                at += 1
                continue
            break
    if len({name for _, name, _ in actions}) != len(actions):
        return None  # two actions on one attribute: moto's "overlapping paths" error
    return actions


class _KeptUpdateParses:
    """``UpdateExpressionParser`` for moto's DynamoDB request handler, whose parse trees are only read (item 12)."""

    def __init__(self, parser: Any) -> None:
        self.parser = parser
        self.trees: dict[str, Any] = {}
        self.lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.parser, name)

    def make(self, expression: str) -> Any:
        tree = self.trees.get(expression)
        if tree is None:
            tree = self.parser.make(expression)  # a malformed expression raises each time, as before
            with self.lock:
                if len(self.trees) >= 512:
                    self.trees.clear()
                self.trees[expression] = tree
        return tree


def _fast_update_item(backend_class: type) -> None:
    """``DynamoDBBackend.update_item`` for plain updates (item 12 of the module docstring)."""
    from moto.dynamodb.comparisons import create_condition_expression_parser  # lazy: as in install()
    from moto.dynamodb.exceptions import ConditionalCheckFailed
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.utilities import bytesize

    original = backend_class.update_item  # type: ignore[attr-defined]

    def update_item(
        self: Any,
        table_name: str,
        key: dict[str, dict[str, Any]],
        update_expression: str,
        expression_attribute_names: dict[str, Any],
        expression_attribute_values: dict[str, Any],
        attribute_updates: dict[str, Any] | None = None,
        expected: dict[str, Any] | None = None,
        condition_expression: str | None = None,
        return_values_on_condition_check_failure: str | None = None,
    ) -> Any:
        def moto() -> Any:
            return original(
                self,
                table_name,
                key,
                update_expression,
                expression_attribute_names,
                expression_attribute_values,
                attribute_updates=attribute_updates,
                expected=expected,
                condition_expression=condition_expression,
                return_values_on_condition_check_failure=return_values_on_condition_check_failure,
            )

        if attribute_updates or expected or not update_expression:
            return moto()
        actions = plain_update(update_expression, expression_attribute_names, expression_attribute_values)
        table = self.tables.get(table_name)
        if actions is None or table is None or not isinstance(key, dict):
            return moto()
        if any(name in table.attribute_keys for _, name, _ in actions):
            return moto()  # key attributes (of the table or an index) have their own checks
        if table.hash_key_attr not in key or (table.range_key_attr and table.range_key_attr not in key):
            return moto()
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        item = table.get_item(hash_value, range_value)
        # the item's attributes as they are (a missing item: the key attributes moto creates it with)
        current = item.attrs if item is not None else {table.hash_key_attr: hash_value}
        if item is None and range_value is not None:
            current[table.range_key_attr] = range_value
        size = sum(bytesize(str(k)) + v.size() for k, v in current.items())
        changes: list[tuple[str, str, Any]] = []
        try:
            for keyword, name, value in actions:
                if keyword == "REMOVE":
                    changes.append((keyword, name, None))
                    continue
                new = DynamoType(value or {})
                if keyword == "ADD":
                    existing = current.get(name)
                    if existing is not None and existing.type != "N":
                        return moto()  # moto's IncorrectDataType, after the condition
                    new = (existing if existing is not None else DynamoType({"N": "0"})) + new
                size += bytesize(name) + new.size()
                changes.append((keyword, name, new))
        except Exception:  # a number moto's arithmetic refuses: moto raises it (after the condition)
            return moto()
        if size + 1024 > MAX_ITEM_BYTES:
            return moto()  # near the limit: moto's checks decide (with the keys' own sizes)
        orig_item = copy.deepcopy(item) if table.stream_shard is not None else None
        condition = create_condition_expression_parser(
            condition_expression, expression_attribute_names, expression_attribute_values
        ).parse()
        if not condition.expr(item):
            if return_values_on_condition_check_failure == "ALL_OLD" and item is not None:
                raise ConditionalCheckFailed(item=item.to_json()["Attributes"])
            raise ConditionalCheckFailed
        if item is None:
            data: dict[str, Any] = {table.hash_key_attr: {hash_value.type: hash_value.value}}
            if range_value:
                data[table.range_key_attr] = {range_value.type: range_value.value}
            table.put_item(data)
            item = table.get_item(hash_value, range_value)
        assert isinstance(item, Item)
        for keyword, name, new in changes:
            if keyword == "REMOVE":
                item.attrs.pop(name, None)
            else:
                dict.__setitem__(item.attrs, name, new)
        if table.stream_shard is not None:
            table.stream_shard.add(orig_item, item)
        return item

    update_item._evalgate_original = original  # type: ignore[attr-defined]  # for the test
    backend_class.update_item = update_item  # type: ignore[attr-defined]

    from moto.dynamodb import responses  # lazy: as in install()

    if not isinstance(responses.UpdateExpressionParser, _KeptUpdateParses):
        responses.UpdateExpressionParser = _KeptUpdateParses(responses.UpdateExpressionParser)


def install() -> None:
    """Patch moto once per process (idempotent)."""
    from moto import backends  # lazy: moto is heavy; only the runtime and the tests load it
    from moto.core import responses as core_responses
    from moto.core import utils as core_utils
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.serialized, "_evalgate_fast", False):
        return

    _cache_sfn_clients()
    _cache_asl_parse()
    _fast_sfn_data()
    _fast_dynamo_results()
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules

    cached_names = functools.cache(core_utils.method_names_from_class)
    core_utils.method_names_from_class = cached_names
    core_responses.method_names_from_class = cached_names

    original = DynamoHandler.serialized
    content_type = "application/x-amz-json-1.0"

    @functools.cache
    def output_members(action: str) -> frozenset[str]:
        shape = core_responses.get_service_model("dynamodb").operation_model(action).output_shape
        return frozenset(shape.members) if shape is not None else frozenset()

    def serialized(self: Any, action_result: Any) -> Any:
        result = action_result.result
        action = self._get_action()
        if type(result) is dict and action in FAST_OPERATIONS:
            headers = {"Content-Type": content_type}
            headers.update(self.response_headers)
            return 200, headers, dynamodb_body(result, output_members(action))
        return original(self, action_result)

    from moto.dynamodb import models as dynamodb_models  # lazy: as above
    from moto.dynamodb.models.table import Table  # lazy: as above

    dynamodb_models.copy = _CopyShim(Table)  # type: ignore[assignment]
    backend_class = dynamodb_models.DynamoDBBackend
    original_transact = backend_class.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        saved = _touched(self, transact_items) if isinstance(transact_items, list) else []
        _in_transaction.active = True
        try:
            return original_transact(self, transact_items)
        except BaseException:
            _restore(saved)
            raise
        finally:
            _in_transaction.active = False

    transact_write_items._evalgate_original = original_transact  # type: ignore[attr-defined]  # for the test
    backend_class.transact_write_items = transact_write_items  # type: ignore[method-assign]

    original_batch_statements = backend_class.batch_execute_statement

    def batch_execute_statement(self: Any, statements: list[dict[str, Any]]) -> Any:
        parsed = [parse_insert(str(s.get("Statement", "")), list(s.get("Parameters") or [])) for s in statements]
        if not statements or any(p is None for p in parsed):
            return original_batch_statements(self, statements)
        return _batch_inserts(self, [p for p in parsed if p is not None])

    backend_class.batch_execute_statement = batch_execute_statement  # type: ignore[method-assign]
    _fast_item_init()
    _untracked_items()
    _fast_update_item(backend_class)

    original_parse = DynamoHandler.parse_parameters

    def parse_parameters(self: Any, request: Any) -> None:
        body = request.data
        if body and self._get_action() in FAST_OPERATIONS and b'"B":' not in body and b'"BS":' not in body:
            try:
                params = json.loads(body)
            except ValueError:
                params = None
            if type(params) is dict:
                self.params = params
                return
        original_parse(self, request)

    parse_parameters._evalgate_original = original_parse  # type: ignore[attr-defined]  # for the test
    DynamoHandler.parse_parameters = parse_parameters  # type: ignore[method-assign]

    serialized._evalgate_fast = True  # type: ignore[attr-defined]
    serialized._evalgate_original = original  # type: ignore[attr-defined]  # for the equivalence test
    DynamoHandler.serialized = serialized  # type: ignore[method-assign]


def dynamodb_lane(dispatcher: Any) -> Any:
    """A WSGI app: DynamoDB JSON-protocol requests answered by moto's DynamoDB handler directly (as moto's Flask
    view for them does), every other request by `dispatcher` (moto's DomainDispatcherApplication)."""
    from flask import Response  # lazy: as in install()
    from moto.core.utils import normalize_request
    from moto.dynamodb.responses import DynamoHandler
    from moto.moto_api import recorder
    from moto.moto_server.werkzeug_app import DISABLE_GLOBAL_CORS, BackendRequest

    cors = not DISABLE_GLOBAL_CORS

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or environ.get("PATH_INFO", "") not in ("", "/")
            or not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_")
            or "HTTP_ORIGIN" in environ
        ):
            return dispatcher(environ, start_response)
        request = normalize_request(BackendRequest(environ))
        recorder._record_request(request)
        try:
            result = DynamoHandler.dispatch(request, request.raw_url, dict(request.headers))
        except ClientError as exc:  # as moto's view does
            result = 400, {}, exc.response["Error"]["Message"]
        status, headers, content = result if len(result) == 3 else (200, {}, result)
        response = Response(response=content, status=status, headers=headers)
        if cors:  # what flask-cors adds to an answer of moto's app to a request without an Origin
            response.headers["Access-Control-Allow-Origin"] = "*"
        return response(environ, start_response)

    app._evalgate_dispatcher = dispatcher  # type: ignore[attr-defined]  # for the test
    return app
