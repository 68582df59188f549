"""API request and response models, one module per resource so that a function imports only its own
(cold start). Import from the submodules, e.g. `from evalgate.api.schemas.prompts import PromptOut`."""
