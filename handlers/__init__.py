"""The Lambda functions, one module each: `handler` is the entry point `template.yaml` names.

Importing this package is where a function's init starts. The garbage collector is paused
for it: loading FastAPI, pydantic and botocore would otherwise trigger about 140 collections
(about 55 ms) that free nothing, since what init builds lives as long as the process.
`api.app.lambda_handler` freezes what init built and turns the collector back on.
"""

import gc

gc.disable()
