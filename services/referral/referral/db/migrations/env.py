from tas_common.migrations import run_env

from referral.domain.models import metadata

run_env(metadata)
