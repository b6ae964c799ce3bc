"""The sample membership program: a seeded generator and the shipped copy.

``load_sample()`` reads the shipped program (20,000 members, November 2023 to October 2026,
booked through the classic four-tier policy); ``generate(...)`` makes a new one and
``write(program, folder)`` saves it. See ``sample_data/README.md`` for the files.
"""

from sample_data.generator import (
    DEFAULT_PARAMS,
    SHIPPED_FOLDER,
    SampleParams,
    SampleProgram,
    expected_repeat_purchases,
    generate,
    load_sample,
    rate_multipliers,
    write,
)

__all__ = [
    "DEFAULT_PARAMS",
    "SHIPPED_FOLDER",
    "SampleParams",
    "SampleProgram",
    "expected_repeat_purchases",
    "generate",
    "load_sample",
    "rate_multipliers",
    "write",
]
