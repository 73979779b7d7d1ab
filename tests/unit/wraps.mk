# Link-time fault injection: these tests replace libc calls with wrappers from
# tests/unit/helpers/faults.c (see faults.h).
FAULT_WRAPS := -Wl,--wrap=write -Wl,--wrap=fsync -Wl,--wrap=rename -Wl,--wrap=close
WRAP_test_fileio := $(FAULT_WRAPS)
WRAP_test_checkpoint := $(FAULT_WRAPS)
WRAP_test_status := $(FAULT_WRAPS)
WRAP_test_launch := $(FAULT_WRAPS) -Wl,--wrap=engine_container_inspect -Wl,--wrap=engine_container_logs
