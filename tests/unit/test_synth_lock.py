"""CDK synthesis runs once per app version when several workers need it at the same time."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.provisioning.synth import AppSource, synthesize

APP = '''
import json, os, pathlib, time
out = pathlib.Path(os.environ["CDK_OUTDIR"])
with open("runs.txt", "a") as runs:
    runs.write("run\\n")
time.sleep(1.0)  # long enough for the other workers to arrive meanwhile
(out / "S.template.json").write_text(json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))
(out / "manifest.json").write_text(json.dumps({"artifacts": {"S": {"type": "aws:cloudformation:stack"}}}))
'''


def test_concurrent_synths_of_one_app_run_the_app_once(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "app.py").write_text(APP)
    source = AppSource("cdk", app, command="python app.py", watch=(app / "app.py",))
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: synthesize(source, tmp_path / "cache", {}), range(3)))
    assert (app / "runs.txt").read_text().count("run") == 1
    assert sorted(r.cached for r in results) == [False, True, True]
    assert {json.dumps(r.template.resources) for r in results} == {'{"Q": {"Type": "AWS::SQS::Queue"}}'}
