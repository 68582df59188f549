"""The quality gate on the wire (Echostash GET/PUT /eval/gate, POST /eval/gate/check)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from evalgate.api.schemas.base import ApiModel, RequestModel
from evalgate.models import domain


class KOfN(RequestModel):
    k: int = Field(ge=1, le=100)
    n: int = Field(ge=1, le=100)


class JudgeAgreementIn(RequestModel):
    queue_id: str = Field(min_length=1, max_length=64, description="the annotation queue whose reviewers decide")
    criterion: str | None = Field(default=None, min_length=1, max_length=100, description="default: the first judged")
    min_kappa: float = Field(default=0.6, ge=-1, le=1, description="Cohen's kappa the judge must reach")
    bound: Literal["lower", "estimate"] = Field(
        default="lower", description="lower: the kappa interval's lower bound must reach min_kappa"
    )


class GateIn(RequestModel):
    metric: Literal["pass_rate", "score"] = "pass_rate"
    threshold: float = Field(default=0.9, ge=0, le=1, description="pass rate or mean score (0-1) to reach")
    mode: Literal["threshold", "significance", "non-inferiority"] = "threshold"
    margin: float = Field(default=0.05, ge=0, lt=1, description="non-inferiority margin against the control")
    min_samples: int = Field(default=10, ge=1, le=10_000_000)
    k_of_n: KOfN | None = Field(default=None, description="a case passes when k of its n repeats passed")
    allow_inconclusive: bool = False
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    control_run_id: int | None = Field(default=None, ge=1, le=2**53)
    on_dataset_change: Literal["compare_shared", "refuse"] = Field(
        default="compare_shared",
        description="when the run and the control read different dataset versions: compare the cases they share "
        "unchanged, or refuse (409)",
    )
    judge_agreement: JudgeAgreementIn | None = Field(
        default=None, description="the judge's verdicts count only when it agrees with people this well (issue 15)"
    )

    def to_domain(self) -> domain.GateSettings:
        data = self.model_dump()
        data["k_of_n"] = (self.k_of_n.k, self.k_of_n.n) if self.k_of_n else None
        return domain.GateSettings(**data)


class KOfNOut(ApiModel):
    k: int
    n: int


class JudgeAgreementOut(ApiModel):
    queue_id: str
    criterion: str | None
    min_kappa: float
    bound: str


class GateOut(ApiModel):
    metric: str
    threshold: float
    mode: str
    margin: float
    min_samples: int
    k_of_n: KOfNOut | None
    allow_inconclusive: bool
    confidence: float
    control_run_id: int | None
    on_dataset_change: str
    judge_agreement: JudgeAgreementOut | None = None

    @classmethod
    def of(cls, g: domain.GateSettings) -> GateOut:
        data = g.model_dump()
        data["k_of_n"] = KOfNOut(k=g.k_of_n[0], n=g.k_of_n[1]) if g.k_of_n else None
        data["judge_agreement"] = JudgeAgreementOut(**g.judge_agreement.model_dump()) if g.judge_agreement else None
        return cls(**data)


class GateCheckIn(RequestModel):
    run_id: int | None = Field(default=None, ge=1, le=2**53, description="default: the latest completed run")


class GateDatasetsOut(ApiModel):
    """With a control run: did both runs read the same dataset versions (else changed cases were left out)."""

    same: bool
    run_versions: dict[str, int]
    control_versions: dict[str, int]
    changed_cases: int
    changed_sample: list[str]
    message: str


class GateCheckOut(ApiModel):
    passed: bool
    verdict: Literal["passed", "failed", "inconclusive"]
    reason: str
    run_id: int
    figures: dict[str, Any]
    datasets: GateDatasetsOut | None = None
