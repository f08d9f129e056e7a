"""CDK app of the document pipeline: `python infra/app.py` synthesizes into $CDK_OUTDIR (or cdk.out)."""

from __future__ import annotations

import os

import aws_cdk as cdk
from stack import DocPipelineStack

ASSET_BUCKET = "harness-assets-${AWS::AccountId}-${AWS::Region}"


def main() -> None:
    app = cdk.App(outdir=os.environ.get("CDK_OUTDIR"), context={"aws:cdk:version-reporting": False})
    synthesizer = cdk.DefaultStackSynthesizer(
        generate_bootstrap_version_rule=False,
        file_assets_bucket_name=ASSET_BUCKET,
        bucket_prefix="assets/",
    )
    DocPipelineStack(app, "DocPipeline", synthesizer=synthesizer)
    app.synth()


if __name__ == "__main__":
    main()
