"""Run by the SAM CLI's own interpreter (.sam-venv): the SAM transform of a (built) template, as JSON on stdout.

`.sam-venv/bin/python tools/sam_transform.py .aws-sam/build/template.yaml` prints
`{"template": <the CloudFormation template>, "code": {<resource>: <its local path>}, "policies_spec": <path>,
"asl_schema": <path>}`: the translator is the one the SAM CLI
deploys with (samtranslator), local code paths become placeholder S3 URIs as `sam validate` does, no AWS call is
made (no managed policy names to resolve), and `policies_spec` is cfn-lint's copy of the IAM service
authorization data (which actions support resource-level permissions), `asl_schema` its Amazon States Language
schema. Imports only what .sam-venv has.
"""

import json
import os
import sys
from pathlib import Path

LOCAL_URIS = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
    "AWS::Serverless::Api": "DefinitionUri",
    "AWS::Serverless::HttpApi": "DefinitionUri",
}


def main(path: str) -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    import cfnlint.data
    from samcli.yamlhelper import yaml_parse
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = yaml_parse(Path(path).read_text())
    local = {}
    for name, resource in template.get("Resources", {}).items():
        key = LOCAL_URIS.get(resource.get("Type"))
        props = resource.get("Properties", {})
        if key and isinstance(props.get(key), str) and not props[key].startswith("s3://"):
            local[name] = props[key]
            props[key] = f"s3://rehearsal-bucket/{name}"
    translator = Translator(managed_policy_map=None, sam_parser=Parser(), plugins=[])
    out = translator.translate(sam_template=template, parameter_values={}, get_managed_policy_map=lambda: {})
    data = Path(cfnlint.data.__file__).parent
    json.dump(
        {
            "template": out,
            "code": local,
            "policies_spec": str(data / "AdditionalSpecs" / "Policies.json"),
            "asl_schema": str(data / "schemas" / "other" / "step_functions" / "statemachine.json"),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main(sys.argv[1])
