#!/usr/bin/env bats
# The task store belongs to the user (issue 8), on Docker: a committed .rover/
# never steers rover, records are checked, the old in-project store migrates.
load store_trust_cases

setup() { trust_setup docker; }
teardown() { trust_teardown; }

@test "docker: a committed .rover/ with hostile records is never acted on" { case_committed_store_is_ignored; }
@test "docker: hostile records in the store: no unconfigured endpoint, no host path touched" { case_records_in_the_store_are_checked; }
@test "docker: a legitimate task works; 'delete 01' is a usage error; .deleted-* finished off" { case_legit_task_and_canonical_ids; }
@test "docker: the previous in-project store migrates once and its tasks still work" { case_old_store_migrates_once; }
