from insights.domain.models import metadata

from tas_common.migrations import run_env

run_env(metadata)
