"""The quality-gate settings of a prompt: one item, `keys.gate`."""

from __future__ import annotations

from evalgate import keys
from evalgate.models.domain import GateSettings
from evalgate.store.table import Table


class GateStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, project_id: str, prompt_id: int) -> GateSettings:
        """The prompt's gate settings; the defaults when none were saved."""
        item = self.table.get(keys.gate(project_id, prompt_id))
        return GateSettings.model_validate_json(item["settings"]) if item else GateSettings()

    def put(self, project_id: str, prompt_id: int, settings: GateSettings) -> None:
        self.table.put({**keys.gate(project_id, prompt_id), "settings": settings.model_dump_json()})
