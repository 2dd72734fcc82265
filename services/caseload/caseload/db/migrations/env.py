from tas_common.migrations import run_env

from caseload.domain.models import metadata

run_env(metadata)
