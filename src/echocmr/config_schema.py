"""Schema validation of the config with a short error: the key path, the bad value, what is
allowed and a "did you mean", instead of jsonschema's dump of the whole schema (thousands of
lines for a top-level typo)."""

from __future__ import annotations

import difflib

import jsonschema
import yaml

from echocmr.config_checks import ConfigError

MAX_SHOWN = 80  # characters of a bad value or of the allowed list shown in the message


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 3] + "..."


def _key_path(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" Did you mean '{close[0]}'?" if close else ""


def _unknown_keys(error: jsonschema.ValidationError) -> list[str]:
    lines = []
    allowed = list(error.schema.get("properties", {}))
    for key in sorted(set(error.instance) - set(allowed)):
        where = _key_path([*error.absolute_path, key])
        lines.append(f"Config error: unknown key {where}.{_did_you_mean(key, allowed)}")
    lines.append(_allowed_line("allowed keys here", allowed))
    return lines


def _allowed_line(label: str, allowed) -> str:
    text = ", ".join(str(a) for a in allowed)
    if len(text) > 3 * MAX_SHOWN:
        text = text[:3 * MAX_SHOWN - 3] + "..."
    return f"  {label}: {text}"


def _expected(error: jsonschema.ValidationError) -> list[str]:
    """What the schema allows where the value failed (type, choices or limit)."""
    rule, limit = error.validator, error.validator_value
    if rule == "enum":
        return [_allowed_line("allowed values", limit)
                + _did_you_mean(error.instance, limit).replace(" Did", ";  did")]
    if rule == "type":
        return [f"  expected type: {' or '.join(limit) if isinstance(limit, list) else limit}"]
    return [f"  rule: {rule} {_short(limit)}"]


def describe_error(error: jsonschema.ValidationError) -> str:
    """A few lines naming the key path, the bad value and what is allowed (under 10 lines)."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        lines = _unknown_keys(error)
    else:
        lines = [f"Config error at {_key_path(error.absolute_path)}: "
                 f"bad value {_short(error.instance)}.", *_expected(error)]
    lines.append("  config/README.md documents every key.")
    return "\n".join(lines)


def first_error(config: dict, schema: dict) -> jsonschema.ValidationError | None:
    validator = jsonschema.Draft202012Validator(schema)
    return jsonschema.exceptions.best_match(validator.iter_errors(config))


def validate_config(config: dict, schema_path: str) -> None:
    """Validate `config` against the schema and fill its defaults (Snakemake's `validate`); on
    failure raise ConfigError with a short message."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    with open(schema_path) as handle:
        schema = yaml.safe_load(handle)
    error = first_error(config, schema)
    if error is not None:
        raise ConfigError(describe_error(error))
    try:
        validate(config, schema_path)  # also sets the schema's defaults
    except WorkflowError as exc:  # an error that only shows once defaults are filled
        error = first_error(config, schema)
        raise ConfigError(describe_error(error) if error else str(exc).splitlines()[0]) from None
