"""The Lambda functions, one module each: `handler` is the entry point `template.yaml` names,
and `endpoints` the declared endpoints (`api.endpoints`) it serves, which the template's
routes for it must be (tests/test_template.py), and from which a test can build the same
function on storage of its own.

Importing this package is where a function's init starts. The garbage collector is paused
for it: loading FastAPI, pydantic and botocore would otherwise trigger many collections
(docs/performance.md counts them) that free nothing, since what init builds lives as long
as the process.
`api.app.lambda_handler` freezes what init built and turns the collector back on.
"""

import gc

gc.disable()
