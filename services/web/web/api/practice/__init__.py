"""The practitioners' pages: signing in, My tasks, My caseload, the child, the plan editor, concerns, referrals,
EHC needs assessments and break-glass. Every view calls the APIs with the practitioner's own token."""
