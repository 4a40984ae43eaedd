"""The experiment configuration: every setting on the page, validated.

One flat record, so that it maps one-to-one onto the page's URL query (``?dataset=spiral&layers=8,8``)
and onto the JSON the API takes. :func:`parse_config` turns a dict into an :class:`ExperimentConfig`
or raises :class:`ConfigError`, whose ``errors`` list says for each bad field which one and why; the
app answers those with a 422.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "ACTIVATIONS", "CLASSIFICATION_SETS", "ConfigError", "ExperimentConfig", "FEATURES", "MULTICLASS_SETS",
    "OPTIMIZERS", "PROBLEMS", "REGRESSION_SETS", "field_errors", "parse_config",
]

PROBLEMS = ("classification", "multiclass", "regression")
CLASSIFICATION_SETS = ("circle", "xor", "gauss", "spiral", "moons")  # two classes (nabla.data.toy)
MULTICLASS_SETS = ("gauss", "spiral", "circle")  # k blobs, k arms, k rings
REGRESSION_SETS = ("plane", "bumps")
DATASETS = tuple(dict.fromkeys(CLASSIFICATION_SETS + MULTICLASS_SETS + REGRESSION_SETS + ("upload",)))
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "leaky_relu", "elu")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "adagrad", "adamax", "nadam")
REGULARIZATIONS = ("none", "l1", "l2")
MAX_LAYERS = 6
MAX_NEURONS = 8


class ExperimentConfig(BaseModel):
    """Everything that defines a run: data, network and training settings (all with defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # data
    problem: Literal["classification", "multiclass", "regression"] = "classification"
    dataset: Literal[DATASETS] = "circle"  # type: ignore[valid-type]
    upload_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    classes: int = Field(default=2, ge=2, le=6)
    n_points: int = Field(default=500, ge=50, le=2000)
    noise: float = Field(default=0.1, ge=0.0, le=0.5)
    test_ratio: float = Field(default=0.5, ge=0.1, le=0.9)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    features: tuple[Literal[FEATURES], ...] = ("x1", "x2")  # type: ignore[valid-type]
    # network
    layers: tuple[int, ...] = Field(default=(4, 2), max_length=MAX_LAYERS)
    activation: Literal[ACTIVATIONS] = "tanh"  # type: ignore[valid-type]
    dropout: float = Field(default=0.0, ge=0.0, le=0.9)
    batch_norm: bool = False
    # training
    optimizer: Literal[OPTIMIZERS] = "sgd"  # type: ignore[valid-type]
    learning_rate: float = Field(default=0.03, gt=0.0, le=10.0)
    batch_size: int = Field(default=10, ge=1, le=512)
    regularization: Literal[REGULARIZATIONS] = "none"  # type: ignore[valid-type]
    reg_rate: float = Field(default=0.0, ge=0.0, le=1.0)

    @field_validator("layers")
    @classmethod
    def _neurons_in_range(cls, layers: tuple[int, ...]) -> tuple[int, ...]:
        for i, n in enumerate(layers):
            if not 1 <= n <= MAX_NEURONS:
                raise ValueError(f"hidden layer {i + 1} has {n} neurons; each layer needs 1 to {MAX_NEURONS}")
        return layers

    @field_validator("features")
    @classmethod
    def _features_unique(cls, features: tuple[str, ...]) -> tuple[str, ...]:
        if not features:
            raise ValueError("choose at least one input feature")
        if len(set(features)) != len(features):
            raise ValueError("each input feature may be chosen once")
        return features

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentConfig:
        problem, dataset = self.problem, self.dataset
        if dataset == "upload":
            if self.upload_id is None:
                raise _FieldError("upload_id", "dataset 'upload' needs the upload_id of an uploaded CSV file")
        elif self.upload_id is not None:
            raise _FieldError("upload_id", f"only dataset 'upload' takes an upload_id, not dataset {dataset!r}")
        elif problem == "classification" and dataset not in CLASSIFICATION_SETS:
            raise _FieldError("dataset", f"{dataset!r} is not a classification set; "
                              f"choose one of {CLASSIFICATION_SETS}")
        elif problem == "multiclass" and dataset not in MULTICLASS_SETS:
            raise _FieldError("dataset", f"{dataset!r} has two classes only; for multiclass choose one of "
                              f"{MULTICLASS_SETS}")
        elif problem == "regression" and dataset not in REGRESSION_SETS:
            raise _FieldError("dataset", f"{dataset!r} is not a regression set; choose one of {REGRESSION_SETS}")
        if dataset != "upload":
            if problem == "multiclass" and self.classes < 3:
                raise _FieldError("classes", "multiclass needs 3 to 6 classes (two classes: problem 'classification')")
            if problem != "multiclass" and self.classes != 2:
                raise _FieldError("classes", f"problem {problem!r} does not take classes={self.classes}; "
                                  "use problem 'multiclass'")
        return self

    def query(self) -> dict[str, str]:
        """The config as URL query parameters (lists comma-joined), the form the page's URL uses."""
        out = {}
        for k, v in self.model_dump().items():
            if v is None:
                continue
            if isinstance(v, (tuple, list)):
                v = ",".join(str(x) for x in v)
            elif isinstance(v, bool):
                v = "true" if v else "false"
            out[k] = str(v)
        return out


class _FieldError(ValueError):
    """A cross-field error that belongs to one field (raised inside the model validator)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class ConfigError(ValueError):
    """Bad input: ``errors`` is a list of ``{"field": ..., "message": ...}``, one per problem."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


def field_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """pydantic's errors as ``[{"field": "layers.2", "message": "..."}]`` (dotted paths, plain words)."""
    out = []
    for err in exc.errors(include_url=False):
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, _FieldError):
            out.append({"field": prefix + inner.field, "message": inner.message})
            continue
        loc = [str(p) for p in err.get("loc", ()) if not str(p).startswith("function-")]
        # Literal/union locations end in the type's name; the field is what the user needs
        field = ".".join(p for p in loc if not p.startswith(("literal[", "tuple[", "list[")))
        msg = err.get("msg", "invalid value")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if err.get("type") == "extra_forbidden":
            msg = "unknown setting (check the spelling)"
        out.append({"field": prefix + (field or "body"), "message": msg})
    return out


def parse_config(data: Any) -> ExperimentConfig:
    """Validate ``data`` (a dict from JSON or a URL query) into an :class:`ExperimentConfig`.

    Comma-separated strings are accepted for ``layers`` and ``features`` (the URL form); an empty
    string means an empty list. Raises :class:`ConfigError` naming every bad field.
    """
    if not isinstance(data, dict):
        raise ConfigError([{"field": "config", "message": f"expected an object, got {type(data).__name__}"}])
    data = dict(data)
    for key in ("layers", "features"):
        if isinstance(data.get(key), str):
            data[key] = [s.strip() for s in data[key].split(",") if s.strip()]
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(field_errors(exc)) from None
